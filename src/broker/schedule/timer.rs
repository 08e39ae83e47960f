//! 5.x timer messages waiting in `rmq_sys_wheel_timer` queue 0, due in any order.
//!
//! Java moves them into its timer wheel; here the records stay in the queue and a bounded in-memory heap
//! orders the loaded ones by due time. `committed` is the lowest queue offset not yet delivered (all
//! below it are): that is what survives a restart, and loading starts again from it.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use rmq_codec::message::{properties, StoredMessage};
use rmq_store::{TIMER_OUT_MS, TIMER_TOPIC};

use super::{
    delivered_record, redeliver, Stop, TIMER_DEQUEUE_MS, TIMER_ENQUEUE_MS, TIMER_PRECISION_MS,
};
use crate::broker::Broker;

/// Most timer messages held in memory. Later ones wait in the queue until earlier ones are delivered
/// (Java's wheel has a similar per-slot congestion limit); 24 bytes each in the heap plus the set entry.
const MAX_LOADED: usize = 500_000;
/// Most records read from the queue per tick.
const MAX_LOAD_PER_TICK: usize = 10_000;
/// Most deliveries per tick.
const MAX_DELIVER_PER_TICK: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    due_ms: i64,
    queue_offset: i64,
    commit_log_offset: i64,
}

pub(super) struct TimerQueue {
    /// From `timerOffset.json`; applied (clamped to the queue) on the first tick, when the store is known.
    saved: Option<i64>,
    started: bool,
    next_load: i64,
    heap: BinaryHeap<Reverse<Entry>>,
    /// Queue offsets loaded but not delivered.
    pending: BTreeSet<i64>,
    committed: i64,
}

/// When a timer record is due: one precision step after its `TIMER_OUT_MS` slot, as Java's wheel reads a
/// slot once the clock has left it. So never early, at most a second late.
fn due_ms(stored: &StoredMessage, tags_code: i64) -> i64 {
    let slot = properties::get(&stored.properties, TIMER_OUT_MS)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(tags_code);
    slot.saturating_add(TIMER_PRECISION_MS)
}

fn read(broker: &Broker, commit_log_offset: i64) -> Option<StoredMessage> {
    let raw = broker.store.message_at(commit_log_offset)?;
    StoredMessage::decode(&raw).ok()
}

impl TimerQueue {
    pub(super) fn new(saved: Option<i64>) -> Self {
        TimerQueue {
            saved,
            started: false,
            next_load: 0,
            heap: BinaryHeap::new(),
            pending: BTreeSet::new(),
            committed: 0,
        }
    }

    /// The offset to persist, `None` before the first tick (nothing known yet: keep the file as it is).
    pub(super) fn committed(&self) -> Option<i64> {
        self.started.then_some(self.committed)
    }

    /// Loads new records and delivers the due ones. Returns whether `committed` moved.
    pub(super) fn tick(&mut self, broker: &Broker, now_ms: i64) -> bool {
        let min = broker.store.min_offset_in_queue(TIMER_TOPIC, 0);
        let max = broker.store.max_offset_in_queue(TIMER_TOPIC, 0);
        if !self.started {
            self.started = true;
            // Without a saved offset every timer record still in the queue is delivered once more (at
            // least once), e.g. after a Java broker wrote them.
            self.next_load = self.saved.unwrap_or(min).clamp(min, max.max(min));
            self.committed = self.next_load;
        }
        let before = self.committed;
        self.load(broker, min, max);
        if let Stop::PutFailed(e) = self.deliver(broker, now_ms) {
            tracing::warn!(error = %e, "delivering a timer message failed, retrying");
        }
        self.committed = self.pending.first().copied().unwrap_or(self.next_load);
        self.committed != before
    }

    fn load(&mut self, broker: &Broker, min: i64, max: i64) {
        if self.next_load < min {
            // Retention removed records never loaded; nothing to deliver there any more.
            self.next_load = min;
        }
        let mut loaded = 0;
        while self.next_load < max && self.pending.len() < MAX_LOADED && loaded < MAX_LOAD_PER_TICK
        {
            let offset = self.next_load;
            let Some(unit) = broker.store.queue_unit(TIMER_TOPIC, 0, offset) else {
                break;
            };
            self.next_load += 1;
            loaded += 1;
            let Some(stored) = read(broker, unit.commit_log_offset) else {
                tracing::error!(offset, "skipping an unreadable timer message");
                continue;
            };
            self.pending.insert(offset);
            self.heap.push(Reverse(Entry {
                due_ms: due_ms(&stored, unit.tags_code),
                queue_offset: offset,
                commit_log_offset: unit.commit_log_offset,
            }));
        }
    }

    fn deliver(&mut self, broker: &Broker, now_ms: i64) -> Stop {
        for _ in 0..MAX_DELIVER_PER_TICK {
            let Some(Reverse(entry)) = self.heap.peek().copied() else {
                return Stop::Idle;
            };
            if entry.due_ms > now_ms {
                return Stop::Idle;
            }
            let delivered = read(broker, entry.commit_log_offset).and_then(|stored| {
                let extra = [
                    (TIMER_ENQUEUE_MS, stored.store_timestamp.to_string()),
                    (TIMER_DEQUEUE_MS, now_ms.to_string()),
                ];
                delivered_record(&stored, &extra)
            });
            match delivered {
                Some(mut msg) => {
                    if let Err(e) = redeliver(broker, &mut msg) {
                        return Stop::PutFailed(e);
                    }
                }
                None => tracing::error!(
                    offset = entry.queue_offset,
                    "skipping an undeliverable timer message"
                ),
            }
            self.heap.pop();
            self.pending.remove(&entry.queue_offset);
        }
        Stop::Idle
    }
}
