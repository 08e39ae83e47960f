use bytes::BytesMut;

use super::*;

fn record(topic: &str, queue_id: i32, queue_offset: i64, props: &[(&str, &str)]) -> StoredMessage {
    let pairs: Vec<(String, String)> = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    StoredMessage {
        topic: topic.to_string(),
        queue_id,
        queue_offset,
        commit_log_offset: 1000 + queue_offset,
        born_timestamp: 1_700_000_000_123,
        store_timestamp: 1_700_000_000_456,
        born_host: "10.0.0.1:5555".parse().expect("addr"),
        store_host: "10.0.0.2:10911".parse().expect("addr"),
        reconsume_times: 2,
        body: Bytes::from_static(b"hello"),
        properties: properties::encode(&pairs),
        ..StoredMessage::default()
    }
}

fn body_of(records: &[StoredMessage]) -> Bytes {
    let mut buf = BytesMut::new();
    for r in records {
        r.encode(&mut buf).expect("encodes");
    }
    buf.freeze()
}

fn found_header() -> ExtFields {
    PopMessageResponseHeader {
        pop_time: 5000,
        invisible_time: 30_000,
        revive_qid: 3,
        rest_num: 0,
        start_offset_info: Some("0 1 7;1 0 2".into()),
        msg_offset_info: Some("0 1 8,9;1 0 2".into()),
        order_count_info: None,
    }
    .to_ext_fields()
}

#[test]
fn found_answer_gives_each_message_its_receipt_handle() {
    let records = [
        record("T", 1, 8, &[("UNIQ_KEY", "ID8"), ("TAGS", "a")]),
        record("T", 1, 9, &[("UNIQ_KEY", "ID9")]),
        record("%RETRY%G_T", 0, 2, &[("UNIQ_KEY", "ID2")]),
    ];
    let out = decode_pop_response(0, None, &found_header(), &body_of(&records), "broker-a")
        .expect("decodes");
    assert_eq!(out.status, PopStatus::Found);
    let handles: Vec<String> = out.messages.iter().map(|m| m.handle.to_string()).collect();
    assert_eq!(
        handles,
        [
            "7 5000 30000 3 0 broker-a 1 8 1008",
            "7 5000 30000 3 0 broker-a 1 9 1009",
            "2 5000 30000 3 1 broker-a 0 2 1002",
        ]
    );
    assert_eq!(out.messages[0].message_id(), "ID8");
    assert_eq!(out.messages[0].tag(), Some("a"));
}

#[test]
fn empty_and_failed_answers() {
    let none = Bytes::new();
    let ext = ExtFields::new();
    let full = decode_pop_response(209, None, &ext, &none, "b").expect("polling full");
    assert_eq!(full.status, PopStatus::PollingFull);
    for code in [19, 210] {
        let out = decode_pop_response(code, None, &ext, &none, "b").expect("not found");
        assert_eq!(out.status, PopStatus::NotFound);
        assert!(out.messages.is_empty());
    }
    let err = decode_pop_response(16, Some("forbidden"), &ext, &none, "b").unwrap_err();
    assert_eq!(err, PopFailed("forbidden".into()));
}

#[test]
fn a_truncated_body_is_an_error_not_a_panic() {
    let body = body_of(&[record("T", 0, 0, &[])]);
    for len in 1..body.len() {
        assert!(decode_pop_response(0, None, &found_header(), &body.slice(..len), "b").is_err());
    }
}

#[test]
fn grpc_message_carries_java_system_properties() {
    let records = [record(
        "%RETRY%G_T",
        0,
        2,
        &[
            ("TAGS", "tagA"),
            ("KEYS", "k1 k2"),
            ("UNIQ_KEY", "U1"),
            ("__SHARDINGKEY", "grp"),
            ("color", "red"),
            ("DLQ_ORIGIN_TOPIC", "T"),
            ("DLQ_ORIGIN_MESSAGE_ID", "O1"),
        ],
    )];
    let out = decode_pop_response(0, None, &found_header(), &body_of(&records), "broker-a")
        .expect("decodes");
    let msg = to_grpc_message(&out.messages[0], "T", 0);
    assert_eq!(msg.topic.as_ref().map(|t| t.name.as_str()), Some("T"));
    assert_eq!(msg.body, b"hello");
    let user: Vec<&str> = msg.user_properties.keys().map(String::as_str).collect();
    assert_eq!(user, ["__SHARDINGKEY", "color"]);
    let sys = msg.system_properties.expect("system properties");
    assert_eq!(sys.tag.as_deref(), Some("tagA"));
    assert_eq!(sys.keys, ["k1", "k2"]);
    assert_eq!(sys.message_id, "U1");
    assert_eq!(sys.message_type, v2::MessageType::Fifo as i32);
    assert_eq!(sys.message_group.as_deref(), Some("grp"));
    assert_eq!(sys.delivery_attempt, Some(3));
    assert_eq!(sys.queue_offset, Some(2));
    assert_eq!(sys.born_host, "10.0.0.1");
    assert_eq!(sys.store_host, "10.0.0.2:10911");
    assert_eq!(
        sys.born_timestamp,
        Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_000_000
        })
    );
    assert_eq!(
        sys.receipt_handle.as_deref(),
        Some("2 5000 30000 3 1 broker-a 0 2 1002")
    );
    // MD5("hello"), upper-case as BinaryUtil.generateMd5.
    assert_eq!(
        sys.body_digest.map(|d| d.checksum).as_deref(),
        Some("5D41402ABC4B2A76B9719D911017C592")
    );
    assert_eq!(sys.body_encoding, v2::Encoding::Identity as i32);
    let dlq = sys.dead_letter_queue.expect("dlq origin");
    assert_eq!((dlq.topic.as_str(), dlq.message_id.as_str()), ("T", "O1"));
}

#[test]
fn message_without_uniq_key_is_named_by_its_offset_id() {
    let records = [record("T", 1, 8, &[])];
    let out = decode_pop_response(0, None, &found_header(), &body_of(&records), "b").expect("ok");
    let m = &out.messages[0];
    assert_eq!(m.message_id(), m.record.offset_msg_id());
    let sys = to_grpc_message(m, "T", 0).system_properties.expect("sys");
    assert_eq!(sys.message_type, v2::MessageType::Normal as i32);
    assert_eq!(sys.tag, None);
}

#[test]
fn delay_seconds_count_from_now() {
    let records = [record("T", 1, 8, &[("TIMER_DELAY_SEC", "10")])];
    let out = decode_pop_response(0, None, &found_header(), &body_of(&records), "b").expect("ok");
    let sys = to_grpc_message(&out.messages[0], "T", 1_000)
        .system_properties
        .expect("sys");
    assert_eq!(sys.message_type, v2::MessageType::Delay as i32);
    assert_eq!(sys.delivery_timestamp, Some(timestamp(11_000)));
}

#[test]
fn an_orderly_pops_count_is_the_delivery_attempt() {
    let mut ext = found_header();
    ext.insert("orderCountInfo".into(), "0 1 5".into());
    ext.insert("reviveQid".into(), "999".into());
    let records = [record("T", 1, 8, &[]), record("T", 0, 3, &[])];
    let out = decode_pop_response(0, None, &ext, &body_of(&records), "b").expect("ok");
    assert_eq!(out.messages[0].record.reconsume_times, 5);
    assert_eq!(out.messages[0].handle.revive_qid, 999);
    // No count for queue 0: the stored reconsume times stay.
    assert_eq!(out.messages[1].record.reconsume_times, 2);
    let sys = to_grpc_message(&out.messages[0], "T", 0)
        .system_properties
        .expect("sys");
    assert_eq!(sys.delivery_attempt, Some(6));
}
