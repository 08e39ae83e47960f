//! A gRPC `Message` as the remoting message Java's proxy builds from it (`SendMessageActivity.buildMessage`,
//! `buildMessageProperty`, `buildSysFlag`): the property string, the sysFlag, and the checks with their
//! status codes. Pure functions, shared by local and (later) cluster mode.

use rmq_codec::message::properties as prop;
use rmq_codec::message::record::StoredMessage;
use rmq_codec::message::sys_flag;
use rmq_proto::v2::{
    Code, Digest, DigestType, Encoding, Message, MessageType, Resource, SystemProperties,
};

use super::status::{GrpcError, GrpcResult};

/// Limits of Java's `ProxyConfig` (5.3.3 defaults).
#[derive(Debug, Clone)]
pub struct MessageLimits {
    /// `maxMessageSize`: 4 MiB.
    pub max_body_bytes: usize,
    /// `maxUserPropertySize`: 16 KiB of user property keys and values, tag and keys.
    pub max_user_property_bytes: usize,
    /// `userPropertyMaxNum`: 128.
    pub max_user_properties: usize,
    /// `maxMessageGroupSize`: 64 bytes (a group of that length is already refused).
    pub max_message_group_bytes: usize,
    /// `maxDelayTimeMills`: one day.
    pub max_delay_ms: i64,
    /// `maxTransactionRecoverySecond`: one hour.
    pub max_transaction_recovery_s: i64,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_body_bytes: 4 << 20,
            max_user_property_bytes: 16 << 10,
            max_user_properties: 128,
            max_message_group_bytes: 64,
            max_delay_ms: 24 * 3600 * 1000,
            max_transaction_recovery_s: 3600,
        }
    }
}

/// `MessageConst.STRING_HASH_SET` (5.3.3): property names a user may not set, and that are not handed out
/// as user properties. `__SHARDINGKEY` and `TRACE_CONTEXT` are not in it, so Java hands them out too.
pub(super) const SYSTEM_PROPERTY_NAMES: [&str; 51] = [
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "POP_CK",
    "POP_CK_OFFSET",
    "1ST_POP_TIME",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "DUP_INFO",
    "EXTEND_UNIQ_INFO",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "INNER_MULTI_QUEUE_OFFSET",
    "TIMER_DELAY_MS",
    "TIMER_DELAY_SEC",
    "TIMER_DELIVER_MS",
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_OUT_MS",
    "TIMER_DEL_UNIQKEY",
    "TIMER_DELAY_LEVEL",
    "__BORNHOST",
    "BORN_TIMESTAMP",
    "DLQ_ORIGIN_TOPIC",
    "DLQ_ORIGIN_MESSAGE_ID",
    "__CRC32#",
];

/// `MessageConst.PROPERTY_TRACE_CONTEXT`.
pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";

/// One message ready for SEND_MESSAGE_V2 or a batch element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingMessage {
    /// Pairs in the order Java's proxy puts them (user properties first).
    pub properties: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub sys_flag: i32,
    /// `PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX`: the client's message id.
    pub message_id: String,
}

impl RemotingMessage {
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn property_string(&self) -> String {
        prop::encode(&self.properties)
    }
}

/// `SendMessageActivity.buildSysFlag`: GZIP bodies are COMPRESSED, TRANSACTION messages PREPARED.
pub fn sys_flag_of(message: &Message) -> i32 {
    let sys = message.system_properties.clone().unwrap_or_default();
    let mut flag = 0;
    if sys.body_encoding == Encoding::Gzip as i32 {
        flag |= sys_flag::COMPRESSED;
    }
    if sys.message_type == MessageType::Transaction as i32 {
        flag |= sys_flag::TRANSACTION_PREPARED;
    }
    flag
}

/// Builds one message as `SendMessageActivity.buildMessage` does; `producer_group` is the topic name (the
/// proxy's group for gRPC producers) and `born_host` the client's address when the message names none.
pub fn to_remoting(
    message: &Message,
    producer_group: &str,
    born_host: &str,
    now_ms: i64,
    limits: &MessageLimits,
) -> GrpcResult<RemotingMessage> {
    check_body(&message.body, limits)?;
    let sys = message.system_properties.clone().unwrap_or_default();
    let mut props: Vec<(String, String)> = Vec::new();
    let mut user_bytes = user_properties(message, limits, &mut props)?;
    let tag = sys.tag.clone().unwrap_or_default();
    check_tag(&tag)?;
    if !tag.is_empty() {
        put(&mut props, prop::TAGS, tag.clone());
    }
    user_bytes += tag.len();
    for key in &sys.keys {
        check_key(key)?;
        user_bytes += key.len();
    }
    if !sys.keys.is_empty() {
        put(&mut props, prop::KEYS, sys.keys.join(prop::KEY_SEPARATOR));
    }
    if user_bytes > limits.max_user_property_bytes {
        return Err(GrpcError::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "the total size of user property is too large, max is {}",
                limits.max_user_property_bytes
            ),
        ));
    }
    if sys.message_id.trim().is_empty() {
        return Err(GrpcError::new(
            Code::IllegalMessageId,
            "message id cannot be empty",
        ));
    }
    put(&mut props, prop::UNIQ_KEY, sys.message_id.clone());
    if sys.message_type == MessageType::Transaction as i32 {
        put(&mut props, prop::TRANSACTION_PREPARED, "true".into());
        if let Some(recovery) = &sys.orphaned_transaction_recovery_duration {
            if recovery.seconds > limits.max_transaction_recovery_s {
                return Err(GrpcError::new(
                    Code::BadRequest,
                    format!(
                        "the max transaction recovery time of message is too large, max is {}",
                        limits.max_transaction_recovery_s
                    ),
                ));
            }
            let seconds = recovery.seconds.to_string();
            put(&mut props, prop::CHECK_IMMUNITY_TIME_IN_SECONDS, seconds);
        }
    }
    if let Some(at) = &sys.delivery_timestamp {
        let at_ms = at.seconds * 1000 + i64::from(at.nanos) / 1_000_000;
        if at_ms - now_ms > limits.max_delay_ms {
            return Err(GrpcError::new(
                Code::IllegalDeliveryTime,
                format!(
                    "the max delay time of message is too large, max is {}",
                    limits.max_delay_ms
                ),
            ));
        }
        put(&mut props, prop::TIMER_DELIVER_MS, at_ms.to_string());
    }
    let attempt = sys.delivery_attempt.unwrap_or(0);
    put(&mut props, prop::RECONSUME_TIME, attempt.to_string());
    put(&mut props, prop::PRODUCER_GROUP, producer_group.to_string());
    if let Some(group) = sys.message_group.as_deref().filter(|g| !g.is_empty()) {
        check_message_group(group, limits)?;
        put(&mut props, prop::SHARDING_KEY, group.to_string());
    }
    if let Some(trace) = sys.trace_context.as_deref().filter(|t| !t.is_empty()) {
        put(&mut props, TRACE_CONTEXT, trace.to_string());
    }
    let born = match sys.born_host.trim() {
        "" => born_host,
        host => host,
    };
    if !born.trim().is_empty() {
        put(&mut props, prop::BORN_HOST, born.to_string());
    }
    if let Some(ts) = &sys.born_timestamp {
        let ms = ts.seconds * 1000 + i64::from(ts.nanos) / 1_000_000;
        put(&mut props, prop::BORN_TIMESTAMP, ms.to_string());
    }
    Ok(RemotingMessage {
        properties: props,
        body: message.body.clone(),
        sys_flag: sys_flag_of(message),
        message_id: sys.message_id,
    })
}

/// Sets `key`, replacing an earlier value (Java's property map).
fn put(props: &mut Vec<(String, String)>, key: &str, value: String) {
    match props.iter_mut().find(|(k, _)| k == key) {
        Some(pair) => pair.1 = value,
        None => props.push((key.to_string(), value)),
    }
}

fn check_body(body: &[u8], limits: &MessageLimits) -> GrpcResult<()> {
    if body.is_empty() {
        return Err(GrpcError::new(
            Code::MessageBodyEmpty,
            "message body cannot be empty",
        ));
    }
    if body.len() > limits.max_body_bytes {
        return Err(GrpcError::new(
            Code::MessageBodyTooLarge,
            format!(
                "message body cannot exceed the max {}",
                limits.max_body_bytes
            ),
        ));
    }
    Ok(())
}

/// The user properties, checked as Java checks them; returns the bytes they count for.
fn user_properties(
    message: &Message,
    limits: &MessageLimits,
    props: &mut Vec<(String, String)>,
) -> GrpcResult<usize> {
    let user = &message.user_properties;
    if user.len() > limits.max_user_properties {
        return Err(GrpcError::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "too many user properties, max is {}",
                limits.max_user_properties
            ),
        ));
    }
    let mut bytes = 0;
    for (key, value) in user {
        let refuse =
            |message: String| Err(GrpcError::new(Code::IllegalMessagePropertyKey, message));
        if SYSTEM_PROPERTY_NAMES.contains(&key.as_str()) {
            return refuse(format!("property is used by system: {key}"));
        }
        if has_control_char(key) {
            return refuse("the key of property cannot contain control character".into());
        }
        if has_control_char(value) {
            return refuse("the value of property cannot contain control character".into());
        }
        bytes += key.len() + value.len();
        props.push((key.clone(), value.clone()));
    }
    Ok(bytes)
}

/// `GrpcValidator.validateTag`.
pub fn check_tag(tag: &str) -> GrpcResult<()> {
    let refuse = |message: &str| Err(GrpcError::new(Code::IllegalMessageTag, message));
    if tag.is_empty() {
        return Ok(());
    }
    if tag.trim().is_empty() {
        return refuse("tag cannot be the char sequence of whitespace");
    }
    if tag.contains('|') {
        return refuse("tag cannot contain '|'");
    }
    if has_control_char(tag) {
        return refuse("tag cannot contain control character");
    }
    Ok(())
}

fn check_key(key: &str) -> GrpcResult<()> {
    let refuse = |message: &str| Err(GrpcError::new(Code::IllegalMessageKey, message));
    if key.is_empty() {
        return Ok(());
    }
    if key.trim().is_empty() {
        return refuse("key cannot be the char sequence of whitespace");
    }
    if has_control_char(key) {
        return refuse("key cannot contain control character");
    }
    Ok(())
}

fn check_message_group(group: &str, limits: &MessageLimits) -> GrpcResult<()> {
    let refuse = |message: String| Err(GrpcError::new(Code::IllegalMessageGroup, message));
    if group.trim().is_empty() {
        return refuse("message group cannot be the char sequence of whitespace".into());
    }
    if group.len() >= limits.max_message_group_bytes {
        return refuse(format!(
            "message group exceed the max size {}",
            limits.max_message_group_bytes
        ));
    }
    if has_control_char(group) {
        return refuse("message group cannot contain control character".into());
    }
    Ok(())
}

/// Guava's `CharMatcher.javaIsoControl`: U+0000–U+001F and U+007F–U+009F.
pub fn has_control_char(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// `TopicMessageType.parseFromMessageProperty`: what kind of message these properties make.
pub fn message_type_of(message: &RemotingMessage) -> MessageType {
    let t = crate::broker::message_type::TopicMessageType::of_message(|key| message.property(key));
    super::route::proto_message_type(t)
}

/// A stored message as a gRPC `Message` (`GrpcConverter.buildMessage`): system properties from the record
/// and its properties, every other property a user property, a CRC32 body digest.
pub fn proto_message(stored: &StoredMessage) -> Message {
    let props = prop::decode(&stored.properties);
    let get = |key: &str| props.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let remote = RemotingMessage {
        properties: props.clone(),
        body: Vec::new(),
        sys_flag: stored.sys_flag,
        message_id: String::new(),
    };
    let compressed = stored.sys_flag & sys_flag::COMPRESSED != 0;
    let system = SystemProperties {
        tag: get(prop::TAGS),
        keys: get(prop::KEYS)
            .map(|k| {
                k.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        message_id: get(prop::UNIQ_KEY).unwrap_or_else(|| stored.offset_msg_id()),
        body_digest: Some(Digest {
            r#type: DigestType::Crc32 as i32,
            checksum: format!("{:X}", crc32fast::hash(&stored.body)),
        }),
        body_encoding: if compressed {
            Encoding::Gzip
        } else {
            Encoding::Identity
        } as i32,
        message_type: message_type_of(&remote) as i32,
        born_timestamp: Some(timestamp(stored.born_timestamp)),
        born_host: stored.born_host.ip().to_string(),
        store_timestamp: Some(timestamp(stored.store_timestamp)),
        store_host: stored.store_host.to_string(),
        delivery_timestamp: get(prop::TIMER_DELIVER_MS)
            .and_then(|v| v.parse().ok())
            .map(timestamp),
        queue_id: stored.queue_id,
        queue_offset: Some(stored.queue_offset),
        delivery_attempt: Some(stored.reconsume_times + 1),
        message_group: get(prop::SHARDING_KEY),
        trace_context: get(TRACE_CONTEXT),
        ..Default::default()
    };
    let user_properties = props
        .into_iter()
        .filter(|(k, _)| {
            !SYSTEM_PROPERTY_NAMES.contains(&k.as_str())
                && k != prop::SHARDING_KEY
                && k != TRACE_CONTEXT
        })
        .collect();
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: stored.topic.clone(),
        }),
        user_properties,
        system_properties: Some(system),
        body: stored.body.to_vec(),
    }
}

pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
