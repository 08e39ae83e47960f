//! Producing: SEND_MESSAGE (10/310/320), CONSUMER_SEND_MSG_BACK (36) and transactions (37/39).

use super::{CommandHeader, HeaderField};
use crate::command::ExtFields;
use crate::CodecError;

/// The send header of codes 10, 310, 320, 324 and 325.
///
/// Two spellings exist on the wire: V1 with Java field names (code 10; the Go and C++ clients use
/// it for every send, batches included) and V2 with one-letter keys `a`..`n` (Java's default for
/// 310/320). [`CommandHeader`] is V1; use [`Self::decode_any`] on requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMessageRequestHeader {
    /// `producerGroup` / `a`.
    pub producer_group: String,
    /// `topic` / `b`.
    pub topic: String,
    /// `defaultTopic` / `c`: the template for auto-creation, normally `TBW102`.
    pub default_topic: String,
    /// `defaultTopicQueueNums` / `d`.
    pub default_topic_queue_nums: i32,
    /// `queueId` / `e`; negative lets the broker pick a random write queue.
    pub queue_id: i32,
    /// `sysFlag` / `f`.
    pub sys_flag: i32,
    /// `bornTimestamp` / `g`, epoch milliseconds.
    pub born_timestamp: i64,
    /// `flag` / `h`: the user's message flag.
    pub flag: i32,
    /// `properties` / `i`: the property string.
    pub properties: Option<String>,
    /// `reconsumeTimes` / `j`.
    pub reconsume_times: Option<i32>,
    /// `unitMode` / `k`.
    pub unit_mode: bool,
    /// `batch` / `m`.
    pub batch: bool,
    /// `maxReconsumeTimes` / `l`.
    pub max_reconsume_times: Option<i32>,
    /// `bname` (5.x base-class field; `brokerName` also accepted) / `n`.
    pub broker_name: Option<String>,
}

/// V1 and V2 keys, in struct field order.
struct SendKeys {
    producer_group: &'static str,
    topic: &'static str,
    default_topic: &'static str,
    default_topic_queue_nums: &'static str,
    queue_id: &'static str,
    sys_flag: &'static str,
    born_timestamp: &'static str,
    flag: &'static str,
    properties: &'static str,
    reconsume_times: &'static str,
    unit_mode: &'static str,
    batch: &'static str,
    max_reconsume_times: &'static str,
    broker_name: &'static str,
}

const V1_KEYS: SendKeys = SendKeys {
    producer_group: "producerGroup",
    topic: "topic",
    default_topic: "defaultTopic",
    default_topic_queue_nums: "defaultTopicQueueNums",
    queue_id: "queueId",
    sys_flag: "sysFlag",
    born_timestamp: "bornTimestamp",
    flag: "flag",
    properties: "properties",
    reconsume_times: "reconsumeTimes",
    unit_mode: "unitMode",
    batch: "batch",
    max_reconsume_times: "maxReconsumeTimes",
    broker_name: "bname",
};

const V2_KEYS: SendKeys = SendKeys {
    producer_group: "a",
    topic: "b",
    default_topic: "c",
    default_topic_queue_nums: "d",
    queue_id: "e",
    sys_flag: "f",
    born_timestamp: "g",
    flag: "h",
    properties: "i",
    reconsume_times: "j",
    unit_mode: "k",
    batch: "m",
    max_reconsume_times: "l",
    broker_name: "n",
};

impl SendMessageRequestHeader {
    fn decode_with(ext: &ExtFields, keys: &SendKeys) -> Result<Self, CodecError> {
        Ok(Self {
            producer_group: String::read(ext, keys.producer_group)?,
            topic: String::read(ext, keys.topic)?,
            default_topic: String::read(ext, keys.default_topic)?,
            default_topic_queue_nums: i32::read(ext, keys.default_topic_queue_nums)?,
            queue_id: i32::read(ext, keys.queue_id)?,
            sys_flag: i32::read(ext, keys.sys_flag)?,
            born_timestamp: i64::read(ext, keys.born_timestamp)?,
            flag: i32::read(ext, keys.flag)?,
            properties: HeaderField::read(ext, keys.properties)?,
            reconsume_times: HeaderField::read(ext, keys.reconsume_times)?,
            unit_mode: bool::read(ext, keys.unit_mode)?,
            batch: bool::read(ext, keys.batch)?,
            max_reconsume_times: HeaderField::read(ext, keys.max_reconsume_times)?,
            broker_name: HeaderField::read(ext, keys.broker_name)?,
        })
    }

    fn encode_with(&self, ext: &mut ExtFields, keys: &SendKeys) {
        self.producer_group.write(keys.producer_group, ext);
        self.topic.write(keys.topic, ext);
        self.default_topic.write(keys.default_topic, ext);
        self.default_topic_queue_nums
            .write(keys.default_topic_queue_nums, ext);
        self.queue_id.write(keys.queue_id, ext);
        self.sys_flag.write(keys.sys_flag, ext);
        self.born_timestamp.write(keys.born_timestamp, ext);
        self.flag.write(keys.flag, ext);
        self.properties.write(keys.properties, ext);
        self.reconsume_times.write(keys.reconsume_times, ext);
        self.unit_mode.write(keys.unit_mode, ext);
        self.batch.write(keys.batch, ext);
        self.max_reconsume_times
            .write(keys.max_reconsume_times, ext);
        self.broker_name.write(keys.broker_name, ext);
    }

    /// Reads the one-letter V2 keys; a missing required field is reported by its letter.
    pub fn decode_v2(ext: &ExtFields) -> Result<Self, CodecError> {
        Self::decode_with(ext, &V2_KEYS)
    }

    /// Writes the one-letter V2 keys.
    pub fn encode_v2(&self, ext: &mut ExtFields) {
        self.encode_with(ext, &V2_KEYS);
    }

    /// V2 when the map has the V2 topic key `b`, else V1: the request code does not tell,
    /// because Go sends V1 keys even for 320.
    pub fn decode_any(ext: &ExtFields) -> Result<Self, CodecError> {
        if ext.contains_key(V2_KEYS.topic) {
            Self::decode_v2(ext)
        } else {
            Self::decode(ext)
        }
    }
}

impl CommandHeader for SendMessageRequestHeader {
    fn decode(ext: &ExtFields) -> Result<Self, CodecError> {
        let mut header = Self::decode_with(ext, &V1_KEYS)?;
        if header.broker_name.is_none() {
            header.broker_name = ext.get("brokerName").cloned();
        }
        Ok(header)
    }

    fn encode(&self, ext: &mut ExtFields) {
        self.encode_with(ext, &V1_KEYS);
    }
}

command_header! {
    /// Send response (FastCodes in Java). The broker also adds `MSG_REGION` and `TRACE_ON` to every
    /// send response, errors included: the Java client dereferences them.
    pub struct SendMessageResponseHeader {
        /// The offsetMsgId (comma-joined for batches); transactions decode the commit-log offset
        /// from it.
        msg_id: String = "msgId",
        queue_id: i32 = "queueId",
        /// Logical offset of the (first) message.
        queue_offset: i64 = "queueOffset",
        /// The message's UNIQ_KEY.
        transaction_id: Option<String> = "transactionId",
        batch_uniq_id: Option<String> = "batchUniqId",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36): put a failed message into its group's retry or DLQ topic.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log physical offset of the original message.
        offset: i64 = "offset",
        group: String = "group",
        /// 0 = the broker decides (3 + reconsumeTimes); negative = straight to the DLQ.
        delay_level: i32 = "delayLevel",
        origin_msg_id: Option<String> = "originMsgId",
        origin_topic: Option<String> = "originTopic",
        unit_mode: bool = "unitMode",
        max_reconsume_times: Option<i32> = "maxReconsumeTimes",
    }
}

command_header! {
    /// END_TRANSACTION (37, oneway): commit or roll back a half message.
    pub struct EndTransactionRequestHeader {
        topic: Option<String> = "topic",
        producer_group: String = "producerGroup",
        /// Queue offset of the half message in `RMQ_SYS_TRANS_HALF_TOPIC`.
        tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Commit-log offset of the half message (decoded from its offsetMsgId).
        commit_log_offset: i64 = "commitLogOffset",
        /// 0 = unknown (no-op), 8 = commit, 12 = rollback.
        commit_or_rollback: i32 = "commitOrRollback",
        from_transaction_check: bool = "fromTransactionCheck",
        /// The client's UNIQ_KEY.
        msg_id: String = "msgId",
        transaction_id: Option<String> = "transactionId",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39, broker to producer, oneway). The body is the half message as
    /// a full store record.
    pub struct CheckTransactionStateRequestHeader {
        /// The real topic of the half message.
        topic: Option<String> = "topic",
        tran_state_table_offset: i64 = "tranStateTableOffset",
        commit_log_offset: i64 = "commitLogOffset",
        msg_id: Option<String> = "msgId",
        transaction_id: Option<String> = "transactionId",
        offset_msg_id: Option<String> = "offsetMsgId",
        /// The sending broker's name (5.x base-class field).
        broker_name: Option<String> = "bname",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::ext_of;

    fn sample() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 3,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_123,
            flag: 0,
            properties: Some("UNIQ_KEY\u{1}AC11\u{2}WAIT\u{1}true\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: false,
            batch: false,
            max_reconsume_times: None,
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn decodes_java_v2_send() {
        let ext = ext_of(&[
            ("a", "PG"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "3"),
            ("f", "0"),
            ("g", "1700000000123"),
            ("h", "0"),
            ("i", "UNIQ_KEY\u{1}AC11\u{2}WAIT\u{1}true\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
            ("bname", "ignored-base-field"),
        ]);
        assert_eq!(
            SendMessageRequestHeader::decode_any(&ext).unwrap(),
            sample()
        );
    }

    #[test]
    fn decodes_go_v1_batch_send() {
        let ext = ext_of(&[
            ("producerGroup", "PG"),
            ("topic", "TopicTest"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "3"),
            ("sysFlag", "0"),
            ("bornTimestamp", "1700000000123"),
            ("flag", "0"),
            ("properties", "UNIQ_KEY\u{1}AC11\u{2}WAIT\u{1}true\u{2}"),
            ("reconsumeTimes", "0"),
            ("unitMode", "false"),
            ("batch", "true"),
            ("maxReconsumeTimes", "16"),
            ("brokerName", "broker-a"),
        ]);
        let header = SendMessageRequestHeader::decode_any(&ext).unwrap();
        let expected = SendMessageRequestHeader {
            batch: true,
            max_reconsume_times: Some(16),
            ..sample()
        };
        assert_eq!(header, expected);
    }

    #[test]
    fn missing_fields_name_the_wire_key() {
        let mut ext = sample().to_ext_fields();
        ext.remove("bornTimestamp");
        assert_eq!(
            SendMessageRequestHeader::decode_any(&ext),
            Err(CodecError::MissingField("bornTimestamp"))
        );
        let mut ext = ExtFields::new();
        sample().encode_v2(&mut ext);
        ext.remove("a");
        assert_eq!(
            SendMessageRequestHeader::decode_any(&ext),
            Err(CodecError::MissingField("a"))
        );
        ext.insert("a".into(), "PG".into());
        ext.insert("e".into(), "three".into());
        assert_eq!(
            SendMessageRequestHeader::decode_v2(&ext),
            Err(CodecError::InvalidField {
                field: "e",
                value: "three".into()
            })
        );
    }

    #[test]
    fn send_round_trips_in_both_spellings() {
        let header = SendMessageRequestHeader {
            unit_mode: true,
            max_reconsume_times: Some(3),
            ..sample()
        };
        let v1 = header.to_ext_fields();
        assert_eq!(v1.get("bname").map(String::as_str), Some("broker-a"));
        assert_eq!(v1.get("unitMode").map(String::as_str), Some("true"));
        assert!(!v1.contains_key("b"));
        assert_eq!(SendMessageRequestHeader::decode_any(&v1).unwrap(), header);
        let mut v2 = ExtFields::new();
        header.encode_v2(&mut v2);
        assert_eq!(v2.len(), 14);
        assert_eq!(v2.get("l").map(String::as_str), Some("3"));
        assert_eq!(SendMessageRequestHeader::decode_any(&v2).unwrap(), header);
    }

    #[test]
    fn response_and_transaction_headers() {
        let response = SendMessageResponseHeader {
            msg_id: "0A00000100002A9F0000000000000000".into(),
            queue_id: 1,
            queue_offset: 77,
            transaction_id: Some("uniq".into()),
            batch_uniq_id: None,
        };
        let ext = response.to_ext_fields();
        assert_eq!(ext.get("queueOffset").map(String::as_str), Some("77"));
        assert!(!ext.contains_key("batchUniqId"));
        assert_eq!(SendMessageResponseHeader::decode(&ext).unwrap(), response);

        let end = EndTransactionRequestHeader::decode(&ext_of(&[
            ("producerGroup", "pg"),
            ("tranStateTableOffset", "5"),
            ("commitLogOffset", "1024"),
            ("commitOrRollback", "8"),
            ("fromTransactionCheck", "true"),
            ("msgId", "uniq"),
        ]))
        .unwrap();
        assert_eq!((end.commit_log_offset, end.commit_or_rollback), (1024, 8));
        assert!(end.from_transaction_check);
        assert_eq!(end.topic, None);
        assert_eq!(
            EndTransactionRequestHeader::decode(&end.to_ext_fields()).unwrap(),
            end
        );

        let check = CheckTransactionStateRequestHeader {
            tran_state_table_offset: 5,
            commit_log_offset: 1024,
            broker_name: Some("broker-a".into()),
            ..Default::default()
        };
        let ext = check.to_ext_fields();
        assert_eq!(ext.get("bname").map(String::as_str), Some("broker-a"));
        assert_eq!(
            CheckTransactionStateRequestHeader::decode(&ext).unwrap(),
            check
        );
    }

    #[test]
    fn send_back_header() {
        let ext = ext_of(&[
            ("offset", "4096"),
            ("group", "cg"),
            ("delayLevel", "0"),
            ("originMsgId", "m1"),
        ]);
        let header = ConsumerSendMsgBackRequestHeader::decode(&ext).unwrap();
        assert_eq!(header.offset, 4096);
        assert!(!header.unit_mode);
        assert_eq!(header.max_reconsume_times, None);
        assert_eq!(
            ConsumerSendMsgBackRequestHeader::decode(&ext_of(&[("offset", "1"), ("group", "g")])),
            Err(CodecError::MissingField("delayLevel"))
        );
    }
}
