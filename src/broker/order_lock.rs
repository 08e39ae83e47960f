//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): the per-queue locks behind orderly consumption
//! (Java `RebalanceLockManager`).
//!
//! An orderly consumer locks every queue it was assigned before consuming it and renews the lock every
//! 20 s; the broker gives a queue of a group to one client id at a time and lets another take it once the
//! holder has been silent for [`LOCK_MAX_LIVE_MS`]. The locks live in memory only, as in Java: after a
//! restart clients simply lock again.
//!
//! Unlike Java, a client that leaves a group with UNREGISTER_CLIENT gives up every lock it still holds in
//! it, and the locks it asks for afterwards are refused until it registers with the group again or the
//! connection it left on closes. A shutting-down Java consumer (`DefaultMQPushConsumerImpl.shutdown`) sends
//! UNLOCK_BATCH_MQ for its process-queue table and then UNREGISTER_CLIENT, but its `RebalanceService`
//! thread runs until the client instance closes: woken by a NOTIFY_CONSUMER_IDS_CHANGED at that moment
//! (another member leaving at the same time), it locks newly assigned queues after the UNLOCK_BATCH_MQ and
//! even after the UNREGISTER_CLIENT. Java's broker (`RebalanceLockManager`) keeps those locks for the client
//! that is gone until they expire, so the remaining members cannot consume those queues for up to 60 s.

use std::collections::HashMap;

use bytes::Bytes;
use parking_lot::Mutex;
use rmq_codec::body::{LockBatchRequestBody, LockBatchResponseBody};
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;

use super::{ok, reply_error, Broker, Reply};
use crate::remoting::connection::now_ms;

/// `rocketmq.broker.rebalance.lockMaxLiveTime`: a lock not renewed for this long is free for the taking.
pub const LOCK_MAX_LIVE_MS: u64 = 60_000;

/// Upper bound on lock entries over all groups. Past it, expired entries are dropped first and a lock on a
/// new queue is refused (the client retries at its next 20 s lock tick).
const MAX_LOCK_ENTRIES: usize = 1_000_000;

/// Upper bound on remembered departures (client ids that unregistered from a group on a connection that is
/// still open). Past it a departure still releases the client's locks but is not remembered.
const MAX_DEPARTURES: usize = 100_000;

/// `MessageQueue`: what a lock is held on.
pub use rmq_codec::body::MessageQueue as QueueKey;

#[derive(Debug, Clone)]
struct LockEntry {
    client_id: String,
    last_update_ms: u64,
}

impl LockEntry {
    fn is_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_update_ms) > LOCK_MAX_LIVE_MS
    }
}

/// The lock table (group → queue → holder) and the clients that left a group on a connection still open
/// (group → client id → connection id).
#[derive(Default)]
struct LockTable {
    groups: HashMap<String, HashMap<QueueKey, LockEntry>>,
    departed: HashMap<String, HashMap<String, u64>>,
}

impl LockTable {
    fn has_departed(&self, group: &str, client_id: &str) -> bool {
        self.departed
            .get(group)
            .is_some_and(|clients| clients.contains_key(client_id))
    }

    fn departure_count(&self) -> usize {
        self.departed.values().map(HashMap::len).sum()
    }
}

#[derive(Default)]
pub struct OrderLocks {
    table: Mutex<LockTable>,
}

impl OrderLocks {
    /// Locks (or renews) each queue for `client_id` and returns the queues it now holds: those that were
    /// free, expired, or already its own. Queues held by another live client are left out, and a client
    /// that has left the group (see [`OrderLocks::depart`]) gets none.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &[QueueKey],
        client_id: &str,
        now_ms: u64,
    ) -> Vec<QueueKey> {
        let mut table = self.table.lock();
        if table.has_departed(group, client_id) {
            tracing::debug!(group, client_id, "lock refused: the client left the group");
            return Vec::new();
        }
        let groups = &mut table.groups;
        let mut total: usize = groups.values().map(HashMap::len).sum();
        if total + mqs.len() > MAX_LOCK_ENTRIES {
            for entries in groups.values_mut() {
                entries.retain(|_, e| !e.is_expired(now_ms));
            }
            groups.retain(|_, entries| !entries.is_empty());
            total = groups.values().map(HashMap::len).sum();
        }
        let entries = groups.entry(group.to_string()).or_default();
        let mut locked = Vec::with_capacity(mqs.len());
        for mq in mqs {
            match entries.get_mut(mq) {
                Some(entry) if entry.client_id == client_id || entry.is_expired(now_ms) => {
                    if entry.client_id != client_id {
                        tracing::warn!(
                            group,
                            old = entry.client_id,
                            new = client_id,
                            ?mq,
                            "queue lock expired, taken over"
                        );
                        entry.client_id = client_id.to_string();
                    }
                    entry.last_update_ms = now_ms;
                    locked.push(mq.clone());
                }
                Some(entry) => {
                    tracing::debug!(
                        group,
                        holder = entry.client_id,
                        client_id,
                        ?mq,
                        "queue locked by another client"
                    );
                }
                None if total < MAX_LOCK_ENTRIES => {
                    entries.insert(
                        mq.clone(),
                        LockEntry {
                            client_id: client_id.to_string(),
                            last_update_ms: now_ms,
                        },
                    );
                    total += 1;
                    locked.push(mq.clone());
                }
                None => tracing::warn!(group, ?mq, "queue lock table full"),
            }
        }
        if entries.is_empty() {
            groups.remove(group);
        }
        locked
    }

    /// Releases the queues `client_id` holds; queues held by someone else stay locked.
    pub fn unlock_batch(&self, group: &str, mqs: &[QueueKey], client_id: &str) {
        let mut table = self.table.lock();
        let Some(entries) = table.groups.get_mut(group) else {
            return;
        };
        for mq in mqs {
            if entries.get(mq).is_some_and(|e| e.client_id == client_id) {
                entries.remove(mq);
            }
        }
        if entries.is_empty() {
            table.groups.remove(group);
        }
    }

    /// `client_id` left `group` (UNREGISTER_CLIENT on connection `conn_id`, no other channel of it left in
    /// the group): releases every lock it holds there and refuses it new ones until it registers with the
    /// group again ([`OrderLocks::rejoin`]) or the connection closes. Returns how many locks were released.
    pub fn depart(&self, group: &str, client_id: &str, conn_id: u64) -> usize {
        let mut table = self.table.lock();
        if table.departure_count() < MAX_DEPARTURES {
            table
                .departed
                .entry(group.to_string())
                .or_default()
                .insert(client_id.to_string(), conn_id);
        }
        let Some(entries) = table.groups.get_mut(group) else {
            return 0;
        };
        let before = entries.len();
        entries.retain(|_, e| e.client_id != client_id);
        let released = before - entries.len();
        if entries.is_empty() {
            table.groups.remove(group);
        }
        released
    }

    /// `client_id` registered with `group` again (HEART_BEAT): it may lock queues of the group again.
    pub fn rejoin(&self, group: &str, client_id: &str) {
        let mut table = self.table.lock();
        let Some(clients) = table.departed.get_mut(group) else {
            return;
        };
        clients.remove(client_id);
        if clients.is_empty() {
            table.departed.remove(group);
        }
    }

    /// The connection closed: forgets the departures recorded on it.
    pub fn forget_connection(&self, conn_id: u64) {
        let mut table = self.table.lock();
        if table.departed.is_empty() {
            return;
        }
        for clients in table.departed.values_mut() {
            clients.retain(|_, conn| *conn != conn_id);
        }
        table.departed.retain(|_, clients| !clients.is_empty());
    }

    /// Whether any queue of `group` has an unexpired lock (Java `!isLockAllExpired(group)`).
    pub fn group_holds_lock(&self, group: &str, now_ms: u64) -> bool {
        self.table
            .lock()
            .groups
            .get(group)
            .is_some_and(|entries| entries.values().any(|e| !e.is_expired(now_ms)))
    }
}

impl Broker {
    pub(super) fn lock_batch_mq(&self, req: &RemotingCommand) -> Reply {
        let body = LockBatchRequestBody::decode(&req.body)
            .map_err(|e| reply_error(ResponseCode::SystemError, format!("bad lock body: {e}")))?;
        let locked = self.order_locks.try_lock_batch(
            &body.consumer_group,
            &body.mq_set,
            &body.client_id,
            now_ms(),
        );
        let mut resp = ok();
        let response = LockBatchResponseBody {
            lock_ok_mq_set: locked,
        };
        resp.body = Bytes::from(response.encode());
        Ok(resp)
    }

    pub(super) fn unlock_batch_mq(&self, req: &RemotingCommand) -> Reply {
        let body = LockBatchRequestBody::decode(&req.body)
            .map_err(|e| reply_error(ResponseCode::SystemError, format!("bad unlock body: {e}")))?;
        self.order_locks
            .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
        Ok(ok())
    }

    /// `client_id` left `group` with UNREGISTER_CLIENT on connection `conn_id`: see [`OrderLocks::depart`].
    pub(super) fn release_order_locks(&self, group: &str, client_id: &str, conn_id: u64) {
        let released = self.order_locks.depart(group, client_id, conn_id);
        if released > 0 {
            tracing::info!(
                group,
                client_id,
                released,
                "queue locks of an unregistered client released"
            );
        }
    }

    /// Whether `group` holds an unexpired lock on any queue of this broker, i.e. consumes orderly. A
    /// message such a group sends back to its %RETRY% topic goes straight to the DLQ once its retries
    /// are used up (Java 5.x `SendMessageProcessor.handleRetryAndDLQ`).
    // Called by the %RETRY% send path; until that lands nothing in this crate does.
    #[allow(dead_code)]
    pub(crate) fn holds_order_lock(&self, group: &str) -> bool {
        self.order_locks.group_holds_lock(group, now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(queue_id: i32) -> QueueKey {
        QueueKey {
            topic: "T".into(),
            broker_name: "broker-a".into(),
            queue_id,
        }
    }

    #[test]
    fn a_queue_has_one_holder_until_its_lock_expires() {
        let locks = OrderLocks::default();
        let t0 = 1_000_000;
        assert_eq!(
            locks.try_lock_batch("g", &[mq(0), mq(1)], "c1", t0),
            vec![mq(0), mq(1)]
        );
        // c2 gets only the free queue.
        assert_eq!(
            locks.try_lock_batch("g", &[mq(1), mq(2)], "c2", t0 + 10),
            vec![mq(2)]
        );
        // Renewal keeps c1's lock alive past the first expiry point.
        assert_eq!(
            locks.try_lock_batch("g", &[mq(1)], "c1", t0 + 50_000),
            vec![mq(1)]
        );
        assert!(locks
            .try_lock_batch("g", &[mq(1)], "c2", t0 + 100_000)
            .is_empty());
        // Silent for more than 60 s: c2 takes it over.
        let later = t0 + 50_000 + LOCK_MAX_LIVE_MS + 1;
        assert_eq!(
            locks.try_lock_batch("g", &[mq(1)], "c2", later),
            vec![mq(1)]
        );
        // Another group is independent.
        assert_eq!(
            locks.try_lock_batch("g2", &[mq(1)], "c1", later),
            vec![mq(1)]
        );
    }

    #[test]
    fn unlock_releases_only_own_locks_and_expiry_ends_group_hold() {
        let locks = OrderLocks::default();
        let t0 = 5_000;
        locks.try_lock_batch("g", &[mq(0)], "c1", t0);
        locks.try_lock_batch("g", &[mq(1)], "c2", t0);
        locks.unlock_batch("g", &[mq(0), mq(1)], "c1");
        assert_eq!(
            locks.try_lock_batch("g", &[mq(0), mq(1)], "c3", t0 + 1),
            vec![mq(0)]
        );
        assert!(locks.group_holds_lock("g", t0 + 1));
        assert!(!locks.group_holds_lock("other", t0 + 1));
        assert!(!locks.group_holds_lock("g", t0 + 1 + LOCK_MAX_LIVE_MS + 1));
        locks.unlock_batch("g", &[mq(0)], "c3");
        locks.unlock_batch("g", &[mq(1)], "c2");
        assert!(!locks.group_holds_lock("g", t0 + 2));
    }

    /// The exchange of a consumer shutting down while another member leaves: its UNLOCK_BATCH_MQ covers
    /// its process-queue table, but its rebalance (woken by the other member's NOTIFY_CONSUMER_IDS_CHANGED)
    /// locks queue 1 before and queue 2 after its UNREGISTER_CLIENT.
    #[test]
    fn a_client_that_left_gives_up_its_locks_and_gets_no_new_ones() {
        let locks = OrderLocks::default();
        let t0 = 1_000;
        locks.try_lock_batch("g", &[mq(0)], "leaving", t0);
        locks.try_lock_batch("g", &[mq(3)], "staying", t0);
        locks.try_lock_batch("other", &[mq(0)], "leaving", t0);
        locks.unlock_batch("g", &[mq(0)], "leaving");
        assert_eq!(
            locks.try_lock_batch("g", &[mq(1)], "leaving", t0 + 1),
            vec![mq(1)]
        );
        assert_eq!(locks.depart("g", "leaving", 7), 1);
        assert!(locks
            .try_lock_batch("g", &[mq(2)], "leaving", t0 + 2)
            .is_empty());
        // The member that stays takes every freed queue at once; the other group keeps its lock.
        assert_eq!(
            locks.try_lock_batch("g", &[mq(0), mq(1), mq(2), mq(3)], "staying", t0 + 3),
            vec![mq(0), mq(1), mq(2), mq(3)]
        );
        assert!(locks
            .try_lock_batch("other", &[mq(0)], "staying", t0 + 3)
            .is_empty());
        // Registering with the group again (HEART_BEAT) lifts the refusal.
        locks.rejoin("g", "leaving");
        assert_eq!(
            locks.try_lock_batch("g", &[mq(4)], "leaving", t0 + 4),
            vec![mq(4)]
        );
    }

    #[test]
    fn departures_are_forgotten_with_their_connection() {
        let locks = OrderLocks::default();
        assert_eq!(locks.depart("g", "a", 7), 0);
        locks.depart("g", "b", 8);
        locks.forget_connection(7);
        assert_eq!(locks.try_lock_batch("g", &[mq(0)], "a", 1), vec![mq(0)]);
        assert!(locks.try_lock_batch("g", &[mq(1)], "b", 1).is_empty());
        locks.forget_connection(8);
        assert_eq!(locks.try_lock_batch("g", &[mq(1)], "b", 1), vec![mq(1)]);
    }
}
