//! Starts the real `rmqd` binary and feeds it hostile or unusual input over TCP: it must answer with the
//! response codes a Java broker sends, or close only the offending connection, and keep serving.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand, SerializeType};
use rmq_codec::header::{CommandHeader, SendMessageRequestHeader};

mod common;

use common::start_rmqd;

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn roundtrip(stream: &mut TcpStream, cmd: &RemotingCommand) -> RemotingCommand {
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf);
    stream.write_all(&buf).unwrap();
    read_frame(stream).expect("a response")
}

fn read_frame(stream: &mut TcpStream) -> Option<RemotingCommand> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut frame).ok()?;
    Some(RemotingCommand::decode(Bytes::from(frame)).unwrap())
}

fn send_request(topic: &str, body: Vec<u8>) -> RemotingCommand {
    let mut ext = ExtFields::new();
    SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 1,
        flag: 0,
        properties: None,
        reconsume_times: None,
        unit_mode: false,
        batch: false,
        max_reconsume_times: None,
        broker_name: None,
    }
    .encode(&mut ext);
    let mut cmd = RemotingCommand::new_request(RequestCode::SendMessage, ext);
    cmd.body = Bytes::from(body);
    cmd
}

#[test]
fn unknown_code_oversized_message_and_garbage_frames() {
    let rmqd = start_rmqd("maxMessageSize=1024");
    let mut conn = connect(rmqd.broker_port);

    // An unknown request code, in both header serializations.
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let mut cmd = RemotingCommand::new_request(RequestCode::from(9999), ExtFields::new());
        cmd.opaque = 77;
        cmd.serialize_type = serialize_type;
        let resp = roundtrip(&mut conn, &cmd);
        assert_eq!(resp.code, i32::from(ResponseCode::RequestCodeNotSupported));
        assert_eq!(resp.opaque, 77);
        assert!(resp.is_response());
        assert_eq!(resp.serialize_type, serialize_type);
    }

    // A message over maxMessageSize: MESSAGE_ILLEGAL, with the extFields every send response carries.
    let resp = roundtrip(&mut conn, &send_request("BadInputTopic", vec![b'x'; 2048]));
    assert_eq!(resp.code, i32::from(ResponseCode::MessageIllegal));
    assert!(resp.ext_fields.contains_key("MSG_REGION"));
    assert!(resp.ext_fields.contains_key("TRACE_ON"));

    // A send that fits works on the same connection.
    let resp = roundtrip(&mut conn, &send_request("BadInputTopic", b"hello".to_vec()));
    assert_eq!(
        resp.code,
        i32::from(ResponseCode::Success),
        "{:?}",
        resp.remark
    );
    assert_eq!(resp.ext_fields["queueOffset"], "0");

    // An invalid topic name.
    let resp = roundtrip(&mut conn, &send_request("bad topic!", b"x".to_vec()));
    assert_ne!(resp.code, i32::from(ResponseCode::Success));

    // Garbage: a header length beyond the frame, then a frame over 16 MiB. Each closes its connection.
    for garbage in [
        vec![0, 0, 0, 8, 0, 0, 1, 0, 1, 2, 3, 4],
        vec![0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0],
    ] {
        let mut bad = connect(rmqd.broker_port);
        bad.write_all(&garbage).unwrap();
        assert!(
            read_frame(&mut bad).is_none(),
            "connection should be closed"
        );
    }

    // The first connection still works.
    let mut cmd = RemotingCommand::new_request(RequestCode::from(9999), ExtFields::new());
    cmd.opaque = 78;
    assert_eq!(roundtrip(&mut conn, &cmd).opaque, 78);
}

#[test]
fn oneway_requests_get_no_response() {
    let rmqd = start_rmqd("");
    let mut conn = connect(rmqd.broker_port);
    let mut oneway = RemotingCommand::new_request(RequestCode::from(9999), ExtFields::new());
    oneway.flag |= rmq_codec::command::RPC_ONEWAY;
    oneway.opaque = 1;
    let mut normal = RemotingCommand::new_request(RequestCode::from(9999), ExtFields::new());
    normal.opaque = 2;
    let mut buf = BytesMut::new();
    oneway.encode(&mut buf);
    normal.encode(&mut buf);
    conn.write_all(&buf).unwrap();
    let resp = read_frame(&mut conn).unwrap();
    assert_eq!(resp.opaque, 2, "only the two-way request is answered");
}
