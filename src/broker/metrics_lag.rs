//! Java's `ConsumerLagCalculator` at scrape time: per consumer group and topic, the messages not yet
//! committed (lag) and the age of the oldest of them, the messages pulled but not committed (inflight),
//! and the messages not yet pulled (ready) and the age of the oldest of them (queueing latency).
//!
//! Groups: every subscription group that is online (its subscribed topics) or, as Java's compensation
//! table keeps recently seen groups, has committed offsets (those topics). Retry topics are skipped and
//! topics without read or write permission too, as in Java. Pop consumers are measured like pull
//! consumers (from the committed and pulled offsets), and `is_retry` is always false: rmqd does not
//! report the pop retry topic separately.

use std::collections::{BTreeMap, BTreeSet};

use super::metrics_view::is_system_group;
use super::Broker;
use crate::metrics::exposition::{Exposition, Kind};
use crate::remoting::connection::now_ms;

/// `PermName.PERM_READ | PERM_WRITE`.
const READ_OR_WRITE: i32 = 4 | 2;

/// Group/topic pairs measured per scrape; each costs a few lookups per queue.
const MAX_PAIRS: usize = 10_000;

#[derive(Default)]
struct Lag {
    lag: i64,
    /// Store time of the oldest unconsumed message; 0 when none.
    earliest_unconsumed_ms: i64,
    inflight: i64,
    ready: i64,
    /// Store time of the oldest message not yet pulled; 0 when none.
    earliest_unpulled_ms: i64,
}

fn keep_earliest(current: &mut i64, candidate: Option<i64>) {
    if let Some(t) = candidate.filter(|&t| t > 0) {
        if *current == 0 || t < *current {
            *current = t;
        }
    }
}

impl Broker {
    fn lag_pairs(&self) -> Vec<(String, String)> {
        let mut topics: BTreeMap<String, BTreeSet<String>> = self.offsets.group_topics();
        {
            let clients = self.clients.lock();
            for (group, info) in &clients.consumers {
                if !info.subscriptions.is_empty() {
                    topics.insert(group.clone(), info.subscriptions.keys().cloned().collect());
                }
            }
        }
        let permission = self.runtime().broker_permission;
        let mut pairs = Vec::new();
        for group in self.groups.names() {
            for topic in topics.get(&group).into_iter().flatten() {
                if topic.starts_with("%RETRY%") {
                    continue;
                }
                let Some(config) = self.topics.get(topic) else {
                    continue;
                };
                let bits = config.perm & permission;
                if bits & READ_OR_WRITE == 0 {
                    continue;
                }
                pairs.push((group.clone(), topic.clone()));
                if pairs.len() >= MAX_PAIRS {
                    return pairs;
                }
            }
        }
        pairs
    }

    /// `getConsumerLagStats`, `getInFlightMsgStats` and `getAvailableMsgCount` over the write queues.
    fn lag_of(&self, group: &str, topic: &str, write_queues: i32) -> Lag {
        let mut out = Lag::default();
        for queue_id in 0..write_queues.max(0) {
            let broker = self.store.max_offset_in_queue(topic, queue_id).max(0);
            let committed = self.offsets.query_consumer(topic, group, queue_id);
            let consumer = committed.filter(|&o| o >= 0).unwrap_or(broker);
            if consumer < broker {
                out.lag += broker - consumer;
                let at = self.store.store_time_at(topic, queue_id, consumer);
                keep_earliest(&mut out.earliest_unconsumed_ms, at);
            }
            let pull = self
                .offsets
                .query_pull(topic, group, queue_id)
                .filter(|&o| o >= 0)
                .unwrap_or(0);
            let commit = committed.filter(|&o| o >= 0).unwrap_or(pull);
            out.inflight += (pull - commit).max(0);
            if pull < broker {
                out.ready += broker - pull;
                let at = self.store.store_time_at(topic, queue_id, pull);
                keep_earliest(&mut out.earliest_unpulled_ms, at);
            }
        }
        out
    }

    pub(super) fn render_lag(&self, doc: &mut Exposition) {
        let now = now_ms() as i64;
        let age = |t: i64| if t > 0 { (now - t).max(0) } else { 0 };
        let measured: Vec<(String, String, Lag)> = self
            .lag_pairs()
            .into_iter()
            .filter_map(|(group, topic)| {
                let queues = self.topics.get(&topic)?.write_queue_nums;
                let lag = self.lag_of(&group, &topic, queues);
                Some((group, topic, lag))
            })
            .collect();
        type Pick = fn(&Lag, &dyn Fn(i64) -> i64) -> i64;
        let families: [(&str, &str, Pick); 5] = [
            (
                "rocketmq_consumer_lag_messages",
                "Consumer lag messages",
                |l, _| l.lag,
            ),
            (
                "rocketmq_consumer_lag_latency_milliseconds",
                "Consumer lag time",
                |l, age| age(l.earliest_unconsumed_ms),
            ),
            (
                "rocketmq_consumer_inflight_messages",
                "Consumer inflight messages",
                |l, _| l.inflight,
            ),
            (
                "rocketmq_consumer_queueing_latency_milliseconds",
                "Consumer queueing time",
                |l, age| age(l.earliest_unpulled_ms),
            ),
            (
                "rocketmq_consumer_ready_messages",
                "Consumer ready messages",
                |l, _| l.ready,
            ),
        ];
        for (name, help, pick) in families {
            doc.family(name, Kind::Gauge, help);
            for (group, topic, lag) in &measured {
                let system = self.is_system_topic(topic) || is_system_group(group);
                let labels = [
                    ("consumer_group", group.as_str()),
                    ("is_retry", "false"),
                    ("is_system", if system { "true" } else { "false" }),
                    ("topic", topic.as_str()),
                ];
                doc.sample(name, &labels, pick(lag, &age) as f64);
            }
        }
    }
}
