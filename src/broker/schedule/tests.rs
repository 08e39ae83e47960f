use std::sync::Arc;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::{CommandHeader, ConsumerSendMsgBackRequestHeader};
use rmq_codec::message::{properties, sys_flag, StoredMessage};

use super::*;
use crate::broker::test_support::config_in;

const NOW: i64 = 1_700_000_000_500;

fn rules() -> DelayRules {
    DelayRules {
        max_level: 18,
        timer_enabled: true,
        timer_max_delay_ms: 3 * 86_400_000,
    }
}

fn msg(pairs: &[(&str, &str)]) -> StoredMessage {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    StoredMessage {
        topic: "T".into(),
        queue_id: 3,
        born_host: "127.0.0.1:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: "body".into(),
        properties: properties::encode(&pairs),
        ..StoredMessage::default()
    }
}

fn prop<'a>(m: &'a StoredMessage, key: &str) -> Option<&'a str> {
    properties::get(&m.properties, key)
}

#[test]
fn delay_level_moves_to_the_schedule_queue_and_drops_timer_properties() {
    let mut m = msg(&[("TAGS", "a"), ("DELAY", "2"), ("TIMER_DELAY_SEC", "9")]);
    route_delayed(&mut m, rules(), NOW).unwrap();
    assert_eq!((m.topic.as_str(), m.queue_id), (SCHEDULE_TOPIC, 1));
    assert_eq!(prop(&m, "REAL_TOPIC"), Some("T"));
    assert_eq!(prop(&m, "REAL_QID"), Some("3"));
    assert_eq!(prop(&m, "TIMER_DELAY_SEC"), None);
    assert_eq!(prop(&m, "DELAY"), Some("2"));

    let mut clamped = msg(&[("DELAY", "40")]);
    route_delayed(&mut clamped, rules(), NOW).unwrap();
    assert_eq!(
        (clamped.queue_id, prop(&clamped, "DELAY")),
        (17, Some("18"))
    );
}

#[test]
fn half_messages_and_undelayed_ones_stay() {
    let mut half = msg(&[("DELAY", "2")]);
    half.sys_flag = sys_flag::TRANSACTION_PREPARED;
    route_delayed(&mut half, rules(), NOW).unwrap();
    assert_eq!(half.topic, "T");
    for pairs in [vec![("DELAY", "0")], vec![("DELAY", "-1")], vec![]] {
        let mut m = msg(&pairs);
        let before = m.properties.clone();
        route_delayed(&mut m, rules(), NOW).unwrap();
        assert_eq!((m.topic.as_str(), m.properties), ("T", before));
    }
    let mut committed = msg(&[("DELAY", "1")]);
    committed.sys_flag = sys_flag::TRANSACTION_COMMIT;
    route_delayed(&mut committed, rules(), NOW).unwrap();
    assert_eq!(committed.topic, SCHEDULE_TOPIC);
}

#[test]
fn timer_messages_get_their_slot() {
    let deliver = (NOW + 2_300).to_string();
    let mut m = msg(&[("TIMER_DELIVER_MS", &deliver)]);
    route_delayed(&mut m, rules(), NOW).unwrap();
    assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0));
    assert_eq!(prop(&m, TIMER_OUT_MS), Some("1700000002000"));
    assert_eq!(prop(&m, "REAL_TOPIC"), Some("T"));
    // A whole second belongs to the slot before it; relative delays count from now.
    let mut exact = msg(&[("TIMER_DELAY_MS", "1500")]);
    route_delayed(&mut exact, rules(), NOW).unwrap();
    assert_eq!(prop(&exact, TIMER_OUT_MS), Some("1700000001000"));
    let mut sec = msg(&[("TIMER_DELAY_SEC", "3")]);
    route_delayed(&mut sec, rules(), NOW).unwrap();
    assert_eq!(prop(&sec, TIMER_OUT_MS), Some("1700000003000"));
}

#[test]
fn timer_edge_cases() {
    let past = msg(&[("TIMER_DELIVER_MS", "5")]);
    let mut m = past.clone();
    route_delayed(&mut m, rules(), NOW).unwrap();
    assert_eq!(m, past, "a due timer is an ordinary message");
    let mut delivered = msg(&[("TIMER_DELAY_SEC", "5"), (TIMER_OUT_MS, "1")]);
    route_delayed(&mut delivered, rules(), NOW).unwrap();
    assert_eq!(delivered.topic, "T", "a delivered timer is not timed again");
    let err = |pairs: &[(&str, &str)], rules: DelayRules| {
        route_delayed(&mut msg(pairs), rules, NOW)
            .unwrap_err()
            .response_code()
    };
    let four_days = (4 * 86_400).to_string();
    assert_eq!(
        err(&[("TIMER_DELAY_SEC", &four_days)], rules()),
        ResponseCode::MessageIllegal
    );
    assert_eq!(
        err(&[("TIMER_DELIVER_MS", "soon")], rules()),
        ResponseCode::MessageIllegal
    );
    let off = DelayRules {
        timer_enabled: false,
        ..rules()
    };
    assert_eq!(
        err(&[("TIMER_DELAY_SEC", "5")], off),
        ResponseCode::SystemError
    );
}

#[test]
fn delivered_record_restores_the_real_queue_and_keeps_the_string() {
    let mut m = msg(&[("TAGS", "a"), ("DELAY", "2")]);
    m.reconsume_times = 2;
    m.flag = 7;
    route_delayed(&mut m, rules(), NOW).unwrap();
    let out = delivered_record(&m, &[]).unwrap();
    assert_eq!((out.topic.as_str(), out.queue_id), ("T", 3));
    assert_eq!(out.properties, m.properties);
    assert_eq!((out.reconsume_times, out.flag, &out.body), (2, 7, &m.body));
    let with_extra = delivered_record(&m, &[("TIMER_DEQUEUE_MS", "9".into())]).unwrap();
    assert_eq!(prop(&with_extra, "TIMER_DEQUEUE_MS"), Some("9"));
    let half = msg(&[("REAL_TOPIC", HALF_TOPIC), ("REAL_QID", "0")]);
    assert!(delivered_record(&half, &[]).is_none());
    assert!(delivered_record(&msg(&[("REAL_TOPIC", "T")]), &[]).is_none());
}

#[test]
fn clock_going_back_makes_a_message_due_now() {
    assert_eq!(corrected_due(NOW + 500, 1_000, NOW), NOW + 500);
    assert_eq!(corrected_due(NOW + 5_000, 1_000, NOW), NOW);
}

struct Fixture {
    broker: Arc<Broker>,
    dir: tempfile::TempDir,
}

fn open(dir: tempfile::TempDir) -> Fixture {
    let mut config = config_in(&dir);
    config.store.message_delay_levels_ms = vec![1_000, 2_000];
    Fixture {
        broker: Broker::open(config).unwrap(),
        dir,
    }
}

/// Routes and stores a message for topic T queue 3 as the send path does.
fn put(broker: &Broker, pairs: &[(&str, &str)]) -> StoredMessage {
    let mut m = msg(pairs);
    let rules = DelayRules::from_config(&broker.config);
    route_delayed(&mut m, rules, now_ms() as i64).unwrap();
    broker.store.put(&mut m, 0).unwrap();
    m
}

fn real_bodies(broker: &Broker) -> Vec<String> {
    let max = broker.store.max_offset_in_queue("T", 3);
    (0..max)
        .map(|offset| {
            let unit = broker.store.queue_unit("T", 3, offset).unwrap();
            let raw = broker.store.message_at(unit.commit_log_offset).unwrap();
            String::from_utf8(StoredMessage::decode(&raw).unwrap().body.to_vec()).unwrap()
        })
        .collect()
}

#[test]
fn levels_deliver_when_due_and_cursors_survive_a_restart() {
    let f = open(tempfile::tempdir().unwrap());
    let stored = put(&f.broker, &[("DELAY", "2"), ("TAGS", "a")]);
    let level1 = put(&f.broker, &[("DELAY", "1")]);
    let now = stored.store_timestamp;
    f.broker
        .schedule
        .tick(&f.broker, level1.store_timestamp + 999);
    assert!(real_bodies(&f.broker).is_empty(), "nothing due yet");
    f.broker
        .schedule
        .tick(&f.broker, level1.store_timestamp + 1_000);
    assert_eq!(real_bodies(&f.broker).len(), 1, "level 1 due");
    f.broker.schedule.shutdown();
    f.broker.persister.flush().unwrap();
    f.broker.schedule.tick(&f.broker, now + 5_000);
    assert_eq!(
        real_bodies(&f.broker).len(),
        1,
        "no delivery after shutdown"
    );
    let saved = DelayOffsetFile::load(&delay_offset_path(f.dir.path())).unwrap();
    assert_eq!(saved.offsets.get(&1), Some(&1));
    f.broker.store.shutdown().unwrap();

    let Fixture { broker, dir } = f;
    drop(broker);
    let f = open(dir);
    f.broker.schedule.tick(&f.broker, now + 2_000);
    assert_eq!(
        real_bodies(&f.broker).len(),
        2,
        "level 2 delivered once, level 1 not again"
    );
    let unit = f.broker.store.queue_unit("T", 3, 1).unwrap();
    assert_eq!(unit.tags_code, rmq_codec::message::tags_code(Some("a")));
}

#[test]
fn timers_deliver_in_due_order_and_resume_after_restart() {
    let f = open(tempfile::tempdir().unwrap());
    let now = now_ms() as i64;
    let at = |ms: i64| (now + ms).to_string();
    for (body_at, body) in [
        (at(5_000), "late"),
        (at(2_000), "early"),
        (at(9_000), "last"),
    ] {
        let mut m = msg(&[("TIMER_DELIVER_MS", &body_at)]);
        m.body = body.to_string().into_bytes().into();
        route_delayed(&mut m, DelayRules::from_config(&f.broker.config), now).unwrap();
        f.broker.store.put(&mut m, 0).unwrap();
    }
    f.broker.schedule.tick(&f.broker, now + 1_000);
    assert!(real_bodies(&f.broker).is_empty());
    f.broker.schedule.tick(&f.broker, now + 3_000);
    assert_eq!(real_bodies(&f.broker), vec!["early"]);
    f.broker.schedule.tick(&f.broker, now + 6_000);
    assert_eq!(real_bodies(&f.broker), vec!["early", "late"]);
    f.broker.schedule.shutdown();
    f.broker.persister.flush().unwrap();
    f.broker.store.shutdown().unwrap();
    let Fixture { broker, dir } = f;
    drop(broker);
    let f = open(dir);
    f.broker.schedule.tick(&f.broker, now + 10_000);
    assert_eq!(real_bodies(&f.broker), vec!["early", "late", "last"]);
}

fn send_back(broker: &Broker, offset: i64, max: i32) -> RemotingCommand {
    let mut ext = ExtFields::new();
    ConsumerSendMsgBackRequestHeader {
        offset,
        group: "cg".into(),
        delay_level: 0,
        origin_msg_id: None,
        origin_topic: Some("T".into()),
        unit_mode: false,
        max_reconsume_times: Some(max),
    }
    .encode(&mut ext);
    let mut req = RemotingCommand::new_request(RequestCode::ConsumerSendMsgBack, ext);
    req.version = 395;
    broker.consumer_send_msg_back(&req).unwrap()
}

#[test]
fn send_back_retries_with_delay_then_goes_to_the_dlq() {
    let f = open(tempfile::tempdir().unwrap());
    let original = put(&f.broker, &[("TAGS", "a"), ("UNIQ_KEY", "U1")]);
    assert_eq!(send_back(&f.broker, original.commit_log_offset, 1).code, 0);
    // Level 3 + 0 clamps to the 2 configured levels.
    let unit = f.broker.store.queue_unit(SCHEDULE_TOPIC, 1, 0).unwrap();
    let retry =
        StoredMessage::decode(&f.broker.store.message_at(unit.commit_log_offset).unwrap()).unwrap();
    assert_eq!(retry.reconsume_times, 1);
    assert_eq!(prop(&retry, "REAL_TOPIC"), Some("%RETRY%cg"));
    assert_eq!(prop(&retry, "RETRY_TOPIC"), Some("T"));
    assert_eq!(
        prop(&retry, "ORIGIN_MESSAGE_ID"),
        Some(original.offset_msg_id().as_str())
    );
    assert_eq!(prop(&retry, "UNIQ_KEY"), Some("U1"));
    // Its delivered copy fails again: reconsumeTimes 1 >= max 1, so the DLQ, undelayed.
    assert_eq!(send_back(&f.broker, retry.commit_log_offset, 1).code, 0);
    let unit = f.broker.store.queue_unit("%DLQ%cg", 0, 0).unwrap();
    let dead =
        StoredMessage::decode(&f.broker.store.message_at(unit.commit_log_offset).unwrap()).unwrap();
    assert_eq!((dead.reconsume_times, prop(&dead, "DELAY")), (2, Some("0")));
    assert_eq!(prop(&dead, "RETRY_TOPIC"), Some("T"));
    assert_eq!(
        prop(&dead, "ORIGIN_MESSAGE_ID"),
        Some(original.offset_msg_id().as_str())
    );
    assert!(f.broker.topics.get("%DLQ%cg").is_some());
}
