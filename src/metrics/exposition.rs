//! The Prometheus text exposition format, version 0.0.4 (`text/plain; version=0.0.4`), as the
//! OpenTelemetry Prometheus exporter of Java 5.x writes it: every sample carries
//! `otel_scope_name="broker-meter"` first, then the common labels (cluster, node_id, node_type) and its
//! own, sorted by name as OpenTelemetry sorts attributes. Differences from Java's exporter, all allowed by
//! the format: `# TYPE` / `# HELP` name the family as its samples do (Java's leave out the unit suffix, so
//! Prometheus sees them as separate), and samples carry no timestamp (Prometheus uses the scrape time).

use std::fmt::Write;

use rmq_store::histogram::HistogramSnapshot;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Java's `BrokerMetricsConstant.OPEN_TELEMETRY_METER_NAME`, the scope every broker metric is made in.
const SCOPE: &str = "broker-meter";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A document being written: families one after another, each started by [`Exposition::family`].
pub struct Exposition {
    out: String,
    /// Labels every sample carries, after `otel_scope_name`.
    common: Vec<(String, String)>,
    /// Whether samples carry `otel_scope_name`: Java's broker metrics do, rmqd's own (`rmqd_*`) do not.
    pub scoped: bool,
}

impl Exposition {
    pub fn new(common: Vec<(String, String)>) -> Self {
        Exposition {
            out: String::with_capacity(16 * 1024),
            common,
            scoped: true,
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    /// Starts a family: `# HELP` and `# TYPE` lines. `name` is the family's full name (with `_total` for a
    /// counter, with the unit suffix where Java's exporter adds one).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One counter or gauge sample.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        self.write_labels(labels, None);
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// A histogram's samples: `<name>_bucket` per bound, cumulative, then `le="+Inf"`, `_sum` and `_count`.
    /// Bounds and the sum are divided by `divisor` (e.g. 1e6 for microseconds written as seconds).
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        h: &HistogramSnapshot,
        divisor: f64,
    ) {
        let mut cumulative = 0u64;
        let mut le = String::new();
        for (i, count) in h.counts.iter().enumerate() {
            cumulative += count;
            le.clear();
            match h.bounds.get(i) {
                Some(&bound) => write_value(&mut le, bound as f64 / divisor),
                None => le.push_str("+Inf"),
            }
            let _ = write!(self.out, "{name}_bucket");
            self.write_labels(labels, Some(&le));
            let _ = writeln!(self.out, " {cumulative}");
        }
        let _ = write!(self.out, "{name}_sum");
        self.write_labels(labels, None);
        self.out.push(' ');
        write_value(&mut self.out, h.sum as f64 / divisor);
        self.out.push('\n');
        let _ = write!(self.out, "{name}_count");
        self.write_labels(labels, None);
        let _ = writeln!(self.out, " {cumulative}");
    }

    fn write_labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        // A sample's own label wins over a common one of the same key, as a later `put` on Java's
        // `AttributesBuilder` does: a key twice would make Prometheus refuse the whole scrape.
        let mut all: Vec<(&str, &str)> = self
            .common
            .iter()
            .filter(|(k, _)| !labels.iter().any(|(own, _)| own == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(labels.iter().copied())
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        let scope = self.scoped.then_some(("otel_scope_name", SCOPE));
        let le = le.map(|v| ("le", v));
        let mut first = true;
        self.out.push('{');
        for (key, value) in scope.into_iter().chain(all).chain(le) {
            if !first {
                self.out.push(',');
            }
            first = false;
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_label_value(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('}');
    }
}

/// Label values escape backslash, double quote and line feed (`\\`, `\"`, `\n`).
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text escapes backslash and line feed only.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Go's `ParseFloat` syntax: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_store::histogram::Histogram;

    fn doc() -> Exposition {
        Exposition::new(vec![
            ("node_type".into(), "broker".into()),
            ("cluster".into(), "DefaultCluster".into()),
        ])
    }

    #[test]
    fn labels_are_scope_first_then_sorted_by_name() {
        let mut e = doc();
        e.family("rocketmq_messages_in_total", Kind::Counter, "Messages in");
        e.sample("rocketmq_messages_in_total", &[("topic", "T")], 104.0);
        assert_eq!(
            e.finish(),
            "# HELP rocketmq_messages_in_total Messages in\n\
             # TYPE rocketmq_messages_in_total counter\n\
             rocketmq_messages_in_total{otel_scope_name=\"broker-meter\",cluster=\"DefaultCluster\",\
             node_type=\"broker\",topic=\"T\"} 104\n"
        );
    }

    #[test]
    fn a_samples_own_label_wins_over_a_common_one() {
        let mut e = Exposition::new(vec![("topic".into(), "common".into())]);
        e.scoped = false;
        e.sample("m", &[("topic", "T")], 1.0);
        assert_eq!(e.finish(), "m{topic=\"T\"} 1\n");
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut e = Exposition::new(Vec::new());
        e.scoped = false;
        e.sample("m", &[("topic", "a\\b\"c\nd")], 1.0);
        assert_eq!(e.finish(), "m{topic=\"a\\\\b\\\"c\\nd\"} 1\n");
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        let mut e = Exposition::new(Vec::new());
        e.family("m", Kind::Gauge, "a \"q\" \\ b\nc");
        assert_eq!(e.finish(), "# HELP m a \"q\" \\\\ b\\nc\n# TYPE m gauge\n");
    }

    #[test]
    fn values_use_prometheus_float_syntax() {
        let mut s = String::new();
        for v in [0.0, 6.0, 0.25, f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            write_value(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "0 6 0.25 +Inf -Inf NaN ");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf_sum_count() {
        let h = Histogram::new(&[1, 10]);
        for v in [0, 5, 7, 50] {
            h.record(v);
        }
        let mut e = Exposition::new(vec![("cluster".into(), "C".into())]);
        e.scoped = false;
        e.histogram("lat", &[("code", "x")], &h.snapshot(), 1.0);
        assert_eq!(
            e.finish(),
            "lat_bucket{cluster=\"C\",code=\"x\",le=\"1\"} 1\n\
             lat_bucket{cluster=\"C\",code=\"x\",le=\"10\"} 3\n\
             lat_bucket{cluster=\"C\",code=\"x\",le=\"+Inf\"} 4\n\
             lat_sum{cluster=\"C\",code=\"x\"} 62\n\
             lat_count{cluster=\"C\",code=\"x\"} 4\n"
        );
    }

    #[test]
    fn histogram_divisor_turns_microseconds_into_seconds() {
        let h = Histogram::new(&[500, 2_000]);
        h.record(1_500);
        let mut e = Exposition::new(Vec::new());
        e.scoped = false;
        e.histogram("f_seconds", &[], &h.snapshot(), 1e6);
        assert_eq!(
            e.finish(),
            "f_seconds_bucket{le=\"0.0005\"} 0\n\
             f_seconds_bucket{le=\"0.002\"} 1\n\
             f_seconds_bucket{le=\"+Inf\"} 1\n\
             f_seconds_sum{} 0.0015\n\
             f_seconds_count{} 1\n"
        );
    }
}
