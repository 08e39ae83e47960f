//! A broker on a temporary store: pop, ack, change the invisible time and revive, below the socket.

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    PopMessageRequestHeader,
};
use rmq_codec::header::CommandHeader;
use rmq_codec::message::StoredMessage;
use rmq_store::config::perm;

use super::extra_info::ExtraInfo;
use super::pop_message::Popped;
use crate::broker::test_support::{put_message, TempBroker};
use crate::broker::Broker;

const RETRY: &str = "%RETRY%G_T";

fn fixture() -> TempBroker {
    let f = TempBroker::open();
    f.broker.topics.ensure("T", 2, perm::READ | perm::WRITE);
    f
}

fn put(broker: &Broker, queue_id: i32, body: &str) {
    put_message(broker, "T", queue_id, body.to_string(), Some("a"));
}

fn pop(broker: &Broker, invisible_time: i64) -> Popped {
    let h = PopMessageRequestHeader {
        consumer_group: "G".into(),
        topic: "T".into(),
        queue_id: -1,
        max_msg_nums: 32,
        invisible_time,
        poll_time: 0,
        born_time: 0,
        init_mode: 0,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        order: Some(false),
        attempt_id: None,
    };
    let filter = broker.check_pop(&h).expect("pop allowed");
    broker.pop_once(&h, &filter)
}

fn bodies(p: &Popped) -> Vec<(String, i32, i64, i32)> {
    let mut out: Vec<_> = p
        .records
        .iter()
        .map(|raw| {
            let m = StoredMessage::decode(raw).expect("record");
            let body = String::from_utf8_lossy(&m.body).into_owned();
            (body, m.queue_id, m.queue_offset, m.reconsume_times)
        })
        .collect();
    out.sort();
    out
}

/// The POP_CK the client builds for one message of `p`.
fn pop_ck(p: &Popped, retry: bool, queue_id: i32, start: i64, offset: i64) -> String {
    ExtraInfo {
        ck_start_offset: start,
        pop_time: p.pop_time,
        invisible_time: 1_000,
        revive_qid: p.revive_qid,
        retry,
        broker_name: "b".into(),
        queue_id,
        msg_offset: Some(offset),
    }
    .to_string()
}

fn ack(broker: &Broker, topic: &str, queue_id: i32, extra_info: String, offset: i64) {
    let header = AckMessageRequestHeader {
        consumer_group: "G".into(),
        topic: topic.into(),
        queue_id,
        extra_info,
        offset,
    };
    let req = RemotingCommand::new_request(RequestCode::AckMessage, header.to_ext_fields());
    broker.ack_message(&req).expect("acked");
}

fn retry_count(broker: &Broker) -> i64 {
    broker.store.max_offset_in_queue(RETRY, 0)
}

#[test]
fn acked_messages_stay_gone_and_the_rest_come_back_once() {
    let f = fixture();
    let b = &f.broker;
    for i in 0..3 {
        put(b, 0, &format!("q0-{i}"));
    }
    put(b, 1, "q1-0");
    let first = pop(b, 1_000);
    assert_eq!(first.records.len(), 4);
    assert_eq!(first.rest, 0);
    let mut starts: Vec<&str> = first.start_info.split(';').collect();
    starts.sort();
    assert_eq!(starts, vec!["0 0 0", "0 1 0"]);
    assert!(
        first.msg_info.split(';').any(|s| s == "0 0 0,1,2"),
        "{}",
        first.msg_info
    );
    assert!(
        pop(b, 1_000).records.is_empty(),
        "the offset moved past popped messages"
    );

    ack(b, "T", 0, pop_ck(&first, false, 0, 0, 0), 0);
    ack(b, "T", 0, pop_ck(&first, false, 0, 0, 2), 2);
    ack(b, "T", 1, pop_ck(&first, false, 1, 0, 0), 0);
    b.revive_due(first.pop_time + 999);
    assert_eq!(
        retry_count(b),
        0,
        "nothing is due before the invisible time"
    );
    b.revive_due(first.pop_time + 1_000);
    assert_eq!(retry_count(b), 1, "only the un-acked message is revived");

    let second = pop(b, 1_000);
    assert_eq!(bodies(&second), vec![("q0-1".to_string(), 0, 0, 1)]);
    assert_eq!(second.start_info, "1 0 0");
    // The client acks with the topic it subscribed to; the retry marker names the retry topic.
    ack(b, "T", 0, pop_ck(&second, true, 0, 0, 0), 0);
    b.revive_due(i64::MAX);
    assert_eq!(retry_count(b), 1, "acked retry message not revived again");
    assert!(pop(b, 1_000).records.is_empty());
}

fn change_invisible(
    b: &Broker,
    p: &Popped,
    invisible_time: i64,
) -> ChangeInvisibleTimeResponseHeader {
    let header = ChangeInvisibleTimeRequestHeader {
        consumer_group: "G".into(),
        topic: "T".into(),
        queue_id: 0,
        extra_info: pop_ck(p, false, 0, 0, 0),
        offset: 0,
        invisible_time,
    };
    let req = RemotingCommand::new_request(
        RequestCode::ChangeMessageInvisibletime,
        header.to_ext_fields(),
    );
    let resp = b.change_invisible_time(&req).expect("changed");
    assert_eq!(resp.code, i32::from(ResponseCode::Success));
    ChangeInvisibleTimeResponseHeader::decode(&resp.ext_fields).expect("header")
}

#[test]
fn change_invisible_time_moves_the_redelivery() {
    let f = fixture();
    let b = &f.broker;
    put(b, 0, "m");
    let p = pop(b, 1_000);
    assert_eq!(p.records.len(), 1);
    let changed = change_invisible(b, &p, 60_000);
    assert_eq!(changed.invisible_time, 60_000);
    assert!(changed.pop_time >= p.pop_time);
    b.revive_due(p.pop_time + 1_000);
    assert_eq!(retry_count(b), 0, "the old invisible time no longer counts");
    b.revive_due(changed.pop_time + 60_000);
    assert_eq!(retry_count(b), 1);
}

#[test]
fn changing_an_acked_message_does_not_bring_it_back() {
    let f = fixture();
    let b = &f.broker;
    put(b, 0, "m");
    let p = pop(b, 1_000);
    ack(b, "T", 0, pop_ck(&p, false, 0, 0, 0), 0);
    change_invisible(b, &p, 1_000);
    b.revive_due(i64::MAX);
    assert_eq!(retry_count(b), 0);
}

fn pop_in_order(broker: &Broker, invisible_time: i64) -> Popped {
    let h = PopMessageRequestHeader {
        consumer_group: "G".into(),
        topic: "T".into(),
        queue_id: -1,
        max_msg_nums: 32,
        invisible_time,
        poll_time: 0,
        born_time: 0,
        init_mode: 0,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        order: Some(true),
        attempt_id: None,
    };
    let filter = broker.check_pop(&h).expect("orderly pop allowed");
    broker.pop_once(&h, &filter)
}

fn order_ack(broker: &Broker, p: &Popped, queue_id: i32, offset: i64) {
    let info = ExtraInfo {
        ck_start_offset: 0,
        pop_time: p.pop_time,
        invisible_time: 60_000,
        revive_qid: p.revive_qid,
        retry: false,
        broker_name: "b".into(),
        queue_id,
        msg_offset: Some(offset),
    };
    let h = AckMessageRequestHeader {
        consumer_group: "G".into(),
        topic: "T".into(),
        queue_id,
        extra_info: info.to_string(),
        offset,
    };
    let req = RemotingCommand::new_request(RequestCode::AckMessage, h.to_ext_fields());
    assert_eq!(broker.ack_message(&req).expect("acked").code, 0);
}

#[test]
fn an_orderly_pop_blocks_its_queue_until_every_message_is_acked() {
    let f = fixture();
    put(&f.broker, 0, "a");
    put(&f.broker, 0, "b");
    let first = pop_in_order(&f.broker, 60_000);
    assert_eq!(first.revive_qid, 999);
    assert_eq!(bodies(&first).len(), 2);
    // Blocked: nothing more from queue 0, even a new message.
    put(&f.broker, 0, "c");
    assert!(pop_in_order(&f.broker, 60_000).records.is_empty());
    order_ack(&f.broker, &first, 0, 0);
    assert!(pop_in_order(&f.broker, 60_000).records.is_empty());
    order_ack(&f.broker, &first, 0, 1);
    let next = pop_in_order(&f.broker, 60_000);
    let got: Vec<String> = bodies(&next).into_iter().map(|b| b.0).collect();
    assert_eq!(got, ["c"]);
}

#[test]
fn an_orderly_pop_past_its_invisible_time_hands_out_the_same_messages_again() {
    let f = fixture();
    put(&f.broker, 1, "a");
    let first = pop_in_order(&f.broker, 0);
    assert_eq!(bodies(&first).len(), 1);
    let again = pop_in_order(&f.broker, 60_000);
    assert_eq!(bodies(&again), bodies(&first));
    assert_eq!(again.order_info, "0 1 1");
}
