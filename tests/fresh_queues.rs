//! Sends to queues that have no consume queue yet, against the real `rmqd` binary.
//!
//! Making a new queue's directory and file moves off the tokio worker (`block_in_place`, see
//! `src/broker/send.rs`), and so does a long wait for the append lock. These tests pin what must not change
//! with that: every send succeeds, each queue's offsets are 0, 1, 2, ... with no gap or duplicate, and the
//! sends of one connection are stored in the order they were written, even when pipelined.

use std::collections::HashMap;
use std::net::TcpStream;

use rmq_codec::command::RemotingCommand;

mod common;
#[path = "hostile/wire.rs"]
mod wire;

use common::start_rmqd;
use wire::{connect, read_frame, roundtrip, send_request, write_command};

/// Topics x queues x rounds on the pipelining connection: 480 sends, 160 of them to a fresh queue.
const PIPELINED_TOPICS: usize = 40;
/// Queues of a topic auto-created from TBW102 by `send_request` (its `defaultTopicQueueNums`).
const QUEUES: i32 = 4;
const ROUNDS: i64 = 3;
const CONNECTIONS: usize = 8;
const SHARED_TOPICS: usize = 10;
const SENDS_PER_QUEUE_PER_CONNECTION: i64 = 5;

fn queue_offset(resp: &RemotingCommand, what: &str) -> i64 {
    assert_eq!(resp.code, 0, "{what}: {:?}", resp.remark);
    resp.ext_fields
        .get("queueOffset")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no queueOffset in {:?}", resp.ext_fields))
}

#[test]
fn pipelined_sends_to_fresh_queues_keep_their_order() {
    let rmqd = start_rmqd("");
    let mut conn = connect(rmqd.broker_port);
    // Written without waiting for answers: round r of every queue must get offset r, which only holds if
    // the broker stores one connection's sends in the order it reads them.
    let mut sent = HashMap::new();
    let mut opaque = 0;
    for round in 0..ROUNDS {
        for topic in 0..PIPELINED_TOPICS {
            for queue in 0..QUEUES {
                opaque += 1;
                let topic_name = format!("FreshPipelined{topic}");
                let mut req = send_request(&topic_name, queue, format!("r{round}").as_bytes());
                req.opaque = opaque;
                write_command(&mut conn, &req);
                sent.insert(opaque, (topic_name, queue, round));
            }
        }
    }
    for _ in 0..sent.len() {
        let resp = read_frame(&mut conn).expect("a response for every send");
        let (topic, queue, round) = sent
            .remove(&resp.opaque)
            .unwrap_or_else(|| panic!("unknown or repeated opaque {}", resp.opaque));
        let what = format!("{topic}/{queue} round {round}");
        assert_eq!(queue_offset(&resp, &what), round, "{what}");
    }
}

/// One connection's sync sends to every shared queue; returns (queue, offset) in send order.
fn send_all(port: u16, conn_no: usize) -> Vec<((usize, i32), i64)> {
    let mut conn: TcpStream = connect(port);
    let mut offsets = Vec::new();
    for n in 0..SENDS_PER_QUEUE_PER_CONNECTION {
        for topic in 0..SHARED_TOPICS {
            for queue in 0..QUEUES {
                let body = format!("c{conn_no}-{n}");
                let req = send_request(&format!("FreshShared{topic}"), queue, body.as_bytes());
                let resp = roundtrip(&mut conn, &req);
                let what = format!("connection {conn_no} -> FreshShared{topic}/{queue}");
                offsets.push(((topic, queue), queue_offset(&resp, &what)));
            }
        }
    }
    offsets
}

#[test]
fn concurrent_connections_share_fresh_queues_without_gaps() {
    let rmqd = start_rmqd("");
    let port = rmqd.broker_port;
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|c| std::thread::spawn(move || send_all(port, c)))
        .collect();
    let mut per_queue: HashMap<(usize, i32), Vec<i64>> = HashMap::new();
    for thread in threads {
        let mut last: HashMap<(usize, i32), i64> = HashMap::new();
        for (queue, offset) in thread.join().expect("a sending thread panicked") {
            if let Some(previous) = last.insert(queue, offset) {
                assert!(
                    offset > previous,
                    "{queue:?}: {offset} after {previous} on one connection"
                );
            }
            per_queue.entry(queue).or_default().push(offset);
        }
    }
    assert_eq!(per_queue.len(), SHARED_TOPICS * QUEUES as usize);
    let expected: Vec<i64> = (0..CONNECTIONS as i64 * SENDS_PER_QUEUE_PER_CONNECTION).collect();
    for (queue, mut offsets) in per_queue {
        offsets.sort_unstable();
        assert_eq!(offsets, expected, "offsets of {queue:?}");
    }
}
