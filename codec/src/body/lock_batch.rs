//! The bodies of LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42), with which orderly consumers lock the queues
//! they were assigned:
//!
//! ```text
//! request  {"clientId":"10.0.0.1@123","consumerGroup":"cg","mqSet":[{"brokerName":"b","queueId":1,
//!           "topic":"T"}],"onlyThisBroker":false}
//! response {"lockOKMQSet":[{"brokerName":"b","queueId":1,"topic":"T"}]}
//! ```

use super::{bool_field, java_bean, parse_body, MessageQueue};
use crate::fastjson::{self, Value};
use crate::CodecError;

/// Most queues one request may name, so a single body cannot make the broker do unbounded work.
pub const MAX_MQ_SET_LEN: usize = 65_536;

/// `LockBatchRequestBody`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockBatchRequestBody {
    pub consumer_group: String,
    pub client_id: String,
    pub only_this_broker: bool,
    /// Sorted, without duplicates: `mqSet` is a Java `Set`.
    pub mq_set: Vec<MessageQueue>,
}

/// `UnlockBatchRequestBody` has the same fields.
pub type UnlockBatchRequestBody = LockBatchRequestBody;

/// `LockBatchResponseBody`: the queues the client holds after the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockBatchResponseBody {
    pub lock_ok_mq_set: Vec<MessageQueue>,
}

impl LockBatchRequestBody {
    /// Reads the body. `consumerGroup` and `clientId` must be strings; a non-array `mqSet` is empty and
    /// elements that are not message queues are skipped. More than [`MAX_MQ_SET_LEN`] elements is an error.
    pub fn decode(body: &[u8]) -> Result<LockBatchRequestBody, CodecError> {
        let doc = parse_body(body, "lock body")?;
        let text = |key: &'static str| {
            doc.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(CodecError::MissingBodyField(key))
        };
        let consumer_group = text("consumerGroup")?;
        let client_id = text("clientId")?;
        let mut mq_set = message_queues(&doc, "mqSet")?;
        mq_set.sort();
        mq_set.dedup();
        Ok(LockBatchRequestBody {
            consumer_group,
            client_id,
            only_this_broker: bool_field(&doc, "onlyThisBroker"),
            mq_set,
        })
    }

    pub fn encode(&self) -> String {
        let doc = Value::object([
            ("clientId", Value::from(self.client_id.as_str())),
            ("consumerGroup", Value::from(self.consumer_group.as_str())),
            ("mqSet", queue_array(&self.mq_set)),
            ("onlyThisBroker", Value::Bool(self.only_this_broker)),
        ]);
        fastjson::to_string(&doc)
    }
}

impl LockBatchResponseBody {
    /// Reads the body as a Java client does: a null bean is an error, and elements that are not message
    /// queues are skipped.
    pub fn decode(body: &[u8]) -> Result<LockBatchResponseBody, CodecError> {
        let doc = parse_body(body, "lock response body")?;
        let doc = java_bean(&doc, "LockBatchResponseBody")?
            .ok_or(CodecError::NullField("lockBatchResponseBody"))?;
        Ok(LockBatchResponseBody {
            lock_ok_mq_set: message_queues(doc, "lockOKMQSet")?,
        })
    }

    pub fn encode(&self) -> String {
        let doc = Value::object([("lockOKMQSet", queue_array(&self.lock_ok_mq_set))]);
        fastjson::to_string(&doc)
    }
}

fn message_queues(doc: &Value, key: &'static str) -> Result<Vec<MessageQueue>, CodecError> {
    let items = doc.get(key).and_then(Value::as_array).unwrap_or(&[]);
    if items.len() > MAX_MQ_SET_LEN {
        return Err(CodecError::TooMany {
            what: "queues",
            count: items.len(),
        });
    }
    Ok(items.iter().filter_map(MessageQueue::from_value).collect())
}

fn queue_array(mqs: &[MessageQueue]) -> Value {
    Value::Array(mqs.iter().map(MessageQueue::to_value).collect())
}
