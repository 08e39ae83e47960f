//! Orderly pop (POP_MESSAGE with `order=true`, Java's `ConsumerOrderInfoManager`): a queue whose popped
//! messages are not all acked is blocked for the group until their invisible time ends; then the same
//! messages are popped again from the committed offset, which only moves once every message of the pop is
//! acked. No checkpoint and no revive: the messages never go to the retry topic. Acks and invisible-time
//! changes of orderly pops carry revive queue id [`ORDER_REVIVE_QID`] (`KeyBuilder.POP_ORDER_REVIVE_QUEUE`).
//!
//! The blocks live in memory only (Java persists them in `consumerOrderInfo.json`): after a restart a
//! queue is not blocked, and its unacked messages are popped again at once.

use std::collections::HashMap;

use parking_lot::Mutex;

/// `KeyBuilder.POP_ORDER_REVIVE_QUEUE`.
pub const ORDER_REVIVE_QID: i32 = 999;
/// Blocks held at most; a queue past it is popped without a block (as a plain pop would be).
const MAX_BLOCKS: usize = 100_000;

/// (group, topic, queue).
type QueueKey = (String, String, i32);

#[derive(Debug, Clone)]
struct Block {
    /// Offsets handed out by the last pop of the queue, ascending.
    offsets: Vec<i64>,
    acked: Vec<bool>,
    next_visible_ms: i64,
    /// How many times the first offset has been popped (Java's `OrderInfo` attempt times).
    attempts: i32,
}

/// What an ack of an orderly pop did.
#[derive(Debug, PartialEq, Eq)]
pub enum OrderAck {
    /// More messages of the pop are unacked.
    Marked,
    /// All acked: the group's offset moves to this one and the queue is free.
    Done { next_offset: i64 },
    /// No block holds this offset (already done, or lost with a restart).
    Unknown,
}

#[derive(Default)]
pub struct OrderBlocks {
    blocks: Mutex<HashMap<QueueKey, Block>>,
}

fn key(group: &str, topic: &str, queue_id: i32) -> QueueKey {
    (group.to_string(), topic.to_string(), queue_id)
}

impl OrderBlocks {
    /// `checkBlock`: unacked messages of the last pop are still invisible.
    pub fn is_blocked(&self, group: &str, topic: &str, queue_id: i32, now_ms: i64) -> bool {
        self.blocks
            .lock()
            .get(&key(group, topic, queue_id))
            .is_some_and(|b| now_ms < b.next_visible_ms && b.acked.iter().any(|a| !a))
    }

    /// Records a pop of `offsets` and returns the attempt count of these messages (1 for the first pop).
    pub fn popped(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offsets: Vec<i64>,
        next_visible_ms: i64,
    ) -> i32 {
        let mut blocks = self.blocks.lock();
        let k = key(group, topic, queue_id);
        let attempts = match blocks.get(&k) {
            Some(b) if b.offsets.first() == offsets.first() => b.attempts.saturating_add(1),
            _ => 1,
        };
        if blocks.len() >= MAX_BLOCKS && !blocks.contains_key(&k) {
            return attempts;
        }
        blocks.insert(
            k,
            Block {
                acked: vec![false; offsets.len()],
                offsets,
                next_visible_ms,
                attempts,
            },
        );
        attempts
    }

    /// `commitAndNext`: marks `offset` acked.
    pub fn ack(&self, group: &str, topic: &str, queue_id: i32, offset: i64) -> OrderAck {
        let mut blocks = self.blocks.lock();
        let k = key(group, topic, queue_id);
        let Some(block) = blocks.get_mut(&k) else {
            return OrderAck::Unknown;
        };
        let Some(i) = block.offsets.iter().position(|o| *o == offset) else {
            return OrderAck::Unknown;
        };
        block.acked[i] = true;
        if block.acked.iter().all(|a| *a) {
            let next_offset = block.offsets.last().map_or(offset, |o| o + 1);
            blocks.remove(&k);
            return OrderAck::Done { next_offset };
        }
        OrderAck::Marked
    }

    /// `updateNextVisibleTime`: the queue stays blocked until `next_visible_ms`. False when no block
    /// holds `offset`.
    pub fn change_visible_time(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        next_visible_ms: i64,
    ) -> bool {
        let mut blocks = self.blocks.lock();
        match blocks.get_mut(&key(group, topic, queue_id)) {
            Some(b) if b.offsets.contains(&offset) => {
                b.next_visible_ms = next_visible_ms;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_blocked_until_acked_or_invisible_time_ends() {
        let blocks = OrderBlocks::default();
        assert!(!blocks.is_blocked("G", "T", 0, 0));
        assert_eq!(blocks.popped("G", "T", 0, vec![3, 4], 1_000), 1);
        assert!(blocks.is_blocked("G", "T", 0, 999));
        assert!(!blocks.is_blocked("G", "T", 0, 1_000));
        assert!(!blocks.is_blocked("G", "T", 1, 999));
        // Popped again after the invisible time: a second attempt.
        assert_eq!(blocks.popped("G", "T", 0, vec![3, 4], 2_000), 2);
        assert_eq!(blocks.ack("G", "T", 0, 3), OrderAck::Marked);
        assert!(blocks.is_blocked("G", "T", 0, 1_500));
        assert_eq!(blocks.ack("G", "T", 0, 9), OrderAck::Unknown);
        assert_eq!(
            blocks.ack("G", "T", 0, 4),
            OrderAck::Done { next_offset: 5 }
        );
        assert!(!blocks.is_blocked("G", "T", 0, 1_500));
        assert_eq!(blocks.ack("G", "T", 0, 4), OrderAck::Unknown);
    }

    #[test]
    fn changing_the_visible_time_moves_the_block() {
        let blocks = OrderBlocks::default();
        blocks.popped("G", "T", 0, vec![7], 1_000);
        assert!(blocks.change_visible_time("G", "T", 0, 7, 5_000));
        assert!(blocks.is_blocked("G", "T", 0, 4_999));
        assert!(!blocks.change_visible_time("G", "T", 0, 8, 5_000));
    }
}
