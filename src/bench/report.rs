//! Counters, latency histograms, the once-a-second progress line and the final summary.
//!
//! Workers count into atomics and record latencies into their own histogram (one mutex each, so the
//! only contention is the reporter's once-a-second swap). Latencies are recorded in microseconds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::args::{BenchArgs, Mode};

/// Largest latency recorded: one minute, in microseconds (bigger values saturate).
const MAX_LATENCY_US: u64 = 60_000_000;
/// Distinct failure reasons kept for the summary; more are folded into "other".
const MAX_FAILURE_KINDS: usize = 32;

pub type Recorder = Arc<Mutex<Histogram<u64>>>;

fn new_histogram() -> Histogram<u64> {
    // Bounds are constants well inside what hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// One direction of traffic (sends or receives).
#[derive(Default)]
pub struct Channel {
    /// Requests answered with success (a batch is one request).
    pub requests: AtomicU64,
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub failures: AtomicU64,
    recorders: Mutex<Vec<Recorder>>,
    failure_kinds: Mutex<BTreeMap<String, u64>>,
}

impl Channel {
    /// A histogram for one worker; the reporter drains it every second.
    pub fn recorder(&self) -> Recorder {
        let recorder = Arc::new(Mutex::new(new_histogram()));
        self.recorders.lock().push(recorder.clone());
        recorder
    }

    pub fn success(&self, messages: u64, bytes: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.messages.fetch_add(messages, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `count` failed requests under `kind` (for example "code 14: ..." or "timeout").
    pub fn failure(&self, kind: &str, count: u64) {
        self.failures.fetch_add(count, Ordering::Relaxed);
        let mut kinds = self.failure_kinds.lock();
        let key = if kinds.len() < MAX_FAILURE_KINDS || kinds.contains_key(kind) {
            kind.to_string()
        } else {
            "other".to_string()
        };
        *kinds.entry(key).or_default() += count;
    }

    fn snapshot(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// Moves what the workers recorded since the last call into `interval`.
    fn drain_into(&self, interval: &mut Histogram<u64>) {
        for recorder in self.recorders.lock().iter() {
            let mut hist = recorder.lock();
            // Same bounds everywhere, so adding cannot fail.
            let _ = interval.add(&*hist);
            hist.reset();
        }
    }
}

#[derive(Default)]
pub struct Stats {
    pub send: Channel,
    pub recv: Channel,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    requests: u64,
    messages: u64,
    bytes: u64,
    failures: u64,
}

/// Whole-run histograms, filled by the reporter.
pub struct Totals {
    send: Histogram<u64>,
    recv: Histogram<u64>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn latency_text(hist: &Histogram<u64>) -> String {
    if hist.is_empty() {
        return "-".to_string();
    }
    format!(
        "avg {:.3} p50 {:.3} p99 {:.3} p999 {:.3} max {:.3}",
        hist.mean() / 1000.0,
        ms(hist.value_at_quantile(0.5)),
        ms(hist.value_at_quantile(0.99)),
        ms(hist.value_at_quantile(0.999)),
        ms(hist.max()),
    )
}

fn latency_json(hist: &Histogram<u64>) -> Value {
    if hist.is_empty() {
        return Value::Null;
    }
    json!({
        "count": hist.len(),
        "avg": hist.mean() / 1000.0,
        "p50": ms(hist.value_at_quantile(0.5)),
        "p99": ms(hist.value_at_quantile(0.99)),
        "p999": ms(hist.value_at_quantile(0.999)),
        "max": ms(hist.max()),
    })
}

/// Prints a progress line every second until `until` resolves, then returns the whole-run histograms.
pub async fn progress(
    stats: Arc<Stats>,
    mode: Mode,
    json: bool,
    until: impl std::future::Future<Output = ()>,
) -> Totals {
    let mut totals = Totals {
        send: new_histogram(),
        recv: new_histogram(),
    };
    let started = tokio::time::Instant::now();
    let mut ticker =
        tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
    let (mut last_send, mut last_recv) = (Counts::default(), Counts::default());
    let mut last_at = started;
    tokio::pin!(until);
    loop {
        let finished = tokio::select! {
            _ = ticker.tick() => false,
            _ = &mut until => true,
        };
        let now = tokio::time::Instant::now();
        let (mut send_hist, mut recv_hist) = (new_histogram(), new_histogram());
        stats.send.drain_into(&mut send_hist);
        stats.recv.drain_into(&mut recv_hist);
        let _ = totals.send.add(&send_hist);
        let _ = totals.recv.add(&recv_hist);
        let secs = now.duration_since(last_at).as_secs_f64().max(1e-3);
        let (send, recv) = (stats.send.snapshot(), stats.recv.snapshot());
        let send_part = rate_text("send", &send, &last_send, secs);
        let recv_part = rate_text("recv", &recv, &last_recv, secs);
        let line = match mode {
            Mode::Produce | Mode::Echo | Mode::Disk | Mode::EchoServer => {
                format!("{send_part} | rt ms {}", latency_text(&send_hist))
            }
            Mode::Consume => format!("{recv_part} | pull rt ms {}", latency_text(&recv_hist)),
            Mode::E2e => format!(
                "{send_part} | {recv_part} | e2e ms {}",
                latency_text(&recv_hist)
            ),
        };
        let failures = send.failures + recv.failures;
        let elapsed = now.duration_since(started).as_secs_f64();
        if !finished || secs > 0.5 {
            let text = format!("[{elapsed:6.1}s] {line} | failures {failures}");
            if json {
                eprintln!("{text}");
            } else {
                println!("{text}");
            }
        }
        (last_send, last_recv, last_at) = (send, recv, now);
        if finished {
            return totals;
        }
    }
}

fn rate_text(what: &str, now: &Counts, before: &Counts, secs: f64) -> String {
    let msgs = (now.messages - before.messages) as f64 / secs;
    let mb = (now.bytes - before.bytes) as f64 / secs / (1024.0 * 1024.0);
    format!("{what} {msgs:9.0} msg/s {mb:7.2} MiB/s")
}

fn channel_json(channel: &Channel, hist: &Histogram<u64>, secs: f64) -> Value {
    let counts = channel.snapshot();
    let kinds: serde_json::Map<String, Value> = channel
        .failure_kinds
        .lock()
        .iter()
        .map(|(kind, n)| (kind.clone(), json!(n)))
        .collect();
    json!({
        "requests": counts.requests,
        "messages": counts.messages,
        "bytes": counts.bytes,
        "failures": counts.failures,
        "failure_kinds": kinds,
        "tps": counts.messages as f64 / secs,
        "mib_per_s": counts.bytes as f64 / secs / (1024.0 * 1024.0),
        "latency_ms": latency_json(hist),
    })
}

/// The final summary as one JSON object. `elapsed` is the measured run time.
pub fn summary_json(args: &BenchArgs, stats: &Stats, totals: &Totals, elapsed: Duration) -> Value {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let send = channel_json(&stats.send, &totals.send, secs);
    let recv = channel_json(&stats.recv, &totals.recv, secs);
    let failures = stats.send.snapshot().failures + stats.recv.snapshot().failures;
    json!({
        "mode": args.mode.name(),
        "topic": args.topic,
        "threads": args.threads,
        "size": args.size_bytes,
        "batch": args.batch,
        "inflight": args.inflight,
        "topics": args.topics,
        "rate": args.rate,
        "elapsed_s": secs,
        "sends": stats.send.snapshot().requests,
        "received": stats.recv.snapshot().messages,
        "failures": failures,
        "send": send,
        "recv": recv,
    })
}

/// The final summary for people.
pub fn summary_text(args: &BenchArgs, stats: &Stats, totals: &Totals, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let mut out = format!(
        "== {} {} threads={} size={} batch={} inflight={} rate={} elapsed={secs:.1}s\n",
        args.mode.name(),
        args.topic,
        args.threads,
        args.size_bytes,
        args.batch,
        args.inflight,
        args.rate.map_or("max".to_string(), |r| r.to_string()),
    );
    let channels: &[(&str, &Channel, &Histogram<u64>, &str)] = match args.mode {
        Mode::Produce | Mode::Echo | Mode::Disk | Mode::EchoServer => {
            &[("send", &stats.send, &totals.send, "rt")]
        }
        Mode::Consume => &[("recv", &stats.recv, &totals.recv, "pull rt")],
        Mode::E2e => &[
            ("send", &stats.send, &totals.send, "rt"),
            ("recv", &stats.recv, &totals.recv, "e2e"),
        ],
    };
    for (name, channel, hist, latency_name) in channels {
        let c = channel.snapshot();
        out.push_str(&format!(
            "{name}: {} msgs in {} requests, {:.0} msg/s, {:.2} MiB/s, {latency_name} ms {}, failures {}\n",
            c.messages,
            c.requests,
            c.messages as f64 / secs,
            c.bytes as f64 / secs / (1024.0 * 1024.0),
            latency_text(hist),
            c.failures,
        ));
        for (kind, n) in channel.failure_kinds.lock().iter() {
            out.push_str(&format!("  {n} x {kind}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_grouped_and_bounded() {
        let channel = Channel::default();
        channel.failure("timeout", 2);
        channel.failure("timeout", 1);
        for code in 0..MAX_FAILURE_KINDS + 5 {
            channel.failure(&format!("code {code}"), 1);
        }
        let kinds = channel.failure_kinds.lock();
        assert_eq!(kinds["timeout"], 3);
        assert_eq!(kinds.len(), MAX_FAILURE_KINDS + 1);
        assert_eq!(kinds["other"], 6);
        assert_eq!(
            channel.failures.load(Ordering::Relaxed),
            3 + MAX_FAILURE_KINDS as u64 + 5
        );
    }

    #[test]
    fn recorders_drain_once() {
        let channel = Channel::default();
        let recorder = channel.recorder();
        recorder.lock().saturating_record(1500);
        recorder.lock().saturating_record(MAX_LATENCY_US * 10);
        let mut interval = new_histogram();
        channel.drain_into(&mut interval);
        assert_eq!(interval.len(), 2);
        assert!(interval.max() >= MAX_LATENCY_US);
        let json = latency_json(&interval);
        assert!(json["p50"].as_f64().unwrap() >= 1.49);
        let mut again = new_histogram();
        channel.drain_into(&mut again);
        assert!(again.is_empty(), "a drained recorder starts over");
    }
}
