//! `/metrics` of a broker against the families and label keys of the Java 5.3.3 exporter
//! (`testdata/java-5.3.3-metric-families.txt`, derived from a real Java broker's output).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;

use crate::broker::metrics::MessageType;
use crate::broker::Broker;
use crate::remoting::Answer;

const GOLDEN: &str = include_str!("testdata/java-5.3.3-metric-families.txt");

/// Java's families rmqd does not serve (docs/metrics.md says why).
const NOT_SERVED: [&str; 10] = [
    "rocketmq_pop_buffer_scan_time_consume_milliseconds",
    "rocketmq_pop_checkpoint_buffer_size",
    "rocketmq_pop_offset_buffer_size",
    "rocketmq_pop_revive_lag_milliseconds",
    "rocketmq_pop_revive_latency_milliseconds",
    "rocketmq_timer_dequeue_lag",
    "rocketmq_timer_dequeue_latency_milliseconds",
    "rocketmq_timer_enqueue_lag",
    "rocketmq_timer_enqueue_latency_milliseconds",
    "rocketmq_timer_message_snapshot",
];

/// family → (kind, label keys) from the golden file.
fn golden() -> BTreeMap<String, (String, BTreeSet<String>)> {
    GOLDEN
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut parts = l.split(' ');
            let (name, kind, keys) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            let keys = keys
                .unwrap()
                .split(',')
                .filter(|k| *k != "-")
                .map(String::from)
                .collect();
            (name.to_string(), (kind.to_string(), keys))
        })
        .collect()
}

/// family → (kind, label keys of its samples) from a rendered document.
fn rendered(doc: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    let mut current = String::new();
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            current = name.to_string();
            out.insert(current.clone(), (kind.to_string(), BTreeSet::new()));
        } else if !line.starts_with('#') {
            let name = &line[..line.find('{').unwrap()];
            assert!(
                name.starts_with(current.as_str()),
                "{name} outside its family {current}"
            );
            let labels = &line[line.find('{').unwrap() + 1..line.rfind('}').unwrap()];
            let keys = labels
                .split("\",")
                .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string()))
                .filter(|k| {
                    !["le", "otel_scope_name", "cluster", "node_id", "node_type"]
                        .contains(&k.as_str())
                });
            out.get_mut(&current).unwrap().1.extend(keys);
        }
    }
    out
}

fn broker_with_traffic(dir: &std::path::Path) -> std::sync::Arc<Broker> {
    let mut config = crate::config::BrokerConfig::default();
    config.store.root_dir = dir.to_path_buf();
    config.metrics_exporter_type = crate::metrics::ExporterType::Prom;
    let broker = Broker::open(config).unwrap();
    broker.topics.ensure("T", 4, 6);
    broker.groups.ensure("G");
    // A record in the log (another topic) so the store gauges all have samples.
    let mut record = rmq_codec::message::StoredMessage {
        topic: "S".into(),
        born_host: "127.0.0.1:40000".parse().unwrap(),
        store_host: broker.store_host,
        body: "m".into(),
        ..Default::default()
    };
    broker.store.put(&mut record, 0).unwrap();
    broker.count_put("T", MessageType::Normal, 2, 900);
    broker.count_get("T", "G", 1, 450);
    broker.offsets.commit("T", "G", 0, 0);
    let answer = Answer::from(RemotingCommand::new_response(ResponseCode::Success, None));
    broker
        .metrics
        .record_rpc(310, false, &answer, Duration::from_millis(4));
    let mut ext = rmq_codec::command::ExtFields::new();
    ext.insert("topic".into(), "T".into());
    let create = RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic, ext);
    let took = Duration::from_millis(40);
    broker
        .metrics
        .record_create(&create, &answer, took, |_| false);
    broker
}

#[test]
fn rocketmq_families_and_label_keys_are_javas() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker_with_traffic(dir.path());
    let doc = broker.render_metrics();
    let ours = rendered(&doc);
    let java = golden();
    for (name, (kind, keys)) in ours.iter().filter(|(n, _)| n.starts_with("rocketmq_")) {
        let (java_kind, java_keys) = java
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a Java 5.3.3 metric"));
        assert_eq!(kind, java_kind, "{name}");
        // A family without samples here (no client connected) has no keys to compare.
        if !keys.is_empty() || java_keys.is_empty() {
            assert_eq!(keys, java_keys, "label keys of {name}");
        }
    }
    let served: BTreeSet<&str> = ours.keys().map(String::as_str).collect();
    let missing: BTreeSet<&str> = java
        .keys()
        .map(String::as_str)
        .filter(|n| !served.contains(n))
        .collect();
    let not_served = BTreeSet::from(NOT_SERVED);
    assert_eq!(missing, not_served);
}

#[test]
fn the_traffic_recorded_is_what_the_samples_say() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker_with_traffic(dir.path());
    let doc = broker.render_metrics();
    let sample = |prefix: &str| {
        doc.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{doc}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(sample("rocketmq_messages_in_total{"), "2");
    assert_eq!(sample("rocketmq_throughput_in_total{"), "900");
    assert_eq!(sample("rocketmq_message_size_count{"), "1");
    assert_eq!(sample("rocketmq_messages_out_total{"), "1");
    assert_eq!(sample("rocketmq_throughput_out_total{"), "450");
    assert_eq!(sample("rocketmq_rpc_latency_milliseconds_count{"), "1");
    assert!(doc
        .contains("request_code=\"send_message_v2\",response_code=\"success\",result=\"success\""));
    assert_eq!(sample("rocketmq_consumer_lag_messages{"), "0");
    assert!(doc.contains("rmqd_parked_requests{"));
    assert!(doc.contains("rocketmq_storage_message_reserve_time_milliseconds{"));
    assert_eq!(
        sample("rocketmq_topic_create_execution_time_milliseconds_sum{"),
        "40"
    );
    let bucket_100 = doc.lines().find(|l| {
        l.starts_with("rocketmq_topic_create_execution_time_milliseconds_bucket{")
            && l.contains("le=\"100\"")
    });
    assert!(bucket_100
        .is_some_and(|l| l.contains("invocation_status=\"success\"") && l.ends_with(" 1")));
}

#[test]
fn metrics_label_adds_sanitized_labels_that_never_replace_the_node_labels() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::config::BrokerConfig::default();
    config.store.root_dir = dir.path().to_path_buf();
    config.metrics_exporter_type = crate::metrics::ExporterType::Prom;
    config.metrics_label = "region:eu,cluster:other,bad,app-name:x,9z:y".into();
    let broker = Broker::open(config).unwrap();
    let doc = broker.render_metrics();
    let line = doc
        .lines()
        .find(|l| l.starts_with("rocketmq_topic_number{"))
        .unwrap();
    assert_eq!(
        line.split(' ').next().unwrap(),
        "rocketmq_topic_number{otel_scope_name=\"broker-meter\",_9z=\"y\",app_name=\"x\",\
         cluster=\"DefaultCluster\",node_id=\"broker-a\",node_type=\"broker\",region=\"eu\"}"
    );
}
