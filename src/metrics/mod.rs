//! Java 5.x's broker metrics (`BrokerMetricsManager`, `RemotingMetricsManager`,
//! `DefaultStoreMetricsManager`) in the Prometheus text format, served on `/metrics` when
//! `metricsExporterType=PROM`; see docs/metrics.md for the list.
//!
//! - [`histogram`]: lock-free fixed-bucket histograms that request paths record into (from `rmq_store`,
//!   whose flusher and put lock record into them too).
//! - [`exposition`]: the text format writer.
//! - [`http`]: the `/metrics` listener.
//!
//! What is counted and how a scrape reads the broker lives with the broker (`broker::metrics`).

pub mod exposition;
pub use rmq_store::histogram;
pub mod http;

/// Java's `MetricsExporterType` (`metricsExporterType`, by name or by number as `BrokerConfig` accepts).
/// Only `PROM` is served by rmqd; the others are accepted so Java configs start unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExporterType {
    #[default]
    Disable,
    OtlpGrpc,
    Prom,
    Log,
}

impl ExporterType {
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        Ok(match value.trim() {
            "DISABLE" | "0" => ExporterType::Disable,
            "OTLP_GRPC" | "1" => ExporterType::OtlpGrpc,
            "PROM" | "2" => ExporterType::Prom,
            "LOG" | "3" => ExporterType::Log,
            other => anyhow::bail!(
                "metricsExporterType {other:?}: expected DISABLE, OTLP_GRPC, PROM or LOG"
            ),
        })
    }

    /// The enum constant's name, as GET_BROKER_CONFIG writes it.
    pub fn java_name(self) -> &'static str {
        match self {
            ExporterType::Disable => "DISABLE",
            ExporterType::OtlpGrpc => "OTLP_GRPC",
            ExporterType::Prom => "PROM",
            ExporterType::Log => "LOG",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_type_takes_java_names_and_ordinals() {
        assert_eq!(ExporterType::parse("PROM").unwrap(), ExporterType::Prom);
        assert_eq!(ExporterType::parse("2").unwrap(), ExporterType::Prom);
        assert_eq!(ExporterType::parse("LOG").unwrap(), ExporterType::Log);
        assert_eq!(ExporterType::parse("1").unwrap(), ExporterType::OtlpGrpc);
        assert_eq!(
            ExporterType::parse("DISABLE").unwrap(),
            ExporterType::Disable
        );
        assert!(ExporterType::parse("prom").is_err());
    }
}
