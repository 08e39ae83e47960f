//! Name-server calls: broker registration (103, 104, 322), routes (105), KV config
//! (100, 101, 102, 219) and the write permission of a broker's queues (205, 327).

command_header! {
    /// REGISTER_BROKER (103), broker to name server every 30 s.
    pub struct RegisterBrokerRequestHeader {
        broker_name: String = "brokerName",
        /// `brokerIP1:listenPort`.
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
        /// `brokerIP2:haListenPort`.
        ha_server_addr: String = "haServerAddr",
        /// 0 = master.
        broker_id: i64 = "brokerId",
        heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMillis",
        /// Absent marks an "old version broker" to the name server.
        enable_acting_master: Option<bool> = "enableActingMaster",
        compressed: bool = "compressed",
        /// Masked CRC32 of the body; 0 (also when absent, as from old brokers) skips the check.
        body_crc32: i32 = "bodyCrc32" or 0,
    }
}

command_header! {
    /// REGISTER_BROKER (103) response; filled only for slaves.
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: Option<String> = "haServerAddr",
        master_addr: Option<String> = "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104).
    pub struct UnregisterBrokerRequestHeader {
        broker_name: String = "brokerName",
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
        broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322); the body is the broker's DataVersion JSON.
    pub struct QueryDataVersionRequestHeader {
        broker_name: String = "brokerName",
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
        broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) response.
    pub struct QueryDataVersionResponseHeader {
        changed: bool = "changed",
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105).
    pub struct GetRouteInfoRequestHeader {
        topic: String = "topic",
        /// 5.x: ask for standard JSON regardless of the request version.
        accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
    }
}

command_header! {
    /// PUT_KV_CONFIG (100).
    pub struct PutKvConfigRequestHeader {
        namespace: String = "namespace",
        key: String = "key",
        value: String = "value",
    }
}

command_header! {
    /// GET_KV_CONFIG (101).
    pub struct GetKvConfigRequestHeader {
        namespace: String = "namespace",
        key: String = "key",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) response.
    pub struct GetKvConfigResponseHeader {
        value: Option<String> = "value",
    }
}

command_header! {
    /// DELETE_KV_CONFIG (102).
    pub struct DeleteKvConfigRequestHeader {
        namespace: String = "namespace",
        key: String = "key",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219); the response body is a KVTable.
    pub struct GetKvListByNamespaceRequestHeader {
        namespace: String = "namespace",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327), admin to name server
    /// (`WipeWritePermOfBrokerRequestHeader`, `AddWritePermOfBrokerRequestHeader`: the same one field).
    pub struct WritePermOfBrokerRequestHeader {
        broker_name: String = "brokerName",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response: how many topics of the broker lost their write permission.
    pub struct WipeWritePermOfBrokerResponseHeader {
        wipe_topic_count: i32 = "wipeTopicCount",
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response: how many topics of the broker are read-write again.
    pub struct AddWritePermOfBrokerResponseHeader {
        add_topic_count: i32 = "addTopicCount",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{ext_of, CommandHeader};
    use crate::CodecError;

    fn java_broker_registration() -> crate::command::ExtFields {
        ext_of(&[
            ("brokerName", "broker-a"),
            ("brokerAddr", "10.0.0.1:10911"),
            ("clusterName", "DefaultCluster"),
            ("haServerAddr", "10.0.0.1:10912"),
            ("brokerId", "0"),
            ("heartbeatTimeoutMillis", "120000"),
            ("enableActingMaster", "false"),
            ("compressed", "false"),
            ("bodyCrc32", "-1293381212"),
        ])
    }

    #[test]
    fn decodes_register_broker() {
        let header = RegisterBrokerRequestHeader::decode(&java_broker_registration()).unwrap();
        let expected = RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "10.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "10.0.0.1:10912".into(),
            broker_id: 0,
            heartbeat_timeout_millis: Some(120_000),
            enable_acting_master: Some(false),
            compressed: false,
            body_crc32: -1_293_381_212,
        };
        assert_eq!(header, expected);
        assert_eq!(header.to_ext_fields(), java_broker_registration());
    }

    #[test]
    fn old_broker_registration_defaults() {
        let mut ext = java_broker_registration();
        for key in [
            "heartbeatTimeoutMillis",
            "enableActingMaster",
            "compressed",
            "bodyCrc32",
        ] {
            ext.remove(key);
        }
        let header = RegisterBrokerRequestHeader::decode(&ext).unwrap();
        assert_eq!(header.body_crc32, 0);
        assert_eq!(header.enable_acting_master, None);
        assert!(!header.compressed);
        ext.remove("haServerAddr");
        assert_eq!(
            RegisterBrokerRequestHeader::decode(&ext),
            Err(CodecError::MissingField("haServerAddr"))
        );
    }

    #[test]
    fn route_and_kv_headers() {
        let route = GetRouteInfoRequestHeader::decode(&ext_of(&[
            ("topic", "T"),
            ("acceptStandardJsonOnly", "True"),
        ]))
        .unwrap();
        assert_eq!(route.accept_standard_json_only, Some(true));
        assert_eq!(
            GetKvConfigResponseHeader { value: None }
                .to_ext_fields()
                .len(),
            0
        );
        assert_eq!(
            PutKvConfigRequestHeader::decode(&ext_of(&[
                ("namespace", "ORDER_TOPIC_CONFIG"),
                ("key", "T")
            ])),
            Err(CodecError::MissingField("value"))
        );
        let changed = QueryDataVersionResponseHeader { changed: true }.to_ext_fields();
        assert_eq!(changed, ext_of(&[("changed", "true")]));
    }
}
