//! Hostile and broken clients against the real `rmqd` binary over TCP (issue 6).
//!
//! Every case checks the same four things: the offending connection is answered with the code a Java broker
//! sends or is closed, the process stays up, its memory (VmRSS of the child) stays bounded, and a well-behaved
//! client on another connection can still send and pull.
//!
//! Connection-level abuse (churn, a client that never reads, 10,000 idle connections) is in
//! `hostile_connections.rs`.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand, SerializeType, MAX_FRAME_LENGTH};
use rmq_codec::header::CommandHeader;

mod common;
#[path = "hostile/procfs.rs"]
mod procfs;
#[path = "hostile/wire.rs"]
mod wire;

use common::{start_rmqd, Rmqd};
use procfs::{peak_rss_kib, rmqd_pid, rss_kib};
use wire::{
    assert_well_behaved, closed_within, connect, pull_header, pull_request, raw_frame, read_frame,
    roundtrip, send_request, write_command,
};

const SYSTEM_ERROR: i32 = 1;

/// Sends `bytes` on a fresh connection and asserts that the server closes it without a response.
fn assert_closes(rmqd: &Rmqd, what: &str, bytes: &[u8]) {
    assert_closes_port(rmqd.broker_port, what, bytes);
}

#[test]
fn malformed_frames_close_only_their_connection() {
    let rmqd = start_rmqd("");
    let pid = rmqd_pid(&rmqd);
    assert_well_behaved(&rmqd, "HostileFrames");
    let rss_before = rss_kib(pid);
    let json_header = br#"{"code":9999,"opaque":1}"#;

    // A huge prefix (2 GiB - 1), a "negative" one (top bit set) and one just over 16 MiB are refused before
    // anything is buffered: the megabyte sent after each must not be read into memory.
    let too_long = (MAX_FRAME_LENGTH - 3) as u32;
    for (what, prefix) in [
        ("huge length", 0x7FFF_FFFFu32),
        ("negative length", 0x8000_0000),
        ("length -1", u32::MAX),
        ("16 MiB + 1 frame", too_long),
    ] {
        let mut bytes = prefix.to_be_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 1 << 20));
        assert_closes(&rmqd, what, &bytes);
    }
    // A zero-length frame and frames shorter than the header-length word.
    assert_closes(&rmqd, "empty frame", &[0, 0, 0, 0]);
    assert_closes(&rmqd, "3-byte frame", &[0, 0, 0, 3, 0, 0, 0]);
    // A header length beyond the frame, in both serializations.
    for type_byte in [0u8, 1] {
        let mut frame = raw_frame(type_byte, json_header, b"");
        frame[7] = frame[7].wrapping_add(10);
        assert_closes(&rmqd, "header length beyond the frame", &frame);
    }
    // Unknown serialization types. Java's decoder returns null and drops the frame; we close instead.
    for type_byte in [2u8, 0x7F, 0xFF] {
        assert_closes(
            &rmqd,
            "unknown serialize type",
            &raw_frame(type_byte, json_header, b""),
        );
    }
    // Headers that do not parse close the connection, as Java's NettyDecoder does.
    for header in [
        &b"{\"code\":"[..],
        b"[1,2]",
        b"\xff\xfe\xfd",
        b"{\"code\":\"abc\"}",
        b"",
    ] {
        assert_closes(&rmqd, "invalid JSON header", &raw_frame(0, header, b""));
    }
    // A ROCKETMQ header shorter than its fixed part, and one whose remark length runs past the header.
    assert_closes(
        &rmqd,
        "short binary header",
        &raw_frame(1, &[0, 10, 0], b""),
    );
    let mut binary = vec![0x27, 0x0F, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
    binary.extend_from_slice(&1000i32.to_be_bytes());
    binary.extend_from_slice(&[0; 8]);
    assert_closes(
        &rmqd,
        "binary remark past the header",
        &raw_frame(1, &binary, b""),
    );

    assert_well_behaved(&rmqd, "HostileFrames");
    let rss_after = rss_kib(pid);
    eprintln!("malformed frames: VmRSS {rss_before} KiB -> {rss_after} KiB");
    assert!(
        rss_after < rss_before + 32 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
}

#[test]
fn truncated_frames_and_bad_utf8() {
    let rmqd = start_rmqd("");
    let json_header = br#"{"code":9999,"opaque":1}"#;
    // Truncated frames: the peer closes mid-frame, or stays idle mid-frame (no answer, nothing breaks).
    let mut truncated = raw_frame(0, json_header, b"body");
    truncated.truncate(truncated.len() - 3);
    let mut half_closed = connect(rmqd.broker_port);
    half_closed.write_all(&truncated).unwrap();
    drop(half_closed);
    let mut idle = connect(rmqd.broker_port);
    idle.write_all(&truncated).unwrap();
    idle.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let waited = idle.read(&mut byte);
    assert!(
        matches!(&waited, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a partial frame gets no answer: {waited:?}"
    );
    assert_well_behaved(&rmqd, "HostileFrames");
    // The idle connection still completes its frame and gets the answer for it.
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    idle.write_all(b"ody").unwrap();
    let answer = read_frame(&mut idle).expect("the completed frame is answered");
    assert_eq!(
        answer.code,
        i32::from(ResponseCode::RequestCodeNotSupported)
    );

    // Invalid UTF-8 inside a JSON string is replaced, as Java's `new String(bytes, UTF_8)` does.
    let mut conn = connect(rmqd.broker_port);
    conn.write_all(&raw_frame(
        0,
        b"{\"code\":9999,\"opaque\":5,\"remark\":\"\xff\xc3\"}",
        b"",
    ))
    .unwrap();
    let answer = read_frame(&mut conn).expect("an answer");
    assert_eq!(
        (answer.code, answer.opaque),
        (i32::from(ResponseCode::RequestCodeNotSupported), 5)
    );
    assert_well_behaved(&rmqd, "HostileFrames");
}

/// Each case: (what, ext field overrides on a valid pull header, expected code).
fn pull_with(overrides: &[(&str, &str)], serialize_type: SerializeType) -> RemotingCommand {
    let mut ext: ExtFields = pull_header("HostileTypes", 0, 0).to_ext_fields();
    for (key, value) in overrides {
        ext.insert((*key).to_string(), (*value).to_string());
    }
    let mut cmd = RemotingCommand::new_request(RequestCode::PullMessage, ext);
    cmd.serialize_type = serialize_type;
    cmd.opaque = rand::random::<i32>();
    cmd
}

#[test]
fn wrong_typed_header_fields_answer_system_error() {
    let rmqd = start_rmqd("");
    assert_well_behaved(&rmqd, "HostileTypes");
    let mut conn = connect(rmqd.broker_port);
    // Java's decodeCommandCustomHeader throws (NumberFormatException or RemotingCommandException) and
    // NettyRemotingAbstract.processRequestCommand answers SYSTEM_ERROR with the exception text.
    let system_error = [
        vec![("queueId", "abc")],
        vec![("queueId", "")],
        vec![("queueOffset", "1e3")],
        vec![("maxMsgNums", "99999999999")],
        vec![("sysFlag", "0x4")],
    ];
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        for overrides in &system_error {
            let cmd = pull_with(overrides, serialize_type);
            let answer = roundtrip(&mut conn, &cmd);
            assert_eq!(
                answer.code, SYSTEM_ERROR,
                "{overrides:?}: {:?}",
                answer.remark
            );
            assert_eq!(answer.opaque, cmd.opaque);
            assert!(
                answer.remark.is_some(),
                "{overrides:?}: Java sends the reason"
            );
        }
        // Numbers outside the topic's read queues fail Java's own "queueId[..] is illegal" check: SYSTEM_ERROR
        // in 4.9.8, INVALID_PARAMETER (29) in 5.x, which rmqd follows.
        for queue_id in ["-1", "2147483647", " 4 "] {
            let answer = roundtrip(
                &mut conn,
                &pull_with(&[("queueId", queue_id)], serialize_type),
            );
            assert_eq!(
                answer.code,
                i32::from(ResponseCode::InvalidParameter),
                "{queue_id}"
            );
            let remark = answer.remark.unwrap_or_default();
            assert!(
                remark.starts_with(&format!("queueId[{}] is illegal", queue_id.trim())),
                "{remark}"
            );
        }
        // A missing required field is a decode failure too.
        let mut cmd = pull_with(&[], serialize_type);
        cmd.ext_fields.remove("queueOffset");
        assert_eq!(roundtrip(&mut conn, &cmd).code, SYSTEM_ERROR);
        // A huge but valid maxMsgNums is served (capped by the broker), not an error.
        let answer = roundtrip(
            &mut conn,
            &pull_with(&[("maxMsgNums", "2147483647")], serialize_type),
        );
        assert_eq!(answer.code, 0, "{:?}", answer.remark);
    }
    // The send path: a queueId that is not a number.
    let mut send = send_request("HostileTypes", 0, b"x");
    send.ext_fields.insert("queueId".into(), "abc".into());
    assert_eq!(roundtrip(&mut conn, &send).code, SYSTEM_ERROR);
    assert_well_behaved(&rmqd, "HostileTypes");
}

/// rmqd's header limit (`remoting::frame::MAX_HEADER_BYTES`): longer headers close the connection.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Frames at the 16 MiB limit are legal; what they cost to decode must stay a small multiple of their size.
#[test]
fn maximum_size_frames_cost_a_bounded_amount() {
    // Headers just under the 1 MiB limit (decoding costs ~25 bytes per header byte); the body case uses the
    // whole 16 MiB.
    let budget = MAX_HEADER_BYTES;
    // A JSON header of ~90,000 tiny extFields entries.
    let mut json = String::from("{\"code\":9999,\"opaque\":3,\"extFields\":{");
    let mut i = 0u32;
    while json.len() + 32 < budget {
        json.push_str(&format!("\"{i:x}\":\"\","));
        i += 1;
    }
    json.push_str("\"end\":\"\"}}");
    // A ROCKETMQ header whose map section holds ~95,000 distinct keys.
    let mut binary = vec![0x27, 0x0F, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut map = Vec::new();
    let mut k = 0u32;
    while map.len() + 32 < budget - binary.len() {
        map.extend_from_slice(&4u16.to_be_bytes());
        map.extend_from_slice(&k.to_be_bytes());
        map.extend_from_slice(&1u32.to_be_bytes());
        map.push(b'v');
        k += 1;
    }
    binary.extend_from_slice(&(map.len() as u32).to_be_bytes());
    binary.extend_from_slice(&map);
    let big_body = vec![b'b'; MAX_FRAME_LENGTH - 4 - 4 - 64];
    let frames = [
        (
            "JSON header with many fields",
            raw_frame(0, json.as_bytes(), b""),
        ),
        (
            "ROCKETMQ header with many fields",
            raw_frame(1, &binary, b""),
        ),
        (
            "16 MiB body",
            raw_frame(0, br#"{"code":9999,"opaque":3}"#, &big_body),
        ),
    ];
    // A fresh process per frame, so that each peak is that frame's own.
    for (what, frame) in frames {
        let rmqd = start_rmqd("");
        let pid = rmqd_pid(&rmqd);
        assert_well_behaved(&rmqd, "HostileMax");
        let peak_before = peak_rss_kib(pid);
        let started = Instant::now();
        let mut conn = connect(rmqd.broker_port);
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        conn.write_all(&frame).unwrap();
        let answer = read_frame(&mut conn).expect("an answer");
        assert_eq!(
            answer.code,
            i32::from(ResponseCode::RequestCodeNotSupported),
            "{what}"
        );
        assert_eq!(answer.opaque, 3, "{what}");
        let peak = peak_rss_kib(pid);
        eprintln!(
            "{what}: {} KiB frame answered in {:?}; VmHWM {peak_before} -> {peak} KiB",
            frame.len() / 1024,
            started.elapsed()
        );
        // Decoding builds a map of every field, as Java's fastjson does: ~25 bytes of RSS per header byte,
        // so the 1 MiB header limit keeps one decode to a few tens of MiB.
        assert!(
            peak < peak_before + 64 * 1024,
            "{what}: peak RSS grew by over 64 MiB"
        );
        assert_well_behaved(&rmqd, "HostileMax");
    }
}

/// A header over the limit closes the connection as soon as its length word arrives, in both serializations
/// and on both roles, before any of it is read or decoded.
#[test]
fn oversize_headers_close_the_connection() {
    let rmqd = start_rmqd("");
    let namesrv_port: u16 = rmqd.namesrv.rsplit(':').next().unwrap().parse().unwrap();
    for port in [rmqd.broker_port, namesrv_port] {
        for type_byte in [0u32, 1] {
            for header_len in [MAX_HEADER_BYTES + 1, (1 << 24) - 1] {
                let frame_len = (4 + header_len + 100) as u32;
                let mut prefix = frame_len.to_be_bytes().to_vec();
                prefix.extend_from_slice(&((type_byte << 24) | header_len as u32).to_be_bytes());
                assert_closes_port(port, &format!("{header_len}-byte header"), &prefix);
            }
        }
    }
    assert_well_behaved(&rmqd, "HostileHeaders");
}

/// Sends `bytes` on a fresh connection to `port` and asserts that the server closes it without a response.
fn assert_closes_port(port: u16, what: &str, bytes: &[u8]) {
    let mut bad = connect(port);
    // The server may close mid-write; that is the expected outcome, not a test failure.
    let _ = bad.write_all(bytes);
    assert!(
        closed_within(&mut bad, Duration::from_secs(5)),
        "{what}: connection should be closed without a response"
    );
}

/// Bodies that do not parse, for every request whose body the broker or name server decodes.
#[test]
fn broken_bodies_are_answered() {
    let rmqd = start_rmqd("");
    let pid = rmqd_pid(&rmqd);
    assert_well_behaved(&rmqd, "HostileBodies");
    let rss_before = rss_kib(pid);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let bodies: [&[u8]; 6] = [
        b"{",
        b"\xff\xfe{}",
        b"null",
        b"[1,2]",
        b"{\"mqSet\":7}",
        deep.as_bytes(),
    ];
    let namesrv_port: u16 = rmqd.namesrv.rsplit(':').next().unwrap().parse().unwrap();
    let cases = [
        (rmqd.broker_port, RequestCode::HeartBeat),
        (rmqd.broker_port, RequestCode::LockBatchMq),
        (rmqd.broker_port, RequestCode::UnlockBatchMq),
        (rmqd.broker_port, RequestCode::CheckClientConfig),
        (rmqd.broker_port, RequestCode::QueryAssignment),
        (rmqd.broker_port, RequestCode::SendBatchMessage),
        (namesrv_port, RequestCode::RegisterBroker),
    ];
    let mut seen = Vec::new();
    for (port, code) in cases {
        let mut conn = connect(port);
        for body in bodies {
            let mut ext = ExtFields::new();
            if code == RequestCode::SendBatchMessage {
                ext = send_request("HostileBodies", 0, b"").ext_fields;
            }
            if code == RequestCode::RegisterBroker {
                for (k, v) in [
                    ("brokerName", "b"),
                    ("brokerAddr", "127.0.0.1:1"),
                    ("clusterName", "c"),
                    ("haServerAddr", "127.0.0.1:2"),
                    ("brokerId", "0"),
                ] {
                    ext.insert(k.into(), v.into());
                }
            }
            let mut cmd = RemotingCommand::new_request(code, ext).with_body(body.to_vec());
            cmd.opaque = rand::random::<i32>();
            let answer = roundtrip(&mut conn, &cmd);
            assert_eq!(answer.opaque, cmd.opaque);
            seen.push((
                code,
                String::from_utf8_lossy(&body[..body.len().min(12)]).into_owned(),
                answer.code,
            ));
        }
    }
    for (code, body, answer) in &seen {
        eprintln!("body {code:?} {body:?} -> {answer}");
    }
    // Bodies that are not JSON at all: Java's fastjson throws and the remoting layer answers SYSTEM_ERROR.
    for (code, body, answer) in &seen {
        if body == "{" && *code != RequestCode::SendBatchMessage {
            assert_eq!(*answer, SYSTEM_ERROR, "{code:?} with body {body:?}");
        }
    }
    // JSON of the wrong shape, answered as Java 4.9.7 and 5.3.3 answer it: fastjson throws for a non-object
    // (SYSTEM_ERROR); `null` makes heartBeat and registerBroker throw a NullPointerException (SYSTEM_ERROR)
    // but passes checkClientConfig's null check; unknown fields are ignored (SUCCESS).
    let wrong_shapes = [
        (RequestCode::HeartBeat, "null", SYSTEM_ERROR),
        (RequestCode::HeartBeat, "[1,2]", SYSTEM_ERROR),
        (RequestCode::HeartBeat, r#"{"mqSet":7}"#, 0),
        (RequestCode::CheckClientConfig, "null", 0),
        (RequestCode::CheckClientConfig, "[1,2]", SYSTEM_ERROR),
        (RequestCode::CheckClientConfig, r#"{"mqSet":7}"#, 0),
        (RequestCode::RegisterBroker, "null", SYSTEM_ERROR),
        (RequestCode::RegisterBroker, "[1,2]", SYSTEM_ERROR),
        (RequestCode::RegisterBroker, r#"{"mqSet":7}"#, 0),
    ];
    for (code, body, expected) in wrong_shapes {
        let answer = seen
            .iter()
            .find(|(c, b, _)| *c == code && b == body)
            .map(|(_, _, answer)| *answer);
        assert_eq!(answer, Some(expected), "{code:?} with body {body}");
    }
    assert_well_behaved(&rmqd, "HostileBodies");
    let rss_after = rss_kib(pid);
    eprintln!("broken bodies: VmRSS {rss_before} -> {rss_after} KiB");
    assert!(
        rss_after < rss_before + 32 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
}

/// Selectors nested or chained 100,000 deep (parentheses, NOT, unary minus, AND chains, IS NULL chains) are
/// refused as parse failures: rmqd's parser bounds nesting and operator count, since a stack overflow aborts a
/// Rust process (Java's parser throws StackOverflowError, which `processRequestCommand` catches).
#[test]
fn deeply_nested_sql92_selectors() {
    let rmqd = start_rmqd("enablePropertyFilter=true");
    assert_well_behaved(&rmqd, "HostileSql");
    let mut conn = connect(rmqd.broker_port);
    let depth = 100_000;
    let selectors = [
        format!("{}a = 1{}", "(".repeat(depth), ")".repeat(depth)),
        format!("{}a = 1", "NOT ".repeat(depth)),
        format!("a = {}1", "-".repeat(depth)),
        format!("a = 1{}", " AND a = 1".repeat(depth)),
        format!("a{}", " IS NULL".repeat(depth)),
    ];
    for selector in selectors {
        let mut header = pull_header("HostileSql", 0, 0);
        header.subscription = Some(selector.clone());
        header.expression_type = Some("SQL92".into());
        write_command(&mut conn, &pull_request(&header));
        let answer = read_frame(&mut conn).unwrap_or_else(|| {
            panic!(
                "no answer to a {}-byte selector {:?}...: rmqd died",
                selector.len(),
                &selector[..12]
            )
        });
        // Java: SUBSCRIPTION_PARSE_FAILED (23) or SYSTEM_ERROR after its StackOverflowError.
        assert_eq!(answer.code, 23, "selector {:?}...", &selector[..12]);
    }
    assert_well_behaved(&rmqd, "HostileSql");
}

/// A client naming ever new topics and groups (auto-creation on) stops growing the broker at
/// `autoCreateTopicLimit` / `autoCreateSubscriptionGroupLimit`: further sends are answered TOPIC_NOT_EXIST
/// (17) and further pulls SUBSCRIPTION_GROUP_NOT_EXIST (26), as Java answers a topic or group it cannot
/// create, while existing names keep working. UPDATE_CONSUMER_OFFSET for names the broker does not know is
/// refused as Java 5.3.3 refuses it.
#[test]
fn names_without_end_stop_at_the_auto_create_limits() {
    let rmqd = start_rmqd("autoCreateTopicLimit=30\nautoCreateSubscriptionGroupLimit=12");
    let mut conn = connect(rmqd.broker_port);
    let mut created = 0;
    let refusal = (0..100).find_map(|i| {
        let topic = format!("Flood{i}");
        let answer = roundtrip(&mut conn, &send_request(&topic, 0, b"x"));
        if answer.code == 0 {
            created += 1;
            return None;
        }
        Some((topic, answer))
    });
    let (topic, answer) = refusal.expect("topic creation never refused");
    assert!((1..30).contains(&created), "{created} topics created");
    assert_eq!(answer.code, 17, "{:?}", answer.remark);
    let remark = answer.remark.unwrap_or_default();
    let expected = format!("topic[{topic}] not exist, apply first please!");
    assert!(remark.starts_with(&expected), "{remark}");
    let retry = roundtrip(&mut conn, &send_request("%RETRY%Flood", 0, b"x"));
    assert_eq!(
        retry.code, 17,
        "a %RETRY% topic named by a send is limited too"
    );
    assert_well_behaved(&rmqd, "Flood0");

    let mut groups = 0;
    let refused_group = (0..100).find_map(|i| {
        let mut header = pull_header("Flood0", 0, 0);
        header.consumer_group = format!("FloodG{i}");
        let answer = roundtrip(&mut conn, &pull_request(&header));
        if answer.code != 26 {
            groups += 1;
            return None;
        }
        Some(answer)
    });
    let answer = refused_group.expect("group creation never refused");
    assert!((1..12).contains(&groups), "{groups} groups created");
    assert!(answer.remark.unwrap_or_default().contains("FloodG"));
    assert_well_behaved(&rmqd, "Flood0");

    let update = |group: &str, topic: &str| {
        let mut ext = ExtFields::new();
        for (k, v) in [
            ("consumerGroup", group),
            ("topic", topic),
            ("queueId", "0"),
            ("commitOffset", "1"),
        ] {
            ext.insert(k.into(), v.into());
        }
        RemotingCommand::new_request(RequestCode::UpdateConsumerOffset, ext)
    };
    let answer = roundtrip(&mut conn, &update("NoSuchGroup", "Flood0"));
    assert_eq!(
        (answer.code, answer.remark.as_deref()),
        (26, Some("Group NoSuchGroup not exist!"))
    );
    let answer = roundtrip(&mut conn, &update("HostileCG", "NoSuchTopic"));
    assert_eq!(
        (answer.code, answer.remark.as_deref()),
        (17, Some("Topic NoSuchTopic not exist!"))
    );
    assert_eq!(roundtrip(&mut conn, &update("HostileCG", "Flood0")).code, 0);
}
