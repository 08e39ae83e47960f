//! The admin statistics against a broker in this process: what each request answers for a topic with
//! messages, a group with offsets and clients registered by HEART_BEAT.

use rmq_codec::body::{
    ConsumeStats, ConsumerData, HeartbeatData, ProducerData, SubscriptionData, TopicStatsTable,
};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::fastjson::{self, Value};

use rmq_store::config::perm;
use tokio::sync::mpsc;

use crate::broker::test_support::{put_message, TempBroker};
use crate::broker::Broker;
use crate::remoting::Connection;

/// Topic `T` (2 queues) with 3 messages in queue 0; group `g` known to the broker.
fn fixture() -> TempBroker {
    let f = TempBroker::open();
    f.broker.topics.ensure("T", 2, perm::READ | perm::WRITE);
    f.broker.groups.ensure("g").expect("group");
    put_messages(&f.broker, 3);
    f
}

/// Puts `count` messages with tag `a` into queue 0 of `T`.
fn put_messages(broker: &Broker, count: usize) {
    for i in 0..count {
        put_message(broker, "T", 0, format!("m{i}"), Some("a"));
    }
}

fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
    let ext: ExtFields = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    RemotingCommand::new_request(code, ext)
}

/// The answer of one request: the response, or Java's code and remark for a refusal.
fn ask(b: &Broker, code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
    let req = request(code, fields);
    let reply = match code {
        RequestCode::GetTopicStatsInfo => b.topic_stats(&req),
        RequestCode::GetConsumeStats => b.consume_stats(&req),
        RequestCode::GetConsumerConnectionList => b.consumer_connections(&req),
        RequestCode::GetProducerConnectionList => b.producer_connections(&req),
        RequestCode::QueryTopicConsumeByWho => b.topic_consumed_by(&req),
        RequestCode::GetTopicConfig => b.topic_config(&req),
        RequestCode::GetBrokerConsumeStats => b.broker_consume_stats(&req),
        RequestCode::QueryConsumeQueue => b.query_consume_queue(&req),
        other => panic!("not an admin stats request: {other:?}"),
    };
    reply.unwrap_or_else(|e| e.into_response())
}

fn connection(id: u64, port: u16) -> Connection {
    let (tx, _rx) = mpsc::channel(4);
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    Connection::new(id, addr, tx)
}

/// HEART_BEAT from `conn` as Java client version 399: consumer group `g` on `topic` with `expression`,
/// and producer group `pg`.
fn heartbeat(b: &Broker, conn: &Connection, topic: &str, expression: &str) {
    let data = HeartbeatData {
        client_id: "127.0.0.1@4711#1".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "g".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            message_model: "CLUSTERING".into(),
            consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
            subscription_data_set: vec![SubscriptionData {
                topic: topic.into(),
                sub_string: expression.into(),
                expression_type: "TAG".into(),
                sub_version: 1,
                ..SubscriptionData::default()
            }],
            unit_mode: false,
        }],
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
    };
    let mut req = RemotingCommand::new_request(RequestCode::HeartBeat, ExtFields::new());
    req.version = 399;
    req.body = data.encode().into();
    assert_eq!(b.heartbeat(conn, &req).expect("heartbeat").code, 0);
}

fn store_time(b: &Broker, queue_id: i32, offset: i64) -> i64 {
    b.store
        .store_time_at("T", queue_id, offset)
        .expect("stored message")
}

fn body_json(resp: &RemotingCommand) -> Value {
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    fastjson::parse(std::str::from_utf8(&resp.body).expect("utf-8")).expect("json")
}

#[test]
fn topic_stats_per_queue() {
    let f = fixture();
    let resp = ask(&f.broker, RequestCode::GetTopicStatsInfo, &[("topic", "T")]);
    assert_eq!(resp.code, 0);
    let table = TopicStatsTable::decode(&resp.body).expect("body");
    let queues: Vec<_> = table
        .offset_table
        .iter()
        .map(|(mq, o)| (mq.topic.as_str(), mq.broker_name.as_str(), mq.queue_id, *o))
        .collect();
    assert_eq!(queues.len(), 2);
    let (topic, broker_name, queue_id, written) = queues[0];
    assert_eq!((topic, broker_name, queue_id), ("T", "broker-a", 0));
    assert_eq!((written.min_offset, written.max_offset), (0, 3));
    assert_eq!(written.last_update_timestamp, store_time(&f.broker, 0, 2));
    assert_eq!(queues[1].2, 1);
    assert_eq!(
        queues[1].3,
        Default::default(),
        "an empty queue reports zeros"
    );

    let missing = ask(
        &f.broker,
        RequestCode::GetTopicStatsInfo,
        &[("topic", "Nope")],
    );
    assert_eq!(
        ResponseCode::from(missing.code),
        ResponseCode::TopicNotExist
    );
    assert_eq!(missing.remark.as_deref(), Some("topic[Nope] not exist"));
}

/// 5.3.3 reports max(write, read) queues: a topic with more read than write queues lists them all.
#[test]
fn topic_stats_cover_read_queues_beyond_the_write_queues() {
    let f = fixture();
    let mut config = f.broker.topics.get("T").expect("topic");
    config.read_queue_nums = 4;
    f.broker.topics.upsert(config);
    let resp = ask(&f.broker, RequestCode::GetTopicStatsInfo, &[("topic", "T")]);
    let table = TopicStatsTable::decode(&resp.body).expect("body");
    let ids: Vec<i32> = table
        .offset_table
        .iter()
        .map(|(mq, _)| mq.queue_id)
        .collect();
    assert_eq!(ids, vec![0, 1, 2, 3]);
}

#[test]
fn consume_stats_of_committed_and_pulled_offsets() {
    let f = fixture();
    f.broker.offsets.commit("T", "g", 0, 2);
    f.broker.offsets.record_pull("T", "g", 0, 3);
    let resp = ask(
        &f.broker,
        RequestCode::GetConsumeStats,
        &[("consumerGroup", "g")],
    );
    let stats = ConsumeStats::decode(&resp.body).expect("body");
    assert_eq!(stats.offset_table.len(), 2, "both read queues of T");
    let (mq, q0) = &stats.offset_table[0];
    assert_eq!((mq.topic.as_str(), mq.queue_id), ("T", 0));
    assert_eq!(
        (q0.broker_offset, q0.consumer_offset, q0.pull_offset),
        (3, 2, 3)
    );
    assert_eq!(q0.last_timestamp, store_time(&f.broker, 0, 1));
    let q1 = stats.offset_table[1].1;
    assert_eq!(
        (
            q1.broker_offset,
            q1.consumer_offset,
            q1.pull_offset,
            q1.last_timestamp
        ),
        (0, 0, 0, 0)
    );

    // A group without offsets has no topics; one that names a topic gets its queues.
    let none = ask(
        &f.broker,
        RequestCode::GetConsumeStats,
        &[("consumerGroup", "other")],
    );
    assert_eq!(&none.body[..], br#"{"consumeTps":0.0,"offsetTable":{}}"#);
    let named = ask(
        &f.broker,
        RequestCode::GetConsumeStats,
        &[("consumerGroup", "other"), ("topic", "T")],
    );
    assert_eq!(
        ConsumeStats::decode(&named.body)
            .expect("body")
            .offset_table
            .len(),
        2
    );
}

/// An online group reports only the topics it subscribes to, unless 5.x's `topicList` names them.
#[test]
fn consume_stats_follow_the_online_subscriptions() {
    let f = fixture();
    f.broker.topics.ensure("U", 1, perm::READ | perm::WRITE);
    f.broker.offsets.commit("T", "g", 0, 1);
    f.broker.offsets.commit("U", "g", 0, 0);
    let conn = connection(1, 40000);
    heartbeat(&f.broker, &conn, "U", "*");
    let topics = |fields: &[(&str, &str)]| {
        let resp = ask(&f.broker, RequestCode::GetConsumeStats, fields);
        let stats = ConsumeStats::decode(&resp.body).expect("body");
        stats
            .offset_table
            .iter()
            .map(|(mq, _)| format!("{}/{}", mq.topic, mq.queue_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(topics(&[("consumerGroup", "g")]), vec!["U/0"]);
    assert!(topics(&[("consumerGroup", "g"), ("topic", "T")]).is_empty());
    assert_eq!(
        topics(&[("consumerGroup", "g"), ("topicList", "T;Gone;")]),
        vec!["T/0", "T/1"]
    );
}

#[test]
fn pulls_record_the_pull_offset() {
    let f = fixture();
    assert_eq!(f.broker.offsets.query_pull("T", "g", 0), None);
    f.broker.offsets.commit("T", "g", 0, 1);
    assert_eq!(
        f.broker.offsets.query_pull("T", "g", 0),
        Some(1),
        "falls back to the commit"
    );
    f.broker.offsets.record_pull("T", "g", 0, 3);
    assert_eq!(f.broker.offsets.query_pull("T", "g", 0), Some(3));
}

#[test]
fn consumer_and_producer_connections() {
    let f = fixture();
    let conn = connection(1, 40123);
    let offline = ask(
        &f.broker,
        RequestCode::GetConsumerConnectionList,
        &[("consumerGroup", "g")],
    );
    assert_eq!(
        ResponseCode::from(offline.code),
        ResponseCode::ConsumerNotOnline
    );
    assert_eq!(
        offline.remark.as_deref(),
        Some("the consumer group[g] not online")
    );
    let no_producer = ask(
        &f.broker,
        RequestCode::GetProducerConnectionList,
        &[("producerGroup", "pg")],
    );
    assert_eq!(
        ResponseCode::from(no_producer.code),
        ResponseCode::SystemError
    );
    assert_eq!(
        no_producer.remark.as_deref(),
        Some("the producer group[pg] not exist")
    );

    heartbeat(&f.broker, &conn, "T", "a || b");
    let consumer = body_json(&ask(
        &f.broker,
        RequestCode::GetConsumerConnectionList,
        &[("consumerGroup", "g")],
    ));
    let expected_connection = r#"[{"clientAddr":"127.0.0.1:40123","clientId":"127.0.0.1@4711#1","language":"JAVA","version":399}]"#;
    assert_eq!(
        fastjson::to_string(consumer.get("connectionSet").expect("set")),
        expected_connection
    );
    assert_eq!(
        consumer.get("messageModel").and_then(Value::as_str),
        Some("CLUSTERING")
    );
    assert_eq!(
        consumer.get("consumeType").and_then(Value::as_str),
        Some("CONSUME_PASSIVELY")
    );
    assert_eq!(
        consumer.get("consumeFromWhere").and_then(Value::as_str),
        Some("CONSUME_FROM_FIRST_OFFSET")
    );
    let sub = consumer
        .get("subscriptionTable")
        .and_then(|t| t.get("T"))
        .expect("subscription of T");
    assert_eq!(sub.get("subString").and_then(Value::as_str), Some("a || b"));
    assert_eq!(
        fastjson::to_string(sub.get("tagsSet").expect("tags")),
        r#"["a","b"]"#
    );
    assert_eq!(
        fastjson::to_string(sub.get("codeSet").expect("codes")),
        "[97,98]"
    );

    let producer = body_json(&ask(
        &f.broker,
        RequestCode::GetProducerConnectionList,
        &[("producerGroup", "pg")],
    ));
    assert_eq!(
        fastjson::to_string(producer.get("connectionSet").expect("set")),
        expected_connection
    );
}

#[test]
fn who_consumes_a_topic() {
    let f = fixture();
    f.broker.offsets.commit("T", "committed", 0, 1);
    f.broker.offsets.commit("U", "elsewhere", 0, 1);
    let conn = connection(1, 40000);
    heartbeat(&f.broker, &conn, "T", "*");
    let groups = |topic: &str| {
        let resp = ask(
            &f.broker,
            RequestCode::QueryTopicConsumeByWho,
            &[("topic", topic)],
        );
        fastjson::to_string(body_json(&resp).get("groupList").expect("list"))
    };
    assert_eq!(groups("T"), r#"["committed","g"]"#);
    assert_eq!(groups("U"), r#"["elsewhere"]"#);
    assert_eq!(groups("Nope"), "[]");
}

#[test]
fn topic_config_of_one_topic() {
    let f = fixture();
    let resp = ask(
        &f.broker,
        RequestCode::GetTopicConfig,
        &[("topic", "T"), ("lo", "true")],
    );
    assert_eq!(
        std::str::from_utf8(&resp.body).expect("utf-8"),
        r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":2}"#
    );
    let missing = ask(&f.broker, RequestCode::GetTopicConfig, &[("topic", "Nope")]);
    assert_eq!(
        ResponseCode::from(missing.code),
        ResponseCode::TopicNotExist
    );
    assert_eq!(
        missing.remark.as_deref(),
        Some("No topic in this broker. topic: Nope")
    );
}

/// 317 lists every subscription group (the system groups with no topics), write queues only, with
/// `pullOffset` left at 0 as Java leaves it.
#[test]
fn broker_consume_stats_of_every_group() {
    let f = fixture();
    f.broker.offsets.commit("T", "g", 0, 1);
    let doc = body_json(&ask(
        &f.broker,
        RequestCode::GetBrokerConsumeStats,
        &[("isOrder", "false")],
    ));
    assert_eq!(
        doc.get("brokerAddr").and_then(Value::as_str),
        Some(f.broker.config.broker_addr().as_str())
    );
    assert_eq!(doc.get("totalDiff").and_then(Value::as_i64), Some(2));
    assert_eq!(
        doc.get("totalInflightDiff").and_then(Value::as_i64),
        Some(-1)
    );
    let list = doc
        .get("consumeStatsList")
        .and_then(Value::as_array)
        .expect("list");
    let of = |group: &str| {
        list.iter()
            .find_map(|entry| entry.get(group))
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{group} in {list:?}"))
    };
    assert!(of("TOOLS_CONSUMER").is_empty());
    let [g] = of("g") else {
        panic!("one topic of g: {:?}", of("g"));
    };
    let g = ConsumeStats::decode(fastjson::to_string(g).as_bytes()).expect("stats of g");
    let offsets: Vec<_> = g
        .offset_table
        .iter()
        .map(|(mq, o)| {
            (
                mq.queue_id,
                o.broker_offset,
                o.consumer_offset,
                o.pull_offset,
            )
        })
        .collect();
    assert_eq!(offsets, vec![(0, 3, 1, 0), (1, 0, 0, 0)]);

    let orderly = body_json(&ask(
        &f.broker,
        RequestCode::GetBrokerConsumeStats,
        &[("isOrder", "true")],
    ));
    assert_eq!(orderly.get("totalDiff").and_then(Value::as_i64), Some(0));
}

#[test]
fn consume_queue_units() {
    let f = fixture();
    let query = |fields: &[(&str, &str)]| ask(&f.broker, RequestCode::QueryConsumeQueue, fields);
    let base = [
        ("topic", "T"),
        ("queueId", "0"),
        ("index", "1"),
        ("count", "5"),
    ];
    let doc = body_json(&query(&base));
    assert_eq!(doc.get("maxQueueIndex").and_then(Value::as_i64), Some(3));
    assert_eq!(doc.get("minQueueIndex").and_then(Value::as_i64), Some(0));
    assert!(doc.get("filterData").is_none());
    let units = doc
        .get("queueData")
        .and_then(Value::as_array)
        .expect("units");
    assert_eq!(units.len(), 2, "units 1 and 2");
    assert_eq!(
        query(&base).remark.as_deref(),
        Some("not set any response code")
    );
    for (unit, offset) in units.iter().zip(1..) {
        let stored = f.broker.store.queue_unit("T", 0, offset).expect("unit");
        assert_eq!(
            unit.get("physicOffset").and_then(Value::as_i64),
            Some(stored.commit_log_offset)
        );
        assert_eq!(
            unit.get("physicSize").and_then(Value::as_i64),
            Some(i64::from(stored.size))
        );
        assert_eq!(
            unit.get("tagsCode").and_then(Value::as_i64),
            Some(97),
            "hash of tag a"
        );
        assert_eq!(unit.get("eval").and_then(Value::as_bool), Some(false));
    }

    let mut with_group = base.to_vec();
    with_group.push(("consumerGroup", "g"));
    let offline = body_json(&query(&with_group));
    assert_eq!(
        offline.get("filterData").and_then(Value::as_str),
        Some("g@T is not online!")
    );
    heartbeat(&f.broker, &connection(1, 40000), "T", "a");
    let online = body_json(&query(&with_group));
    assert_eq!(
        online.get("filterData").and_then(Value::as_str),
        Some("null")
    );
    assert_eq!(
        online
            .get("subscriptionData")
            .and_then(|s| s.get("subString"))
            .and_then(Value::as_str),
        Some("a")
    );

    let past_end = query(&[
        ("topic", "T"),
        ("queueId", "0"),
        ("index", "3"),
        ("count", "5"),
    ]);
    assert_eq!(past_end.code, 0);
    assert_eq!(
        past_end.remark.as_deref(),
        Some("Index 3 of 0@T is not exist!")
    );
    assert!(past_end.body.is_empty());
    let no_queue = query(&[
        ("topic", "T"),
        ("queueId", "7"),
        ("index", "0"),
        ("count", "1"),
    ]);
    assert_eq!(ResponseCode::from(no_queue.code), ResponseCode::SystemError);
    assert_eq!(no_queue.remark.as_deref(), Some("7@T is not exist!"));
}

/// `topicPutTps` and `consumeTps` are the minute rates of TOPIC_PUT_NUMS and GROUP_GET_NUMS: 2 sent and 5
/// read (by pulls or pops alike) in 10 s.
#[test]
fn rates_between_samples() {
    let f = fixture();
    f.broker.offsets.commit("T", "g", 0, 0);
    f.broker.stats_items.tick(1_000);
    f.broker
        .count_put("T", crate::broker::metrics::MessageType::Normal, 2, 200);
    f.broker.count_get("T", "g", 3, 300);
    f.broker.count_get("T", "g", 2, 200);
    f.broker.stats_items.tick(11_000);

    let topic = ask(&f.broker, RequestCode::GetTopicStatsInfo, &[("topic", "T")]);
    let table = TopicStatsTable::decode(&topic.body).expect("body");
    assert_eq!(table.topic_put_tps, 0.2);
    let group = ask(
        &f.broker,
        RequestCode::GetConsumeStats,
        &[("consumerGroup", "g")],
    );
    let stats = ConsumeStats::decode(&group.body).expect("body");
    assert_eq!(stats.consume_tps, 0.5);
    let other = ask(
        &f.broker,
        RequestCode::GetConsumeStats,
        &[("consumerGroup", "other"), ("topic", "T")],
    );
    assert_eq!(
        ConsumeStats::decode(&other.body).expect("body").consume_tps,
        0.0
    );
}
