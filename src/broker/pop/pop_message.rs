//! POP_MESSAGE (200050): hands out up to `maxMsgNums` messages of a topic (one queue, or every queue
//! from a random one for queueId -1) and of its pop retry topic, records a checkpoint per queue and
//! commits the group's offset past them. With `pollTime` and nothing to hand out, the request waits
//! for a put on one of those queues (Java's `PopLongPollingService`).

use std::sync::Arc;

use bytes::Bytes;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::pop::{PopMessageRequestHeader, PopMessageResponseHeader};
use rmq_codec::header::CommandHeader;
use rmq_codec::message::StoredMessage;
use rmq_store::config::perm;
use rmq_store::GetStatus;

use super::checkpoint::Checkpoint;
use super::extra_info::{pop_retry_topic, push_msg_offsets, push_order_count, push_start_offset};
use super::order::ORDER_REVIVE_QID;
use crate::broker::clients::Subscription;
use crate::broker::long_poll::Attempt;
use crate::broker::sql92::Selector;
use crate::broker::topics::RETRY_GROUP_TOPIC_PREFIX;
use crate::broker::{reply_error, Broker};
use crate::error::ServiceError;
use crate::remoting::connection::now_ms;
use crate::remoting::{Answer, Connection, Outbound};

/// Java refuses pops of more than 32 messages.
const MAX_POP_NUMS: i32 = 32;
const MAX_TRANSFER_BYTES: usize = 1024 * 1024;
/// `popFromRetryProbability`: the share of pops that serve the retry topic first.
const RETRY_FIRST_PERCENT: u32 = 20;
/// `PopMessageRequestHeader.isTimeoutTooMuch`: a pop whose bornTime + pollTime passed more than this long
/// ago is answered POLLING_TIMEOUT at once.
const TIMEOUT_TOO_MUCH_MS: i64 = 500;
/// `ConsumeInitMode.MIN`.
const INIT_MODE_MIN: i32 = 0;

pub(super) type PopFilter = (Subscription, Option<Arc<Selector>>);

/// What one pop attempt found.
pub(super) struct Popped {
    pub(super) pop_time: i64,
    pub(super) revive_qid: i32,
    pub(super) rest: i64,
    pub(super) start_info: String,
    pub(super) msg_info: String,
    /// `retry qid count` per queue of an orderly pop: how often its messages were popped before.
    pub(super) order_info: String,
    pub(super) records: Vec<Bytes>,
}

impl Broker {
    pub(in crate::broker) fn pop_message(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
    ) -> Result<Answer, ServiceError> {
        let h = PopMessageRequestHeader::decode(&req.ext_fields)?;
        let now = now_ms() as i64;
        // PopMessageRequestHeader.isTimeoutTooMuch: the client has given up on this request already.
        if now - h.born_time - h.poll_time > TIMEOUT_TOO_MUCH_MS {
            return Err(reply_error(
                ResponseCode::PollingTimeout,
                format!(
                    "the broker[{}] pop message is timeout too much",
                    self.config.broker_ip1
                ),
            ));
        }
        let filter = self.check_pop(&h)?;
        let popped = self.pop_once(&h, &filter);
        if !popped.records.is_empty() || h.poll_time <= 0 {
            return Ok(pop_response(&h, popped, ResponseCode::PullNotFound).into());
        }
        // Java waits until bornTime + pollTime; never longer than pollTime from now (clock skew), nor
        // than longPollingMaxTimeMills.
        let wait = self
            .polling
            .bounded_wait((h.born_time + h.poll_time - now).min(h.poll_time));
        let watched = self.pop_watched_queues(&h);
        let parked = self.park(conn.responder(req), watched, wait, {
            let h = h.clone();
            move |broker, attempt| {
                let p = broker.pop_once(&h, &filter);
                (!p.records.is_empty() || attempt == Attempt::Final)
                    .then(|| pop_response(&h, p, ResponseCode::PollingTimeout))
            }
        });
        Ok(match parked {
            Ok(()) => Answer::Later,
            // PopLongPollingService.polling: POLLING_FULL when no parking place is left.
            Err(_) => pop_response(&h, popped, ResponseCode::PollingFull).into(),
        })
    }

    /// Java's checks, in its order and with its remarks.
    pub(super) fn check_pop(&self, h: &PopMessageRequestHeader) -> Result<PopFilter, ServiceError> {
        let ip = &self.config.broker_ip1;
        if !perm::is_readable(self.runtime().broker_permission) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!("the broker[{ip}] pop message is forbidden"),
            ));
        }
        if h.max_msg_nums > MAX_POP_NUMS {
            return Err(reply_error(
                ResponseCode::InvalidParameter,
                format!("the broker[{ip}] pop message's num is greater than 32"),
            ));
        }
        let topic = self.readable_topic(&h.topic, "peeking")?;
        if h.queue_id >= topic.read_queue_nums {
            return Err(reply_error(
                ResponseCode::InvalidParameter,
                format!(
                    "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                    h.queue_id, h.topic, topic.read_queue_nums, ip
                ),
            ));
        }
        self.consumable_group(&h.consumer_group)?;
        let expression = h.exp.as_deref().unwrap_or("*");
        let expression_type = h.exp_type.as_deref().unwrap_or("TAG");
        let selector = self.pull_selector(expression_type, expression, true)?;
        let mut sub = Subscription::from_expression(&h.topic, expression, 0);
        sub.expression_type = expression_type.to_string();
        Ok((sub, selector))
    }

    /// One pass over the retry topic and the topic's queues.
    pub(super) fn pop_once(&self, h: &PopMessageRequestHeader, filter: &PopFilter) -> Popped {
        let _serial = self.pop.pop_lock.lock();
        let mut p = Popped {
            pop_time: now_ms() as i64,
            revive_qid: self.pop.next_revive_qid(),
            rest: 0,
            start_info: String::new(),
            msg_info: String::new(),
            order_info: String::new(),
            records: Vec::new(),
        };
        if h.order == Some(true) {
            // Orderly pops redeliver in place (order.rs): no retry topic, no checkpoint.
            p.revive_qid = ORDER_REVIVE_QID;
            self.pop_topic(h, &h.topic, h.queue_id, filter, &mut p);
            return p;
        }
        if !self.pop.checkpoints.has_room() {
            return p;
        }
        let retry_topic = pop_retry_topic(&h.topic, &h.consumer_group);
        let retry_first = rand::random_range(0..100) < RETRY_FIRST_PERCENT;
        if retry_first {
            self.pop_topic(h, &retry_topic, -1, filter, &mut p);
        }
        self.pop_topic(h, &h.topic, h.queue_id, filter, &mut p);
        if !retry_first {
            self.pop_topic(h, &retry_topic, -1, filter, &mut p);
        }
        p
    }

    fn pop_topic(
        &self,
        h: &PopMessageRequestHeader,
        topic: &str,
        queue_id: i32,
        filter: &PopFilter,
        p: &mut Popped,
    ) {
        let Some(config) = self.topics.get(topic) else {
            return;
        };
        let n = config.read_queue_nums;
        if n <= 0 {
            return;
        }
        let queues: Vec<i32> = if queue_id >= 0 {
            vec![queue_id]
        } else {
            let start = rand::random_range(0..n);
            (0..n).map(|i| (start + i) % n).collect()
        };
        for q in queues {
            let room = h.max_msg_nums.max(1) - p.records.len() as i32;
            if room <= 0 {
                let offset = self.pop_offset(&h.consumer_group, topic, q, h.init_mode);
                p.rest += (self.store.max_offset_in_queue(topic, q) - offset).max(0);
            } else {
                self.pop_queue(h, topic, q, room, filter, p);
            }
        }
    }

    fn pop_queue(
        &self,
        h: &PopMessageRequestHeader,
        topic: &str,
        queue_id: i32,
        room: i32,
        (sub, selector): &PopFilter,
        p: &mut Popped,
    ) {
        let group = &h.consumer_group;
        let offset = self.pop_offset(group, topic, queue_id, h.init_mode);
        let order = h.order == Some(true);
        if order
            && self
                .pop
                .orders
                .is_blocked(group, topic, queue_id, p.pop_time)
        {
            p.rest += (self.store.max_offset_in_queue(topic, queue_id) - offset).max(0);
            return;
        }
        let result = self.store.get_messages_filtered(
            topic,
            queue_id,
            offset,
            room,
            MAX_TRANSFER_BYTES,
            &|tags_code| selector.is_some() || sub.matches_tags_code(tags_code),
            &|record| {
                selector
                    .as_ref()
                    .is_none_or(|s| crate::broker::filter::record_matches(s, record))
            },
        );
        p.rest += (result.max_offset - result.next_begin_offset).max(0);
        let next = result.next_begin_offset;
        match result.status {
            GetStatus::Found => {}
            GetStatus::NoMatchedMessage
            | GetStatus::MessageWasRemoving
            | GetStatus::OffsetTooSmall
            | GetStatus::OffsetOverflowBadly => {
                if next != offset {
                    self.commit_offset(topic, group, queue_id, next);
                }
                return;
            }
            _ => return,
        }
        // PopMessageProcessor counts GROUP_GET_NUMS / GROUP_GET_SIZE of what each queue read found.
        self.count_get(topic, group, result.messages.len(), result.total_bytes());
        let offsets: Vec<i64> = result
            .messages
            .iter()
            .filter_map(|raw| StoredMessage::decode(raw).ok().map(|m| m.queue_offset))
            .collect();
        if !order {
            self.commit_offset(topic, group, queue_id, next);
        }
        if offsets.len() != result.messages.len() || offsets.is_empty() {
            tracing::error!(topic, queue_id, offset, "undecodable record in a pop");
            return;
        }
        push_start_offset(&mut p.start_info, topic, queue_id, offset);
        push_msg_offsets(&mut p.msg_info, topic, queue_id, &offsets);
        if order {
            // The committed offset stays at the start until every message is acked (ack.rs).
            let visible_at = p.pop_time.saturating_add(h.invisible_time);
            let attempts = self
                .pop
                .orders
                .popped(group, topic, queue_id, offsets, visible_at);
            push_order_count(&mut p.order_info, topic, queue_id, attempts - 1);
            p.records.extend(result.messages);
            return;
        }
        self.pop.checkpoints.add(Checkpoint {
            group: group.clone(),
            topic: topic.to_string(),
            queue_id,
            start_offset: offset,
            pop_time: p.pop_time,
            invisible_time: h.invisible_time,
            revive_qid: p.revive_qid,
            acked: vec![false; offsets.len()],
            offsets,
        });
        p.records.extend(result.messages);
    }

    /// The group's committed offset, or where a new group starts (Java's `getInitOffset`): the min
    /// offset for `initMode` MIN and for retry topics, else the last message, or 0 on a queue whose
    /// first message is still there.
    fn pop_offset(&self, group: &str, topic: &str, queue_id: i32, init_mode: i32) -> i64 {
        // A server-side reset (INVOKE_BROKER_TO_RESET_OFFSET) is consumed by the next pop as by the next pull,
        // as Java's PopMessageProcessor.resetPopOffset does; otherwise it would stay pending for a pop-only group.
        if let Some(offset) = self.offsets.take_reset(topic, group, queue_id) {
            self.commit_offset(topic, group, queue_id, offset);
            return offset;
        }
        if let Some(offset) = self
            .offsets
            .query(topic, group, queue_id)
            .filter(|o| *o >= 0)
        {
            return offset;
        }
        let min = self.store.min_offset_in_queue(topic, queue_id);
        let offset = if init_mode == INIT_MODE_MIN || topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            min
        } else if min <= 0 {
            0
        } else {
            (self.store.max_offset_in_queue(topic, queue_id) - 1).max(0)
        };
        self.commit_offset(topic, group, queue_id, offset);
        offset
    }

    /// The queues a parked pop waits on: every queue it pops from, the retry topic's included.
    fn pop_watched_queues(&self, h: &PopMessageRequestHeader) -> Vec<(String, i32)> {
        let queues: Vec<i32> = if h.queue_id >= 0 {
            vec![h.queue_id]
        } else {
            let n = self.topics.get(&h.topic).map_or(0, |t| t.read_queue_nums);
            (0..n).collect()
        };
        let mut watched: Vec<_> = queues.into_iter().map(|q| (h.topic.clone(), q)).collect();
        watched.push((pop_retry_topic(&h.topic, &h.consumer_group), 0));
        watched
    }
}

fn pop_response(h: &PopMessageRequestHeader, p: Popped, empty: ResponseCode) -> Outbound {
    let found = !p.records.is_empty();
    let (code, remark) = if found {
        (ResponseCode::Success, "FOUND")
    } else {
        (empty, "NO_MESSAGE_IN_QUEUE")
    };
    let mut cmd = RemotingCommand::new_response(code, Some(remark.to_string()));
    PopMessageResponseHeader {
        pop_time: p.pop_time,
        invisible_time: h.invisible_time,
        revive_qid: p.revive_qid,
        rest_num: p.rest,
        start_offset_info: Some(p.start_info).filter(|s| !s.is_empty()),
        msg_offset_info: Some(p.msg_info).filter(|s| !s.is_empty()),
        order_count_info: Some(p.order_info).filter(|s| !s.is_empty()),
    }
    .encode(&mut cmd.ext_fields);
    if found {
        Outbound::Records {
            cmd,
            records: p.records,
        }
    } else {
        Outbound::Command(cmd)
    }
}
