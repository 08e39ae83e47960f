//! Long polling: pulls that found nothing wait here until a message arrives in their queue or their
//! suspend timeout passes (Java's `PullRequestHoldService`, but woken by the put itself rather than by
//! a 5 s re-check).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Parked pulls across all connections. Past this, a pull is answered PULL_NOT_FOUND at once and the
/// client simply pulls again.
pub const MAX_PARKED_PULLS: usize = 100_000;

#[derive(Default)]
pub struct PullWaiters {
    queues: Mutex<HashMap<(String, i32), Arc<Notify>>>,
    parked: AtomicUsize,
}

/// Holds one parked slot; releases it when dropped.
pub struct ParkedSlot<'a> {
    waiters: &'a PullWaiters,
}

impl Drop for ParkedSlot<'_> {
    fn drop(&mut self) {
        self.waiters.parked.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PullWaiters {
    /// The wake-up signal for one queue.
    pub fn signal(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        self.queues
            .lock()
            .entry((topic.to_string(), queue_id))
            .or_default()
            .clone()
    }

    /// Wakes every pull parked on this queue. Called after each successful put.
    pub fn message_arrived(&self, topic: &str, queue_id: i32) {
        // Lookup by borrowed key would need a custom Borrow impl; the clone is cheap next to a put.
        if let Some(n) = self.queues.lock().get(&(topic.to_string(), queue_id)) {
            n.notify_waiters();
        }
    }

    /// Reserves a parking slot, or None when the broker already holds the maximum.
    pub fn try_park(&self) -> Option<ParkedSlot<'_>> {
        let prev = self.parked.fetch_add(1, Ordering::Relaxed);
        if prev >= MAX_PARKED_PULLS {
            self.parked.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(ParkedSlot { waiters: self })
    }
}
