//! Per-minute rates as Java's `BrokerStatsManager` reports them: `topicPutTps` of GET_TOPIC_STATS_INFO
//! (TOPIC_PUT_NUMS by topic) and `consumeTps` of GET_CONSUME_STATS / GET_BROKER_CONSUME_STATS
//! (GROUP_GET_NUMS by `topic@group`). Java samples each running total every 10 s, keeps the samples of
//! the last minute and reports (newest - oldest) per second between them.
//!
//! rmqd counts nothing extra per request for these: a topic's total is the sum of its queues' max
//! offsets, and a group's total the messages its pulls returned, kept with its pull offsets.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::Broker;
use crate::remoting::connection::now_ms;

/// Java's `samplingInSeconds` period for the minute figures.
const SAMPLE_PERIOD: Duration = Duration::from_secs(10);
/// Java's `csListMinute` keeps 7 samples, 10 s apart: one minute.
const SAMPLES_PER_MINUTE: usize = 7;

/// Running totals by key, sampled.
#[derive(Default)]
pub(super) struct MinuteRates {
    series: Mutex<HashMap<String, VecDeque<(u64, i64)>>>,
}

impl MinuteRates {
    /// Adds one sample (`now_ms`, total) per key; keys missing from `totals` are forgotten, so the
    /// table never holds more keys than the last sample had.
    pub(super) fn sample(&self, now_ms: u64, totals: HashMap<String, i64>) {
        let mut series = self.series.lock();
        series.retain(|key, _| totals.contains_key(key));
        for (key, total) in totals {
            let samples = series.entry(key).or_default();
            samples.push_back((now_ms, total));
            while samples.len() > SAMPLES_PER_MINUTE {
                samples.pop_front();
            }
        }
    }

    /// Per second between the oldest and newest sample of `key`; 0 before there are two.
    pub(super) fn per_second(&self, key: &str) -> f64 {
        let series = self.series.lock();
        let Some(samples) = series.get(key) else {
            return 0.0;
        };
        match (samples.front(), samples.back()) {
            (Some(&(t0, v0)), Some(&(t1, v1))) if t1 > t0 => {
                (v1 - v0) as f64 * 1000.0 / (t1 - t0) as f64
            }
            _ => 0.0,
        }
    }
}

/// Put rates by topic and get rates by `topic@group`.
#[derive(Default)]
pub(super) struct TrafficRates {
    pub(super) topic_puts: MinuteRates,
    pub(super) group_gets: MinuteRates,
}

/// Schedules the 10 s sampler.
pub(super) fn schedule(broker: &Arc<Broker>) {
    broker
        .periodic
        .every("minute-rates", broker, SAMPLE_PERIOD, |broker| async move {
            broker.sample_rates(now_ms());
        });
}

impl Broker {
    pub(super) fn sample_rates(&self, now_ms: u64) {
        let puts = self
            .topics
            .names()
            .into_iter()
            .map(|topic| {
                let total = self.messages_in_topic(&topic);
                (topic, total)
            })
            .collect();
        self.rates.topic_puts.sample(now_ms, puts);
        self.rates
            .group_gets
            .sample(now_ms, self.offsets.pulled_messages());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_over_the_last_minute() {
        let rates = MinuteRates::default();
        let one = |total| HashMap::from([("T".to_string(), total)]);
        rates.sample(0, one(0));
        assert_eq!(rates.per_second("T"), 0.0, "one sample has no rate");
        rates.sample(10_000, one(50));
        assert_eq!(rates.per_second("T"), 5.0);
        for i in 2..=8 {
            rates.sample(i * 10_000, one(50 + (i as i64 - 1) * 10));
        }
        // Seven samples kept: 20 s .. 80 s, totals 60 .. 120.
        assert_eq!(rates.per_second("T"), 1.0);
        assert_eq!(rates.per_second("U"), 0.0);
        rates.sample(90_000, HashMap::new());
        assert_eq!(
            rates.per_second("T"),
            0.0,
            "a key gone from the totals is forgotten"
        );
    }
}
