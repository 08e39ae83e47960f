//! One `/metrics` scrape: the counters of `metrics.rs` and the gauges Java's `BrokerMetricsManager`,
//! `DefaultStoreMetricsManager` and `ConsumerLagCalculator` compute at collection time, read from what
//! the broker keeps anyway; then rmqd's own (`rmqd_*`). Runs on a blocking thread (`metrics::http`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use rmq_codec::code::{mq_version, RequestCode, ResponseCode};

use super::metrics::{code_label, MessageType};
use super::Broker;
use crate::metrics::exposition::{Exposition, Kind};

/// `DefaultStoreMetricsConstant`: the storage labels every store gauge carries.
const STORAGE: [(&str, &str); 2] = [("storage_medium", "disk"), ("storage_type", "local")];

fn bool_label(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// `MixAll.isSysConsumerGroup` as `BrokerMetricsManager.isSystemGroup` reads it (any case).
pub(super) fn is_system_group(group: &str) -> bool {
    group.to_ascii_lowercase().starts_with("cid_rmq_sys_")
}

impl Broker {
    /// The whole exposition document.
    pub fn render_metrics(&self) -> String {
        let mut doc = Exposition::new(self.common_labels());
        self.render_traffic(&mut doc);
        self.render_rpc(&mut doc);
        self.render_create_times(&mut doc);
        self.render_watermark(&mut doc);
        self.render_tables(&mut doc);
        self.render_connections(&mut doc);
        self.render_storage(&mut doc);
        self.render_lag(&mut doc);
        self.render_rmqd(&mut doc);
        doc.finish()
    }

    /// `BrokerMetricsManager.init`: node_type, cluster, node_id (the broker name), plus `metricsLabel`'s
    /// `k:v` pairs.
    fn common_labels(&self) -> Vec<(String, String)> {
        // Java fills one map: the `metricsLabel` pairs (a later key replaces an earlier one), then the
        // three it always sets, which replace any of the same name.
        let mut labels: BTreeMap<String, String> = BTreeMap::new();
        // Java skips a pair that does not split into exactly two parts.
        for pair in self.config.metrics_label.split(',') {
            let parts: Vec<&str> = pair.split(':').collect();
            if let [key, value] = parts[..] {
                if let Some(key) = label_name(key) {
                    labels.insert(key, value.to_string());
                }
            }
        }
        labels.insert("node_type".into(), "broker".into());
        labels.insert("cluster".into(), self.config.broker_cluster_name.clone());
        labels.insert("node_id".into(), self.config.broker_name.clone());
        labels.into_iter().collect()
    }

    fn render_traffic(&self, doc: &mut Exposition) {
        let inflow = self.metrics.inflow();
        let series = |kind: MessageType| {
            inflow
                .iter()
                .filter(move |(_, f)| f.messages[kind as usize].load(Ordering::Relaxed) > 0)
        };
        let counters = [
            (
                "rocketmq_messages_in_total",
                "Total number of incoming messages",
            ),
            (
                "rocketmq_throughput_in_total",
                "Total traffic of incoming messages",
            ),
        ];
        for (i, (name, help)) in counters.into_iter().enumerate() {
            doc.family(name, Kind::Counter, help);
            for kind in MessageType::ALL {
                for (topic, flow) in series(kind) {
                    let value = match i {
                        0 => &flow.messages[kind as usize],
                        _ => &flow.bytes[kind as usize],
                    };
                    let labels = self.inflow_labels(topic, kind);
                    doc.sample(name, &labels, value.load(Ordering::Relaxed) as f64);
                }
            }
        }
        doc.family(
            "rocketmq_message_size",
            Kind::Histogram,
            "Incoming messages size",
        );
        for kind in MessageType::ALL {
            for (topic, flow) in series(kind) {
                let labels = self.inflow_labels(topic, kind);
                let size = flow.size[kind as usize].snapshot();
                doc.histogram("rocketmq_message_size", &labels, &size, 1.0);
            }
        }
        let outflow = self.metrics.outflow();
        let counters = [
            (
                "rocketmq_messages_out_total",
                "Total number of outgoing messages",
            ),
            (
                "rocketmq_throughput_out_total",
                "Total traffic of outgoing messages",
            ),
        ];
        for (i, (name, help)) in counters.into_iter().enumerate() {
            doc.family(name, Kind::Counter, help);
            for (topic, group, flow) in &outflow {
                let value = if i == 0 { &flow.messages } else { &flow.bytes };
                let system = self.is_system_topic(topic) || is_system_group(group);
                let labels = [
                    ("consumer_group", group.as_str()),
                    ("is_system", bool_label(system)),
                    ("topic", topic.as_str()),
                ];
                doc.sample(name, &labels, value.load(Ordering::Relaxed) as f64);
            }
        }
    }

    fn inflow_labels<'a>(&self, topic: &'a str, kind: MessageType) -> [(&'static str, &'a str); 3] {
        [
            ("is_system", bool_label(self.is_system_topic(topic))),
            ("message_type", kind.label()),
            ("topic", topic),
        ]
    }

    fn render_rpc(&self, doc: &mut Exposition) {
        let name = "rocketmq_rpc_latency_milliseconds";
        doc.family(name, Kind::Histogram, "Rpc latency");
        for (key, histogram) in self.metrics.rpc() {
            let request = code_label(&format!("{:?}", RequestCode::from(key.request_code)));
            let response = code_label(&format!("{:?}", ResponseCode::from(key.response_code)));
            let labels = [
                (
                    "is_long_polling",
                    if key.long_polling { "true" } else { "false" },
                ),
                ("protocol_type", "remoting"),
                ("request_code", request.as_str()),
                ("response_code", response.as_str()),
                ("result", if key.oneway { "oneway" } else { "success" }),
            ];
            doc.histogram(name, &labels, &histogram, 1.0);
        }
    }

    /// `rocketmq_topic_create_execution_time` and `rocketmq_consumer_group_create_execution_time`: only
    /// the label sets something was recorded under, as OpenTelemetry writes them.
    fn render_create_times(&self, doc: &mut Exposition) {
        let status = ["success", "failure"];
        let name = "rocketmq_topic_create_execution_time_milliseconds";
        doc.family(
            name,
            Kind::Histogram,
            "The distribution of create topic time",
        );
        for (failed, by_system) in self.metrics.topic_create.iter().enumerate() {
            for (system, histogram) in by_system.iter().enumerate() {
                let snapshot = histogram.snapshot();
                if snapshot.count() > 0 {
                    let labels = [
                        ("invocation_status", status[failed]),
                        ("is_system", bool_label(system == 1)),
                    ];
                    doc.histogram(name, &labels, &snapshot, 1.0);
                }
            }
        }
        let name = "rocketmq_consumer_group_create_execution_time_milliseconds";
        doc.family(
            name,
            Kind::Histogram,
            "The distribution of create subscription time",
        );
        for (failed, histogram) in self.metrics.group_create.iter().enumerate() {
            let snapshot = histogram.snapshot();
            if snapshot.count() > 0 {
                doc.histogram(
                    name,
                    &[("invocation_status", status[failed])],
                    &snapshot,
                    1.0,
                );
            }
        }
    }

    /// `rocketmq_processor_watermark`: Java's is the queue length of each processor thread pool. rmqd runs
    /// requests on their connection's task and has no such queues; the one wait it has is sends waiting
    /// for the commit-log append lock (where Java's sends wait in the `send` pool's queue), reported as
    /// `processor="send"`. The other processors have no sample.
    fn render_watermark(&self, doc: &mut Exposition) {
        let name = "rocketmq_processor_watermark";
        doc.family(name, Kind::Gauge, "Request processing watermark");
        let waiting = self.store.put_lock_waiters() as f64;
        doc.sample(name, &[("processor", "send")], waiting);
    }

    /// `initStatsMetrics`: permission, topic and subscription-group counts.
    fn render_tables(&self, doc: &mut Exposition) {
        let gauges = [
            (
                "rocketmq_broker_permission",
                "Broker permission",
                self.runtime().broker_permission as f64,
            ),
            (
                "rocketmq_topic_number",
                "Active topic number",
                self.topics.names().len() as f64,
            ),
            (
                "rocketmq_consumer_group_number",
                "Active subscription group number",
                self.groups.names().len() as f64,
            ),
        ];
        for (name, help, value) in gauges {
            doc.family(name, Kind::Gauge, help);
            doc.sample(name, &[], value);
        }
    }

    /// `initConnectionMetrics`: channels by language and version (and for consumers group and mode).
    fn render_connections(&self, doc: &mut Exposition) {
        let mut producers: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut consumers: BTreeMap<(String, String, String, &'static str), u64> = BTreeMap::new();
        {
            let clients = self.clients.lock();
            for channel in clients.producers.values().flat_map(|m| m.values()) {
                let key = (language_label(channel), version_label(channel.version));
                *producers.entry(key).or_default() += 1;
            }
            for (group, info) in &clients.consumers {
                let mode = consume_mode_label(&info.consume_type);
                for channel in info.channels.values() {
                    let key = (
                        group.clone(),
                        language_label(channel),
                        version_label(channel.version),
                        mode,
                    );
                    *consumers.entry(key).or_default() += 1;
                }
            }
        }
        let name = "rocketmq_producer_connections";
        doc.family(name, Kind::Gauge, "Producer connections");
        for ((language, version), count) in &producers {
            let labels = [
                ("language", language.as_str()),
                ("protocol_type", "remoting"),
                ("version", version.as_str()),
            ];
            doc.sample(name, &labels, *count as f64);
        }
        let name = "rocketmq_consumer_connections";
        doc.family(name, Kind::Gauge, "Consumer connections");
        for ((group, language, version, mode), count) in &consumers {
            let labels = [
                ("consume_mode", *mode),
                ("consumer_group", group.as_str()),
                ("is_system", bool_label(is_system_group(group))),
                ("language", language.as_str()),
                ("protocol_type", "remoting"),
                ("version", version.as_str()),
            ];
            doc.sample(name, &labels, *count as f64);
        }
    }

    /// `DefaultStoreMetricsManager`: used space of the store's file system, bytes written but not flushed,
    /// bytes not yet dispatched to the consume queues (always 0: rmqd writes the unit with the record), and
    /// the age of the oldest message (no sample while the log is empty, as in Java).
    fn render_storage(&self, doc: &mut Exposition) {
        let root = &self.config.store.root_dir;
        let used = rmq_store::mapped_file::disk_space(root)
            .ok()
            .filter(|&(total, _)| total > 0)
            .map(|(total, free)| total.saturating_sub(free));
        let store = &self.store;
        let behind = store.max_commit_log_offset() - store.flushed_commit_log_offset();
        let now = crate::remoting::connection::now_ms() as i64;
        let reserve_ms = store
            .earliest_message_time()
            .map(|t| (now - t).max(0) as f64);
        let gauges = [
            (
                "rocketmq_storage_size_bytes",
                "Broker storage size",
                used.map(|u| u as f64),
            ),
            (
                "rocketmq_storage_flush_behind_bytes",
                "Broker flush behind bytes",
                Some(behind.max(0) as f64),
            ),
            (
                "rocketmq_storage_dispatch_behind_bytes",
                "Broker dispatch behind bytes",
                Some(0.0),
            ),
            (
                "rocketmq_storage_message_reserve_time_milliseconds",
                "Broker message reserve time",
                reserve_ms,
            ),
        ];
        for (name, help, value) in gauges {
            doc.family(name, Kind::Gauge, help);
            if let Some(value) = value {
                doc.sample(name, &STORAGE, value);
            }
        }
    }

    /// rmqd's own: commit-log flush time, append-lock waits, parked pulls and pops.
    fn render_rmqd(&self, doc: &mut Exposition) {
        doc.scoped = false;
        let name = "rmqd_flush_latency_seconds";
        doc.family(
            name,
            Kind::Histogram,
            "Commit-log flushes (msync) that wrote something",
        );
        doc.histogram(name, &[], &self.store.flush_latency_us(), 1e6);
        let name = "rmqd_put_lock_wait_seconds";
        doc.family(
            name,
            Kind::Histogram,
            "Time puts that found the commit-log append lock held waited for it",
        );
        let waits = self.store.stats().put_lock_wait_us.snapshot();
        doc.histogram(name, &[], &waits, 1e6);
        let name = "rmqd_parked_requests";
        doc.family(
            name,
            Kind::Gauge,
            "Pulls and pops waiting for messages (long polling)",
        );
        doc.sample(name, &[], self.polling.parked() as f64);
        let name = "rmqd_parked_requests_limit";
        doc.family(name, Kind::Gauge, "maxParkedRequests");
        doc.sample(name, &[], self.config.max_parked_requests as f64);
        doc.scoped = true;
    }
}

/// A `metricsLabel` key as a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`): other characters become
/// `_`, as the Prometheus exporter sanitizes attribute keys; None for an empty key.
fn label_name(key: &str) -> Option<String> {
    let mut name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() {
        return None;
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    Some(name)
}

/// `LanguageCode.name().toLowerCase()`.
fn language_label(channel: &super::clients::ClientChannel) -> String {
    channel.language.name().to_ascii_lowercase()
}

/// `MQVersion.getVersionDesc(version).toLowerCase()`.
fn version_label(version: i32) -> String {
    mq_version::desc(version)
        .unwrap_or_else(|| version.to_string())
        .to_ascii_lowercase()
}

/// `ConsumeType.getTypeCN().toLowerCase()`.
fn consume_mode_label(consume_type: &str) -> &'static str {
    match consume_type {
        "CONSUME_ACTIVELY" => "pull",
        "CONSUME_POP" => "pop",
        _ => "push",
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
