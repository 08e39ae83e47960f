//! Replication between two rmqd brokers in-process over loopback: the slave's commit log equals the
//! master's byte for byte, and SYNC_MASTER sends wait for the slave (`crate::ha`, `send_ack.rs`).

use std::time::Duration;

use bytes::Bytes;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::SendMessageRequestHeader;
use rmq_store::config::perm;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::test_support::{put_message, TempBroker};
use super::Broker;
use crate::ha;
use crate::remoting::{Answer, Connection, Outbound};

/// A master with topic `T` (4 queues) already there, so a send does not wait for a registration.
fn master(role: &str, slave_timeout_ms: u64) -> TempBroker {
    let m = TempBroker::open_with(|c| {
        c.broker_role = role.into();
        c.ha.slave_timeout = Duration::from_millis(slave_timeout_ms);
    });
    m.broker.topics.ensure("T", 4, perm::READ | perm::WRITE);
    m
}

fn slave() -> TempBroker {
    TempBroker::open_with(|c| {
        c.broker_role = "SLAVE".into();
        c.broker_id = 1;
        c.store.slave = true;
    })
}

/// Serves `master`'s HA listener on 127.0.0.1:0; returns its address.
async fn serve_ha(master: &Broker, stop: &CancellationToken) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let state = master.ha_master.clone().expect("a master has HA state");
    tokio::spawn(ha::master::serve(listener, state, stop.clone()));
    addr
}

fn follow(slave: &Broker, addr: &str, stop: &CancellationToken) {
    let (_, follow) = tokio::sync::watch::channel(Some(addr.to_string()));
    let settings = ha::HaSettings {
        reconnect_interval: Duration::from_millis(50),
        ..slave.config.ha.clone()
    };
    tokio::spawn(ha::slave::run(
        follow,
        ha::store_sink(&slave.store),
        settings,
        std::sync::Arc::new(|_: &str, _: i32| {}),
        slave.ha_client.clone(),
        stop.clone(),
    ));
}

/// Waits until the slave's commit log ends where the master's does (20 s bound against a hang).
async fn caught_up(master: &Broker, slave: &Broker) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while slave.store.max_commit_log_offset() != master.store.max_commit_log_offset() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slave does not catch up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn commit_log(broker: &Broker) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = broker.store.commit_log_chunk(out.len() as u64, 1 << 20) {
        out.extend_from_slice(&chunk);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_broker_holds_the_master_commit_log_byte_for_byte() {
    let m = master("ASYNC_MASTER", 3000);
    let s = slave();
    let stop = CancellationToken::new();
    let addr = serve_ha(&m.broker, &stop).await;
    follow(&s.broker, &addr, &stop);
    // 8 KiB bodies across two queues: past the first 1 MiB commit-log file, so a transfer meets a file end.
    for i in 0..160 {
        put_message(&m.broker, "T", i % 2, vec![i as u8; 8192], Some("tag"));
    }
    caught_up(&m.broker, &s.broker).await;
    let (ml, sl) = (commit_log(&m.broker), commit_log(&s.broker));
    assert!(ml.len() > 1 << 20);
    assert!(ml == sl, "the commit logs differ");
    for q in 0..2 {
        assert_eq!(
            s.broker.store.max_offset_in_queue("T", q),
            m.broker.store.max_offset_in_queue("T", q)
        );
    }
    let info = m.broker.ha_master.as_ref().unwrap().connections();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].ack(), m.broker.store.max_commit_log_offset() as u64);
    let status = m.broker.ha_status().unwrap().body;
    let status = std::str::from_utf8(&status).unwrap();
    let end = m.broker.store.max_commit_log_offset();
    let expected = format!(
        r#""haConnectionInfo":[{{"addr":"{}","diff":0,"inSync":true,"slaveAckOffset":{end},"#,
        info[0].addr
    );
    assert!(status.contains(&expected), "{status}");
    assert!(
        status.contains(r#""inSyncSlaveNums":1,"master":true"#),
        "{status}"
    );
    let slave_status = s.broker.ha_status().unwrap().body;
    let slave_status = std::str::from_utf8(&slave_status).unwrap();
    assert!(
        slave_status.contains(&format!(r#""masterAddr":"{addr}""#)),
        "{slave_status}"
    );
    assert!(slave_status.contains(r#""master":false"#), "{slave_status}");
    stop.cancel();
}

fn send_request(body: &str) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: "T".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 1,
        flag: 0,
        properties: Some(String::new()),
        reconsume_times: Some(0),
        unit_mode: false,
        batch: false,
        max_reconsume_times: None,
        broker_name: None,
    };
    let mut ext = ExtFields::new();
    header.encode_v2(&mut ext);
    let mut req = RemotingCommand::new_request(RequestCode::SendMessageV2, ext)
        .with_body(Bytes::from(body.to_string()));
    req.opaque = 7;
    req
}

/// The code of the send's answer, now or from the responder.
async fn send(broker: &Broker, body: &str) -> i32 {
    let (conn, mut rx) = Connection::with_receiver(1);
    match broker.dispatch(&conn, &send_request(body)) {
        Answer::Now(Outbound::Command(resp)) => resp.code,
        Answer::Later => match rx.recv().await {
            Some(Outbound::Command(resp)) => resp.code,
            _ => panic!("no late answer"),
        },
        _ => panic!("a send is answered"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_answers_slave_not_available_without_a_slave() {
    let m = master("SYNC_MASTER", 3000);
    assert_eq!(
        send(&m.broker, "m").await,
        i32::from(ResponseCode::SlaveNotAvailable)
    );
    let asynchronous = master("ASYNC_MASTER", 3000);
    assert_eq!(
        send(&asynchronous.broker, "m").await,
        i32::from(ResponseCode::Success)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_answers_once_the_slave_acked() {
    let m = master("SYNC_MASTER", 30_000);
    let s = slave();
    let stop = CancellationToken::new();
    let addr = serve_ha(&m.broker, &stop).await;
    follow(&s.broker, &addr, &stop);
    while m.broker.ha_master.as_ref().unwrap().connection_count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(send(&m.broker, "m").await, i32::from(ResponseCode::Success));
    let acked = m.broker.ha_master.as_ref().unwrap().push_to_slave_max();
    assert_eq!(acked, m.broker.store.max_commit_log_offset() as u64);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_answers_flush_slave_timeout_when_the_slave_never_acks() {
    let m = master("SYNC_MASTER", 200);
    let stop = CancellationToken::new();
    let addr = serve_ha(&m.broker, &stop).await;
    // A slave that reports offset 0 once and then never again.
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    silent.write_all(&[0; 8]).await.unwrap();
    while m.broker.ha_master.as_ref().unwrap().connection_count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        send(&m.broker, "m").await,
        i32::from(ResponseCode::FlushSlaveTimeout)
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_and_sync_master_answer_once_both_are_done() {
    let flushing = |c: &mut crate::config::BrokerConfig| {
        c.broker_role = "SYNC_MASTER".into();
        c.store.flush_disk_type = rmq_store::message_store::FlushDiskType::Sync;
    };
    // No slave: the flush completes, then SLAVE_NOT_AVAILABLE wins.
    let alone = TempBroker::open_with(flushing);
    alone.broker.topics.ensure("T", 4, perm::READ | perm::WRITE);
    assert_eq!(
        send(&alone.broker, "m").await,
        i32::from(ResponseCode::SlaveNotAvailable)
    );
    // With a slave: flushed and acked.
    let m = TempBroker::open_with(flushing);
    m.broker.topics.ensure("T", 4, perm::READ | perm::WRITE);
    let s = slave();
    let stop = CancellationToken::new();
    let addr = serve_ha(&m.broker, &stop).await;
    follow(&s.broker, &addr, &stop);
    while m.broker.ha_master.as_ref().unwrap().connection_count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(send(&m.broker, "m").await, i32::from(ResponseCode::Success));
    assert!(
        m.broker.store.flushed_commit_log_offset() >= m.broker.store.max_commit_log_offset(),
        "answered after the flush"
    );
    stop.cancel();
}
