//! 5.x pop consumption: POP_MESSAGE (200050), ACK_MESSAGE (200051) and CHANGE_INVISIBLETIME
//! (200053). BATCH_ACK_MESSAGE (200151) carries a JSON body and no header.

command_header! {
    /// POP_MESSAGE (200050). `queueId` -1 pops from every queue of the topic.
    pub struct PopMessageRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        max_msg_nums: i32 = "maxMsgNums",
        /// How long popped messages stay invisible before they are redelivered, in ms.
        invisible_time: i64 = "invisibleTime",
        /// Long-polling wait in ms; 0 answers at once.
        poll_time: i64 = "pollTime",
        born_time: i64 = "bornTime",
        /// `ConsumeInitMode`: 0 starts a new group at the min offset, 1 at the max offset.
        init_mode: i32 = "initMode",
        exp_type: Option<String> = "expType",
        exp: Option<String> = "exp",
        order: Option<bool> = "order",
        attempt_id: Option<String> = "attemptId",
    }
}

command_header! {
    /// POP_MESSAGE response. The four required fields must be on every non-error answer: the
    /// client decodes the header for NOT_FOUND and POLLING_TIMEOUT too.
    pub struct PopMessageResponseHeader {
        pop_time: i64 = "popTime",
        invisible_time: i64 = "invisibleTime",
        revive_qid: i32 = "reviveQid",
        /// Messages left behind the popped ones.
        rest_num: i64 = "restNum",
        /// `retry qid startOffset` per queue, `;`-separated (see the broker's extra_info module).
        start_offset_info: Option<String> = "startOffsetInfo",
        /// `retry qid o1,o2,...` per queue, `;`-separated.
        msg_offset_info: Option<String> = "msgOffsetInfo",
        order_count_info: Option<String> = "orderCountInfo",
    }
}

command_header! {
    /// ACK_MESSAGE (200051). `topic` is the real topic: the pop retry topic for retried messages.
    pub struct AckMessageRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        /// The message's POP_CK property.
        extra_info: String = "extraInfo",
        offset: i64 = "offset",
    }
}

command_header! {
    /// CHANGE_INVISIBLETIME (200053).
    pub struct ChangeInvisibleTimeRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        extra_info: String = "extraInfo",
        offset: i64 = "offset",
        /// The new invisible time in ms, counted from now.
        invisible_time: i64 = "invisibleTime",
    }
}

command_header! {
    /// CHANGE_INVISIBLETIME response: the client builds the message's new POP_CK from it.
    pub struct ChangeInvisibleTimeResponseHeader {
        pop_time: i64 = "popTime",
        invisible_time: i64 = "invisibleTime",
        revive_qid: i32 = "reviveQid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ExtFields;
    use crate::header::CommandHeader;
    use crate::CodecError;

    #[test]
    fn pop_request_reads_the_java_field_names() {
        let mut ext = ExtFields::new();
        for (k, v) in [
            ("consumerGroup", "g"),
            ("topic", "t"),
            ("queueId", "-1"),
            ("maxMsgNums", "32"),
            ("invisibleTime", "60000"),
            ("pollTime", "20000"),
            ("bornTime", "1"),
            ("initMode", "0"),
            ("expType", "TAG"),
            ("exp", "*"),
            ("order", "false"),
        ] {
            ext.insert(k.to_string(), v.to_string());
        }
        let h = PopMessageRequestHeader::decode(&ext).expect("decodes");
        assert_eq!(h.queue_id, -1);
        assert_eq!(h.invisible_time, 60_000);
        assert_eq!(h.order, Some(false));
        ext.remove("invisibleTime");
        assert!(matches!(
            PopMessageRequestHeader::decode(&ext),
            Err(CodecError::MissingField("invisibleTime"))
        ));
    }

    #[test]
    fn pop_response_leaves_out_absent_infos() {
        let ext = PopMessageResponseHeader {
            pop_time: 5,
            invisible_time: 6,
            revive_qid: 7,
            rest_num: 0,
            start_offset_info: Some("0 1 2".into()),
            msg_offset_info: None,
            order_count_info: None,
        }
        .to_ext_fields();
        assert_eq!(ext.get("reviveQid").map(String::as_str), Some("7"));
        assert_eq!(
            ext.get("startOffsetInfo").map(String::as_str),
            Some("0 1 2")
        );
        assert!(!ext.contains_key("msgOffsetInfo"));
    }
}
