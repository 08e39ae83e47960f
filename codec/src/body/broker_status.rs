//! Broker status bodies for operators: `ProducerTableInfo` (GET_ALL_PRODUCER_INFO 328, mqadmin `producer`)
//! and `HARuntimeInfo` (GET_BROKER_HA_STATUS 907, 5.x mqadmin `haStatus`).
//!
//! ```text
//! {"data":{"PG":[{"clientId":"127.0.0.1@4711#1","language":"JAVA","lastUpdateTimestamp":1700000000000,
//!  "remoteIP":"/127.0.0.1:50210","version":479}]}}
//! {"haClientRuntimeInfo":{"lastReadTimestamp":0,"lastWriteTimestamp":0,"masterFlushOffset":0,"maxOffset":0,
//!  "transferredByteInSecond":0},"haConnectionInfo":[],"inSyncSlaveNums":0,"master":true,
//!  "masterCommitLogMaxOffset":1234}
//! ```

use crate::code::LanguageCode;
use crate::fastjson::{self, Value};

/// `ProducerInfo`: one producer channel of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerInfo {
    pub client_id: String,
    /// Java's `Channel.remoteAddress().toString()`: `/ip:port`.
    pub remote_ip: String,
    /// Written by enum name; an unknown code is left out, as fastjson leaves out a null enum.
    pub language: LanguageCode,
    pub version: i32,
    pub last_update_timestamp: i64,
}

/// `ProducerTableInfo`: every producer group with its channels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerTableInfo {
    /// By group.
    pub data: Vec<(String, Vec<ProducerInfo>)>,
}

impl ProducerInfo {
    fn to_value(&self) -> Value {
        Value::object([
            ("clientId", Value::from(self.client_id.as_str())),
            (
                "language",
                self.language.known_name().map_or(Value::Null, Value::from),
            ),
            (
                "lastUpdateTimestamp",
                Value::from(self.last_update_timestamp),
            ),
            ("remoteIP", Value::from(self.remote_ip.as_str())),
            ("version", Value::from(self.version)),
        ])
    }
}

impl ProducerTableInfo {
    pub fn encode(&self) -> String {
        let groups = self.data.iter().map(|(group, producers)| {
            let list = producers.iter().map(ProducerInfo::to_value).collect();
            (group.as_str(), Value::Array(list))
        });
        fastjson::to_string(&Value::object([("data", Value::object(groups))]))
    }
}

/// `HARuntimeInfo` of a master without slaves: Java's `DefaultHAService.getRuntimeInfo` on a master fills
/// `master`, `masterCommitLogMaxOffset` and one entry per slave connection, and leaves the client part
/// (a slave's view) at its defaults. `HAClientRuntimeInfo.isActivated` has no getter, so it is not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterHaRuntimeInfo {
    pub master_commit_log_max_offset: i64,
}

impl MasterHaRuntimeInfo {
    pub fn encode(&self) -> String {
        let client = Value::object([
            ("lastReadTimestamp", Value::from(0i64)),
            ("lastWriteTimestamp", Value::from(0i64)),
            ("masterFlushOffset", Value::from(0i64)),
            ("maxOffset", Value::from(0i64)),
            ("transferredByteInSecond", Value::from(0i64)),
        ]);
        fastjson::to_string(&Value::object([
            ("haClientRuntimeInfo", client),
            ("haConnectionInfo", Value::Array(Vec::new())),
            ("inSyncSlaveNums", Value::from(0)),
            ("master", Value::Bool(true)),
            (
                "masterCommitLogMaxOffset",
                Value::from(self.master_commit_log_max_offset),
            ),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_table_is_keyed_by_group_with_bean_fields_sorted() {
        let table = ProducerTableInfo {
            data: vec![(
                "PG".into(),
                vec![ProducerInfo {
                    client_id: "127.0.0.1@4711#1".into(),
                    remote_ip: "/127.0.0.1:50210".into(),
                    language: LanguageCode::Java,
                    version: 479,
                    last_update_timestamp: 1_700_000_000_000,
                }],
            )],
        };
        assert_eq!(
            table.encode(),
            r#"{"data":{"PG":[{"clientId":"127.0.0.1@4711#1","language":"JAVA","lastUpdateTimestamp":1700000000000,"remoteIP":"/127.0.0.1:50210","version":479}]}}"#
        );
        assert_eq!(ProducerTableInfo::default().encode(), r#"{"data":{}}"#);
    }

    #[test]
    fn master_ha_info_has_no_connections_and_a_default_client_part() {
        let info = MasterHaRuntimeInfo {
            master_commit_log_max_offset: 1234,
        };
        assert_eq!(
            info.encode(),
            r#"{"haClientRuntimeInfo":{"lastReadTimestamp":0,"lastWriteTimestamp":0,"masterFlushOffset":0,"maxOffset":0,"transferredByteInSecond":0},"haConnectionInfo":[],"inSyncSlaveNums":0,"master":true,"masterCommitLogMaxOffset":1234}"#
        );
    }
}
