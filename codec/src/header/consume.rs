//! Consuming: PULL_MESSAGE (11/361), offsets (14, 15, 29–32) and client registration
//! (35, 38, 40).

command_header! {
    /// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361). FastCodes in Java.
    pub struct PullMessageRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        queue_offset: i64 = "queueOffset",
        max_msg_nums: i32 = "maxMsgNums",
        /// PullSysFlag: 0x1 commit offset, 0x2 suspend, 0x4 subscription, 0x8 class filter, 0x10 lite.
        sys_flag: i32 = "sysFlag",
        commit_offset: i64 = "commitOffset",
        suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// The expression; only meaningful with sysFlag 0x4.
        subscription: Option<String> = "subscription",
        sub_version: i64 = "subVersion",
        /// `"TAG"` (default) or `"SQL92"`.
        expression_type: Option<String> = "expressionType",
        max_msg_bytes: Option<i32> = "maxMsgBytes",
    }
}

command_header! {
    /// Pull response. All four fields must be on every pull response, errors included: the Java
    /// client unboxes them.
    pub struct PullMessageResponseHeader {
        suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        next_begin_offset: i64 = "nextBeginOffset",
        min_offset: i64 = "minOffset",
        max_offset: i64 = "maxOffset",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        /// Absent means true in the broker's logic (answer 0 for a new group on a hot queue).
        set_zero_if_not_found: Option<bool> = "setZeroIfNotFound",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15), usually oneway.
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        commit_offset: i64 = "commitOffset",
    }
}

command_header! {
    /// The response header of QUERY_CONSUMER_OFFSET (14), SEARCH_OFFSET_BY_TIMESTAMP (29),
    /// GET_MAX_OFFSET (30) and GET_MIN_OFFSET (31).
    pub struct OffsetResponseHeader {
        offset: i64 = "offset",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30): the exclusive max, i.e. the next offset to be written.
    pub struct GetMaxOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        /// Absent means true.
        committed: Option<bool> = "committed",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31).
    pub struct GetMinOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        /// Epoch milliseconds.
        timestamp: i64 = "timestamp",
        /// `"LOWER"` (default) or `"UPPER"`, compared case-insensitively; 4.x never sends it.
        boundary_type: Option<String> = "boundaryType",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32).
    pub struct GetEarliestMsgStoretimeRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// Store time of the message at the min offset; -1 if none.
        timestamp: i64 = "timestamp",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38).
    pub struct GetConsumerListByGroupRequestHeader {
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        client_id: String = "clientID",
        producer_group: Option<String> = "producerGroup",
        consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40, broker to consumer, oneway).
    pub struct NotifyConsumerIdsChangedRequestHeader {
        consumer_group: String = "consumerGroup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{ext_of, CommandHeader};
    use crate::CodecError;

    #[test]
    fn decodes_push_consumer_pull() {
        let ext = ext_of(&[
            ("consumerGroup", "cg1"),
            ("topic", "TopicTest"),
            ("queueId", "2"),
            ("queueOffset", "1200"),
            ("maxMsgNums", "32"),
            ("sysFlag", "3"),
            ("commitOffset", "1180"),
            ("suspendTimeoutMillis", "15000"),
            ("subVersion", "1700000000123"),
            ("expressionType", "TAG"),
            ("lo", "false"),
            ("bname", "broker-a"),
        ]);
        let header = PullMessageRequestHeader::decode(&ext).unwrap();
        let expected = PullMessageRequestHeader {
            consumer_group: "cg1".into(),
            topic: "TopicTest".into(),
            queue_id: 2,
            queue_offset: 1200,
            max_msg_nums: 32,
            sys_flag: 3,
            commit_offset: 1180,
            suspend_timeout_millis: 15000,
            subscription: None,
            sub_version: 1_700_000_000_123,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
        };
        assert_eq!(header, expected);
        let mut missing = ext.clone();
        missing.remove("subVersion");
        assert_eq!(
            PullMessageRequestHeader::decode(&missing),
            Err(CodecError::MissingField("subVersion"))
        );
        assert_eq!(
            PullMessageRequestHeader::decode(&header.to_ext_fields()).unwrap(),
            header
        );
    }

    #[test]
    fn pull_response_always_writes_all_four_fields() {
        let ext = PullMessageResponseHeader {
            next_begin_offset: 19,
            max_offset: 19,
            ..Default::default()
        }
        .to_ext_fields();
        assert_eq!(
            ext,
            ext_of(&[
                ("suggestWhichBrokerId", "0"),
                ("nextBeginOffset", "19"),
                ("minOffset", "0"),
                ("maxOffset", "19"),
            ])
        );
    }

    #[test]
    fn offset_headers() {
        let query = QueryConsumerOffsetRequestHeader::decode(&ext_of(&[
            ("consumerGroup", "cg"),
            ("topic", "t"),
            ("queueId", "0"),
            ("setZeroIfNotFound", "false"),
        ]))
        .unwrap();
        assert_eq!(query.set_zero_if_not_found, Some(false));
        let max = GetMaxOffsetRequestHeader::decode(&ext_of(&[("topic", "t"), ("queueId", "1")]))
            .unwrap();
        assert_eq!((max.queue_id, max.committed), (1, None));
        assert_eq!(
            UpdateConsumerOffsetRequestHeader::decode(&ext_of(&[
                ("consumerGroup", "cg"),
                ("topic", "t"),
                ("queueId", "0"),
                ("commitOffset", "x"),
            ])),
            Err(CodecError::InvalidField {
                field: "commitOffset",
                value: "x".into()
            })
        );
        let unregister =
            UnregisterClientRequestHeader::decode(&ext_of(&[("clientID", "10.0.0.1@1")])).unwrap();
        assert_eq!(unregister.client_id, "10.0.0.1@1");
        assert_eq!(
            OffsetResponseHeader { offset: -1 }.to_ext_fields(),
            ext_of(&[("offset", "-1")])
        );
    }
}
