//! Consumption failures: CONSUMER_SEND_MSG_BACK (36) puts a message a
//! consumer could not process into `%RETRY%<group>` with a growing delay level, or into `%DLQ%<group>` once
//! its retries are used up; sends to a `%RETRY%` topic (the client's fallback) get the same DLQ decision.

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CommandHeader, ConsumerSendMsgBackRequestHeader, SendMessageRequestHeader,
};
use rmq_codec::message::{self, properties, StoredMessage};
use rmq_store::config::{perm, SubscriptionGroupConfig, TopicConfig};

use super::schedule::{route_delayed, DelayRules};
use super::topics::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use super::{ok, reply_error, Broker, Reply};
use crate::error::ServiceError;
use crate::remoting::connection::now_ms;

/// Queues of a `%DLQ%` topic (`MixAll.DLQ_NUMS_PER_GROUP`).
const DLQ_QUEUES: i32 = 1;
/// From this request version on (`MQVersion.Version.V3_4_9`) the header's maxReconsumeTimes counts.
const VERSION_WITH_MAX_RECONSUME: i32 = 121;
/// `delayLevel = 0` lets the broker pick `3 + reconsumeTimes`: 10 s, 30 s, 1 min, ... with default levels.
const FIRST_RETRY_LEVEL: i32 = 3;

/// The number of deliveries after which a message goes to the DLQ: the client's value when it is new
/// enough to send one, else the group's `retryMaxTimes`.
fn max_reconsume_times(group: &SubscriptionGroupConfig, version: i32, header: Option<i32>) -> i32 {
    match header {
        Some(max) if version >= VERSION_WITH_MAX_RECONSUME => max,
        _ => group.retry_max_times,
    }
}

/// Where a sent-back message goes and with which DELAY level (0 for the DLQ).
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Retry { level: i32 },
    Dlq,
}

fn send_back_target(reconsume_times: i32, max: i32, requested_level: i32) -> Target {
    if reconsume_times >= max || requested_level < 0 {
        return Target::Dlq;
    }
    let level = if requested_level == 0 {
        FIRST_RETRY_LEVEL.saturating_add(reconsume_times)
    } else {
        requested_level
    };
    Target::Retry { level }
}

fn group_not_exist(group: &str) -> ServiceError {
    reply_error(
        ResponseCode::SubscriptionGroupNotExist,
        format!(
            "subscription group not exist, {group} \nSee http://rocketmq.apache.org/docs/faq/ for further details."
        ),
    )
}

fn random_queue(queues: i32) -> i32 {
    if queues <= 1 {
        0
    } else {
        rand::random_range(0..queues)
    }
}

impl Broker {
    /// CONSUMER_SEND_MSG_BACK (36), Java's `consumerSendMsgBack`.
    pub(super) fn consumer_send_msg_back(&self, req: &RemotingCommand) -> Reply {
        let h = ConsumerSendMsgBackRequestHeader::decode(&req.ext_fields)?;
        let group = self
            .groups
            .ensure(&h.group)
            .ok_or_else(|| group_not_exist(&h.group))?;
        if !perm::is_writeable(self.runtime().broker_permission) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!(
                    "the broker[{}] sending message is forbidden",
                    self.config.broker_ip1
                ),
            ));
        }
        if group.retry_queue_nums <= 0 {
            return Ok(ok()); // the group wants failed messages dropped
        }
        let retry_topic = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", h.group);
        let retry_config = self.topics.ensure(
            &retry_topic,
            group.retry_queue_nums,
            perm::READ | perm::WRITE,
        );
        if !perm::is_writeable(retry_config.perm) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!("the topic[{retry_topic}] sending message is forbidden"),
            ));
        }
        let original = self
            .store
            .message_at(h.offset)
            .and_then(|raw| StoredMessage::decode(&raw).ok())
            .ok_or_else(|| {
                reply_error(
                    ResponseCode::SystemError,
                    format!("look message by offset failed, {}", h.offset),
                )
            })?;
        let max = max_reconsume_times(&group, req.version, h.max_reconsume_times);
        let (topic, queue_id, level) =
            match send_back_target(original.reconsume_times, max, h.delay_level) {
                Target::Dlq => {
                    let dlq = format!("{DLQ_GROUP_TOPIC_PREFIX}{}", h.group);
                    self.topics
                        .ensure(&dlq, DLQ_QUEUES, perm::READ | perm::WRITE);
                    tracing::info!(
                        group = h.group,
                        topic = original.topic,
                        "message sent to the DLQ"
                    );
                    (dlq, random_queue(DLQ_QUEUES), 0)
                }
                Target::Retry { level } => {
                    (retry_topic, random_queue(group.retry_queue_nums), level)
                }
            };
        let mut msg = self.sent_back_record(&original, topic, queue_id, level);
        route_delayed(
            &mut msg,
            DelayRules::from_config(&self.config),
            now_ms() as i64,
        )?;
        let tags_code = message::tags_code(properties::get(&msg.properties, properties::TAGS));
        self.refuse_send_back_on_slave()?;
        self.store
            .put_deferred(&mut msg, tags_code, false)
            .map_err(|e| reply_error(ResponseCode::SystemError, e.to_string()))?;
        self.polling.message_arrived(&msg.topic, msg.queue_id);
        Ok(ok())
    }

    /// The retry (or DLQ) copy of `original`: all its properties plus RETRY_TOPIC (the first topic it was
    /// sent to), ORIGIN_MESSAGE_ID (the first stored copy's offset id), DELAY and WAIT=false; one more
    /// reconsume time.
    fn sent_back_record(
        &self,
        original: &StoredMessage,
        topic: String,
        queue_id: i32,
        level: i32,
    ) -> StoredMessage {
        let mut props = original.properties.clone();
        if properties::get(&props, properties::RETRY_TOPIC).is_none() {
            props = properties::put(&props, properties::RETRY_TOPIC, &original.topic);
        }
        props = properties::put(&props, properties::WAIT, "false");
        props = properties::put(&props, properties::DELAY, &level.to_string());
        let origin = properties::get(&props, properties::ORIGIN_MESSAGE_ID)
            .filter(|id| !id.trim().is_empty())
            .map(String::from)
            .unwrap_or_else(|| original.offset_msg_id());
        props = properties::put(&props, properties::ORIGIN_MESSAGE_ID, &origin);
        StoredMessage {
            magic: message::magic_for_topic(&topic),
            body_crc: 0,
            queue_id,
            queue_offset: 0,
            commit_log_offset: 0,
            store_timestamp: 0,
            store_host: self.store_host,
            reconsume_times: original.reconsume_times.saturating_add(1),
            prepared_transaction_offset: 0,
            topic,
            properties: props,
            ..original.clone()
        }
    }

    /// Sends to `%RETRY%<group>`: `Some(DLQ topic)` when the message has been
    /// consumed more than the allowed times, or the group consumes orderly (holds an unexpired queue
    /// lock). Java 5.x compares with `>` here (4.9.x with `>=`); the client counts this send already.
    pub(super) fn retry_send_dlq(
        &self,
        h: &SendMessageRequestHeader,
        version: i32,
    ) -> Result<Option<TopicConfig>, ServiceError> {
        let Some(group_name) = h.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
            return Ok(None);
        };
        let group = self
            .groups
            .ensure(group_name)
            .ok_or_else(|| group_not_exist(group_name))?;
        let max = max_reconsume_times(&group, version, h.max_reconsume_times);
        let reconsume_times = h.reconsume_times.unwrap_or(0);
        if reconsume_times <= max && !self.holds_order_lock(group_name) {
            return Ok(None);
        }
        let dlq = format!("{DLQ_GROUP_TOPIC_PREFIX}{group_name}");
        tracing::info!(
            group = group_name,
            reconsume_times,
            "retry send redirected to the DLQ"
        );
        Ok(Some(self.topics.ensure(
            &dlq,
            DLQ_QUEUES,
            perm::READ | perm::WRITE,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_back_levels_grow_and_end_in_the_dlq() {
        assert_eq!(send_back_target(0, 16, 0), Target::Retry { level: 3 });
        assert_eq!(send_back_target(5, 16, 0), Target::Retry { level: 8 });
        assert_eq!(send_back_target(1, 16, 2), Target::Retry { level: 2 });
        assert_eq!(send_back_target(16, 16, 0), Target::Dlq);
        assert_eq!(send_back_target(0, 16, -1), Target::Dlq);
        assert_eq!(send_back_target(2, 2, 0), Target::Dlq);
    }

    #[test]
    fn header_max_counts_only_for_new_clients() {
        let group = SubscriptionGroupConfig::new("g");
        assert_eq!(max_reconsume_times(&group, 395, Some(2)), 2);
        assert_eq!(max_reconsume_times(&group, 120, Some(2)), 16);
        assert_eq!(max_reconsume_times(&group, 395, None), 16);
    }
}
