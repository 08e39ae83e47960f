//! GET_BROKER_RUNTIME_INFO (28): the `KVTable` mqadmin brokerStatus / clusterList print
//! (`AdminBrokerProcessor.prepareRuntimeInfo` plus the store's runtime info in Java).
//!
//! rmqd has no per-request counters on its hot path, so the put count is the number of messages in every
//! consume queue (it grows with every put, which is what clusterList's "today" columns show) and the TPS
//! figures come from sampling that count once a second.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use rmq_codec::code::{local_version, mq_version};
use rmq_codec::fastjson::{self, Key, Value};
use rmq_codec::message::layout;

use super::{ok, Broker, Reply};
use crate::remoting::connection::now_ms;

/// `MQVersion.getVersionDesc`: Java's name of the version this process announces (`V4_9_8`). The
/// configuration accepts only versions that have one; Java names anything past its enum HIGHER_VERSION.
fn version_desc(ordinal: i32) -> String {
    mq_version::desc(ordinal).unwrap_or_else(|| "HIGHER_VERSION".into())
}

/// The TPS windows Java reports: 10 s, 1 min, 10 min.
const TPS_WINDOWS_S: [usize; 3] = [10, 60, 600];

/// Once-a-second samples of the put/get totals, newest last, for the TPS figures.
pub(super) struct RuntimeStats {
    boot_ms: u64,
    /// Messages handed out by pulls since boot (fed by `record_get`).
    got: AtomicI64,
    samples: Mutex<VecDeque<(i64, i64)>>,
}

impl RuntimeStats {
    pub(super) fn new() -> Self {
        RuntimeStats {
            boot_ms: now_ms(),
            got: AtomicI64::new(0),
            samples: Mutex::new(VecDeque::new()),
        }
    }

    /// Counts messages a pull returned (Java's getMessageTransferedMsgCount).
    pub(super) fn record_get(&self, messages: usize) {
        self.got.fetch_add(messages as i64, Ordering::Relaxed);
    }

    fn push_sample(&self, put: i64, got: i64) {
        let mut samples = self.samples.lock();
        samples.push_back((put, got));
        while samples.len() > TPS_WINDOWS_S[2] + 1 {
            samples.pop_front();
        }
    }

    /// "tps10 tps60 tps600" for the put (`get == false`) or get totals, as Java formats them.
    fn tps(&self, get: bool) -> String {
        let samples = self.samples.lock();
        let pick = |s: &(i64, i64)| if get { s.1 } else { s.0 };
        let rates: Vec<String> = TPS_WINDOWS_S
            .iter()
            .map(|&window| {
                let newest = samples.back();
                let oldest = samples.len().checked_sub(window + 1).map(|i| &samples[i]);
                let rate = match (newest, oldest.or(samples.front())) {
                    (Some(n), Some(o)) if samples.len() > 1 => {
                        let seconds = window.min(samples.len() - 1) as f64;
                        (pick(n) - pick(o)) as f64 / seconds
                    }
                    _ => 0.0,
                };
                format!("{rate:.2}")
            })
            .collect();
        rates.join(" ")
    }
}

/// Schedules the once-a-second sampler.
pub(super) fn schedule(broker: &Arc<Broker>) {
    let period = Duration::from_secs(1);
    broker
        .periodic
        .every("runtime-samples", broker, period, |broker| async move {
            let put = broker.messages_in_queues();
            let got = broker.runtime.got.load(Ordering::Relaxed);
            broker.runtime.push_sample(put, got);
        });
}

impl Broker {
    /// Messages in every consume queue of every topic this broker knows.
    fn messages_in_queues(&self) -> i64 {
        self.topics
            .names()
            .iter()
            .map(|topic| self.messages_in_topic(topic))
            .sum()
    }

    /// Messages ever put into the topic's consume queues: the sum of their max offsets.
    pub(super) fn messages_in_topic(&self, topic: &str) -> i64 {
        self.store
            .queue_ids(topic)
            .into_iter()
            .map(|q| self.store.max_offset_in_queue(topic, q))
            .sum()
    }

    /// Store timestamp of the oldest record in the commit log, or 0 when it is empty.
    fn earliest_message_time(&self) -> i64 {
        let Some(record) = self.store.message_at(self.store.min_commit_log_offset()) else {
            return 0;
        };
        let read_i64 = |at: usize| {
            record
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes)
        };
        let sys_flag = record
            .get(layout::SYS_FLAG..layout::SYS_FLAG + 4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes);
        sys_flag
            .and_then(|f| read_i64(layout::store_timestamp_pos(f)))
            .unwrap_or(0)
    }

    pub(super) fn broker_runtime_info(&self) -> Reply {
        let root = &self.config.store.root_dir;
        let disk_ratio = rmq_store::mapped_file::disk_used_ratio(root).unwrap_or(0.0);
        let put = self.messages_in_queues();
        let got = self.runtime.got.load(Ordering::Relaxed);
        let uptime_ms = now_ms().saturating_sub(self.runtime.boot_ms);
        let version = local_version();
        let entries: Vec<(&str, String)> = vec![
            ("brokerVersionDesc", version_desc(version)),
            ("brokerVersion", version.to_string()),
            ("msgPutTotalYesterdayMorning", "0".into()),
            ("msgPutTotalTodayMorning", "0".into()),
            ("msgPutTotalTodayNow", put.to_string()),
            ("msgGetTotalYesterdayMorning", "0".into()),
            ("msgGetTotalTodayMorning", "0".into()),
            ("msgGetTotalTodayNow", got.to_string()),
            ("sendThreadPoolQueueSize", "0".into()),
            ("sendThreadPoolQueueCapacity", "10000".into()),
            ("pullThreadPoolQueueSize", "0".into()),
            ("pullThreadPoolQueueCapacity", "100000".into()),
            ("queryThreadPoolQueueSize", "0".into()),
            ("queryThreadPoolQueueCapacity", "20000".into()),
            ("EndTransactionQueueSize", "0".into()),
            ("EndTransactionThreadPoolQueueCapacity", "100000".into()),
            ("dispatchBehindBytes", "0".into()),
            ("pageCacheLockTimeMills", "0".into()),
            ("sendThreadPoolQueueHeadWaitTimeMills", "0".into()),
            ("pullThreadPoolQueueHeadWaitTimeMills", "0".into()),
            ("queryThreadPoolQueueHeadWaitTimeMills", "0".into()),
            (
                "earliestMessageTimeStamp",
                self.earliest_message_time().to_string(),
            ),
            ("startAcceptSendRequestTimeStamp", "0".into()),
            ("bootTimestamp", self.runtime.boot_ms.to_string()),
            ("runtime", format_runtime(uptime_ms)),
            ("putMessageTimesTotal", put.to_string()),
            ("putTps", self.runtime.tps(false)),
            // 4.x spells it "Transfered", 5.x "Transferred"; mqadmin of each reads its own.
            ("getTransferedTps", self.runtime.tps(true)),
            ("getTransferredTps", self.runtime.tps(true)),
            ("commitLogDiskRatio", disk_ratio.to_string()),
            (
                "commitLogMinOffset",
                self.store.min_commit_log_offset().to_string(),
            ),
            (
                "commitLogMaxOffset",
                self.store.max_commit_log_offset().to_string(),
            ),
            ("brokerActive", "true".into()),
        ];
        let table = entries
            .into_iter()
            .map(|(k, v)| (Key::Str(k.into()), Value::Str(v)))
            .collect();
        let doc = Value::Object(vec![(Key::Str("table".into()), Value::Object(table))]);
        let mut resp = ok();
        resp.body = Bytes::from(fastjson::to_string(&doc));
        Ok(resp)
    }
}

/// Java's `StoreStatsService.getFormatRuntime`: "[ d days, h hours, m minutes, s seconds ]".
fn format_runtime(uptime_ms: u64) -> String {
    let s = uptime_ms / 1000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        s / 86_400,
        s / 3_600 % 24,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerConfig;
    use rmq_codec::message::StoredMessage;

    fn table(broker: &Broker) -> Value {
        let resp = broker.broker_runtime_info().expect("runtime info");
        let text = std::str::from_utf8(&resp.body).expect("utf-8");
        let doc = fastjson::parse(text).expect("KVTable JSON");
        doc.get("table").cloned().expect("table")
    }

    fn entry(table: &Value, key: &str) -> String {
        match table.get(key) {
            Some(Value::Str(s)) => s.clone(),
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn kv_table_counts_puts_and_reports_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = BrokerConfig::default();
        config.store.root_dir = dir.path().to_path_buf();
        config.store.mapped_file_size_commit_log = 1 << 20;
        let broker = Broker::open(config).unwrap();
        let before = table(&broker);
        assert_eq!(entry(&before, "brokerVersionDesc"), "V5_3_3");
        assert_eq!(entry(&before, "msgPutTotalTodayNow"), "0");
        assert_eq!(entry(&before, "earliestMessageTimeStamp"), "0");
        let ratio: f64 = entry(&before, "commitLogDiskRatio").parse().unwrap();
        assert!((0.0..=1.0).contains(&ratio));

        let mut msg = StoredMessage {
            topic: "SELF_TEST_TOPIC".into(),
            born_timestamp: 1_000,
            born_host: "127.0.0.1:40000".parse().unwrap(),
            store_host: broker.store_host,
            body: "x".into(),
            ..StoredMessage::default()
        };
        broker.store.put(&mut msg, 0).unwrap();
        let after = table(&broker);
        assert_eq!(entry(&after, "msgPutTotalTodayNow"), "1");
        let earliest: i64 = entry(&after, "earliestMessageTimeStamp").parse().unwrap();
        assert!(earliest > 1_000, "store time, not born time: {earliest}");
        assert!(
            entry(&after, "commitLogMaxOffset").parse::<i64>().unwrap()
                > entry(&before, "commitLogMaxOffset").parse::<i64>().unwrap()
        );
    }

    #[test]
    fn runtime_is_formatted_like_java() {
        assert_eq!(
            format_runtime(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000 + 999),
            "[ 2 days, 3 hours, 4 minutes, 5 seconds ]"
        );
    }

    #[test]
    fn tps_is_the_rate_over_each_window() {
        let stats = RuntimeStats::new();
        assert_eq!(stats.tps(false), "0.00 0.00 0.00");
        for second in 0..=20 {
            stats.push_sample(second * 5, second);
        }
        // 10 s window: 50 puts; the 60 s and 600 s windows only have 20 s of samples.
        assert_eq!(stats.tps(false), "5.00 5.00 5.00");
        assert_eq!(stats.tps(true), "1.00 1.00 1.00");
    }
}
