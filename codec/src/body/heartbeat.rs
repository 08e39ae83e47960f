//! `HeartbeatData`, the body of HEART_BEAT (34): a client's id, consumer groups with their subscriptions, and
//! producer groups. As a Java client writes it:
//!
//! ```text
//! {"clientID":"10.0.0.5@12345","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET",
//!  "consumeType":"CONSUME_PASSIVELY","groupName":"cg","messageModel":"CLUSTERING","subscriptionDataSet":[
//!  {"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA",
//!  "subVersion":1700000000123,"tagsSet":["TagA"],"topic":"T"}],"unitMode":false}],
//!  "producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}]}
//! ```
//!
//! Decoding is lenient where Java, Go and C++ clients differ, and fails where Java's broker fails: fastjson
//! refuses a body or set element that is not an object, and `ClientManageProcessor.heartBeat` throws a
//! NullPointerException on a null body, set, set element or group name.

use super::{bool_field, i64_field, java_bean, parse_body, str_field, string_array, string_list};
use crate::fastjson::{self, Value};
use crate::CodecError;

/// `HeartbeatData`. The 5.x fields `heartbeatFingerprint` and `withoutSub` are not read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeartbeatData {
    /// `clientID`.
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    pub producer_data_set: Vec<ProducerData>,
}

/// `ConsumerData`: one consumer group of the client. The enums travel as their Java names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerData {
    pub group_name: String,
    /// `CONSUME_ACTIVELY` (pull) or `CONSUME_PASSIVELY` (push).
    pub consume_type: String,
    /// `CLUSTERING` or `BROADCASTING`.
    pub message_model: String,
    pub consume_from_where: String,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// `ProducerData`: one producer group of the client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerData {
    pub group_name: String,
}

/// `SubscriptionData`: what a consumer group subscribes to on one topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscriptionData {
    pub topic: String,
    /// The expression: `*`, `TagA || TagB`, or an SQL92 selector.
    pub sub_string: String,
    /// `TAG` or `SQL92`; empty when the client left it out.
    pub expression_type: String,
    pub sub_version: i64,
    pub tags_set: Vec<String>,
    /// The tags' `String.hashCode`s.
    pub code_set: Vec<i32>,
    pub class_filter_mode: bool,
}

impl HeartbeatData {
    pub fn decode(body: &[u8]) -> Result<HeartbeatData, CodecError> {
        let doc = parse_body(body, "heartbeat body")?;
        let doc =
            java_bean(&doc, "HeartbeatData")?.ok_or(CodecError::NullField("heartbeatData"))?;
        let consumer_data_set = bean_set(doc, "consumerDataSet")?
            .into_iter()
            .map(ConsumerData::from_value)
            .collect::<Result<_, _>>()?;
        let producer_data_set = bean_set(doc, "producerDataSet")?
            .into_iter()
            .map(|p| {
                Ok(ProducerData {
                    group_name: group_name(p)?,
                })
            })
            .collect::<Result<_, CodecError>>()?;
        Ok(HeartbeatData {
            client_id: str_field(doc, "clientID"),
            consumer_data_set,
            producer_data_set,
        })
    }

    pub fn encode(&self) -> String {
        let producers = self
            .producer_data_set
            .iter()
            .map(|p| Value::object([("groupName", Value::from(p.group_name.as_str()))]))
            .collect();
        let doc = Value::object([
            ("clientID", Value::from(self.client_id.as_str())),
            (
                "consumerDataSet",
                Value::Array(
                    self.consumer_data_set
                        .iter()
                        .map(ConsumerData::to_value)
                        .collect(),
                ),
            ),
            ("producerDataSet", Value::Array(producers)),
        ]);
        fastjson::to_string(&doc)
    }
}

impl ConsumerData {
    fn from_value(c: &Value) -> Result<ConsumerData, CodecError> {
        let subscription_data_set = bean_set(c, "subscriptionDataSet")?
            .into_iter()
            .map(SubscriptionData::from_value)
            .collect();
        Ok(ConsumerData {
            group_name: group_name(c)?,
            consume_type: str_field(c, "consumeType"),
            message_model: str_field(c, "messageModel"),
            consume_from_where: str_field(c, "consumeFromWhere"),
            subscription_data_set,
            unit_mode: bool_field(c, "unitMode"),
        })
    }

    fn to_value(&self) -> Value {
        Value::object([
            (
                "consumeFromWhere",
                Value::from(self.consume_from_where.as_str()),
            ),
            ("consumeType", Value::from(self.consume_type.as_str())),
            ("groupName", Value::from(self.group_name.as_str())),
            ("messageModel", Value::from(self.message_model.as_str())),
            (
                "subscriptionDataSet",
                Value::Array(
                    self.subscription_data_set
                        .iter()
                        .map(SubscriptionData::to_value)
                        .collect(),
                ),
            ),
            ("unitMode", Value::Bool(self.unit_mode)),
        ])
    }
}

impl SubscriptionData {
    fn from_value(s: &Value) -> SubscriptionData {
        let code_set = s
            .get("codeSet")
            .and_then(Value::as_array)
            .unwrap_or(&[])
            .iter()
            .filter_map(Value::as_i32)
            .collect();
        SubscriptionData {
            topic: str_field(s, "topic"),
            sub_string: str_field(s, "subString"),
            expression_type: str_field(s, "expressionType"),
            sub_version: i64_field(s, "subVersion"),
            tags_set: string_list(s, "tagsSet"),
            code_set,
            class_filter_mode: bool_field(s, "classFilterMode"),
        }
    }

    /// The bean form, properties sorted (`filterClassSource` is not serialized by Java).
    pub fn to_value(&self) -> Value {
        Value::object([
            ("classFilterMode", Value::Bool(self.class_filter_mode)),
            (
                "codeSet",
                Value::Array(self.code_set.iter().map(|&c| Value::from(c)).collect()),
            ),
            ("expressionType", Value::from(self.expression_type.as_str())),
            ("subString", Value::from(self.sub_string.as_str())),
            ("subVersion", Value::Int(self.sub_version)),
            ("tagsSet", string_array(&self.tags_set)),
            ("topic", Value::from(self.topic.as_str())),
        ])
    }
}

/// The elements of a `Set<Bean>` field the processor iterates. Absent is the bean's empty default; `null`
/// (or a null element) is the NullPointerException of the loop; anything else fastjson refuses.
fn bean_set<'a>(doc: &'a Value, key: &'static str) -> Result<Vec<&'a Value>, CodecError> {
    let items = match doc.get(key) {
        None => return Ok(Vec::new()),
        Some(Value::Null) => return Err(CodecError::NullField(key)),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return java_bean(other, key).and(Err(CodecError::NotASet(key)));
        }
    };
    items
        .iter()
        .map(|item| java_bean(item, key)?.ok_or(CodecError::NullField(key)))
        .collect()
}

/// The group name; Java looks the group up in a `ConcurrentHashMap`, which throws on a null key.
fn group_name(data: &Value) -> Result<String, CodecError> {
    match data.get("groupName") {
        None | Some(Value::Null) => Err(CodecError::NullField("groupName")),
        Some(Value::Int(n)) => Ok(n.to_string()),
        Some(v) => Ok(v.as_str().unwrap_or("").to_owned()),
    }
}
