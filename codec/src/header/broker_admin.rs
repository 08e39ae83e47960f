//! Broker administration: subscription groups (207, 352), the broker's own config (26), copying a
//! group's offsets (314) and one stats item (315).

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207). Whether the group's consumer offsets go too is `removeOffset` in
    /// 4.9.x clients and `cleanOffset` in 5.x ones; both are absent (false) unless the admin asks.
    pub struct DeleteSubscriptionGroupRequestHeader {
        group_name: String = "groupName",
        remove_offset: bool = "removeOffset",
        clean_offset: bool = "cleanOffset",
    }
}

impl DeleteSubscriptionGroupRequestHeader {
    /// Either flag, whichever client version sent it.
    pub fn drops_offsets(&self) -> bool {
        self.remove_offset || self.clean_offset
    }
}

command_header! {
    /// GET_SUBSCRIPTIONGROUP_CONFIG (352, 5.x): one group's config.
    pub struct GetSubscriptionGroupConfigRequestHeader {
        group: String = "group",
    }
}

command_header! {
    /// GET_BROKER_CONFIG (26) response: `version` is the config's DataVersion as JSON text.
    pub struct GetBrokerConfigResponseHeader {
        version: String = "version",
    }
}

command_header! {
    /// CLONE_GROUP_OFFSET (314): copy `srcGroup`'s offsets of `topic` to `destGroup`. `offline` (a Java
    /// primitive, false when absent) skips the check that the online source group subscribes to the topic.
    pub struct CloneGroupOffsetRequestHeader {
        src_group: String = "srcGroup",
        dest_group: String = "destGroup",
        topic: Option<String> = "topic",
        offline: bool = "offline",
    }
}

command_header! {
    /// VIEW_BROKER_STATS_DATA (315): one `BrokerStatsManager` item, e.g. TOPIC_PUT_NUMS of a topic.
    pub struct ViewBrokerStatsDataRequestHeader {
        stats_name: String = "statsName",
        stats_key: String = "statsKey",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{ext_of, CommandHeader};
    use crate::CodecError;

    #[test]
    fn delete_group_reads_both_client_generations() {
        let v4 = DeleteSubscriptionGroupRequestHeader::decode(&ext_of(&[
            ("groupName", "g"),
            ("removeOffset", "true"),
        ]))
        .unwrap();
        assert!(v4.drops_offsets());
        let v5 = DeleteSubscriptionGroupRequestHeader::decode(&ext_of(&[
            ("groupName", "g"),
            ("cleanOffset", "true"),
        ]))
        .unwrap();
        assert!(v5.drops_offsets());
        let neither =
            DeleteSubscriptionGroupRequestHeader::decode(&ext_of(&[("groupName", "g")])).unwrap();
        assert!(!neither.drops_offsets());
        assert_eq!(
            DeleteSubscriptionGroupRequestHeader::decode(&ext_of(&[("cleanOffset", "true")])),
            Err(CodecError::MissingField("groupName"))
        );
    }

    #[test]
    fn broker_config_version_round_trips() {
        let header = GetBrokerConfigResponseHeader {
            version: r#"{"counter":2,"stateVersion":0,"timestamp":1}"#.into(),
        };
        let ext = header.to_ext_fields();
        assert_eq!(
            ext.get("version").map(String::as_str),
            Some(header.version.as_str())
        );
        assert_eq!(GetBrokerConfigResponseHeader::decode(&ext).unwrap(), header);
    }

    #[test]
    fn clone_and_stats_headers_need_their_not_null_fields() {
        let clone = CloneGroupOffsetRequestHeader::decode(&ext_of(&[
            ("srcGroup", "a"),
            ("destGroup", "b"),
            ("topic", "T"),
        ]))
        .unwrap();
        assert!(!clone.offline);
        assert_eq!(clone.topic.as_deref(), Some("T"));
        assert_eq!(
            CloneGroupOffsetRequestHeader::decode(&ext_of(&[("srcGroup", "a")])),
            Err(CodecError::MissingField("destGroup"))
        );
        assert_eq!(
            ViewBrokerStatsDataRequestHeader::decode(&ext_of(&[("statsName", "TOPIC_PUT_NUMS")])),
            Err(CodecError::MissingField("statsKey"))
        );
    }
}
