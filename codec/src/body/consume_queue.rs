//! `QueryConsumeQueueResponseBody` (QUERY_CONSUME_QUEUE 321, `mqadmin queryCq`): a consume queue's bounds and
//! some of its units.
//!
//! ```text
//! {"filterData":"null","maxQueueIndex":3,"minQueueIndex":0,"queueData":[{"eval":false,"physicOffset":0,
//!  "physicSize":182,"tagsCode":97}],"subscriptionData":{...}}
//! ```

use super::SubscriptionData;
use crate::fastjson::{self, Value};

/// `ConsumeQueueData`: one consume-queue unit. Java's `extendDataJson`, `bitMap` and `msg` describe the
/// consume-queue extension, which rmqd does not keep (Java's `enableConsumeQueueExt` is off by default),
/// so they stay null and `eval` false.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeQueueData {
    pub physic_offset: i64,
    pub physic_size: i32,
    pub tags_code: i64,
}

/// `QueryConsumeQueueResponseBody`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryConsumeQueueResponseBody {
    /// The group's subscription of the topic, when a group was named and is online.
    pub subscription_data: Option<SubscriptionData>,
    /// A note on the group's filter, when a group was named.
    pub filter_data: Option<String>,
    pub queue_data: Vec<ConsumeQueueData>,
    pub max_queue_index: i64,
    pub min_queue_index: i64,
}

impl ConsumeQueueData {
    fn to_value(self) -> Value {
        Value::object([
            ("eval", Value::Bool(false)),
            ("physicOffset", Value::Int(self.physic_offset)),
            ("physicSize", Value::from(self.physic_size)),
            ("tagsCode", Value::Int(self.tags_code)),
        ])
    }
}

impl QueryConsumeQueueResponseBody {
    pub fn encode(&self) -> String {
        let units = self.queue_data.iter().map(|u| u.to_value()).collect();
        fastjson::to_string(&Value::object([
            (
                "filterData",
                self.filter_data.as_deref().map_or(Value::Null, Value::from),
            ),
            ("maxQueueIndex", Value::Int(self.max_queue_index)),
            ("minQueueIndex", Value::Int(self.min_queue_index)),
            ("queueData", Value::Array(units)),
            (
                "subscriptionData",
                self.subscription_data
                    .as_ref()
                    .map_or(Value::Null, SubscriptionData::to_value),
            ),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_fastjson_writes_it() {
        let body = QueryConsumeQueueResponseBody {
            subscription_data: None,
            filter_data: Some("g@T is not online!".into()),
            queue_data: vec![ConsumeQueueData {
                physic_offset: 4096,
                physic_size: 182,
                tags_code: 97,
            }],
            max_queue_index: 3,
            min_queue_index: 0,
        };
        assert_eq!(
            body.encode(),
            concat!(
                r#"{"filterData":"g@T is not online!","maxQueueIndex":3,"minQueueIndex":0,"#,
                r#""queueData":[{"eval":false,"physicOffset":4096,"physicSize":182,"tagsCode":97}]}"#
            )
        );
        let no_group = QueryConsumeQueueResponseBody {
            max_queue_index: 1,
            ..Default::default()
        };
        assert_eq!(
            no_group.encode(),
            r#"{"maxQueueIndex":1,"minQueueIndex":0,"queueData":[]}"#
        );
    }
}
