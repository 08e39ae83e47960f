//! Queue statistics keyed by [`MessageQueue`]: `TopicStatsTable` (GET_TOPIC_STATS_INFO 202),
//! `ConsumeStats` (GET_CONSUME_STATS 208) and `ConsumeStatsList` (GET_BROKER_CONSUME_STATS 317). fastjson
//! writes the `MessageQueue` keys of their `offsetTable` as JSON objects, which the Java clients' fastjson
//! reads back into `MessageQueue`s:
//!
//! ```text
//! {"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":1700000000000,
//!  "maxOffset":3,"minOffset":0}},"topicPutTps":0.0}
//! ```
//!
//! The 5.x shapes are written; a 4.x client ignores what its classes lack (`topicPutTps`, `pullOffset`).

use super::{i64_field, parse_body, MessageQueue};
use crate::fastjson::{self, Value};
use crate::CodecError;

/// `TopicOffset`: one queue's offsets and the store time of its last message (0 when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicOffset {
    pub min_offset: i64,
    pub max_offset: i64,
    pub last_update_timestamp: i64,
}

/// `TopicStatsTable`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicStatsTable {
    pub offset_table: Vec<(MessageQueue, TopicOffset)>,
    /// Put TPS of the topic over the last minute (5.x).
    pub topic_put_tps: f64,
}

/// `OffsetWrapper`: where the broker's queue ends and where a group has got to in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OffsetWrapper {
    /// The queue's max offset.
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    /// 5.x: the next offset of the group's last pull, never below `consumer_offset`.
    pub pull_offset: i64,
    /// Store time of the last consumed message, 0 when none.
    pub last_timestamp: i64,
}

/// `ConsumeStats`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumeStats {
    pub offset_table: Vec<(MessageQueue, OffsetWrapper)>,
    pub consume_tps: f64,
}

/// `ConsumeStatsList` (GET_BROKER_CONSUME_STATS 317): per subscription group, one `ConsumeStats` per topic
/// it has offsets for. Each element of Java's list is a one-entry map `{group: [ConsumeStats, ...]}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumeStatsList {
    pub consume_stats_list: Vec<(String, Vec<ConsumeStats>)>,
    /// `brokerIP1:listenPort`.
    pub broker_addr: String,
    /// Sum of `brokerOffset - consumerOffset` over every queue.
    pub total_diff: i64,
    /// 5.x: sum of `pullOffset - consumerOffset` over every queue.
    pub total_inflight_diff: i64,
}

impl ConsumeStatsList {
    pub fn encode(&self) -> String {
        let list = self
            .consume_stats_list
            .iter()
            .map(|(group, stats)| {
                let stats = stats.iter().map(ConsumeStats::to_value).collect();
                Value::object([(group.as_str(), Value::Array(stats))])
            })
            .collect();
        fastjson::to_string(&Value::object([
            ("brokerAddr", Value::from(self.broker_addr.as_str())),
            ("consumeStatsList", Value::Array(list)),
            ("totalDiff", Value::Int(self.total_diff)),
            ("totalInflightDiff", Value::Int(self.total_inflight_diff)),
        ]))
    }
}

impl TopicOffset {
    fn to_value(self) -> Value {
        Value::object([
            (
                "lastUpdateTimestamp",
                Value::Int(self.last_update_timestamp),
            ),
            ("maxOffset", Value::Int(self.max_offset)),
            ("minOffset", Value::Int(self.min_offset)),
        ])
    }

    fn from_value(v: &Value) -> TopicOffset {
        TopicOffset {
            min_offset: i64_field(v, "minOffset"),
            max_offset: i64_field(v, "maxOffset"),
            last_update_timestamp: i64_field(v, "lastUpdateTimestamp"),
        }
    }
}

impl OffsetWrapper {
    fn to_value(self) -> Value {
        Value::object([
            ("brokerOffset", Value::Int(self.broker_offset)),
            ("consumerOffset", Value::Int(self.consumer_offset)),
            ("lastTimestamp", Value::Int(self.last_timestamp)),
            ("pullOffset", Value::Int(self.pull_offset)),
        ])
    }

    fn from_value(v: &Value) -> OffsetWrapper {
        OffsetWrapper {
            broker_offset: i64_field(v, "brokerOffset"),
            consumer_offset: i64_field(v, "consumerOffset"),
            pull_offset: i64_field(v, "pullOffset"),
            last_timestamp: i64_field(v, "lastTimestamp"),
        }
    }
}

impl TopicStatsTable {
    pub fn encode(&self) -> String {
        let table = queue_table(&self.offset_table, |offset| offset.to_value());
        fastjson::to_string(&Value::object([
            ("offsetTable", table),
            ("topicPutTps", Value::Float(self.topic_put_tps)),
        ]))
    }

    pub fn decode(body: &[u8]) -> Result<TopicStatsTable, CodecError> {
        let doc = parse_body(body, "TopicStatsTable body")?;
        Ok(TopicStatsTable {
            offset_table: read_queue_table(&doc, TopicOffset::from_value)?,
            topic_put_tps: f64_field(&doc, "topicPutTps"),
        })
    }
}

impl ConsumeStats {
    pub fn encode(&self) -> String {
        fastjson::to_string(&self.to_value())
    }

    fn to_value(&self) -> Value {
        let table = queue_table(&self.offset_table, |offset| offset.to_value());
        Value::object([
            ("consumeTps", Value::Float(self.consume_tps)),
            ("offsetTable", table),
        ])
    }

    /// Sum of `brokerOffset - consumerOffset` (Java's `computeTotalDiff`).
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .iter()
            .map(|(_, o)| o.broker_offset - o.consumer_offset)
            .sum()
    }

    /// Sum of `pullOffset - consumerOffset` (Java's `computeInflightTotalDiff`).
    pub fn inflight_total_diff(&self) -> i64 {
        self.offset_table
            .iter()
            .map(|(_, o)| o.pull_offset - o.consumer_offset)
            .sum()
    }

    pub fn decode(body: &[u8]) -> Result<ConsumeStats, CodecError> {
        let doc = parse_body(body, "ConsumeStats body")?;
        Ok(ConsumeStats {
            offset_table: read_queue_table(&doc, OffsetWrapper::from_value)?,
            consume_tps: f64_field(&doc, "consumeTps"),
        })
    }
}

fn queue_table<T: Copy>(entries: &[(MessageQueue, T)], value: impl Fn(T) -> Value) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|(mq, item)| (mq.to_key(), value(*item)))
            .collect(),
    )
}

/// Reads an `offsetTable` with `MessageQueue` keys; a key that is not a queue bean is an error, as
/// fastjson's cast of the key fails.
fn read_queue_table<T>(
    doc: &Value,
    read: impl Fn(&Value) -> T,
) -> Result<Vec<(MessageQueue, T)>, CodecError> {
    let Some(entries) = doc.get("offsetTable").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .map(|(key, value)| {
            let mq = key
                .as_object()
                .and_then(|fields| MessageQueue::from_value(&Value::Object(fields.to_vec())))
                .ok_or(CodecError::NotABean {
                    bean: "MessageQueue",
                    actual: "key",
                })?;
            Ok((mq, read(value)))
        })
        .collect()
}

fn f64_field(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(queue_id: i32) -> MessageQueue {
        MessageQueue {
            topic: "T".into(),
            broker_name: "broker-a".into(),
            queue_id,
        }
    }

    /// What fastjson 1.2.x writes for a 5.3.3 `TopicStatsTable` with two queues: properties sorted, the
    /// `MessageQueue` keys as objects, the double as `0.0`.
    #[test]
    fn topic_stats_table_as_fastjson_writes_it() {
        let table = TopicStatsTable {
            offset_table: vec![
                (
                    mq(0),
                    TopicOffset {
                        min_offset: 0,
                        max_offset: 3,
                        last_update_timestamp: 1_700_000_000_123,
                    },
                ),
                (mq(1), TopicOffset::default()),
            ],
            topic_put_tps: 0.0,
        };
        let json = table.encode();
        assert_eq!(
            json,
            concat!(
                r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:"#,
                r#"{"lastUpdateTimestamp":1700000000123,"maxOffset":3,"minOffset":0},"#,
                r#"{"brokerName":"broker-a","queueId":1,"topic":"T"}:"#,
                r#"{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}},"topicPutTps":0.0}"#
            )
        );
        assert_eq!(TopicStatsTable::decode(json.as_bytes()).unwrap(), table);
    }

    #[test]
    fn consume_stats_as_fastjson_writes_it() {
        let stats = ConsumeStats {
            offset_table: vec![(
                mq(2),
                OffsetWrapper {
                    broker_offset: 10,
                    consumer_offset: 7,
                    pull_offset: 9,
                    last_timestamp: 1_700_000_000_000,
                },
            )],
            consume_tps: 1.5,
        };
        let json = stats.encode();
        assert_eq!(
            json,
            concat!(
                r#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"broker-a","queueId":2,"topic":"T"}:"#,
                r#"{"brokerOffset":10,"consumerOffset":7,"lastTimestamp":1700000000000,"pullOffset":9}}}"#
            )
        );
        assert_eq!(ConsumeStats::decode(json.as_bytes()).unwrap(), stats);
        assert_eq!(
            ConsumeStats::encode(&ConsumeStats::default()),
            r#"{"consumeTps":0.0,"offsetTable":{}}"#
        );
    }

    #[test]
    fn consume_stats_list_as_fastjson_writes_it() {
        let stats = ConsumeStats {
            offset_table: vec![(
                mq(0),
                OffsetWrapper {
                    broker_offset: 5,
                    consumer_offset: 2,
                    pull_offset: 0,
                    last_timestamp: 0,
                },
            )],
            consume_tps: 0.0,
        };
        let list = ConsumeStatsList {
            total_diff: stats.total_diff(),
            total_inflight_diff: stats.inflight_total_diff(),
            consume_stats_list: vec![("g".into(), vec![stats]), ("idle".into(), vec![])],
            broker_addr: "127.0.0.1:10911".into(),
        };
        assert_eq!((list.total_diff, list.total_inflight_diff), (3, -2));
        assert_eq!(
            list.encode(),
            concat!(
                r#"{"brokerAddr":"127.0.0.1:10911","consumeStatsList":[{"g":[{"consumeTps":0.0,"offsetTable":"#,
                r#"{{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"brokerOffset":5,"consumerOffset":2,"#,
                r#""lastTimestamp":0,"pullOffset":0}}}]},{"idle":[]}],"totalDiff":3,"totalInflightDiff":-2}"#
            )
        );
    }

    /// A 4.9.x broker's `ConsumeStats` (no `pullOffset`) reads with `pull_offset` 0; a key that is not a
    /// queue bean is refused.
    #[test]
    fn decodes_the_4x_shape_and_refuses_bad_keys() {
        let old = br#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":5,"consumerOffset":5,"lastTimestamp":0}}}"#;
        let stats = ConsumeStats::decode(old).unwrap();
        assert_eq!(stats.offset_table[0].1.pull_offset, 0);
        assert_eq!(stats.offset_table[0].0.broker_name, "b");
        assert!(ConsumeStats::decode(br#"{"offsetTable":{"q":{}}}"#).is_err());
        assert!(TopicStatsTable::decode(b"{").is_err());
    }
}
