//! Raw frames over a blocking socket: what the hostile suites write and read, and the requests they send.
// Shared by tests/hostile.rs and tests/hostile_connections.rs, each using a part of it.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::pop::PopMessageRequestHeader;
use rmq_codec::header::{CommandHeader, PullMessageRequestHeader, SendMessageRequestHeader};
use rmq_codec::message::{peek_record, RecordPeek};

use super::common::Rmqd;

pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Connects through one of ten loopback addresses (rmqd listens on 0.0.0.0), so that thousands of
/// connections and their TIME_WAIT leftovers do not exhaust the ephemeral ports of a single 4-tuple family
/// (which made connect() take seconds each once ~20,000 were in use).
pub fn connect_spread(port: u16, n: usize) -> TcpStream {
    let ip = std::net::Ipv4Addr::new(127, 0, 0, 2 + (n % 10) as u8);
    let s = TcpStream::connect((ip, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

pub fn write_command(stream: &mut TcpStream, cmd: &RemotingCommand) {
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf);
    stream.write_all(&buf).unwrap();
}

pub fn read_frame(stream: &mut TcpStream) -> Option<RemotingCommand> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut frame).ok()?;
    Some(RemotingCommand::decode(Bytes::from(frame)).unwrap())
}

pub fn roundtrip(stream: &mut TcpStream, cmd: &RemotingCommand) -> RemotingCommand {
    write_command(stream, cmd);
    read_frame(stream).expect("a response")
}

/// `[total][type << 24 | headerLen][header][body]` with the lengths computed from the parts.
pub fn raw_frame(type_byte: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(&((u32::from(type_byte) << 24) | header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

/// True when the server closes the connection (EOF or reset) within `wait`, without answering.
pub fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
    }
}

pub fn send_request(topic: &str, queue_id: i32, body: &[u8]) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "HostilePG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        born_timestamp: 1,
        ..SendMessageRequestHeader::default()
    };
    let cmd = RemotingCommand::new_request(RequestCode::SendMessage, header.to_ext_fields());
    cmd.with_body(body.to_vec())
}

pub fn pull_header(topic: &str, queue_id: i32, offset: i64) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: "HostileCG".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        // Subscription in the request (0x4), no suspend: an empty queue answers at once.
        sys_flag: 0x4,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    }
}

pub fn pull_request(header: &PullMessageRequestHeader) -> RemotingCommand {
    RemotingCommand::new_request(RequestCode::PullMessage, header.to_ext_fields())
}

/// An hour: longer than any wait rmqd grants.
pub const HOUR_MS: i64 = 3_600_000;

/// A pull of an empty queue (queue 1 of `topic`, from offset 0) that may wait an hour.
pub fn parking_pull(topic: &str) -> RemotingCommand {
    let mut header = pull_header(topic, 1, 0);
    header.sys_flag |= 0x2;
    header.suspend_timeout_millis = HOUR_MS;
    pull_request(&header)
}

/// A pop of every queue of `topic` that may wait an hour.
pub fn parking_pop(topic: &str) -> RemotingCommand {
    let header = PopMessageRequestHeader {
        consumer_group: "HostilePopCG".into(),
        topic: topic.into(),
        queue_id: -1,
        max_msg_nums: 32,
        invisible_time: 60_000,
        poll_time: HOUR_MS,
        born_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
        ..PopMessageRequestHeader::default()
    };
    RemotingCommand::new_request(RequestCode::PopMessage, header.to_ext_fields())
}

/// A well-behaved client on a fresh connection: send one message and pull it back.
pub fn assert_well_behaved(rmqd: &Rmqd, topic: &str) {
    let mut conn = connect(rmqd.broker_port);
    let payload = format!("probe-{}", rand::random::<u64>());
    let sent = roundtrip(&mut conn, &send_request(topic, 0, payload.as_bytes()));
    assert_eq!(sent.code, 0, "send failed: {:?}", sent.remark);
    let offset: i64 = sent.ext_fields["queueOffset"].parse().unwrap();
    let pulled = roundtrip(&mut conn, &pull_request(&pull_header(topic, 0, offset)));
    assert_eq!(pulled.code, 0, "pull failed: {:?}", pulled.remark);
    let Ok(RecordPeek::Message(record)) = peek_record(&pulled.body) else {
        panic!("pull body is not a record");
    };
    assert_eq!(record.body, payload.as_bytes());
}
