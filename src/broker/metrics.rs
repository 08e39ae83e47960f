//! What the broker counts for `/metrics` (Java 5.x's `BrokerMetricsManager` and `RemotingMetricsManager`)
//! and the scrape that renders it with what the broker already keeps (`metrics_view.rs`).
//!
//! Recording is a read lock on a map, a hash lookup by `&str` (no allocation once a series exists) and a
//! few relaxed atomic adds; nothing is recorded unless `metricsExporterType=PROM`. Each map holds at most
//! [`MAX_SERIES`] series; past that new label sets are not recorded (Java has no bound).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::message::properties;
use rmq_store::histogram::{Histogram, HistogramSnapshot};

use crate::remoting::{Answer, Responder};

const MAX_SERIES: usize = 100_000;

/// `RemotingMetricsManager.getMetricsView`: rpc latency bounds (ms).
pub(super) const RPC_LATENCY_BOUNDS_MS: &[u64] = &[1, 3, 5, 7, 10, 100, 1_000, 2_000, 3_000];
/// `BrokerMetricsManager.getMetricsView`: message size bounds (bytes): 1 KiB, 4 KiB, 512 KiB, 1, 2, 4 MiB.
pub(super) const MESSAGE_SIZE_BOUNDS: &[u64] =
    &[1024, 4096, 524_288, 1_048_576, 2_097_152, 4_194_304];

/// `BrokerMetricsManager.getMetricsView`: topic and subscription-group creation time bounds (ms).
pub(super) const CREATE_TIME_BOUNDS_MS: &[u64] = &[10, 100, 1_000, 3_000, 5_000];

/// `TopicMessageType` as `BrokerMetricsManager.getMessageType` reads it from the send header's properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MessageType {
    Normal,
    Fifo,
    Delay,
    Transaction,
}

impl MessageType {
    pub(super) const ALL: [MessageType; 4] = [
        MessageType::Normal,
        MessageType::Fifo,
        MessageType::Delay,
        MessageType::Transaction,
    ];

    /// `getMetricsValue`: the lower-case name.
    pub(super) fn label(self) -> &'static str {
        match self {
            MessageType::Normal => "normal",
            MessageType::Fifo => "fifo",
            MessageType::Delay => "delay",
            MessageType::Transaction => "transaction",
        }
    }

    /// Transaction (TRAN_MSG=true) first, then FIFO (a sharding key), then delay (a delay level, a timer
    /// property or `__STARTDELIVERTIME`).
    pub(super) fn of_send(header_properties: &str) -> Self {
        let has = |key| properties::get(header_properties, key).is_some();
        let prepared = properties::get(header_properties, properties::TRANSACTION_PREPARED);
        if prepared.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            MessageType::Transaction
        } else if has(properties::SHARDING_KEY) {
            MessageType::Fifo
        } else if has("__STARTDELIVERTIME")
            || has(properties::DELAY)
            || has(properties::TIMER_DELIVER_MS)
            || has(properties::TIMER_DELAY_SEC)
            || has(properties::TIMER_DELAY_MS)
        {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }
}

/// One topic's stored sends by message type: `rocketmq_messages_in_total`, `rocketmq_throughput_in_total`
/// and `rocketmq_message_size`.
pub(super) struct Inflow {
    pub messages: [AtomicU64; 4],
    pub bytes: [AtomicU64; 4],
    pub size: [Histogram; 4],
}

impl Inflow {
    fn new() -> Self {
        Inflow {
            messages: Default::default(),
            bytes: Default::default(),
            size: std::array::from_fn(|_| Histogram::new(MESSAGE_SIZE_BOUNDS)),
        }
    }
}

/// One topic@group's pulled or popped messages: `rocketmq_messages_out_total`, `rocketmq_throughput_out_total`.
#[derive(Default)]
pub(super) struct Outflow {
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
}

/// The label values of one `rocketmq_rpc_latency` series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct RpcKey {
    pub request_code: i32,
    pub response_code: i32,
    pub oneway: bool,
    /// Java's `is_long_polling` (`request.isSuspended()`): the answer came from a parked pull or pop.
    pub long_polling: bool,
}

pub(super) struct BrokerMetrics {
    enabled: bool,
    inflow: RwLock<HashMap<String, Arc<Inflow>>>,
    /// topic → group → counters.
    outflow: RwLock<HashMap<String, HashMap<String, Arc<Outflow>>>>,
    rpc: RwLock<HashMap<RpcKey, Arc<Histogram>>>,
    /// UPDATE_AND_CREATE_TOPIC time by [success, failure] × [not system, system] topic.
    pub topic_create: [[Histogram; 2]; 2],
    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (and its list form) time by [success, failure].
    pub group_create: [Histogram; 2],
}

/// `BrokerMetricsManager.isRetryOrDlqTopic`: their traffic is not counted in or out.
fn is_retry_or_dlq(topic: &str) -> bool {
    topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%")
}

impl BrokerMetrics {
    pub(super) fn new(enabled: bool) -> Self {
        BrokerMetrics {
            enabled,
            inflow: RwLock::default(),
            outflow: RwLock::default(),
            rpc: RwLock::default(),
            topic_create: std::array::from_fn(|_| {
                std::array::from_fn(|_| Histogram::new(CREATE_TIME_BOUNDS_MS))
            }),
            group_create: std::array::from_fn(|_| Histogram::new(CREATE_TIME_BOUNDS_MS)),
        }
    }

    /// `AdminBrokerProcessor.updateAndCreateTopic` / `updateAndCreateSubscriptionGroup(List)`: their time,
    /// as `invocation_status` success when the answer is SUCCESS (Java records validation refusals too).
    pub(super) fn record_create(
        &self,
        req: &RemotingCommand,
        answer: &Answer,
        took: Duration,
        is_system_topic: impl Fn(&str) -> bool,
    ) {
        let Answer::Now(out) = answer else {
            return;
        };
        if !self.enabled {
            return;
        }
        let failed = usize::from(out.command().code != i32::from(ResponseCode::Success));
        let ms = took.as_millis() as u64;
        match RequestCode::from(req.code) {
            RequestCode::UpdateAndCreateTopic => {
                let topic = req.ext_fields.get("topic").map_or("", String::as_str);
                let system = usize::from(is_system_topic(topic));
                self.topic_create[failed][system].record(ms);
            }
            RequestCode::UpdateAndCreateSubscriptiongroup
            | RequestCode::UpdateAndCreateSubscriptiongroupList => {
                self.group_create[failed].record(ms)
            }
            _ => {}
        }
    }

    /// The message type a send is counted under; with the exporter off the header's properties are not
    /// scanned at all (every send pays for this call).
    pub(super) fn message_type_of_send(&self, header_properties: &str) -> MessageType {
        if self.enabled {
            MessageType::of_send(header_properties)
        } else {
            MessageType::Normal
        }
    }

    /// A stored send (`SendMessageProcessor.handlePutMessageResult`): messages and bytes written, and
    /// the average size per message into the size histogram.
    pub(super) fn record_in(&self, topic: &str, kind: MessageType, messages: usize, bytes: usize) {
        if !self.enabled || messages == 0 || is_retry_or_dlq(topic) {
            return;
        }
        let Some(inflow) = series(&self.inflow, topic, Inflow::new) else {
            return;
        };
        let i = kind as usize;
        inflow.messages[i].fetch_add(messages as u64, Ordering::Relaxed);
        inflow.bytes[i].fetch_add(bytes as u64, Ordering::Relaxed);
        inflow.size[i].record((bytes / messages) as u64);
    }

    /// Messages a pull or pop returned (`DefaultPullMessageResultHandler`, `PopMessageProcessor`).
    pub(super) fn record_out(&self, topic: &str, group: &str, messages: usize, bytes: usize) {
        if !self.enabled || messages == 0 || is_retry_or_dlq(topic) {
            return;
        }
        let found = self
            .outflow
            .read()
            .get(topic)
            .and_then(|groups| groups.get(group).cloned());
        let outflow = match found {
            Some(outflow) => outflow,
            None => {
                let mut all = self.outflow.write();
                let count: usize = all.values().map(HashMap::len).sum();
                let groups = all.entry(topic.to_string()).or_default();
                match groups.get(group) {
                    Some(outflow) => outflow.clone(),
                    None if count >= MAX_SERIES => return,
                    None => groups.entry(group.to_string()).or_default().clone(),
                }
            }
        };
        outflow
            .messages
            .fetch_add(messages as u64, Ordering::Relaxed);
        outflow.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// `NettyRemotingAbstract.writeResponse`: the time from the request's dispatch to its answer, for a
    /// request answered at once (a oneway one counts with result `oneway`). Requests answered later are
    /// recorded by [`BrokerMetrics::record_late_rpc`]; those never answered are not recorded, as in Java.
    pub(super) fn record_rpc(
        &self,
        request_code: i32,
        oneway: bool,
        answer: &Answer,
        took: Duration,
    ) {
        if let Answer::Now(out) = answer {
            let key = RpcKey {
                request_code,
                response_code: out.command().code,
                oneway,
                long_polling: false,
            };
            self.record_rpc_key(key, took);
        }
    }

    /// A late answer: a parked pull or pop (`long_polling`), a SYNC_FLUSH send answered by the flusher.
    pub(super) fn record_late_rpc(
        &self,
        responder: &Responder,
        response_code: i32,
        long_polling: bool,
    ) {
        let key = RpcKey {
            request_code: responder.request_code(),
            response_code,
            oneway: responder.is_oneway(),
            long_polling,
        };
        self.record_rpc_key(key, responder.elapsed());
    }

    fn record_rpc_key(&self, key: RpcKey, took: Duration) {
        if !self.enabled {
            return;
        }
        let found = self.rpc.read().get(&key).cloned();
        let histogram = match found {
            Some(h) => h,
            None => {
                let mut all = self.rpc.write();
                if all.len() >= MAX_SERIES && !all.contains_key(&key) {
                    return;
                }
                all.entry(key)
                    .or_insert_with(|| Arc::new(Histogram::new(RPC_LATENCY_BOUNDS_MS)))
                    .clone()
            }
        };
        histogram.record(took.as_millis() as u64);
    }

    pub(super) fn inflow(&self) -> Vec<(String, Arc<Inflow>)> {
        let all = self.inflow.read();
        all.iter().map(|(t, v)| (t.clone(), v.clone())).collect()
    }

    pub(super) fn outflow(&self) -> Vec<(String, String, Arc<Outflow>)> {
        let all = self.outflow.read();
        all.iter()
            .flat_map(|(t, groups)| {
                groups
                    .iter()
                    .map(move |(g, v)| (t.clone(), g.clone(), v.clone()))
            })
            .collect()
    }

    pub(super) fn rpc(&self) -> Vec<(RpcKey, HistogramSnapshot)> {
        let all = self.rpc.read();
        all.iter().map(|(k, h)| (*k, h.snapshot())).collect()
    }
}

/// The series of `key`, made on first use while the map has room.
fn series<V>(
    map: &RwLock<HashMap<String, Arc<V>>>,
    key: &str,
    make: impl FnOnce() -> V,
) -> Option<Arc<V>> {
    if let Some(found) = map.read().get(key) {
        return Some(found.clone());
    }
    let mut all = map.write();
    if let Some(found) = all.get(key) {
        return Some(found.clone());
    }
    if all.len() >= MAX_SERIES {
        return None;
    }
    Some(
        all.entry(key.to_string())
            .or_insert_with(|| Arc::new(make()))
            .clone(),
    )
}

/// Java's `RemotingHelper.getRequestCodeDesc` / `getResponseCodeDesc`: the constant's name in lower case
/// (`SEND_MESSAGE_V2` → `send_message_v2`), or the number for a code without one. rmqd's variants are
/// the constants' names in camel case.
pub(super) fn code_label(debug_name: &str) -> String {
    if let Some(number) = debug_name
        .strip_prefix("Unknown(")
        .and_then(|n| n.strip_suffix(')'))
    {
        return number.to_string();
    }
    let mut out = String::with_capacity(debug_name.len() + 8);
    for (i, c) in debug_name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label_of_request(code: i32) -> String {
        code_label(&format!("{:?}", RequestCode::from(code)))
    }

    #[test]
    fn code_labels_are_javas_constant_names_in_lower_case() {
        assert_eq!(label_of_request(310), "send_message_v2");
        assert_eq!(label_of_request(11), "pull_message");
        assert_eq!(label_of_request(34), "heart_beat");
        assert_eq!(label_of_request(17), "update_and_create_topic");
        assert_eq!(label_of_request(9999), "9999");
        let response = |c: i32| code_label(&format!("{:?}", ResponseCode::from(c)));
        assert_eq!(response(0), "success");
        assert_eq!(response(1), "system_error");
        assert_eq!(response(19), "pull_not_found");
    }

    #[test]
    fn message_type_is_read_as_java_reads_the_send_header() {
        let props = |pairs: &[(&str, &str)]| {
            let owned: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            properties::encode(&owned)
        };
        assert_eq!(MessageType::of_send(""), MessageType::Normal);
        assert_eq!(
            MessageType::of_send(&props(&[("DELAY", "3")])),
            MessageType::Delay
        );
        assert_eq!(
            MessageType::of_send(&props(&[("TRAN_MSG", "true"), ("DELAY", "3")])),
            MessageType::Transaction
        );
        assert_eq!(
            MessageType::of_send(&props(&[("__SHARDINGKEY", "k"), ("DELAY", "3")])),
            MessageType::Fifo
        );
        assert_eq!(
            MessageType::of_send(&props(&[("TRAN_MSG", "false")])),
            MessageType::Normal
        );
    }

    #[test]
    fn traffic_is_recorded_only_when_enabled_and_not_for_retry_or_dlq_topics() {
        let off = BrokerMetrics::new(false);
        off.record_in("T", MessageType::Normal, 1, 100);
        assert!(off.inflow().is_empty());
        let on = BrokerMetrics::new(true);
        on.record_in("%RETRY%G", MessageType::Normal, 1, 100);
        on.record_out("%DLQ%G", "G", 1, 100);
        assert!(on.inflow().is_empty() && on.outflow().is_empty());
        on.record_in("T", MessageType::Normal, 2, 1000);
        on.record_in("T", MessageType::Delay, 1, 5000);
        on.record_out("T", "G", 3, 6000);
        let inflow = on.inflow();
        let t = &inflow[0].1;
        assert_eq!(t.messages[0].load(Ordering::Relaxed), 2);
        assert_eq!(t.bytes[0].load(Ordering::Relaxed), 1000);
        assert_eq!(t.size[0].snapshot().counts, vec![1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(t.size[MessageType::Delay as usize].snapshot().counts[2], 1);
        let out = on.outflow();
        assert_eq!((out[0].0.as_str(), out[0].1.as_str()), ("T", "G"));
        assert_eq!(out[0].2.messages.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn rpc_latency_counts_answers_given_at_once_per_code_pair() {
        let m = BrokerMetrics::new(true);
        let answer = Answer::from(RemotingCommand::new_response(ResponseCode::Success, None));
        m.record_rpc(310, false, &answer, Duration::from_millis(2));
        m.record_rpc(310, false, &answer, Duration::from_millis(50));
        m.record_rpc(310, false, &Answer::Later, Duration::from_millis(50));
        let rpc = m.rpc();
        assert_eq!(rpc.len(), 1);
        assert_eq!(rpc[0].1.count(), 2);
        assert_eq!(rpc[0].1.sum, 52);
    }
}
