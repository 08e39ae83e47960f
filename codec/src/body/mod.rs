//! Typed JSON request and response bodies, read once from and written once to fastjson text.
//!
//! Layout:
//! - [`acl`][]: the 4.9.x `DataVersion` of ACL files (GET_BROKER_CLUSTER_ACL_INFO 52).
//! - [`heartbeat`][]: `HeartbeatData` (HEART_BEAT 34).
//! - [`lock_batch`][]: `LockBatchRequestBody` / `UnlockBatchRequestBody` (LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42)
//!   and `LockBatchResponseBody`.
//! - [`register_broker`][]: `RegisterBrokerBody`, `TopicConfigSerializeWrapper` (REGISTER_BROKER 103) and
//!   `DataVersion` (also the body of QUERY_DATA_VERSION 322).
//! - [`route`][]: `TopicRouteData` (GET_ROUTEINFO_BY_TOPIC 105, fastjson or standard JSON) and `ClusterInfo`
//!   (GET_BROKER_CLUSTER_INFO 106).
//! - [`stats`][]: `TopicStatsTable` (GET_TOPIC_STATS_INFO 202), `ConsumeStats` (GET_CONSUME_STATS 208)
//!   keyed by `MessageQueue` objects, and `ConsumeStatsList` (GET_BROKER_CONSUME_STATS 317).
//! - [`connection`][]: `ConsumerConnection` (203), `ProducerConnection` (204) and `GroupList` (300).
//! - [`broker_status`][]: `ProducerTableInfo` (GET_ALL_PRODUCER_INFO 328) and `HARuntimeInfo`
//!   (GET_BROKER_HA_STATUS 907).
//! - [`time_span`][]: `QueryConsumeTimeSpanBody` (QUERY_CONSUME_TIME_SPAN 303).
//! - [`consumer_status`][]: `GetConsumerStatusBody` (221 from a consumer, 223 from the broker).
//! - [`consume_queue`][]: `QueryConsumeQueueResponseBody` (QUERY_CONSUME_QUEUE 321).
//! - here: [`MessageQueue`] and [`java_bean`], shared by the bodies.
//!
//! Decoding follows what Java's broker and name server make of a body, because rmqd answers wrong-shaped
//! bodies with the same codes: text that does not parse is [`CodecError::Json`] (or [`CodecError::Utf8`]);
//! where fastjson binds a bean, `null`, `[]` and `""` give a null bean and any other non-object throws
//! ([`java_bean`]); a null the Java processor dereferences is [`CodecError::NullField`]. Fields of the wrong
//! type are read as their default (empty string, 0, false), which is more lenient than fastjson.
//!
//! Encoding writes bean properties sorted by name, as fastjson does, with `fastjson::to_string`.

pub mod acl;
pub mod broker_status;
pub mod connection;
pub mod consume_queue;
pub mod consumer_status;
pub mod heartbeat;
pub mod lock_batch;
pub mod register_broker;
pub mod route;
pub mod stats;
pub mod time_span;

#[cfg(test)]
mod tests;

pub use broker_status::{
    HaClientRuntimeInfo, HaConnectionRuntimeInfo, HaRuntimeInfo, ProducerInfo, ProducerTableInfo,
};
pub use connection::{Connection, ConsumerConnection, GroupList, ProducerConnection};
pub use consume_queue::{ConsumeQueueData, QueryConsumeQueueResponseBody};
pub use consumer_status::{client_queue_table, encode_broker_consumer_status};
pub use heartbeat::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
pub use lock_batch::{
    LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody, MAX_MQ_SET_LEN,
};
pub use register_broker::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
pub use route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};
pub use stats::{ConsumeStats, ConsumeStatsList, OffsetWrapper, TopicOffset, TopicStatsTable};
pub use time_span::{encode_time_spans, QueueTimeSpan};

use crate::fastjson::{self, Key, Value};
use crate::CodecError;

/// `MessageQueue`: one queue of a topic on one broker. The fields are in the order of Java's
/// `MessageQueue.compareTo` (topic, brokerName, queueId), so the derived `Ord` sorts as Java does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

impl MessageQueue {
    /// The bean form, `{"brokerName":..,"queueId":..,"topic":..}`.
    pub fn to_value(&self) -> Value {
        Value::Object(self.bean_entries())
    }

    /// The bean form as a map key, as fastjson writes a `Map<MessageQueue, _>`.
    pub fn to_key(&self) -> Key {
        Key::Object(self.bean_entries())
    }

    fn bean_entries(&self) -> Vec<(Key, Value)> {
        vec![
            (
                Key::from("brokerName"),
                Value::from(self.broker_name.as_str()),
            ),
            (Key::from("queueId"), Value::from(self.queue_id)),
            (Key::from("topic"), Value::from(self.topic.as_str())),
        ]
    }

    /// Reads the bean form; `None` unless `topic` and `brokerName` are strings and `queueId` an `int`.
    pub fn from_value(v: &Value) -> Option<MessageQueue> {
        Some(MessageQueue {
            topic: v.get("topic")?.as_str()?.to_owned(),
            broker_name: v.get("brokerName")?.as_str()?.to_owned(),
            queue_id: v.get("queueId")?.as_i32()?,
        })
    }
}

/// What fastjson's `JSON.parseObject(text, Bean.class)` makes of a parsed body or field: `Ok(None)` where
/// Java gets a null bean (`null`, `[]`, `""`), `Ok(Some(_))` for an object, and for any other value the
/// "syntax error, expect {" fastjson throws, which Java's remoting layer answers with SYSTEM_ERROR.
pub fn java_bean<'a>(
    value: &'a Value,
    bean: &'static str,
) -> Result<Option<&'a Value>, CodecError> {
    let actual = match value {
        Value::Object(_) => return Ok(Some(value)),
        Value::Null => return Ok(None),
        Value::Array(items) if items.is_empty() => return Ok(None),
        Value::Str(text) if text.is_empty() => return Ok(None),
        Value::Array(_) => "[",
        Value::Str(_) => "string",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
    };
    Err(CodecError::NotABean { bean, actual })
}

/// Parses a body as fastjson text; `what` names the body in the UTF-8 error.
fn parse_body(body: &[u8], what: &'static str) -> Result<Value, CodecError> {
    let text = std::str::from_utf8(body).map_err(|_| CodecError::Utf8(what))?;
    fastjson::parse(text)
}

/// A string field; absent or not a string reads as empty.
fn str_field(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// A `long` field; absent or not a number reads as 0.
fn i64_field(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// An `int` field; absent or not a number reads as 0, and a `long` beyond `int` keeps its low 32 bits
/// (Java's `(int) long`).
fn i32_field(v: &Value, key: &str) -> i32 {
    i64_field(v, key) as i32
}

/// A `boolean` field; absent or not a boolean reads as false.
fn bool_field(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The strings of a string-collection field; other elements and other values are left out.
fn string_list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .unwrap_or(&[])
        .iter()
        .filter_map(|item| item.as_str().map(str::to_owned))
        .collect()
}

fn string_array(items: &[String]) -> Value {
    Value::Array(items.iter().map(Value::from).collect())
}
