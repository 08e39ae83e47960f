//! The transaction check-back (Java `TransactionalMessageCheckService` + `TransactionalMessageServiceImpl.check`).
//!
//! Every `transactionCheckInterval` one pass walks each half queue from its progress offset. A half whose
//! offset some op message names is resolved and skipped. An unresolved half older than its immunity time
//! (`transactionTimeOut`, or `CHECK_IMMUNITY_TIME_IN_SECONDS`) is appended again to the half queue with
//! `TRANSACTION_CHECK_TIMES` + 1, and the producer group is asked about the *new* copy with
//! CHECK_TRANSACTION_STATE; its END_TRANSACTION then names the copy. Appending first is what lets the pass
//! move its progress offset past the old copy. After `transactionCheckMax` checks the half goes to
//! `TRANS_CHECK_MAX_TIME_TOPIC`. Copies written during a pass have a store time after the pass started, so
//! the pass ends when it reaches them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CheckTransactionStateRequestHeader, CommandHeader};
use rmq_codec::message::{self, properties, StoredMessage};
use rmq_store::config::perm;

use super::{parse_op_body, CHECK_MAX_TIME_TOPIC, HALF_TOPIC, OP_TOPIC, REMOVE_TAG, SYSTEM_GROUP};
use crate::broker::Broker;
use crate::remoting::connection::now_ms;

/// Java stops a queue's pass after 60 s (`MAX_PROCESS_TIME_LIMIT`) so one queue cannot starve the rest.
const MAX_PASS_MS: u64 = 60_000;
/// Op messages read per step (`OP_MSG_PULL_NUMS`).
const OP_READ_BATCH: i64 = 32;
/// Halves checked back per queue and pass, bounding the CHECK_TRANSACTION_STATE burst a pass can send.
const MAX_CHECKS_PER_PASS: usize = 10_000;

/// Schedules the periodic check, first one interval after the start as in Java (one pass at a time; the
/// store work runs on a blocking thread).
pub fn schedule(broker: &Arc<Broker>) {
    let period = Duration::from_millis(broker.config.transaction_check_interval_ms.max(100));
    broker
        .periodic
        .every("transaction-check", broker, period, |broker| async move {
            let pass = tokio::task::spawn_blocking(move || broker.check_transactions(now_ms()));
            if let Err(e) = pass.await {
                tracing::error!(error = %e, "transaction check pass failed");
            }
        });
}

/// Op messages read so far for one half queue: which half offsets they resolve, and which op offsets are
/// fully consumed (the op progress offset moves over a contiguous run of those).
struct OpScan {
    queue_id: i32,
    /// Lowest half offset still of interest; ops naming lower ones resolve nothing new.
    min_half: i64,
    next_op: i64,
    /// half offset → op offset that resolves it.
    removes: HashMap<i64, i64>,
    /// op offset → half offsets it names that were not reached yet.
    pending: HashMap<i64, HashSet<i64>>,
    done: Vec<i64>,
    exhausted: bool,
}

impl OpScan {
    fn new(queue_id: i32, op_offset: i64, min_half: i64) -> Self {
        OpScan {
            queue_id,
            min_half,
            next_op: op_offset,
            removes: HashMap::new(),
            pending: HashMap::new(),
            done: Vec::new(),
            exhausted: false,
        }
    }

    /// Reads the next batch of op messages; sets `exhausted` when the op queue has no more.
    fn read_more(&mut self, broker: &Broker) {
        let max = broker.store.max_offset_in_queue(OP_TOPIC, self.queue_id);
        let min = broker.store.min_offset_in_queue(OP_TOPIC, self.queue_id);
        self.next_op = self.next_op.max(min);
        let end = max.min(self.next_op + OP_READ_BATCH);
        if self.next_op >= end {
            self.exhausted = true;
            return;
        }
        for op_offset in self.next_op..end {
            let halves = read_queue(broker, OP_TOPIC, self.queue_id, op_offset)
                .filter(|op| properties::get(&op.properties, properties::TAGS) == Some(REMOVE_TAG))
                .map(|op| parse_op_body(&op.body))
                .unwrap_or_default();
            self.add_op(op_offset, halves);
        }
        self.next_op = end;
    }

    fn add_op(&mut self, op_offset: i64, halves: Vec<i64>) {
        let mut names = HashSet::new();
        let min_half = self.min_half;
        for half in halves.into_iter().filter(|h| *h >= min_half) {
            // Two ops naming one half: the later one owns it, the earlier must not wait for it forever.
            if let Some(previous) = self.removes.insert(half, op_offset) {
                self.forget(previous, half);
            }
            names.insert(half);
        }
        if names.is_empty() {
            self.done.push(op_offset);
        } else {
            self.pending.insert(op_offset, names);
        }
    }

    fn forget(&mut self, op_offset: i64, half: i64) {
        if let Some(names) = self.pending.get_mut(&op_offset) {
            names.remove(&half);
            if names.is_empty() {
                self.pending.remove(&op_offset);
                self.done.push(op_offset);
            }
        }
    }

    /// If an op resolves `half`, consumes that and returns true.
    fn take(&mut self, half: i64) -> bool {
        match self.removes.remove(&half) {
            Some(op_offset) => {
                self.forget(op_offset, half);
                true
            }
            None => false,
        }
    }

    /// The op progress offset: `old` moved over the contiguous run of done op offsets.
    fn progress(&mut self, old: i64) -> i64 {
        self.done.sort_unstable();
        let mut next = old;
        for offset in &self.done {
            match (*offset).cmp(&next) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => next += 1,
                std::cmp::Ordering::Greater => break,
            }
        }
        next
    }
}

/// The message at a logical queue offset, decoded.
fn read_queue(broker: &Broker, topic: &str, queue_id: i32, offset: i64) -> Option<StoredMessage> {
    let unit = broker.store.queue_unit(topic, queue_id, offset)?;
    let raw = broker.store.message_at(unit.commit_log_offset)?;
    StoredMessage::decode(&raw).ok()
}

/// What a pass does with one unresolved half.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Checked too often (or older than the retention): move it aside.
    Discard,
    /// Written after the pass started, or too young: stop here, later halves are younger still.
    Stop,
    /// Still inside its custom immunity time: append a copy that remembers the original offset.
    RenewImmunity,
    /// Ask the producer (once the op queue has been read to its end).
    Check,
}

/// Java's decision for an unresolved half, `check_times` being its TRANSACTION_CHECK_TIMES before this pass.
fn verdict(broker: &Broker, half: &StoredMessage, pass_start_ms: u64, now: u64) -> Verdict {
    let check_times = properties::get(&half.properties, properties::TRANSACTION_CHECK_TIMES)
        .map(|v| v.trim().parse::<i32>().unwrap_or(-1));
    let reserved_ms = broker.config.store.file_reserved_time_hours as i64 * 3_600_000;
    let age_ms = now as i64 - half.born_timestamp;
    if check_times.is_some_and(|t| t >= broker.runtime().transaction_check_max)
        || age_ms > reserved_ms
    {
        return Verdict::Discard;
    }
    if half.store_timestamp >= pass_start_ms as i64 {
        return Verdict::Stop;
    }
    let timeout = broker.runtime().transaction_timeout_ms as i64;
    match properties::get(&half.properties, properties::CHECK_IMMUNITY_TIME_IN_SECONDS) {
        Some(secs) => {
            let immunity = match secs.trim().parse::<i64>() {
                Ok(s) if s != -1 => s.saturating_mul(1000),
                _ => timeout,
            };
            if age_ms < immunity {
                Verdict::RenewImmunity
            } else {
                Verdict::Check
            }
        }
        None if (0..timeout).contains(&age_ms) => Verdict::Stop,
        None => Verdict::Check,
    }
}

impl Broker {
    /// One check pass over every half queue.
    pub(crate) fn check_transactions(&self, now: u64) {
        // Java's fetchMessageQueues creates the half topic's config on its first pass.
        let queues = self
            .topics
            .ensure(HALF_TOPIC, 1, perm::READ | perm::WRITE)
            .read_queue_nums;
        for queue_id in 0..queues.max(0) {
            self.check_half_queue(queue_id, now);
        }
    }

    fn progress_offset(&self, topic: &str, queue_id: i32) -> i64 {
        match self.offsets.query(topic, SYSTEM_GROUP, queue_id) {
            Some(offset) if offset >= 0 => offset,
            _ => self.store.min_offset_in_queue(topic, queue_id),
        }
    }

    fn check_half_queue(&self, queue_id: i32, start: u64) {
        let half_offset = self.progress_offset(HALF_TOPIC, queue_id);
        let op_offset = self.progress_offset(OP_TOPIC, queue_id);
        let mut ops = OpScan::new(queue_id, op_offset, half_offset);
        ops.read_more(self);
        let max = self.store.max_offset_in_queue(HALF_TOPIC, queue_id);
        let mut i = half_offset.max(self.store.min_offset_in_queue(HALF_TOPIC, queue_id));
        let mut checks = 0;
        while i < max
            && now_ms().saturating_sub(start) < MAX_PASS_MS
            && checks < MAX_CHECKS_PER_PASS
        {
            if ops.take(i) {
                i += 1;
                continue;
            }
            let Some(half) = read_queue(self, HALF_TOPIC, queue_id, i) else {
                i += 1; // unreadable (e.g. being deleted): nothing to check
                continue;
            };
            match verdict(self, &half, start, now_ms()) {
                Verdict::Discard => self.discard_half(&half),
                Verdict::Stop => break,
                Verdict::RenewImmunity => {
                    let original = properties::get(
                        &half.properties,
                        properties::TRANSACTION_PREPARED_QUEUE_OFFSET,
                    )
                    .and_then(|v| v.trim().parse::<i64>().ok());
                    let resolved = original.is_some_and(|o| ops.take(o));
                    if !resolved {
                        let offset = original.unwrap_or(half.queue_offset).to_string();
                        let props = properties::put(
                            &half.properties,
                            properties::TRANSACTION_PREPARED_QUEUE_OFFSET,
                            &offset,
                        );
                        if self.append_half_copy(&half, props).is_none() {
                            break; // retry the same half next pass
                        }
                    }
                }
                Verdict::Check if !ops.exhausted => {
                    ops.read_more(self);
                    continue; // a newer op may resolve this half
                }
                Verdict::Check => {
                    let times =
                        properties::get(&half.properties, properties::TRANSACTION_CHECK_TIMES)
                            .and_then(|v| v.trim().parse::<i32>().ok())
                            .map_or(1, |t| t + 1);
                    let props = properties::put(
                        &half.properties,
                        properties::TRANSACTION_CHECK_TIMES,
                        &times.to_string(),
                    );
                    let Some(copy) = self.append_half_copy(&half, props) else {
                        break;
                    };
                    self.send_check(&copy);
                    checks += 1;
                }
            }
            i += 1;
        }
        if i != half_offset {
            self.offsets.commit(HALF_TOPIC, SYSTEM_GROUP, queue_id, i);
        }
        let new_op_offset = ops.progress(op_offset);
        if new_op_offset != op_offset {
            self.offsets
                .commit(OP_TOPIC, SYSTEM_GROUP, queue_id, new_op_offset);
        }
    }

    /// Appends a copy of a half with new properties to the half queue (`renewHalfMessageInner`) and returns
    /// it as stored (new queue and commit-log offsets).
    fn append_half_copy(&self, half: &StoredMessage, props: String) -> Option<StoredMessage> {
        let mut copy = StoredMessage {
            queue_offset: 0,
            commit_log_offset: 0,
            store_timestamp: 0,
            properties: props,
            ..half.clone()
        };
        let tags_code = message::tags_code(properties::get(&copy.properties, properties::TAGS));
        match self.store.put_deferred(&mut copy, tags_code, false) {
            Ok(_) => Some(copy),
            Err(e) => {
                tracing::error!(error = %e, "re-appending a half message failed");
                None
            }
        }
    }

    /// Moves a half checked too often to TRANS_CHECK_MAX_TIME_TOPIC (`resolveDiscardMsg`).
    fn discard_half(&self, half: &StoredMessage) {
        tracing::warn!(
            uniq_key = properties::get(&half.properties, properties::UNIQ_KEY),
            "half message checked too many times, moved to {CHECK_MAX_TIME_TOPIC}"
        );
        self.topics
            .ensure(CHECK_MAX_TIME_TOPIC, 1, perm::READ | perm::WRITE);
        let mut moved = StoredMessage {
            topic: CHECK_MAX_TIME_TOPIC.to_string(),
            magic: message::magic_for_topic(CHECK_MAX_TIME_TOPIC),
            queue_id: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            store_timestamp: 0,
            ..half.clone()
        };
        let tags_code = message::tags_code(properties::get(&moved.properties, properties::TAGS));
        if let Err(e) = self.store.put_deferred(&mut moved, tags_code, false) {
            tracing::error!(error = %e, "moving a half message to {CHECK_MAX_TIME_TOPIC} failed");
        }
    }

    /// CHECK_TRANSACTION_STATE (39, oneway) to one live producer of the half's group
    /// (`AbstractTransactionalMessageCheckListener.sendCheckMessage`).
    fn send_check(&self, half: &StoredMessage) {
        let Some(group) = properties::get(&half.properties, properties::PRODUCER_GROUP) else {
            return;
        };
        let live: Vec<_> = self
            .clients
            .lock()
            .producers
            .get(group)
            .map(|channels| {
                channels
                    .values()
                    .map(|c| c.conn.clone())
                    .filter(|c| !c.is_closed())
                    .collect()
            })
            .unwrap_or_default();
        // Any live member will do (Java picks one at random); it answers for the whole group.
        let Some(conn) = live.get(rand::random_range(0..live.len().max(1))) else {
            tracing::warn!(group, "transaction check: no live producer in the group");
            return;
        };
        let Some(cmd) = check_request(half, &self.config.broker_name) else {
            return;
        };
        conn.send_oneway_command(cmd);
    }
}

/// The request: header with the half copy's offsets, body = the half as a store record with its real
/// topic and queue restored (`MessageDecoder.encode(msgExt, false)`).
fn check_request(half: &StoredMessage, broker_name: &str) -> Option<RemotingCommand> {
    let uniq = properties::get(&half.properties, properties::UNIQ_KEY).map(String::from);
    let header = CheckTransactionStateRequestHeader {
        // 5.x sends the half topic here (the header is filled before the topic is restored); 4.x none.
        topic: Some(HALF_TOPIC.to_string()),
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.commit_log_offset,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: Some(half.offset_msg_id()),
        broker_name: Some(broker_name.to_string()),
    };
    let mut restored = half.clone();
    if let Some(topic) = properties::get(&half.properties, properties::REAL_TOPIC) {
        restored.topic = topic.to_string();
        restored.magic = message::magic_for_topic(topic);
    }
    if let Some(queue) = properties::get(&half.properties, properties::REAL_QUEUE_ID)
        .and_then(|q| q.trim().parse::<i32>().ok())
    {
        restored.queue_id = queue;
    }
    let mut body = BytesMut::new();
    if let Err(e) = restored.encode(&mut body) {
        tracing::error!(error = %e, "encoding a half message for its check failed");
        return None;
    }
    // Sent oneway (Broker2Client.checkProducerTransactionState); the connection stamps flag and opaque.
    Some(
        RemotingCommand::new_request(RequestCode::CheckTransactionState, header.to_ext_fields())
            .with_body(body.freeze()),
    )
}
