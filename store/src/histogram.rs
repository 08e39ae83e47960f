//! A fixed-bucket histogram that a request path records into with three relaxed atomic adds and no lock,
//! as OpenTelemetry's explicit-bucket histogram that Java's `BrokerMetricsManager` configures: a value
//! lands in the first bucket whose upper bound is >= it (Prometheus' `le`), anything above the last bound
//! in the overflow (`+Inf`) bucket.

use std::sync::atomic::{AtomicU64, Ordering};

pub struct Histogram {
    /// Upper bounds, ascending, in the unit the value is recorded in.
    bounds: &'static [u64],
    /// One count per bound plus the overflow bucket; not cumulative.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

/// A copy of a histogram: per-bucket counts (not cumulative), their total and the sum of the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    pub bounds: &'static [u64],
    pub counts: Vec<u64>,
    pub sum: u64,
}

impl HistogramSnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl Histogram {
    pub fn new(bounds: &'static [u64]) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    pub fn record(&self, value: u64) {
        let bucket = self.bounds.partition_point(|&bound| bound < value);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds: self.bounds,
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_lands_in_the_first_bucket_whose_bound_is_not_below_it() {
        let h = Histogram::new(&[1, 10, 100]);
        for v in [0, 1, 2, 10, 11, 100, 101, 5000] {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 2, 2, 2]);
        assert_eq!(s.count(), 8);
        assert_eq!(s.sum, 1 + 2 + 10 + 11 + 100 + 101 + 5000);
    }
}
