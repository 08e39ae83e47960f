//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): the per-queue locks behind orderly consumption
//! (compat-map §3.8, Java `RebalanceLockManager`).
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
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Key, Value};

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

/// Upper bound on queues in one request, so a single body cannot make the broker do unbounded work.
const MAX_MQS_PER_REQUEST: usize = 65_536;

/// `MessageQueue`: what a lock is held on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

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

/// `LockBatchRequestBody` / `UnlockBatchRequestBody`.
#[derive(Debug, PartialEq)]
pub struct LockBatchBody {
    pub consumer_group: String,
    pub client_id: String,
    pub mqs: Vec<QueueKey>,
}

/// Parses the request body; entries that are not message queues are skipped.
pub fn parse_lock_body(body: &[u8]) -> Result<LockBatchBody, String> {
    let doc = fastjson::parse_slice(body).map_err(|e| e.to_string())?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(String::from);
    let consumer_group = text(&doc, "consumerGroup").ok_or("consumerGroup is missing")?;
    let client_id = text(&doc, "clientId").ok_or("clientId is missing")?;
    let items = doc.get("mqSet").and_then(Value::as_array).unwrap_or(&[]);
    if items.len() > MAX_MQS_PER_REQUEST {
        return Err(format!("too many queues in one request: {}", items.len()));
    }
    let mut mqs: Vec<QueueKey> = items
        .iter()
        .filter_map(|mq| {
            Some(QueueKey {
                topic: text(mq, "topic")?,
                broker_name: text(mq, "brokerName")?,
                queue_id: i32::try_from(mq.get("queueId")?.as_i64()?).ok()?,
            })
        })
        .collect();
    // mqSet is a Java Set: duplicates mean nothing.
    mqs.sort();
    mqs.dedup();
    Ok(LockBatchBody {
        consumer_group,
        client_id,
        mqs,
    })
}

/// `LockBatchResponseBody`: `{"lockOKMQSet":[{"brokerName":..,"queueId":..,"topic":..}]}` (fastjson sorts
/// bean properties by name).
pub fn lock_response_body(mqs: &[QueueKey]) -> String {
    let items = mqs
        .iter()
        .map(|mq| {
            Value::Object(vec![
                (
                    Key::Str("brokerName".into()),
                    Value::Str(mq.broker_name.clone()),
                ),
                (
                    Key::Str("queueId".into()),
                    Value::Int(i64::from(mq.queue_id)),
                ),
                (Key::Str("topic".into()), Value::Str(mq.topic.clone())),
            ])
        })
        .collect();
    let doc = Value::Object(vec![(Key::Str("lockOKMQSet".into()), Value::Array(items))]);
    fastjson::to_string(&doc)
}

impl Broker {
    pub(super) fn lock_batch_mq(&self, req: &RemotingCommand) -> Reply {
        let body = parse_lock_body(&req.body)
            .map_err(|e| reply_error(ResponseCode::SystemError, format!("bad lock body: {e}")))?;
        let locked = self.order_locks.try_lock_batch(
            &body.consumer_group,
            &body.mqs,
            &body.client_id,
            now_ms(),
        );
        let mut resp = ok();
        resp.body = Bytes::from(lock_response_body(&locked));
        Ok(resp)
    }

    pub(super) fn unlock_batch_mq(&self, req: &RemotingCommand) -> Reply {
        let body = parse_lock_body(&req.body)
            .map_err(|e| reply_error(ResponseCode::SystemError, format!("bad unlock body: {e}")))?;
        self.order_locks
            .unlock_batch(&body.consumer_group, &body.mqs, &body.client_id);
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

    #[test]
    fn parses_a_java_lock_body_and_writes_the_response() {
        let body = br#"{"clientId":"10.0.0.1@123#456","consumerGroup":"cg","mqSet":[{"brokerName":"broker-a","queueId":3,"topic":"T"},{"brokerName":"broker-a","queueId":1,"topic":"T"},{"brokerName":"broker-a","queueId":1,"topic":"T"}],"onlyThisBroker":false}"#;
        let parsed = parse_lock_body(body).unwrap();
        assert_eq!(parsed.consumer_group, "cg");
        assert_eq!(parsed.client_id, "10.0.0.1@123#456");
        assert_eq!(parsed.mqs, vec![mq(1), mq(3)]);
        assert_eq!(
            lock_response_body(&[mq(1)]),
            r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"}]}"#
        );
        assert!(parse_lock_body(br#"{"mqSet":[]}"#).is_err());
    }
}
