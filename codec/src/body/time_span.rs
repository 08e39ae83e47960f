//! `QueryConsumeTimeSpanBody` (QUERY_CONSUME_TIME_SPAN 303): per write queue of a topic, the store times of
//! its first and last messages and of the last message a group consumed, and how long the next one has
//! waited.
//!
//! ```text
//! {"consumeTimeSpanSet":[{"consumeTimeStamp":1700000000100,"delayTime":5000,"maxTimeStamp":1700000000200,
//!  "messageQueue":{"brokerName":"broker-a","queueId":0,"topic":"T"},"minTimeStamp":1700000000000}]}
//! ```
//!
//! Java's `QueueTimeSpan` also has `minTimeStampStr`, `maxTimeStampStr` and `consumeTimeStampStr` getters
//! (the times in the broker's local zone); they have no setters, so no client reads them, and rmqd leaves
//! them out.

use super::MessageQueue;
use crate::fastjson::{self, Value};

/// `QueueTimeSpan`. Times are store timestamps in ms, -1 where the queue has no such message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTimeSpan {
    pub message_queue: MessageQueue,
    pub min_time_stamp: i64,
    pub max_time_stamp: i64,
    pub consume_time_stamp: i64,
    /// 0 when the group has consumed everything.
    pub delay_time: i64,
}

impl QueueTimeSpan {
    fn to_value(&self) -> Value {
        Value::object([
            ("consumeTimeStamp", Value::from(self.consume_time_stamp)),
            ("delayTime", Value::from(self.delay_time)),
            ("maxTimeStamp", Value::from(self.max_time_stamp)),
            ("messageQueue", self.message_queue.to_value()),
            ("minTimeStamp", Value::from(self.min_time_stamp)),
        ])
    }
}

/// `QueryConsumeTimeSpanBody`.
pub fn encode_time_spans(spans: &[QueueTimeSpan]) -> String {
    let list = spans.iter().map(QueueTimeSpan::to_value).collect();
    fastjson::to_string(&Value::object([("consumeTimeSpanSet", Value::Array(list))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_beans_with_sorted_properties() {
        let span = QueueTimeSpan {
            message_queue: MessageQueue {
                topic: "T".into(),
                broker_name: "broker-a".into(),
                queue_id: 0,
            },
            min_time_stamp: 1_700_000_000_000,
            max_time_stamp: 1_700_000_000_200,
            consume_time_stamp: 1_700_000_000_100,
            delay_time: 5_000,
        };
        assert_eq!(
            encode_time_spans(&[span]),
            r#"{"consumeTimeSpanSet":[{"consumeTimeStamp":1700000000100,"delayTime":5000,"maxTimeStamp":1700000000200,"messageQueue":{"brokerName":"broker-a","queueId":0,"topic":"T"},"minTimeStamp":1700000000000}]}"#
        );
        assert_eq!(encode_time_spans(&[]), r#"{"consumeTimeSpanSet":[]}"#);
    }
}
