//! Tests of `slave_role`: the answers a slave gives where a master stores, and suggestWhichBrokerId.

use bytes::Bytes;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::{
    CommandHeader, ConsumerSendMsgBackRequestHeader, PullMessageRequestHeader,
    PullMessageResponseHeader,
};
use rmq_store::config::{perm, SubscriptionGroupConfig};
use tokio::sync::mpsc;

use super::super::test_support::{put_message, TempBroker};
use super::super::topics::topic_config;
use super::super::Broker;
use super::*;
use crate::remoting::{Answer, Connection, Outbound};

fn slave() -> TempBroker {
    TempBroker::open_with(|c| {
        c.broker_role = "SLAVE".into();
        c.broker_id = 1;
    })
}

/// Copies `master`'s whole commit log into `slave`'s store, as the HA client appends what it receives.
fn replicate(master: &Broker, slave: &Broker) {
    let from = slave.store.max_commit_log_offset() as u64;
    let chunk = master
        .store
        .commit_log_chunk(from, 1 << 20)
        .expect("the master wrote past the slave");
    slave
        .store
        .append_replicated(from, &chunk)
        .expect("the slave appends");
}

fn connection() -> Connection {
    let (tx, _rx) = mpsc::channel(4);
    Connection::new(3, "127.0.0.1:40003".parse().expect("addr"), tx)
}

fn command_of(answer: Answer) -> RemotingCommand {
    match answer {
        Answer::Now(Outbound::Command(cmd)) => cmd,
        Answer::Now(Outbound::Records { cmd, .. }) => cmd,
        _ => panic!("answered at once"),
    }
}

/// A SEND_MESSAGE (v1 header) of one message to `topic`.
fn send_request(code: RequestCode, topic: &str) -> RemotingCommand {
    let mut ext = ExtFields::new();
    for (k, v) in [
        ("producerGroup", "pg"),
        ("topic", topic),
        ("defaultTopic", "TBW102"),
        ("defaultTopicQueueNums", "4"),
        ("queueId", "0"),
        ("sysFlag", "0"),
        ("bornTimestamp", "1700000000000"),
        ("flag", "0"),
        ("batch", "false"),
    ] {
        ext.insert(k.into(), v.into());
    }
    let mut req = RemotingCommand::new_request(code, ext);
    req.body = Bytes::from_static(b"hello");
    req
}

#[test]
fn a_slave_refuses_sends_as_javas_store_does_and_a_master_stores_them() {
    let s = slave();
    s.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    let conn = connection();
    for code in [RequestCode::SendMessage, RequestCode::SendMessageV2] {
        let mut req = send_request(RequestCode::SendMessage, "T");
        if code == RequestCode::SendMessageV2 {
            let h =
                rmq_codec::header::SendMessageRequestHeader::decode_any(&req.ext_fields).unwrap();
            req.ext_fields.clear();
            h.encode_v2(&mut req.ext_fields);
            req.code = i32::from(code);
        }
        let resp = command_of(s.broker.send_message(&conn, &req));
        assert_eq!(
            resp.code,
            i32::from(ResponseCode::ServiceNotAvailable),
            "{code:?}"
        );
        let remark = resp.remark.unwrap_or_default();
        assert!(remark.starts_with("service not available now. It may be caused by one of the following reasons: the broker's disk is full [CL: "), "{remark}");
        assert!(remark.contains("messages are put to the slave"), "{remark}");
    }
    assert_eq!(
        s.broker.store.max_offset_in_queue("T", 0),
        0,
        "nothing stored"
    );

    let m = TempBroker::open();
    m.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    let resp = command_of(
        m.broker
            .send_message(&conn, &send_request(RequestCode::SendMessage, "T")),
    );
    assert_eq!(resp.code, i32::from(ResponseCode::Success));
}

#[test]
fn a_slave_refuses_send_backs_with_the_put_status_name() {
    let s = slave();
    s.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    // The replicated original a consumer read from the slave.
    let m = TempBroker::open();
    let put = put_message(&m.broker, "T", 0, "body", None);
    replicate(&m.broker, &s.broker);
    let h = ConsumerSendMsgBackRequestHeader {
        offset: put.commit_log_offset,
        group: "G".into(),
        delay_level: 0,
        origin_msg_id: None,
        origin_topic: Some("T".into()),
        unit_mode: false,
        max_reconsume_times: None,
    };
    let req = RemotingCommand::new_request(RequestCode::ConsumerSendMsgBack, h.to_ext_fields());
    let e = s.broker.consumer_send_msg_back(&req).unwrap_err();
    assert_eq!(e.response_code(), ResponseCode::SystemError);
    assert_eq!(e.to_string(), "SERVICE_NOT_AVAILABLE");
    assert_eq!(s.broker.store.max_offset_in_queue("%RETRY%G", 0), 0);
}

/// A pull of `T` queue 0 from offset 0 for group `G`, committing offset 1, the subscription in the
/// request: the response code and header.
fn pull(b: &Broker) -> (ResponseCode, PullMessageResponseHeader) {
    let h = PullMessageRequestHeader {
        consumer_group: "G".into(),
        topic: "T".into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: 0x1 | 0x4,
        commit_offset: 1,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: None,
        max_msg_bytes: None,
    };
    let req = RemotingCommand::new_request(RequestCode::PullMessage, h.to_ext_fields());
    let cmd = command_of(b.pull(&connection(), &req));
    let header = PullMessageResponseHeader::decode(&cmd.ext_fields).expect("pull header");
    (ResponseCode::from(cmd.code), header)
}

fn with_messages(t: &TempBroker) {
    t.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    put_message(&t.broker, "T", 0, "one", None);
    put_message(&t.broker, "T", 0, "two", None);
}

#[test]
fn a_slave_serves_pulls_without_storing_their_commit_offset() {
    let m = TempBroker::open();
    with_messages(&m);
    let s = slave();
    s.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    replicate(&m.broker, &s.broker);
    let (code, _) = pull(&s.broker);
    assert_eq!(code, ResponseCode::Success);
    assert_eq!(
        s.broker.offsets.query("T", "G", 0),
        None,
        "PullMessageProcessor: role != SLAVE"
    );

    assert_eq!(pull(&m.broker).0, ResponseCode::Success);
    assert_eq!(m.broker.offsets.query("T", "G", 0), Some(1));
}

#[test]
fn suggest_which_broker_id_is_the_master_unless_slave_read_is_enabled() {
    let m = TempBroker::open();
    with_messages(&m);
    assert_eq!(pull(&m.broker).1.suggest_which_broker_id, MASTER_ID);

    let r = TempBroker::open_with(|c| c.slave_read_enable = true);
    with_messages(&r);
    let mut group = SubscriptionGroupConfig::new("G");
    group.broker_id = 2;
    group.which_broker_when_consume_slowly = 1;
    r.broker.groups.upsert(group);
    // Not behind: the group's brokerId (a pull this close to the end is never "slow").
    assert_eq!(pull(&r.broker).1.suggest_which_broker_id, 2);
}

#[test]
fn a_pull_is_slow_past_the_memory_ratio() {
    let gib = 1u64 << 30;
    // 40% of 10 GiB = 4 GiB.
    assert!(!is_consuming_slowly(4 << 30, 0, 40, 10 * gib));
    assert!(is_consuming_slowly((4 << 30) + 1, 0, 40, 10 * gib));
    assert!(!is_consuming_slowly(5 << 30, 1 << 30, 40, 10 * gib));
    assert_eq!(
        parse_mem_total("MemTotal:       16303428 kB\nMemFree: 1 kB\n"),
        Some(16_303_428 * 1024)
    );
    assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
}

#[test]
fn the_record_commit_log_offset_is_read_from_the_stored_record() {
    let t = TempBroker::open();
    t.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    put_message(&t.broker, "T", 0, "one", None);
    let second = put_message(&t.broker, "T", 0, "two", None);
    let record = t
        .broker
        .store
        .message_at(second.commit_log_offset)
        .expect("stored");
    assert_eq!(
        record_commit_log_offset(&record),
        Some(second.commit_log_offset)
    );
    assert_eq!(record_commit_log_offset(&record[..20]), None);
}

#[test]
fn a_slave_runs_no_delivery_check_or_revive_task() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = slave();
        s.broker.start();
        let names = s.broker.periodic.names();
        for writer in ["delayed-delivery", "transaction-check", "pop-revive"] {
            assert!(
                !names.contains(&writer),
                "{writer} runs on a slave: {names:?}"
            );
        }
        assert!(names.contains(&"slave-sync"));
        s.broker.periodic.stop().await;
        let m = TempBroker::open();
        m.broker.start();
        let names = m.broker.periodic.names();
        assert!(names.contains(&"delayed-delivery") && !names.contains(&"slave-sync"));
        m.broker.periodic.stop().await;
    });
}

#[test]
fn a_slave_refuses_topic_and_group_changes_and_transaction_ends() {
    let s = slave();
    for code in [
        RequestCode::UpdateAndCreateTopic,
        RequestCode::DeleteTopicInBroker,
        RequestCode::UpdateAndCreateSubscriptiongroup,
        RequestCode::DeleteSubscriptiongroup,
    ] {
        let req = RemotingCommand::new_request(code, ExtFields::new());
        let resp = command_of(s.broker.slave_refusal(&req).expect("refused"));
        assert_eq!(resp.code, i32::from(ResponseCode::SystemError), "{code:?}");
        assert_eq!(
            resp.remark.as_deref(),
            Some("Can't modify topic or subscription group from slave broker, please execute it from master broker.")
        );
    }
    let end = RemotingCommand::new_request(RequestCode::EndTransaction, ExtFields::new());
    let resp = command_of(s.broker.slave_refusal(&end).expect("refused"));
    assert_eq!(resp.code, i32::from(ResponseCode::SlaveNotAvailable));
    assert_eq!(resp.remark, None);
    let pull = RemotingCommand::new_request(RequestCode::PullMessage, ExtFields::new());
    assert!(s.broker.slave_refusal(&pull).is_none());

    let m = TempBroker::open();
    assert!(m.broker.slave_refusal(&end).is_none());
}

#[test]
fn a_slave_refuses_a_server_side_offset_reset() {
    let s = slave();
    s.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    let h = rmq_codec::header::ResetOffsetRequestHeader {
        topic: "T".into(),
        group: "G".into(),
        timestamp: 0,
        is_force: false,
        queue_id: None,
        offset: None,
    };
    let e = s.broker.reset_offset_server_side(&h).unwrap_err();
    assert_eq!(e.response_code(), ResponseCode::SystemError);
    assert_eq!(e.to_string(), "Can not reset offset in slave broker");
}

/// GET_BROKER_CONFIG: Java's `Configuration.getAllConfigsFormatString`, with the slave's role and id.
#[test]
fn broker_config_reports_the_slave_role() {
    let s = slave();
    let resp = s.broker.broker_config().unwrap();
    let text = String::from_utf8(resp.body.to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        "brokerRole=SLAVE",
        "brokerId=1",
        "slaveReadEnable=false",
        "accessMessageInMemoryMaxRatio=40",
    ] {
        assert!(lines.contains(&expected), "{expected} missing: {text}");
    }
}

/// A pull of `T` queue 0 from `offset` (no commit).
fn pull_from(b: &Broker, offset: i64) -> (ResponseCode, PullMessageResponseHeader) {
    let h = PullMessageRequestHeader {
        consumer_group: "G".into(),
        topic: "T".into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x4,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: None,
        max_msg_bytes: None,
    };
    let req = RemotingCommand::new_request(RequestCode::PullMessage, h.to_ext_fields());
    let cmd = command_of(b.pull(&connection(), &req));
    let header = PullMessageResponseHeader::decode(&cmd.ext_fields).expect("pull header");
    (ResponseCode::from(cmd.code), header)
}

/// A consumer that read 2 messages on the master and pulls offset 5 from a slave that has replicated
/// none of them: the slave does not tell it to move its offset (`offsetCheckInSlave` false).
#[test]
fn a_lagging_slave_answers_retry_instead_of_offset_moved() {
    let m = TempBroker::open();
    with_messages(&m);
    assert_eq!(pull_from(&m.broker, 5).0, ResponseCode::PullOffsetMoved);

    let s = slave();
    s.broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    replicate(&m.broker, &s.broker);
    let mut group = SubscriptionGroupConfig::new("G");
    group.broker_id = 1;
    s.broker.groups.upsert(group);
    let (code, header) = pull_from(&s.broker, 5);
    assert_eq!(code, ResponseCode::PullRetryImmediately);
    assert_eq!(header.suggest_which_broker_id, 1, "the group's brokerId");
    assert_eq!(
        header.next_begin_offset, 5,
        "nextOffsetCorrection keeps the offset"
    );
    assert_eq!(
        pull_from(&m.broker, 5).1.next_begin_offset,
        2,
        "the master corrects it"
    );

    let checked = TempBroker::open_with(|c| {
        c.broker_role = "SLAVE".into();
        c.broker_id = 1;
        c.offset_check_in_slave = true;
    });
    checked
        .broker
        .topics
        .upsert(topic_config("T", 4, 4, perm::READ | perm::WRITE));
    replicate(&m.broker, &checked.broker);
    assert_eq!(
        pull_from(&checked.broker, 5).0,
        ResponseCode::PullOffsetMoved
    );
}

/// `mqadmin updateBrokerConfig -k slaveReadEnable -v true` takes effect at the next pull, as Java reads
/// the key at each pull.
#[test]
fn slave_read_enable_is_changed_at_run_time() {
    let m = TempBroker::open();
    with_messages(&m);
    let mut group = SubscriptionGroupConfig::new("G");
    group.broker_id = 1;
    m.broker.groups.upsert(group);
    assert_eq!(pull(&m.broker).1.suggest_which_broker_id, MASTER_ID);
    let mut update =
        RemotingCommand::new_request(RequestCode::UpdateBrokerConfig, ExtFields::new());
    update.body = Bytes::from_static(b"slaveReadEnable=true\n");
    m.broker.update_broker_config(&update).unwrap();
    assert_eq!(pull(&m.broker).1.suggest_which_broker_id, 1);
}
