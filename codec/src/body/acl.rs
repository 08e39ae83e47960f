//! ACL 1.0 administration (4.9.x): GET_BROKER_CLUSTER_ACL_INFO (52) carries 4.9.x `DataVersion`s (no
//! `stateVersion`) as JSON text in its response header, `{"counter":1,"timestamp":1700000000000}`.
//! (GET_BROKER_CLUSTER_ACL_CONFIG 54 and its `GetBrokerClusterAclConfigResponseBody`, which listed every
//! secret key, were removed in 4.9.8 and are not served.)

use crate::fastjson::Value;

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
    use crate::fastjson;

    #[test]
    fn data_version_has_no_state_version_in_4_9() {
        assert_eq!(
            fastjson::to_string(&acl_data_version(3, 17)),
            r#"{"counter":3,"timestamp":17}"#
        );
    }
}
