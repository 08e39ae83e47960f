//! Java's `BrokerStatsManager` items that rmqd keeps, and VIEW_BROKER_STATS_DATA (315, mqadmin statsAll and
//! the dashboard's collector) which reads one of them.
//!
//! An item is a running value and call count under a stats name and key: TOPIC_PUT_NUMS / TOPIC_PUT_SIZE by
//! topic (each send: messages or bytes, one call), GROUP_GET_NUMS / GROUP_GET_SIZE by `topic@group` (each
//! pull or pop queue read that found messages), BROKER_PUT_NUMS / BROKER_GET_NUMS by cluster name (values
//! only, as Java adds no call count there). Every 10 s the broker samples each item
//! (`StatsItemSet.samplingInSeconds`), every 10 min and every hour too; a snapshot is (newest − oldest)
//! over the kept samples: `sum`, `tps` per second and `avgpt` = sum per call. Java's other names
//! (QUEUE_*, latencies, commercial counters) are not kept: asking for them answers as Java does for a key
//! nothing was recorded under.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Value};
use rmq_codec::header::{CommandHeader, ViewBrokerStatsDataRequestHeader};

use super::metrics::MessageType;
use super::{ok, reply_error, Broker, Reply};
use crate::remoting::connection::now_ms;

pub(super) const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
pub(super) const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
pub(super) const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
pub(super) const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
pub(super) const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
pub(super) const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";
const NAMES: [&str; 6] = [
    TOPIC_PUT_NUMS,
    TOPIC_PUT_SIZE,
    GROUP_GET_NUMS,
    GROUP_GET_SIZE,
    BROKER_PUT_NUMS,
    BROKER_GET_NUMS,
];

/// Items kept per name. Java has no bound; keys are topics and topic@group pairs, which the topic and group
/// tables already bound, so this only stops a runaway table. Past it, new keys are not recorded.
const MAX_ITEMS_PER_NAME: usize = 100_000;

/// Sampling period of the minute figures; the hour ones are taken every 60th tick, the day ones every 360th.
const TICK: Duration = Duration::from_secs(10);
/// Samples kept: 7 ten-second ones (a minute), 7 ten-minute ones (an hour), 25 hourly ones (a day).
const KEPT: [usize; 3] = [7, 7, 25];
/// The baseline Java puts before an item's first sample in each list: one period earlier, all zero.
const PERIOD_MS: [u64; 3] = [10_000, 600_000, 3_600_000];

#[derive(Clone, Copy)]
struct Sample {
    at_ms: u64,
    times: i64,
    value: i64,
}

#[derive(Default)]
struct StatsItem {
    value: AtomicI64,
    times: AtomicI64,
    /// Minute, hour and day samples.
    lists: Mutex<[VecDeque<Sample>; 3]>,
}

/// `StatsSnapshot`: what one sample list says.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct Snapshot {
    pub sum: i64,
    pub tps: f64,
    pub avgpt: f64,
}

impl StatsItem {
    fn sample(&self, list: usize, now_ms: u64) {
        let mut lists = self.lists.lock();
        let samples = &mut lists[list];
        if samples.is_empty() {
            let at_ms = now_ms.saturating_sub(PERIOD_MS[list]);
            samples.push_back(Sample {
                at_ms,
                times: 0,
                value: 0,
            });
        }
        samples.push_back(Sample {
            at_ms: now_ms,
            times: self.times.load(Ordering::Relaxed),
            value: self.value.load(Ordering::Relaxed),
        });
        while samples.len() > KEPT[list] {
            samples.pop_front();
        }
    }

    /// `StatsItem.computeStatsData`.
    fn snapshot(&self, list: usize) -> Snapshot {
        let lists = self.lists.lock();
        let (Some(first), Some(last)) = (lists[list].front(), lists[list].back()) else {
            return Snapshot::default();
        };
        let sum = last.value - first.value;
        let elapsed_ms = last.at_ms.saturating_sub(first.at_ms).max(1);
        let calls = last.times - first.times;
        Snapshot {
            sum,
            tps: sum as f64 * 1000.0 / elapsed_ms as f64,
            avgpt: if calls > 0 {
                sum as f64 / calls as f64
            } else {
                0.0
            },
        }
    }
}

/// The items, by name then key.
pub(super) struct BrokerStatsItems {
    sets: [RwLock<HashMap<String, Arc<StatsItem>>>; NAMES.len()],
    ticks: AtomicU64,
}

impl BrokerStatsItems {
    pub(super) fn new() -> Self {
        BrokerStatsItems {
            sets: std::array::from_fn(|_| RwLock::new(HashMap::new())),
            ticks: AtomicU64::new(0),
        }
    }

    /// `StatsItemSet.addValue(key, value, times)`.
    pub(super) fn add(&self, name: &str, key: &str, value: i64, times: i64) {
        let Some(set) = NAMES.iter().position(|n| *n == name).map(|i| &self.sets[i]) else {
            return;
        };
        let existing = set.read().get(key).cloned();
        let item = match existing {
            Some(item) => item,
            None => {
                let mut set = set.write();
                if set.len() >= MAX_ITEMS_PER_NAME && !set.contains_key(key) {
                    return;
                }
                Arc::clone(set.entry(key.to_owned()).or_default())
            }
        };
        item.value.fetch_add(value, Ordering::Relaxed);
        item.times.fetch_add(times, Ordering::Relaxed);
    }

    fn item(&self, name: &str, key: &str) -> Option<Arc<StatsItem>> {
        let set = &self.sets[NAMES.iter().position(|n| *n == name)?];
        set.read().get(key).cloned()
    }

    /// Minute, hour and day snapshots of one item; `None` when nothing was recorded under it.
    pub(super) fn snapshots(&self, name: &str, key: &str) -> Option<[Snapshot; 3]> {
        let item = self.item(name, key)?;
        Some(std::array::from_fn(|list| item.snapshot(list)))
    }

    /// The per-second rate of the item over the last minute; 0 when nothing was recorded under it.
    pub(super) fn minute_tps(&self, name: &str, key: &str) -> f64 {
        self.item(name, key)
            .map_or(0.0, |item| item.snapshot(0).tps)
    }

    /// One 10 s tick: the minute sample of every item, and the hour / day samples when they are due (the
    /// first tick takes all three, as Java's schedulers start at once).
    pub(super) fn tick(&self, now_ms: u64) {
        let n = self.ticks.fetch_add(1, Ordering::Relaxed);
        let due = [true, n.is_multiple_of(60), n.is_multiple_of(360)];
        for set in &self.sets {
            let items: Vec<Arc<StatsItem>> = set.read().values().cloned().collect();
            for item in items {
                for (list, _) in due.iter().enumerate().filter(|(_, d)| **d) {
                    item.sample(list, now_ms);
                }
            }
        }
    }
}

/// Schedules the 10 s sampler.
pub(super) fn schedule(broker: &Arc<Broker>) {
    broker
        .periodic
        .every("stats-items", broker, TICK, |broker| async move {
            broker.stats_items.tick(now_ms());
        });
}

fn item_value(s: &Snapshot) -> Value {
    Value::object([
        ("avgpt", Value::Float(s.avgpt)),
        ("sum", Value::Int(s.sum)),
        ("tps", Value::Float(s.tps)),
    ])
}

impl Broker {
    /// VIEW_BROKER_STATS_DATA (315): the item's `BrokerStatsData` (`statsDay`, `statsHour`, `statsMinute`,
    /// each `{avgpt, sum, tps}`), or SYSTEM_ERROR "The stats <name> <key> not exist" as Java answers.
    pub(super) fn view_broker_stats_data(&self, req: &RemotingCommand) -> Reply {
        let h = ViewBrokerStatsDataRequestHeader::decode(&req.ext_fields)?;
        let Some([minute, hour, day]) = self.stats_items.snapshots(&h.stats_name, &h.stats_key)
        else {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
            ));
        };
        let doc = Value::object([
            ("statsDay", item_value(&day)),
            ("statsHour", item_value(&hour)),
            ("statsMinute", item_value(&minute)),
        ]);
        let mut resp = ok();
        resp.body = Bytes::from(fastjson::to_string(&doc));
        Ok(resp)
    }

    /// A stored send (`SendMessageProcessor`): TOPIC_PUT_NUMS, TOPIC_PUT_SIZE and BROKER_PUT_NUMS, and
    /// for `/metrics` the messages, bytes and size by message type.
    pub(super) fn count_put(&self, topic: &str, kind: MessageType, messages: usize, bytes: usize) {
        self.metrics.record_in(topic, kind, messages, bytes);
        let items = &self.stats_items;
        items.add(TOPIC_PUT_NUMS, topic, messages as i64, 1);
        items.add(TOPIC_PUT_SIZE, topic, bytes as i64, 1);
        let cluster = &self.config.broker_cluster_name;
        items.add(BROKER_PUT_NUMS, cluster, messages as i64, 0);
    }

    /// A pull or pop queue read that found messages (`DefaultPullMessageResultHandler`,
    /// `PopMessageProcessor`): GROUP_GET_NUMS, GROUP_GET_SIZE (by `topic@group`) and BROKER_GET_NUMS.
    pub(super) fn count_get(&self, topic: &str, group: &str, messages: usize, bytes: usize) {
        self.metrics.record_out(topic, group, messages, bytes);
        let items = &self.stats_items;
        let key = format!("{topic}@{group}");
        items.add(GROUP_GET_NUMS, &key, messages as i64, 1);
        items.add(GROUP_GET_SIZE, &key, bytes as i64, 1);
        let cluster = &self.config.broker_cluster_name;
        items.add(BROKER_GET_NUMS, cluster, messages as i64, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_exists_once_recorded_and_is_empty_until_sampled() {
        let items = BrokerStatsItems::new();
        assert!(items.snapshots(TOPIC_PUT_NUMS, "T").is_none());
        assert!(items.snapshots("NO_SUCH_NAME", "T").is_none());
        items.add(TOPIC_PUT_NUMS, "T", 3, 1);
        assert_eq!(
            items.snapshots(TOPIC_PUT_NUMS, "T"),
            Some([Snapshot::default(); 3])
        );
    }

    #[test]
    fn snapshots_are_differences_over_the_kept_samples() {
        let items = BrokerStatsItems::new();
        items.add(TOPIC_PUT_NUMS, "T", 4, 1);
        items.add(TOPIC_PUT_NUMS, "T", 6, 1);
        // First tick: baseline one period back plus the current totals, in all three lists.
        items.tick(100_000);
        let [minute, hour, day] = items.snapshots(TOPIC_PUT_NUMS, "T").unwrap();
        assert_eq!(
            minute,
            Snapshot {
                sum: 10,
                tps: 1.0,
                avgpt: 5.0
            }
        );
        assert_eq!(hour.sum, 10);
        assert_eq!(day.sum, 10);
        // Eight more 10 s ticks: the minute list keeps 7 samples, so its oldest is 60 s back.
        for i in 1..=8 {
            items.add(TOPIC_PUT_NUMS, "T", 1, 1);
            items.tick(100_000 + i * 10_000);
        }
        let [minute, hour, _] = items.snapshots(TOPIC_PUT_NUMS, "T").unwrap();
        assert_eq!(minute.sum, 6);
        assert_eq!(minute.tps, 0.1);
        assert_eq!(minute.avgpt, 1.0);
        assert_eq!(hour.sum, 10, "no hour sample yet after the first");
    }

    #[test]
    fn the_body_is_brokerstatsdata_as_fastjson_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::BrokerConfig::default();
        config.store.root_dir = dir.path().to_path_buf();
        let broker = Broker::open(config).unwrap();
        let mut ext = rmq_codec::command::ExtFields::new();
        ext.insert("statsName".into(), TOPIC_PUT_NUMS.into());
        ext.insert("statsKey".into(), "T".into());
        let req =
            RemotingCommand::new_request(rmq_codec::code::RequestCode::ViewBrokerStatsData, ext);
        let err = broker.view_broker_stats_data(&req).unwrap_err();
        assert!(format!("{err:?}").contains("The stats <TOPIC_PUT_NUMS> <T> not exist"));
        broker.count_put("T", MessageType::Normal, 1, 100);
        let resp = broker.view_broker_stats_data(&req).unwrap();
        let zero = r#"{"avgpt":0.0,"sum":0,"tps":0.0}"#;
        assert_eq!(
            std::str::from_utf8(&resp.body).unwrap(),
            format!(r#"{{"statsDay":{zero},"statsHour":{zero},"statsMinute":{zero}}}"#)
        );
    }
}
