//! Parked pulls and pops against a broker in this process, on paused time: a wait of minutes passes in
//! an instant, and nothing here depends on how fast the machine is.

use std::time::Duration;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{RemotingCommand, RPC_ONEWAY};
use rmq_codec::header::pop::PopMessageRequestHeader;
use rmq_codec::header::{CommandHeader, PullMessageRequestHeader};
use rmq_store::config::perm;
use tokio::sync::mpsc;

use crate::broker::test_support::{put_message, TempBroker};
use crate::broker::Broker;
use crate::config::BrokerConfig;
use crate::remoting::connection::now_ms;
use crate::remoting::{Answer, Connection, Outbound};

const SUSPEND: i32 = 0x2;
const SUBSCRIPTION: i32 = 0x4;

/// A broker with topic `T` (2 queues, empty) whose parked requests wait at most 120 s.
fn fixture(tune: impl FnOnce(&mut BrokerConfig)) -> TempBroker {
    let f = TempBroker::open_with(|config| {
        config.long_polling_max_time_ms = 120_000;
        tune(config);
    });
    f.broker.topics.ensure("T", 2, perm::READ | perm::WRITE);
    f
}

fn connection(id: u64) -> (Connection, mpsc::Receiver<Outbound>) {
    Connection::with_receiver(id)
}

/// A pull of `T` queue 0 from offset 0 that may wait `suspend_ms`.
fn pull_request(opaque: i32, suspend_ms: i64) -> RemotingCommand {
    let h = PullMessageRequestHeader {
        consumer_group: "g".into(),
        topic: "T".into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: SUSPEND | SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: None,
        max_msg_bytes: None,
    };
    let mut req = RemotingCommand::new_request(RequestCode::PullMessage, h.to_ext_fields());
    req.opaque = opaque;
    req
}

fn put(broker: &Broker, queue_id: i32) {
    put_message(broker, "T", queue_id, "m", None);
    broker.polling.message_arrived("T", queue_id);
}

/// Lets spawned tasks run without moving the paused clock.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

fn answered(rx: &mut mpsc::Receiver<Outbound>) -> Option<RemotingCommand> {
    match rx.try_recv() {
        Ok(Outbound::Command(cmd)) | Ok(Outbound::Records { cmd, .. }) => Some(cmd),
        Err(_) => None,
    }
}

fn parks(answer: Answer) {
    assert!(matches!(answer, Answer::Later), "the request parked");
}

#[tokio::test(start_paused = true)]
async fn a_parked_pull_is_answered_by_the_put_that_wakes_it() {
    let f = fixture(|_| {});
    let (conn, mut rx) = connection(1);
    parks(f.broker.pull(&conn, &pull_request(7, 15_000)));
    settle().await;
    assert!(answered(&mut rx).is_none());
    put(&f.broker, 1);
    settle().await;
    assert!(
        answered(&mut rx).is_none(),
        "another queue does not wake it"
    );
    put(&f.broker, 0);
    settle().await;
    let cmd = answered(&mut rx).expect("woken by the put");
    assert_eq!(cmd.code, i32::from(ResponseCode::Success));
    assert_eq!(cmd.opaque, 7);
    assert!(cmd.is_response());
    assert_eq!(f.broker.polling.parked(), 0);
    assert_eq!(
        f.broker.polling.watched_queues(),
        0,
        "the signal left with its last watcher"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_asking_an_hour_waits_the_bounded_time() {
    let f = fixture(|_| {});
    let (conn, mut rx) = connection(1);
    parks(f.broker.pull(&conn, &pull_request(7, 3_600_000)));
    tokio::time::sleep(Duration::from_secs(119)).await;
    settle().await;
    assert!(answered(&mut rx).is_none(), "still waiting at 119 s");
    tokio::time::sleep(Duration::from_secs(2)).await;
    settle().await;
    let cmd = answered(&mut rx).expect("answered at the 120 s bound");
    assert_eq!(cmd.code, i32::from(ResponseCode::PullNotFound));
    assert_eq!(f.broker.polling.parked(), 0);
}

#[tokio::test(start_paused = true)]
async fn closing_the_connection_frees_everything_parked_on_it_at_once() {
    let f = fixture(|_| {});
    let (conn, mut rx) = connection(1);
    for opaque in 0..50 {
        parks(f.broker.pull(&conn, &pull_request(opaque, 3_600_000)));
    }
    settle().await;
    assert_eq!(f.broker.polling.parked(), 50);
    assert_eq!(conn.parked(), 50);
    conn.close();
    settle().await;
    assert_eq!(f.broker.polling.parked(), 0, "no time passed, all gone");
    assert_eq!(conn.parked(), 0);
    assert_eq!(f.broker.polling.watched_queues(), 0);
    put(&f.broker, 0);
    settle().await;
    assert!(
        answered(&mut rx).is_none(),
        "nothing is sent on a closed connection"
    );
}

#[tokio::test(start_paused = true)]
async fn a_oneway_pull_never_parks_and_is_never_answered() {
    let f = fixture(|_| {});
    let (conn, _rx) = connection(1);
    let mut req = pull_request(7, 3_600_000);
    req.flag |= RPC_ONEWAY;
    // The handler's answer is dropped by the connection for a oneway request; nothing waits.
    assert!(matches!(f.broker.pull(&conn, &req), Answer::Now(_)));
    settle().await;
    assert_eq!(f.broker.polling.parked(), 0);
}

#[tokio::test(start_paused = true)]
async fn past_the_per_connection_cap_a_pull_is_answered_at_once() {
    let f = fixture(|c| c.max_parked_requests_per_connection = 2);
    let (conn, _rx) = connection(1);
    parks(f.broker.pull(&conn, &pull_request(1, 15_000)));
    parks(f.broker.pull(&conn, &pull_request(2, 15_000)));
    let Answer::Now(out) = f.broker.pull(&conn, &pull_request(3, 15_000)) else {
        panic!("the third pull parked");
    };
    let Outbound::Command(cmd) = out else {
        panic!("records for an empty queue");
    };
    assert_eq!(cmd.code, i32::from(ResponseCode::PullNotFound));
    // Another connection still has its own places.
    let (other, _other_rx) = connection(2);
    parks(f.broker.pull(&other, &pull_request(4, 15_000)));
}

#[tokio::test(start_paused = true)]
async fn past_the_broker_cap_a_pull_is_answered_at_once() {
    let f = fixture(|c| c.max_parked_requests = 1);
    let (a, _rx_a) = connection(1);
    let (b, _rx_b) = connection(2);
    parks(f.broker.pull(&a, &pull_request(1, 15_000)));
    assert!(matches!(
        f.broker.pull(&b, &pull_request(2, 15_000)),
        Answer::Now(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn draining_answers_every_parked_request_now() {
    let f = fixture(|_| {});
    let (conn, mut rx) = connection(1);
    parks(f.broker.pull(&conn, &pull_request(7, 15_000)));
    settle().await;
    f.broker.polling.drain();
    settle().await;
    let cmd = answered(&mut rx).expect("answered by the drain");
    assert_eq!(cmd.code, i32::from(ResponseCode::PullNotFound));
    assert_eq!(f.broker.polling.parked(), 0);
    assert!(
        matches!(
            f.broker.pull(&conn, &pull_request(8, 15_000)),
            Answer::Now(_)
        ),
        "nothing parks once draining"
    );
}

fn pop_request(opaque: i32, poll_ms: i64) -> RemotingCommand {
    let h = PopMessageRequestHeader {
        consumer_group: "g".into(),
        topic: "T".into(),
        queue_id: -1,
        max_msg_nums: 8,
        invisible_time: 30_000,
        poll_time: poll_ms,
        born_time: now_ms() as i64,
        init_mode: 0,
        ..PopMessageRequestHeader::default()
    };
    let mut req = RemotingCommand::new_request(RequestCode::PopMessage, h.to_ext_fields());
    req.opaque = opaque;
    req
}

#[tokio::test(start_paused = true)]
async fn pop_shares_the_mechanism_and_its_bounds() {
    let f = fixture(|_| {});
    let (conn, mut rx) = connection(1);
    parks(
        f.broker
            .pop_message(&conn, &pop_request(1, 3_600_000))
            .unwrap(),
    );
    settle().await;
    put(&f.broker, 1);
    settle().await;
    let cmd = answered(&mut rx).expect("woken by a put on any of its queues");
    assert_eq!(cmd.code, i32::from(ResponseCode::Success));
    // Closing frees a parked pop at once, too.
    parks(
        f.broker
            .pop_message(&conn, &pop_request(2, 3_600_000))
            .unwrap(),
    );
    settle().await;
    assert_eq!(f.broker.polling.parked(), 1);
    conn.close();
    settle().await;
    assert_eq!(f.broker.polling.parked(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_pop_already_past_its_poll_time_is_refused_as_java_does() {
    let f = fixture(|_| {});
    let (conn, _rx) = connection(1);
    let mut req = pop_request(1, 1_000);
    let mut h = PopMessageRequestHeader::decode(&req.ext_fields).unwrap();
    h.born_time -= 10_000;
    req.ext_fields = h.to_ext_fields();
    let err = f.broker.pop_message(&conn, &req).err().expect("refused");
    let resp = err.into_response();
    assert_eq!(resp.code, i32::from(ResponseCode::PollingTimeout));
    assert!(resp.remark.unwrap().contains("timeout too much"));
}

#[tokio::test(start_paused = true)]
async fn a_pop_past_the_cap_gets_polling_full() {
    let f = fixture(|c| c.max_parked_requests_per_connection = 1);
    let (conn, _rx) = connection(1);
    parks(
        f.broker
            .pop_message(&conn, &pop_request(1, 15_000))
            .unwrap(),
    );
    let Answer::Now(Outbound::Command(cmd)) = f
        .broker
        .pop_message(&conn, &pop_request(2, 15_000))
        .unwrap()
    else {
        panic!("the second pop parked");
    };
    assert_eq!(cmd.code, i32::from(ResponseCode::PollingFull));
}

#[tokio::test(start_paused = true)]
async fn a_parked_pull_counts_in_the_rpc_latency_as_long_polling() {
    let f = fixture(|c| c.metrics_exporter_type = crate::metrics::ExporterType::Prom);
    let (conn, mut rx) = connection(1);
    parks(f.broker.pull(&conn, &pull_request(7, 15_000)));
    tokio::time::sleep(Duration::from_secs(16)).await;
    settle().await;
    assert!(answered(&mut rx).is_some());
    let rpc = f.broker.metrics.rpc();
    assert_eq!(
        rpc.len(),
        1,
        "the park itself is not recorded, only its answer"
    );
    let (key, histogram) = &rpc[0];
    assert!(key.long_polling);
    assert_eq!(key.response_code, i32::from(ResponseCode::PullNotFound));
    assert_eq!(histogram.count(), 1);
    assert!(
        histogram.sum >= 15_000,
        "waited the suspend time: {}",
        histogram.sum
    );
}
