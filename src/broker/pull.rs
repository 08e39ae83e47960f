//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.

use std::sync::Arc;
use std::time::Duration;

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, PullMessageRequestHeader, PullMessageResponseHeader};
use rmq_store::config::{perm, SubscriptionGroupConfig, TopicConfig};
use rmq_store::{GetResult, GetStatus};

use super::clients::Subscription;
use super::long_poll::Attempt;
use super::sql92::Selector;
use super::{reply_error, Broker};
use crate::error::ServiceError;
use crate::remoting::{Answer, Connection, Outbound};

/// What a pull filters with: the subscription (tags) and, for SQL92, the compiled selector.
type PullFilter = (Subscription, Option<Arc<Selector>>);

/// `PullSysFlag` bits.
const FLAG_COMMIT_OFFSET: i32 = 0x1;
const FLAG_SUSPEND: i32 = 0x2;
const FLAG_SUBSCRIPTION: i32 = 0x4;

/// Java's limits for one pull from hot data (`maxTransferCountOnMessageInMemory`,
/// `maxTransferBytesOnMessageInMemory`).
const MAX_TRANSFER_COUNT: i32 = 32;
const MAX_TRANSFER_BYTES: usize = 256 * 1024;

impl Broker {
    /// PULL_MESSAGE / LITE_PULL_MESSAGE: answered now, or — with the suspend flag and nothing to hand
    /// out — parked until a message arrives in the queue, a reset is pending, or the suspend time
    /// (bounded by `longPollingMaxTimeMills`; `shortPollingTimeMills` with long polling off) ends.
    pub(super) fn pull(&self, conn: &Connection, req: &RemotingCommand) -> Answer {
        let h = match PullMessageRequestHeader::decode(&req.ext_fields) {
            Ok(h) => h,
            Err(e) => return ServiceError::from(e).into_response().into(),
        };
        let (out, may_park) = self.pull_once(&h, true);
        if !may_park {
            return out.into();
        }
        let wait = if self.runtime().long_polling_enable {
            self.polling.bounded_wait(h.suspend_timeout_millis)
        } else {
            Duration::from_millis(self.runtime().short_polling_time_ms)
        };
        let watched = vec![(h.topic.clone(), h.queue_id)];
        let parked = self.park(
            conn.responder(req),
            watched,
            wait,
            move |broker, attempt| {
                let arrived = broker.store.max_offset_in_queue(&h.topic, h.queue_id)
                    > h.queue_offset
                    || broker
                        .offsets
                        .has_reset(&h.topic, &h.consumer_group, h.queue_id);
                (arrived || attempt == Attempt::Final).then(|| broker.pull_once(&h, false).0)
            },
        );
        match parked {
            Ok(()) => Answer::Later,
            // Oneway, or no parking place left: the client pulls again.
            Err(_) => out.into(),
        }
    }

    /// Runs one pull: the answer, and whether it found nothing and may wait for a message. A parked pull
    /// re-runs with `first_execution` false: it never parks again and never commits the offset twice (as
    /// Java's `executeRequestWhenWakeup` with `brokerAllowSuspend` false).
    fn pull_once(&self, h: &PullMessageRequestHeader, first_execution: bool) -> (Outbound, bool) {
        let (subscription, selector) = match self.check_pull(h) {
            Ok(s) => s,
            Err(e) => return (Outbound::Command(e.into_response()), false),
        };
        let commit =
            first_execution && h.sys_flag & FLAG_COMMIT_OFFSET != 0 && self.stores_pulled_offsets();
        if let Some(moved) = self.pull_after_reset(h, commit) {
            return (Outbound::Command(moved), false);
        }
        let max_nums = h.max_msg_nums.clamp(1, MAX_TRANSFER_COUNT);
        // A SQL92 subscription passes every consume-queue unit and is decided on the record.
        let mut result = self.store.get_messages_filtered(
            &h.topic,
            h.queue_id,
            h.queue_offset,
            max_nums,
            MAX_TRANSFER_BYTES,
            &|tags_code| selector.is_some() || subscription.matches_tags_code(tags_code),
            &|record| {
                selector
                    .as_ref()
                    .is_none_or(|s| super::filter::record_matches(s, record))
            },
        );
        result.next_begin_offset =
            self.next_offset_correction(result.status, h.queue_offset, result.next_begin_offset);
        self.offsets.record_pull(
            &h.topic,
            &h.consumer_group,
            h.queue_id,
            result.next_begin_offset,
        );
        if !result.messages.is_empty() {
            let bytes = result.total_bytes();
            self.count_get(&h.topic, &h.consumer_group, result.messages.len(), bytes);
        }
        if commit {
            self.commit_offset(&h.topic, &h.consumer_group, h.queue_id, h.commit_offset);
        }
        let code = response_code(result.status, h.queue_offset);
        let may_park =
            first_execution && code == ResponseCode::PullNotFound && h.sys_flag & FLAG_SUSPEND != 0;
        let (code, suggest) = self.pull_redirect(&h.consumer_group, code, &result.messages);
        (pull_response(code, result, suggest), may_park)
    }

    /// The group's config (created on first use when auto-creation is on) when it may consume, with Java's
    /// answers otherwise.
    pub(super) fn consumable_group(
        &self,
        group: &str,
    ) -> Result<SubscriptionGroupConfig, ServiceError> {
        let Some(config) = self.groups.ensure(group) else {
            return Err(reply_error(
                ResponseCode::SubscriptionGroupNotExist,
                format!("subscription group [{group}] does not exist"),
            ));
        };
        if !config.consume_enable {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!("subscription group no permission, {group}"),
            ));
        }
        Ok(config)
    }

    /// The topic's config when it exists and is readable, with Java's answers otherwise; `verb` names the
    /// operation in the NO_PERMISSION remark ("pulling", "peeking").
    pub(super) fn readable_topic(
        &self,
        topic: &str,
        verb: &str,
    ) -> Result<TopicConfig, ServiceError> {
        let Some(config) = self.topics.get(topic) else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!("topic[{topic}] not exist, apply first please!"),
            ));
        };
        if !perm::is_readable(config.perm) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!("the topic[{topic}] {verb} message is forbidden"),
            ));
        }
        Ok(config)
    }

    /// Permission, group, topic, queue and subscription checks, in Java's order. Returns the
    /// subscription and, for SQL92, its compiled selector.
    fn check_pull(&self, h: &PullMessageRequestHeader) -> Result<PullFilter, ServiceError> {
        if !perm::is_readable(self.runtime().broker_permission) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!(
                    "the broker[{}] pulling message is forbidden",
                    self.config.broker_ip1
                ),
            ));
        }
        self.consumable_group(&h.consumer_group)?;
        let topic = self.readable_topic(&h.topic, "pulling")?;
        if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
            return Err(reply_error(
                ResponseCode::InvalidParameter,
                format!(
                    "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                    h.queue_id, h.topic, topic.read_queue_nums, h.consumer_group
                ),
            ));
        }
        if h.sys_flag & FLAG_SUBSCRIPTION != 0 {
            let expression = h.subscription.as_deref().unwrap_or("*");
            let expression_type = h.expression_type.as_deref().unwrap_or("TAG");
            let selector = self.pull_selector(expression_type, expression, true)?;
            let mut sub = Subscription::from_expression(&h.topic, expression, h.sub_version);
            sub.expression_type = expression_type.to_string();
            return Ok((sub, selector));
        }
        let clients = self.clients.lock();
        if !clients.consumers.contains_key(&h.consumer_group) {
            return Err(reply_error(
                ResponseCode::SubscriptionNotExist,
                format!(
                    "the consumer's group info not exist, group: {}",
                    h.consumer_group
                ),
            ));
        }
        let Some(sub) = clients.subscription(&h.consumer_group, &h.topic) else {
            return Err(reply_error(
                ResponseCode::SubscriptionNotExist,
                format!(
                    "the consumer's subscription not exist, group: {}",
                    h.consumer_group
                ),
            ));
        };
        if sub.sub_version < h.sub_version {
            return Err(reply_error(
                ResponseCode::SubscriptionNotLatest,
                "the consumer's subscription not latest",
            ));
        }
        let sub = sub.clone();
        drop(clients);
        let selector = self.pull_selector(&sub.expression_type, &sub.sub_string, false)?;
        Ok((sub, selector))
    }
}

fn response_code(status: GetStatus, requested_offset: i64) -> ResponseCode {
    match status {
        GetStatus::Found => ResponseCode::Success,
        GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => {
            ResponseCode::PullRetryImmediately
        }
        GetStatus::NoMessageInQueue | GetStatus::NoMatchedLogicQueue => {
            if requested_offset != 0 {
                ResponseCode::PullOffsetMoved
            } else {
                ResponseCode::PullNotFound
            }
        }
        GetStatus::OffsetFoundNull | GetStatus::OffsetOverflowOne => ResponseCode::PullNotFound,
        GetStatus::OffsetOverflowBadly | GetStatus::OffsetTooSmall => ResponseCode::PullOffsetMoved,
    }
}

fn pull_response(code: ResponseCode, result: GetResult, suggest_which_broker_id: i64) -> Outbound {
    let mut cmd = RemotingCommand::new_response(code, Some(format!("{:?}", result.status)));
    // Every pull status response carries all four fields: the Java client unboxes them.
    PullMessageResponseHeader {
        suggest_which_broker_id,
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
    }
    .encode(&mut cmd.ext_fields);
    if code == ResponseCode::Success {
        Outbound::Records {
            cmd,
            records: result.messages,
        }
    } else {
        Outbound::Command(cmd)
    }
}
