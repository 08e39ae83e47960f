//! Admin and query calls served by the broker: topic management (17, 215), message lookup
//! (12, 33) and the cluster topic list (224).

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequestHeader {
        topic: String = "topic",
        /// Sent by clients, ignored by the broker.
        default_topic: String = "defaultTopic",
        read_queue_nums: i32 = "readQueueNums",
        write_queue_nums: i32 = "writeQueueNums",
        /// PermName bits: 1 inherit, 2 write, 4 read.
        perm: i32 = "perm",
        /// `"SINGLE_TAG"` or `"MULTI_TAG"`.
        topic_filter_type: String = "topicFilterType",
        topic_sys_flag: Option<i32> = "topicSysFlag",
        order: bool = "order",
        /// For example `"+message.type=NORMAL"`.
        attributes: Option<String> = "attributes",
        force: Option<bool> = "force",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215) and DELETE_TOPIC_IN_NAMESRV (216).
    pub struct DeleteTopicRequestHeader {
        topic: String = "topic",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224).
    pub struct GetTopicsByClusterRequestHeader {
        cluster: String = "cluster",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33): the body of the response is the raw record at `offset`.
    pub struct ViewMessageRequestHeader {
        topic: Option<String> = "topic",
        /// Commit-log physical offset, decoded by the client from the offsetMsgId.
        offset: i64 = "offset",
    }
}

command_header! {
    /// QUERY_MESSAGE (12), an index lookup of `topic#key`. The extField `_UNIQUE_KEY_QUERY` is not
    /// part of the Java class; read it from the map directly.
    pub struct QueryMessageRequestHeader {
        topic: String = "topic",
        key: String = "key",
        max_num: i32 = "maxNum",
        begin_timestamp: i64 = "beginTimestamp",
        end_timestamp: i64 = "endTimestamp",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) response.
    pub struct QueryMessageResponseHeader {
        index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222, admin to broker) and RESET_CONSUMER_CLIENT_OFFSET (220, broker
    /// to consumer, oneway). `queueId` (-1 = all) and `offset` are 5.x additions.
    pub struct ResetOffsetRequestHeader {
        topic: String = "topic",
        group: String = "group",
        /// Epoch milliseconds; -1 means the max offset.
        timestamp: i64 = "timestamp",
        is_force: bool = "isForce",
        queue_id: Option<i32> = "queueId",
        offset: Option<i64> = "offset",
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307), admin to broker and broker to consumer.
    pub struct GetConsumerRunningInfoRequestHeader {
        consumer_group: String = "consumerGroup",
        client_id: String = "clientId",
        jstack_enable: bool = "jstackEnable",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223), admin to broker, and GET_CONSUMER_STATUS_FROM_CLIENT
    /// (221), broker to consumer (`GetConsumerStatusRequestHeader`; the broker leaves `clientAddr` out).
    pub struct GetConsumerStatusRequestHeader {
        topic: String = "topic",
        group: String = "group",
        /// The client id to ask; blank asks every member of the group.
        client_addr: Option<String> = "clientAddr",
    }
}

command_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309), admin to broker and broker to consumer.
    pub struct ConsumeMessageDirectlyRequestHeader {
        consumer_group: String = "consumerGroup",
        client_id: Option<String> = "clientId",
        /// An offsetMsgId: the broker reads the record at its commit-log offset.
        msg_id: Option<String> = "msgId",
        broker_name: Option<String> = "brokerName",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{ext_of, CommandHeader};
    use crate::CodecError;

    #[test]
    fn decodes_mqadmin_update_topic() {
        let ext = ext_of(&[
            ("topic", "T1"),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "8"),
            ("writeQueueNums", "8"),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
            ("attributes", "+message.type=NORMAL"),
        ]);
        let header = CreateTopicRequestHeader::decode(&ext).unwrap();
        assert_eq!((header.read_queue_nums, header.perm), (8, 6));
        assert_eq!(header.attributes.as_deref(), Some("+message.type=NORMAL"));
        assert_eq!(header.force, None);
        assert_eq!(
            CreateTopicRequestHeader::decode(&header.to_ext_fields()).unwrap(),
            header
        );
    }

    #[test]
    fn query_and_view_headers() {
        let query = QueryMessageRequestHeader::decode(&ext_of(&[
            ("topic", "T"),
            ("key", "order-1"),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "9223372036854775807"),
            ("_UNIQUE_KEY_QUERY", "false"),
        ]))
        .unwrap();
        assert_eq!(query.end_timestamp, i64::MAX);
        assert_eq!(
            ViewMessageRequestHeader::decode(&ext_of(&[("topic", "T")])),
            Err(CodecError::MissingField("offset"))
        );
    }
}
