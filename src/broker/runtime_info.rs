//! GET_BROKER_RUNTIME_INFO (28): the `KVTable` mqadmin brokerStatus / clusterList print. Java builds it in
//! `AdminBrokerProcessor.prepareRuntimeInfo` on top of `DefaultMessageStore.getRuntimeInfo` and
//! `StoreStatsService.getRuntimeInfo`; rmqd reports the same keys (5.3.3) from the store's counters
//! (`rmq_store::StoreStats`), sampled once a second for the TPS figures like Java's `StoreStatsService`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use rmq_codec::code::{local_version, mq_version};
use rmq_codec::fastjson::{self, java_double, Key, Value};
use rmq_codec::message::layout;
use rmq_store::{StatsTotals, SCHEDULE_TOPIC};

use super::{ok, Broker, Reply};
use crate::remoting::connection::now_ms;

/// `MQVersion.getVersionDesc`: Java's name of the version this process announces (`V4_9_8`). The
/// configuration accepts only versions that have one; Java names anything past its enum HIGHER_VERSION.
fn version_desc(ordinal: i32) -> String {
    mq_version::desc(ordinal).unwrap_or_else(|| "HIGHER_VERSION".into())
}

/// The TPS windows Java reports, in samples (one a second): 10 s, 1 min, 10 min.
const TPS_WINDOWS: [usize; 3] = [10, 60, 600];

/// One once-a-second sample of the store's totals.
#[derive(Clone, Copy)]
struct Sample {
    at_ms: u64,
    totals: StatsTotals,
}

/// The last 601 samples, newest last (Java's `MAX_RECORDS_OF_SAMPLING + 1`).
pub(super) struct RuntimeStats {
    boot_ms: u64,
    samples: Mutex<VecDeque<Sample>>,
}

impl RuntimeStats {
    pub(super) fn new() -> Self {
        RuntimeStats {
            boot_ms: now_ms(),
            samples: Mutex::new(VecDeque::new()),
        }
    }

    fn push_sample(&self, at_ms: u64, totals: StatsTotals) {
        let mut samples = self.samples.lock();
        samples.push_back(Sample { at_ms, totals });
        while samples.len() > TPS_WINDOWS[2] + 1 {
            samples.pop_front();
        }
    }

    /// `CallSnapshot.getTPS` of `pick` over the last `window` samples; `None` until there are more than
    /// `window` samples.
    fn rate(&self, window: usize, pick: fn(&StatsTotals) -> i64) -> Option<f64> {
        let samples = self.samples.lock();
        let newest = samples.back()?;
        let oldest = samples.get(samples.len().checked_sub(window + 1)?)?;
        let elapsed_ms = newest.at_ms.saturating_sub(oldest.at_ms).max(1);
        let total = pick(&newest.totals) - pick(&oldest.totals);
        Some(total as f64 / elapsed_ms as f64 * 1000.0)
    }

    /// "tps10 tps60 tps600" as Java writes them: `Double.toString`, and an empty string for a window
    /// that does not have its samples yet (so "  " right after boot).
    fn tps(&self, pick: fn(&StatsTotals) -> i64) -> String {
        let rates: Vec<String> = TPS_WINDOWS
            .iter()
            .map(|&w| self.rate(w, pick).map(java_double).unwrap_or_default())
            .collect();
        rates.join(" ")
    }

    /// `getTotalTps`: found plus missed reads per window, 0.0 where a window has no samples yet.
    fn total_get_tps(&self) -> String {
        let rates: Vec<String> = TPS_WINDOWS
            .iter()
            .map(|&w| {
                let found = self.rate(w, |t| t.get_found).unwrap_or(0.0);
                let miss = self.rate(w, |t| t.get_miss).unwrap_or(0.0);
                java_double(found + miss)
            })
            .collect();
        rates.join(" ")
    }
}

/// Schedules the once-a-second sampler, which also rolls the store's put-latency histograms over once a
/// minute (Java's `StoreStatsService.run`: `sampling` then `printTps`).
pub(super) fn schedule(broker: &Arc<Broker>) {
    let period = Duration::from_secs(1);
    broker
        .periodic
        .every("runtime-samples", broker, period, |broker| async move {
            let now = now_ms();
            let stats = broker.store.stats();
            broker.runtime.push_sample(now, stats.totals());
            stats.roll_minute(now as i64);
        });
}

/// Java's `MixAll.humanReadableByteCount(bytes, false)`: "512 B", "1.5 KiB", "2.0 GiB".
fn human_bytes(bytes: i64) -> String {
    const UNIT: f64 = 1024.0;
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / UNIT.ln()) as i32;
    let prefix = ["K", "M", "G", "T", "P", "E"][(exp - 1).clamp(0, 5) as usize];
    format!("{:.1} {prefix}iB", bytes as f64 / UNIT.powi(exp))
}

impl Broker {
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

    /// `StoreStatsService.getRuntimeInfo`: the put/get counters and rates.
    fn store_stats_entries(&self, out: &mut Vec<(String, String)>) {
        let stats = self.store.stats();
        let t = stats.totals();
        let runtime = &self.runtime;
        // Java reports 1 put before the first one (it divides by this for the average).
        let put_times = t.put_messages.max(1);
        let uptime_ms = now_ms().saturating_sub(runtime.boot_ms);
        let mut put = |k: &str, v: String| out.push((k.to_owned(), v));
        put("bootTimestamp", runtime.boot_ms.to_string());
        put("runtime", format_runtime(uptime_ms));
        put("putMessageEntireTimeMax", t.put_time_max_ms.to_string());
        put("putMessageTimesTotal", put_times.to_string());
        put("putMessageFailedTimes", t.put_failed.to_string());
        put("putMessageSizeTotal", t.put_bytes.to_string());
        put("putMessageDistributeTime", stats.distribution_text());
        let average = t.put_bytes as f64 / put_times as f64;
        put("putMessageAverageSize", java_double(average));
        // Java never raises it (nothing calls `setDispatchMaxBuffer`); rmqd dispatches inside the append.
        put("dispatchMaxBuffer", "0".into());
        put("getMessageEntireTimeMax", t.get_time_max_ms.to_string());
        put("putTps", runtime.tps(|t| t.put_messages));
        put("getFoundTps", runtime.tps(|t| t.get_found));
        put("getMissTps", runtime.tps(|t| t.get_miss));
        put("getTotalTps", runtime.total_get_tps());
        put("getTransferredTps", runtime.tps(|t| t.get_transferred));
        // 4.x spells it "Transfered"; its mqadmin clusterList reads that key.
        put("getTransferedTps", runtime.tps(|t| t.get_transferred));
        let p99 = stats.put_latency_quantile_ms(0.99);
        let p999 = stats.put_latency_quantile_ms(0.999);
        put("putLatency99", format!("{p99:.2}"));
        put("putLatency999", format!("{p999:.2}"));
    }

    /// `DefaultMessageStore.getRuntimeInfo`: disk ratios (`RunningStats` names) and commit-log offsets.
    fn store_disk_entries(&self, out: &mut Vec<(String, String)>) {
        let root = &self.config.store.root_dir;
        let ratio = |dir: &std::path::Path| match dir.exists() {
            true => rmq_store::mapped_file::disk_used_ratio(dir).unwrap_or(-1.0),
            false => -1.0,
        };
        let commit_log_dir = root.join("commitlog");
        let commit_log_ratio = java_double(ratio(&commit_log_dir));
        let per_path = format!("commitLogDiskRatio_{}", commit_log_dir.display());
        out.push((per_path, commit_log_ratio.clone()));
        out.push(("commitLogDiskRatio".into(), commit_log_ratio));
        let cq_ratio = java_double(ratio(&root.join("consumequeue")));
        out.push(("consumeQueueDiskRatio".into(), cq_ratio));
        let min = self
            .store
            .first_commit_log_file_offset()
            .unwrap_or(-1)
            .to_string();
        out.push(("commitLogMinOffset".into(), min));
        let max = self.store.max_commit_log_offset().to_string();
        out.push(("commitLogMaxOffset".into(), max));
    }

    /// `ScheduleMessageService.buildRunningStats`: "cursor,maxOffset" of each delay level's queue.
    fn schedule_entries(&self, out: &mut Vec<(String, String)>) {
        for (level, cursor) in self.schedule.delay_cursors() {
            let max = self.store.max_offset_in_queue(SCHEDULE_TOPIC, level - 1);
            out.push((
                format!("scheduleMessageOffset_{level}"),
                format!("{cursor},{max}"),
            ));
        }
    }

    /// The rest of `AdminBrokerProcessor.prepareRuntimeInfo`.
    fn broker_entries(&self, out: &mut Vec<(String, String)>) {
        let t = self.store.stats().totals();
        let version = local_version();
        let root = &self.config.store.root_dir;
        let flush_backlog =
            self.store.max_commit_log_offset() - self.store.flushed_commit_log_offset();
        let mut put = |k: &str, v: String| out.push((k.to_owned(), v));
        // 5.3.3 `isSpecialServiceRunning`: schedule and transaction check (or pop revive) running,
        // which only a master's do (`changeSpecialServiceStatus(brokerId == MASTER_ID)`).
        put("brokerActive", (!self.config.is_slave()).to_string());
        put("brokerVersionDesc", version_desc(version));
        put("brokerVersion", version.to_string());
        // Java's BrokerStats moves "today" to "yesterday" at midnight and starts at 0.
        put("msgPutTotalYesterdayMorning", "0".into());
        put("msgPutTotalTodayMorning", "0".into());
        put("msgPutTotalTodayNow", t.put_messages.to_string());
        put("msgGetTotalYesterdayMorning", "0".into());
        put("msgGetTotalTodayMorning", "0".into());
        put("msgGetTotalTodayNow", t.get_transferred.to_string());
        // rmqd writes the consume-queue unit inside the append: dispatch is never behind.
        put("dispatchBehindBytes", "0".into());
        put(
            "pageCacheLockTimeMills",
            self.store.lock_time_ms().to_string(),
        );
        put(
            "earliestMessageTimeStamp",
            self.earliest_message_time().to_string(),
        );
        put("startAcceptSendRequestTimeStamp", "0".into());
        // rmqd's timer queue keeps no congestion or rate counters: an idle timer wheel's figures.
        for key in ["timerReadBehind", "timerOffsetBehind", "timerCongestNum"] {
            put(key, "0".into());
        }
        put("timerEnqueueTps", "0.0".into());
        put("timerDequeueTps", "0.0".into());
        // No transient store pool: Java reports Integer.MAX_VALUE and omits remainHowManyDataToCommit.
        put("remainTransientStoreBufferNumbs", i32::MAX.to_string());
        put(
            "remainHowManyDataToFlush",
            human_bytes(flush_backlog.max(0)),
        );
        if let Ok((total, free)) = rmq_store::mapped_file::disk_space(root) {
            let (total, free) = (human_bytes(total as i64), human_bytes(free as i64));
            put(
                "commitLogDirCapacity",
                format!("Total : {total}, Free : {free}."),
            );
        }
        // rmqd runs requests on each connection's task, not in Java's thread pools: the queues are always
        // empty (puts waiting for the append lock are bounded by `put_lock_wait_limit_ms` instead), and the
        // capacities are Java's defaults.
        let pools = [
            ("send", 10_000),
            ("pull", 100_000),
            ("litePull", 100_000),
            ("query", 20_000),
            ("ack", 100_000),
        ];
        for (pool, capacity) in pools {
            put(&format!("{pool}ThreadPoolQueueSize"), "0".into());
            put(
                &format!("{pool}ThreadPoolQueueCapacity"),
                capacity.to_string(),
            );
            put(
                &format!("{pool}ThreadPoolQueueHeadWaitTimeMills"),
                "0".into(),
            );
        }
        put("EndTransactionQueueSize", "0".into());
        put("EndTransactionThreadPoolQueueCapacity", "100000".into());
    }

    pub(super) fn broker_runtime_info(&self) -> Reply {
        let mut entries = Vec::with_capacity(80);
        self.store_stats_entries(&mut entries);
        self.store_disk_entries(&mut entries);
        self.schedule_entries(&mut entries);
        self.broker_entries(&mut entries);
        let table = entries
            .into_iter()
            .map(|(k, v)| (Key::Str(k), Value::Str(v)))
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
    use crate::broker::test_support::TempBroker;
    use rmq_codec::message::StoredMessage;
    use rmq_store::StatsTotals;

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
        let TempBroker { broker, dir: _dir } = TempBroker::open();
        let before = table(&broker);
        assert_eq!(entry(&before, "brokerVersionDesc"), "V5_3_3");
        assert_eq!(entry(&before, "msgPutTotalTodayNow"), "0");
        assert_eq!(
            entry(&before, "putMessageTimesTotal"),
            "1",
            "Java's floor of 1"
        );
        assert_eq!(entry(&before, "putMessageDistributeTime"), "null");
        assert_eq!(entry(&before, "putTps"), "  ");
        assert_eq!(entry(&before, "getTotalTps"), "0.0 0.0 0.0");
        assert_eq!(entry(&before, "earliestMessageTimeStamp"), "0");
        assert_eq!(entry(&before, "remainHowManyDataToFlush"), "0 B");
        assert!(entry(&before, "commitLogDirCapacity").starts_with("Total : "));
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
        let wrote = broker.store.put(&mut msg, 0).unwrap().wrote_bytes;
        broker
            .store
            .get_messages("SELF_TEST_TOPIC", 0, 0, 32, 1 << 20, &|_| true);
        let after = table(&broker);
        assert_eq!(entry(&after, "msgPutTotalTodayNow"), "1");
        assert_eq!(entry(&after, "putMessageSizeTotal"), wrote.to_string());
        assert_eq!(entry(&after, "putMessageAverageSize"), format!("{wrote}.0"));
        assert_eq!(entry(&after, "msgGetTotalTodayNow"), "1");
        let earliest: i64 = entry(&after, "earliestMessageTimeStamp").parse().unwrap();
        assert!(earliest > 1_000, "store time, not born time: {earliest}");
        assert!(
            entry(&after, "commitLogMaxOffset").parse::<i64>().unwrap()
                > entry(&before, "commitLogMaxOffset").parse::<i64>().unwrap()
        );
    }

    #[test]
    fn a_slave_reports_its_special_services_stopped() {
        assert_eq!(
            entry(&table(&TempBroker::open().broker), "brokerActive"),
            "true"
        );
        let slave = TempBroker::open_with(|c| {
            c.broker_role = "SLAVE".into();
            c.broker_id = 1;
        });
        assert_eq!(entry(&table(&slave.broker), "brokerActive"), "false");
    }

    #[test]
    fn runtime_is_formatted_like_java() {
        assert_eq!(
            format_runtime(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000 + 999),
            "[ 2 days, 3 hours, 4 minutes, 5 seconds ]"
        );
    }

    #[test]
    fn bytes_are_formatted_like_mixall() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn tps_is_the_rate_over_each_window_once_it_has_its_samples() {
        let stats = RuntimeStats::new();
        assert_eq!(stats.tps(|t| t.put_messages), "  ");
        for second in 0..=20u64 {
            let totals = StatsTotals {
                put_messages: second as i64 * 5,
                get_found: second as i64,
                get_miss: 2 * second as i64,
                ..StatsTotals::default()
            };
            stats.push_sample(second * 1000, totals);
        }
        // Only the 10 s window has its 11 samples.
        assert_eq!(stats.tps(|t| t.put_messages), "5.0  ");
        assert_eq!(stats.tps(|t| t.get_found), "1.0  ");
        assert_eq!(stats.total_get_tps(), "3.0 0.0 0.0");
    }
}
