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

/// `HARuntimeInfo` (GET_BROKER_HA_STATUS 907), as Java's `DefaultHAService.getRuntimeInfo` fills it: on a
/// master `master`, `masterCommitLogMaxOffset`, `inSyncSlaveNums` and one entry per slave connection, the
/// client part at its defaults; on a slave `master=false` and the client part. `HAClientRuntimeInfo.isActivated`
/// has no getter, so it is not written; a null `masterAddr` is left out, as fastjson does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaRuntimeInfo {
    pub master: bool,
    pub master_commit_log_max_offset: i64,
    pub in_sync_slave_nums: i32,
    pub connections: Vec<HaConnectionRuntimeInfo>,
    pub client: HaClientRuntimeInfo,
}

/// `HARuntimeInfo.HAConnectionRuntimeInfo`: one slave connection of a master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaConnectionRuntimeInfo {
    /// The slave's `ip:port` (Java strips the leading `/` of the socket address).
    pub addr: String,
    pub slave_ack_offset: i64,
    pub diff: i64,
    pub in_sync: bool,
    pub transferred_byte_in_second: i64,
    pub transfer_from_where: i64,
}

/// `HARuntimeInfo.HAClientRuntimeInfo`: a slave's connection to its master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HaClientRuntimeInfo {
    pub master_addr: Option<String>,
    pub transferred_byte_in_second: i64,
    pub max_offset: i64,
    pub last_read_timestamp: i64,
    pub last_write_timestamp: i64,
    pub master_flush_offset: i64,
}

impl HaRuntimeInfo {
    pub fn encode(&self) -> String {
        let c = &self.client;
        let mut client = vec![
            ("lastReadTimestamp", Value::from(c.last_read_timestamp)),
            ("lastWriteTimestamp", Value::from(c.last_write_timestamp)),
        ];
        if let Some(addr) = &c.master_addr {
            client.push(("masterAddr", Value::Str(addr.clone())));
        }
        client.extend([
            ("masterFlushOffset", Value::from(c.master_flush_offset)),
            ("maxOffset", Value::from(c.max_offset)),
            (
                "transferredByteInSecond",
                Value::from(c.transferred_byte_in_second),
            ),
        ]);
        let connections = self.connections.iter().map(|conn| {
            Value::object([
                ("addr", Value::Str(conn.addr.clone())),
                ("diff", Value::from(conn.diff)),
                ("inSync", Value::Bool(conn.in_sync)),
                ("slaveAckOffset", Value::from(conn.slave_ack_offset)),
                ("transferFromWhere", Value::from(conn.transfer_from_where)),
                (
                    "transferredByteInSecond",
                    Value::from(conn.transferred_byte_in_second),
                ),
            ])
        });
        fastjson::to_string(&Value::object([
            ("haClientRuntimeInfo", Value::object(client)),
            ("haConnectionInfo", Value::Array(connections.collect())),
            ("inSyncSlaveNums", Value::from(self.in_sync_slave_nums)),
            ("master", Value::Bool(self.master)),
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
        let info = HaRuntimeInfo {
            master: true,
            master_commit_log_max_offset: 1234,
            ..HaRuntimeInfo::default()
        };
        assert_eq!(
            info.encode(),
            r#"{"haClientRuntimeInfo":{"lastReadTimestamp":0,"lastWriteTimestamp":0,"masterFlushOffset":0,"maxOffset":0,"transferredByteInSecond":0},"haConnectionInfo":[],"inSyncSlaveNums":0,"master":true,"masterCommitLogMaxOffset":1234}"#
        );
    }

    #[test]
    fn ha_info_lists_connections_and_the_client_part_in_field_order() {
        let master = HaRuntimeInfo {
            master: true,
            master_commit_log_max_offset: 2000,
            in_sync_slave_nums: 1,
            connections: vec![HaConnectionRuntimeInfo {
                addr: "127.0.0.3:50000".into(),
                slave_ack_offset: 1500,
                diff: 500,
                in_sync: true,
                transferred_byte_in_second: 12,
                transfer_from_where: 1500,
            }],
            client: HaClientRuntimeInfo::default(),
        };
        assert_eq!(
            master.encode(),
            r#"{"haClientRuntimeInfo":{"lastReadTimestamp":0,"lastWriteTimestamp":0,"masterFlushOffset":0,"maxOffset":0,"transferredByteInSecond":0},"haConnectionInfo":[{"addr":"127.0.0.3:50000","diff":500,"inSync":true,"slaveAckOffset":1500,"transferFromWhere":1500,"transferredByteInSecond":12}],"inSyncSlaveNums":1,"master":true,"masterCommitLogMaxOffset":2000}"#
        );
        let slave = HaRuntimeInfo {
            client: HaClientRuntimeInfo {
                master_addr: Some("127.0.0.2:10912".into()),
                max_offset: 7,
                last_read_timestamp: 1,
                last_write_timestamp: 2,
                ..HaClientRuntimeInfo::default()
            },
            ..HaRuntimeInfo::default()
        };
        assert_eq!(
            slave.encode(),
            r#"{"haClientRuntimeInfo":{"lastReadTimestamp":1,"lastWriteTimestamp":2,"masterAddr":"127.0.0.2:10912","masterFlushOffset":0,"maxOffset":7,"transferredByteInSecond":0},"haConnectionInfo":[],"inSyncSlaveNums":0,"master":false,"masterCommitLogMaxOffset":0}"#
        );
    }
}
