//! Put and get counters of the store, as Java's `StoreStatsService` keeps them for GET_BROKER_RUNTIME_INFO:
//! totals, the slowest put and get, and the put latency of the last full minute in two fixed histograms
//! (the 13 `putMessageDistributeTime` ranges and the fine buckets behind `putLatency99`/`putLatency999`).
//!
//! Recording is relaxed atomic adds only; the minute roll-over ([`StoreStats::roll_minute`]) is called by
//! the broker's once-a-second sampler and is the only place that takes a lock.

use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;

use crate::histogram::Histogram;

/// Bounds (µs) of rmqd's own store histograms (`rmqd_flush_latency_seconds`,
/// `rmqd_put_lock_wait_seconds`): 50 µs to 10 s.
pub const TIME_BOUNDS_US: &[u64] = &[
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 10_000_000,
];

/// Java's `PUT_MESSAGE_ENTIRE_TIME_MAX_DESC`: the ranges of `putMessageDistributeTime`.
const DISTRIBUTION_NAMES: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];
/// Exclusive upper bounds (ms) of the ranges after `[<=0ms]`; past the last one is `[10s~]`.
const DISTRIBUTION_BOUNDS_MS: [i64; 11] =
    [10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000];

/// Java's `PUT_MESSAGE_ENTIRE_TIME_BUCKETS` rule (step ms, how many steps): 1..20, 22..50, 55..100, 110..200,
/// 250..500, 600..1000, 2000..10000, then one open bucket.
const LATENCY_STEPS: [(i64, usize); 7] = [
    (1, 20),
    (2, 15),
    (5, 10),
    (10, 10),
    (50, 6),
    (100, 5),
    (1000, 9),
];
const LATENCY_BUCKETS: usize = 20 + 15 + 10 + 10 + 6 + 5 + 9 + 1;

/// Inclusive upper bound of each latency bucket; the last is open (`Long.MAX_VALUE` in Java).
fn latency_bounds() -> [i64; LATENCY_BUCKETS] {
    let mut bounds = [i64::MAX; LATENCY_BUCKETS];
    let mut at = 0;
    let mut bound = 0;
    for (step, times) in LATENCY_STEPS {
        for _ in 0..times {
            bound += step;
            bounds[at] = bound;
            at += 1;
        }
    }
    bounds
}

/// Java rolls the histograms over once `printTPSInterval` (60 s) has passed since the last roll-over.
const ROLL_PERIOD_MS: i64 = 60_000;

/// What the last full minute's histograms held; `None` until the first roll-over, as in Java.
struct LastMinute {
    distribution: [i64; 13],
    latency: [i64; LATENCY_BUCKETS],
}

/// The store's put/get counters. One per `MessageStore`.
pub struct StoreStats {
    put_messages: AtomicI64,
    put_bytes: AtomicI64,
    put_failed: AtomicI64,
    put_time_max_ms: AtomicI64,
    get_found: AtomicI64,
    get_miss: AtomicI64,
    get_transferred: AtomicI64,
    get_time_max_ms: AtomicI64,
    distribution: [AtomicI64; 13],
    latency: [AtomicI64; LATENCY_BUCKETS],
    latency_bounds: [i64; LATENCY_BUCKETS],
    last_roll_ms: AtomicI64,
    last_minute: Mutex<Option<LastMinute>>,
    /// Puts that found the append lock held: how long they waited for it, timeouts included (rmqd only;
    /// an uncontended put records nothing, to keep its path at one `try_lock`).
    pub put_lock_wait_us: Histogram,
}

/// A copy of the running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsTotals {
    pub put_messages: i64,
    pub put_bytes: i64,
    pub put_failed: i64,
    pub put_time_max_ms: i64,
    pub get_found: i64,
    pub get_miss: i64,
    pub get_transferred: i64,
    pub get_time_max_ms: i64,
}

impl StoreStats {
    pub(crate) fn new(now_ms: i64) -> Self {
        StoreStats {
            put_messages: AtomicI64::new(0),
            put_bytes: AtomicI64::new(0),
            put_failed: AtomicI64::new(0),
            put_time_max_ms: AtomicI64::new(0),
            get_found: AtomicI64::new(0),
            get_miss: AtomicI64::new(0),
            get_transferred: AtomicI64::new(0),
            get_time_max_ms: AtomicI64::new(0),
            distribution: std::array::from_fn(|_| AtomicI64::new(0)),
            latency: std::array::from_fn(|_| AtomicI64::new(0)),
            latency_bounds: latency_bounds(),
            last_roll_ms: AtomicI64::new(now_ms),
            last_minute: Mutex::new(None),
            put_lock_wait_us: Histogram::new(TIME_BOUNDS_US),
        }
    }

    /// One put call (`DefaultMessageStore.asyncPutMessage`): its time, and on success the messages and bytes
    /// appended (`CommitLog` adds `msgNum` and `wroteBytes`); a failure counts in `putMessageFailedTimes`.
    pub(crate) fn record_put(&self, elapsed_ms: i64, appended: Option<(i64, i64)>) {
        match appended {
            Some((messages, bytes)) => {
                self.put_messages.fetch_add(messages, Ordering::Relaxed);
                self.put_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            None => {
                self.put_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        let range = DISTRIBUTION_BOUNDS_MS.partition_point(|&b| b <= elapsed_ms);
        let range = if elapsed_ms <= 0 { 0 } else { range + 1 };
        self.distribution[range].fetch_add(1, Ordering::Relaxed);
        let bucket = self.latency_bounds.partition_point(|&b| b < elapsed_ms);
        self.latency[bucket.min(LATENCY_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        self.put_time_max_ms
            .fetch_max(elapsed_ms, Ordering::Relaxed);
    }

    /// Records a slave dispatched from replicated bytes: Java's `ReputMessageService` on a SLAVE adds them to
    /// the per-topic put totals that `putMessageTimesTotal` and `putMessageSizeTotal` sum; no latency.
    pub(crate) fn record_replicated(&self, messages: i64, bytes: i64) {
        self.put_messages.fetch_add(messages, Ordering::Relaxed);
        self.put_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// One queue read (`DefaultMessageStore.getMessage`): FOUND or not, the messages it returned, its time.
    pub(crate) fn record_get(&self, found: bool, messages: i64, elapsed_ms: i64) {
        let counter = if found {
            &self.get_found
        } else {
            &self.get_miss
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.get_transferred.fetch_add(messages, Ordering::Relaxed);
        self.get_time_max_ms
            .fetch_max(elapsed_ms, Ordering::Relaxed);
    }

    pub fn totals(&self) -> StatsTotals {
        let load = |a: &AtomicI64| a.load(Ordering::Relaxed);
        StatsTotals {
            put_messages: load(&self.put_messages),
            put_bytes: load(&self.put_bytes),
            put_failed: load(&self.put_failed),
            put_time_max_ms: load(&self.put_time_max_ms),
            get_found: load(&self.get_found),
            get_miss: load(&self.get_miss),
            get_transferred: load(&self.get_transferred),
            get_time_max_ms: load(&self.get_time_max_ms),
        }
    }

    /// Moves this minute's histograms to "last minute" once [`ROLL_PERIOD_MS`] has passed since the last
    /// move (Java's `StoreStatsService.printTps`). Returns whether it moved them.
    pub fn roll_minute(&self, now_ms: i64) -> bool {
        let last = self.last_roll_ms.load(Ordering::Relaxed);
        if now_ms <= last + ROLL_PERIOD_MS {
            return false;
        }
        self.last_roll_ms.store(now_ms, Ordering::Relaxed);
        let take = |a: &AtomicI64| a.swap(0, Ordering::Relaxed);
        *self.last_minute.lock() = Some(LastMinute {
            distribution: std::array::from_fn(|i| take(&self.distribution[i])),
            latency: std::array::from_fn(|i| take(&self.latency[i])),
        });
        true
    }

    /// `putMessageDistributeTime`: "[<=0ms]:n [0~10ms]:n … [10s~]:n " for the last full minute, or "null"
    /// before the first minute has passed (Java's `String.valueOf` of a null string).
    pub fn distribution_text(&self) -> String {
        let last = self.last_minute.lock();
        let Some(last) = last.as_ref() else {
            return "null".into();
        };
        DISTRIBUTION_NAMES
            .iter()
            .zip(last.distribution)
            .map(|(name, n)| format!("{name}:{n} "))
            .collect()
    }

    /// Java's `findPutMessageEntireTimePX`: the `px` quantile of the last full minute's put times, linearly
    /// placed inside its bucket; 0 before the first minute has passed.
    pub fn put_latency_quantile_ms(&self, px: f64) -> f64 {
        let last = self.last_minute.lock();
        let Some(last) = last.as_ref() else {
            return 0.0;
        };
        quantile(&self.latency_bounds, &last.latency, px)
    }
}

fn quantile(bounds: &[i64], counts: &[i64], px: f64) -> f64 {
    let total: i64 = counts.iter().sum();
    let target = (total as f64 * px) as i64;
    let mut passed = 0;
    for (i, (&bound, &count)) in bounds.iter().zip(counts).enumerate() {
        if target <= passed + count {
            let relative = (target - passed) as f64;
            let lower = if i == 0 { 0 } else { bounds[i - 1] };
            let width = bound.saturating_sub(lower) as f64;
            let within = if count == 0 {
                0.0
            } else {
                width * relative / count as f64
            };
            return lower as f64 + within;
        }
        passed += count;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_follow_javas_rule() {
        let b = latency_bounds();
        assert_eq!(&b[..3], &[1, 2, 3]);
        assert_eq!(b[19], 20);
        assert_eq!(b[20], 22);
        assert_eq!(b[34], 50);
        assert_eq!(b[LATENCY_BUCKETS - 2], 10_000);
        assert_eq!(b[LATENCY_BUCKETS - 1], i64::MAX);
    }

    #[test]
    fn puts_count_and_roll_over_each_minute() {
        let stats = StoreStats::new(0);
        assert_eq!(stats.distribution_text(), "null");
        for ms in [0, 3, 9, 10, 49, 12_000] {
            stats.record_put(ms, Some((2, 100)));
        }
        stats.record_put(7, None);
        let t = stats.totals();
        assert_eq!((t.put_messages, t.put_bytes, t.put_failed), (12, 600, 1));
        assert_eq!(t.put_time_max_ms, 12_000);
        assert!(!stats.roll_minute(60_000), "not a full minute yet");
        assert!(stats.roll_minute(60_001));
        assert_eq!(
            stats.distribution_text(),
            "[<=0ms]:1 [0~10ms]:3 [10~50ms]:2 [50~100ms]:0 [100~200ms]:0 [200~500ms]:0 [500ms~1s]:0 \
             [1~2s]:0 [2~3s]:0 [3~4s]:0 [4~5s]:0 [5~10s]:0 [10s~]:1 "
        );
        assert!(stats.roll_minute(120_002));
        assert!(stats
            .distribution_text()
            .starts_with("[<=0ms]:0 [0~10ms]:0 "));
    }

    #[test]
    fn quantile_is_placed_inside_its_bucket() {
        let stats = StoreStats::new(0);
        assert_eq!(stats.put_latency_quantile_ms(0.99), 0.0);
        // 100 puts of 5 ms: bucket (4, 5]; the 99th lands 99% of the way through it.
        for _ in 0..100 {
            stats.record_put(5, Some((1, 10)));
        }
        stats.roll_minute(60_001);
        let p99 = stats.put_latency_quantile_ms(0.99);
        assert!((p99 - 4.99).abs() < 1e-9, "{p99}");
    }

    #[test]
    fn gets_count_found_miss_and_messages() {
        let stats = StoreStats::new(0);
        stats.record_get(true, 3, 2);
        stats.record_get(false, 0, 5);
        let t = stats.totals();
        assert_eq!((t.get_found, t.get_miss, t.get_transferred), (1, 1, 3));
        assert_eq!(t.get_time_max_ms, 5);
    }
}
