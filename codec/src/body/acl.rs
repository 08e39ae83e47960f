//! ACL 1.0 administration bodies (4.9.x): GET_BROKER_CLUSTER_ACL_CONFIG (54) answers
//! `GetBrokerClusterAclConfigResponseBody`, and GET_BROKER_CLUSTER_ACL_INFO (52) carries 4.9.x
//! `DataVersion`s (no `stateVersion`) as JSON text in its response header:
//!
//! ```text
//! 54 body    {"globalWhiteAddrs":["10.10.*.*"],"plainAccessConfigs":[{"accessKey":"RocketMQ","admin":false,
//!             "defaultGroupPerm":"SUB","defaultTopicPerm":"DENY","groupPerms":["groupA=DENY"],
//!             "secretKey":"12345678","topicPerms":["topicA=DENY"]}]}
//! 52 version {"counter":1,"timestamp":1700000000000}
//! ```

use crate::fastjson::{self, Value};

/// Java `PlainAccessConfig` as the broker reads it back from the ACL file; `None` fields are left out
/// of the JSON as fastjson leaves out nulls.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlainAccessConfig {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub white_remote_address: Option<String>,
    pub admin: bool,
    pub default_topic_perm: Option<String>,
    pub default_group_perm: Option<String>,
    pub topic_perms: Option<Vec<String>>,
    pub group_perms: Option<Vec<String>>,
}

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::Str(s.clone()))
}

fn opt_list(v: &Option<Vec<String>>) -> Value {
    v.as_ref().map_or(Value::Null, |l| {
        Value::Array(l.iter().cloned().map(Value::Str).collect())
    })
}

/// fastjson leaves null properties out.
fn without_nulls(entries: Vec<(&str, Value)>) -> Value {
    Value::object(entries.into_iter().filter(|(_, v)| !v.is_null()))
}

impl PlainAccessConfig {
    /// Properties sorted by getter name (`isAdmin` is `admin`), as fastjson writes them.
    pub fn to_value(&self) -> Value {
        without_nulls(vec![
            ("accessKey", opt_str(&self.access_key)),
            ("admin", Value::Bool(self.admin)),
            ("defaultGroupPerm", opt_str(&self.default_group_perm)),
            ("defaultTopicPerm", opt_str(&self.default_topic_perm)),
            ("groupPerms", opt_list(&self.group_perms)),
            ("secretKey", opt_str(&self.secret_key)),
            ("topicPerms", opt_list(&self.topic_perms)),
            ("whiteRemoteAddress", opt_str(&self.white_remote_address)),
        ])
    }
}

/// Java `GetBrokerClusterAclConfigResponseBody` (GET_BROKER_CLUSTER_ACL_CONFIG 54).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetBrokerClusterAclConfigResponseBody {
    pub global_white_addrs: Vec<String>,
    pub plain_access_configs: Vec<PlainAccessConfig>,
}

impl GetBrokerClusterAclConfigResponseBody {
    pub fn encode(&self) -> String {
        let white = self.global_white_addrs.iter().cloned().map(Value::Str);
        let configs = self
            .plain_access_configs
            .iter()
            .map(PlainAccessConfig::to_value);
        fastjson::to_string(&Value::object([
            ("globalWhiteAddrs", Value::Array(white.collect())),
            ("plainAccessConfigs", Value::Array(configs.collect())),
        ]))
    }
}

/// The 4.9.x `DataVersion` of an ACL file, as `DataVersion.toJson()` writes it.
pub fn acl_data_version(counter: i64, timestamp: i64) -> Value {
    Value::object([
        ("counter", Value::Int(counter)),
        ("timestamp", Value::Int(timestamp)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_acl_config_is_written_as_fastjson_writes_the_java_body() {
        let body = GetBrokerClusterAclConfigResponseBody {
            global_white_addrs: vec!["10.10.*.*".into()],
            plain_access_configs: vec![PlainAccessConfig {
                access_key: Some("RocketMQ".into()),
                secret_key: Some("12345678".into()),
                admin: false,
                default_topic_perm: Some("DENY".into()),
                default_group_perm: Some("SUB".into()),
                topic_perms: Some(vec!["topicA=DENY".into()]),
                group_perms: Some(vec!["groupA=DENY".into()]),
                white_remote_address: None,
            }],
        };
        assert_eq!(
            body.encode(),
            r#"{"globalWhiteAddrs":["10.10.*.*"],"plainAccessConfigs":[{"accessKey":"RocketMQ","admin":false,"defaultGroupPerm":"SUB","defaultTopicPerm":"DENY","groupPerms":["groupA=DENY"],"secretKey":"12345678","topicPerms":["topicA=DENY"]}]}"#
        );
    }

    #[test]
    fn data_version_has_no_state_version_in_4_9() {
        assert_eq!(
            fastjson::to_string(&acl_data_version(3, 17)),
            r#"{"counter":3,"timestamp":17}"#
        );
    }
}
