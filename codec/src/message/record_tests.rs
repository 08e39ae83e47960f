use super::*;
use crate::message::{properties, MAGIC_V1, MAGIC_V2};
use rand::Rng;

fn sample(born: &str, store: &str, topic: &str) -> StoredMessage {
    let body = Bytes::from_static(b"Hello RocketMQ");
    StoredMessage {
        magic: crate::message::magic_for_topic(topic),
        body_crc: crc32_masked(&body),
        queue_id: 3,
        flag: 0x55,
        queue_offset: 42,
        commit_log_offset: 8192,
        sys_flag: sys_flag::TRANSACTION_COMMIT,
        born_timestamp: 1_700_000_000_123,
        born_host: born.parse().unwrap(),
        store_timestamp: 1_700_000_000_456,
        store_host: store.parse().unwrap(),
        reconsume_times: 2,
        prepared_transaction_offset: 77,
        body,
        topic: topic.to_owned(),
        properties: "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}ABC\u{2}".to_owned(),
    }
}

fn encode(msg: &StoredMessage) -> Vec<u8> {
    let mut buf = BytesMut::new();
    msg.encode(&mut buf).unwrap();
    buf.to_vec()
}

#[test]
fn exact_bytes_v1_ipv4() {
    let msg = sample("10.0.0.1:50000", "192.168.1.2:10911", "T");
    let mut e = Vec::new();
    let props = b"TAGS\x01TagA\x02UNIQ_KEY\x01ABC\x02";
    let total = 91 + 14 + 1 + props.len();
    e.extend_from_slice(&(total as i32).to_be_bytes());
    e.extend_from_slice(&[0xDA, 0xA3, 0x20, 0xA7]);
    e.extend_from_slice(&crc32_masked(b"Hello RocketMQ").to_be_bytes());
    e.extend_from_slice(&3i32.to_be_bytes());
    e.extend_from_slice(&0x55i32.to_be_bytes());
    e.extend_from_slice(&42i64.to_be_bytes());
    e.extend_from_slice(&8192i64.to_be_bytes());
    e.extend_from_slice(&8i32.to_be_bytes());
    e.extend_from_slice(&1_700_000_000_123i64.to_be_bytes());
    e.extend_from_slice(&[10, 0, 0, 1, 0, 0, 0xC3, 0x50]);
    e.extend_from_slice(&1_700_000_000_456i64.to_be_bytes());
    e.extend_from_slice(&[192, 168, 1, 2, 0, 0, 0x2A, 0x9F]);
    e.extend_from_slice(&2i32.to_be_bytes());
    e.extend_from_slice(&77i64.to_be_bytes());
    e.extend_from_slice(&14i32.to_be_bytes());
    e.extend_from_slice(b"Hello RocketMQ");
    e.extend_from_slice(&[1, b'T']);
    e.extend_from_slice(&(props.len() as i16).to_be_bytes());
    e.extend_from_slice(props);
    assert_eq!(encode(&msg), e);
    assert_eq!(msg.encoded_len(), total);
}

#[test]
fn round_trips_all_host_and_magic_combinations() {
    let long_topic = "L".repeat(200);
    for (born, store) in [
        ("10.0.0.1:1", "127.0.0.1:10911"),
        ("[2001:db8::1]:40000", "127.0.0.1:10911"),
        ("10.0.0.1:1", "[::1]:10911"),
        ("[2001:db8::1]:40000", "[fe80::2]:10911"),
    ] {
        for topic in ["TopicTest", long_topic.as_str()] {
            let mut msg = sample(born, store, topic);
            let bytes = encode(&msg);
            assert_eq!(bytes.len(), msg.encoded_len());
            let decoded = StoredMessage::decode(&bytes).unwrap();
            msg.sys_flag = msg.sys_flag_for_hosts();
            assert_eq!(decoded, msg);
            let expected_magic = if topic.len() > 127 {
                MAGIC_V2
            } else {
                MAGIC_V1
            };
            assert_eq!(decoded.magic, expected_magic);
        }
    }
}

#[test]
fn v6_flags_follow_the_addresses() {
    let mut msg = sample("[2001:db8::1]:40000", "127.0.0.1:10911", "T");
    msg.sys_flag = sys_flag::STOREHOST_V6 | sys_flag::COMPRESSED;
    let bytes = encode(&msg);
    let flag = i32::from_be_bytes(bytes[36..40].try_into().unwrap());
    assert_eq!(flag, sys_flag::BORNHOST_V6 | sys_flag::COMPRESSED);
    assert_eq!(bytes.len(), 91 + 12 + 14 + 1 + msg.properties.len());
    // STORETIMESTAMP moves by 12 bytes with an IPv6 born host.
    let pos = layout::store_timestamp_pos(flag);
    assert_eq!(pos, 68);
    assert_eq!(
        i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap()),
        msg.store_timestamp
    );
}

#[test]
fn mapped_ipv4_host_is_stored_as_ipv4() {
    let msg = sample("[::ffff:10.0.0.1]:5", "127.0.0.1:10911", "T");
    let decoded = StoredMessage::decode(&encode(&msg)).unwrap();
    assert_eq!(
        decoded.born_host,
        "10.0.0.1:5".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(decoded.sys_flag & sys_flag::BORNHOST_V6, 0);
}

/// Found by `fuzz/` (stored_message): a V6-flagged record whose 16 address bytes are IPv4-mapped decoded to
/// an IPv6 host, which re-encoded as 4 bytes and so read back differently. Java reads it as IPv4.
#[test]
fn mapped_ipv6_bytes_read_as_ipv4() {
    let msg = sample("[2001:db8::1]:5", "127.0.0.1:10911", "T");
    let mut bytes = encode(&msg);
    let at = crate::message::layout::BORN_HOST;
    bytes[at..at + 16].copy_from_slice(&"::ffff:10.0.0.1".parse::<Ipv6Addr>().unwrap().octets());
    let decoded = StoredMessage::decode(&bytes).unwrap();
    assert_eq!(
        decoded.born_host,
        "10.0.0.1:5".parse::<SocketAddr>().unwrap()
    );
    assert_ne!(
        decoded.sys_flag & sys_flag::BORNHOST_V6,
        0,
        "SYSFLAG is kept as stored"
    );
    let again = StoredMessage::decode(&encode(&decoded)).unwrap();
    assert_eq!(again.born_host, decoded.born_host);
    assert_eq!(again.sys_flag, decoded.sys_flag_for_hosts());
}

#[test]
fn every_prefix_fails() {
    for msg in [
        sample("10.0.0.1:1", "127.0.0.1:10911", "TopicTest"),
        sample("[2001:db8::1]:40000", "[::1]:10911", &"L".repeat(200)),
    ] {
        let bytes = encode(&msg);
        for cut in 0..bytes.len() {
            assert!(
                StoredMessage::decode(&bytes[..cut]).is_err(),
                "prefix {cut}"
            );
            assert!(peek_record(&bytes[..cut]).is_err(), "peek prefix {cut}");
        }
        assert!(StoredMessage::decode(&bytes).is_ok());
    }
}

#[test]
fn wrong_total_size_or_magic_is_rejected() {
    let msg = sample("10.0.0.1:1", "127.0.0.1:10911", "T");
    let mut bytes = encode(&msg);
    bytes.extend_from_slice(&[0; 8]);
    // A TOTALSIZE larger than the formula (more bytes available) fails the formula check.
    let total = i32::from_be_bytes(bytes[0..4].try_into().unwrap());
    bytes[0..4].copy_from_slice(&(total + 4).to_be_bytes());
    assert!(peek_record(&bytes).is_err());
    bytes[0..4].copy_from_slice(&total.to_be_bytes());
    assert!(peek_record(&bytes).is_ok());
    bytes[4] ^= 1;
    assert!(peek_record(&bytes).is_err());
}

#[test]
fn v1_topic_length_is_signed() {
    let mut msg = sample("10.0.0.1:1", "127.0.0.1:10911", "T");
    msg.magic = MAGIC_V1;
    msg.topic = "x".repeat(128);
    assert!(msg.encode(&mut BytesMut::new()).is_err());
    msg.topic = "x".repeat(127);
    assert_eq!(
        StoredMessage::decode(&encode(&msg)).unwrap().topic.len(),
        127
    );
}

#[test]
fn oversized_properties_are_refused() {
    let mut msg = sample("10.0.0.1:1", "127.0.0.1:10911", "T");
    msg.properties = "a".repeat(32768);
    let mut buf = BytesMut::new();
    assert!(msg.encode(&mut buf).is_err());
    assert!(buf.is_empty());
    msg.magic = 0;
    msg.properties.clear();
    assert!(msg.encode(&mut buf).is_err());
}

#[test]
fn blank_record_and_view() {
    let mut blank = Vec::new();
    blank.extend_from_slice(&1000i32.to_be_bytes());
    blank.extend_from_slice(&crate::message::BLANK_MAGIC.to_be_bytes());
    assert_eq!(
        peek_record(&blank).unwrap(),
        RecordPeek::Blank {
            declared_size: 1000
        }
    );
    assert!(StoredMessage::decode(&blank).is_err());

    let msg = sample("10.0.0.1:1", "127.0.0.1:10911", "TopicTest");
    let mut bytes = encode(&msg);
    let RecordPeek::Message(view) = peek_record(&bytes).unwrap() else {
        panic!("not a message")
    };
    assert_eq!(view.topic, "TopicTest");
    assert_eq!(properties::get(&view.properties, "TAGS"), Some("TagA"));
    assert_eq!(&bytes[view.body_range.clone()], b"Hello RocketMQ");
    assert_eq!(view.store_timestamp, msg.store_timestamp);
    assert!(view.body_crc_matches());
    let body_start = view.body_range.start;
    bytes[body_start] ^= 0xFF;
    let RecordPeek::Message(view) = peek_record(&bytes).unwrap() else {
        panic!("not a message")
    };
    assert!(!view.body_crc_matches());
}

#[test]
fn negative_properties_length_counts_as_zero_like_java() {
    let mut msg = sample("10.0.0.1:1", "127.0.0.1:10911", "T");
    msg.properties.clear();
    let mut bytes = encode(&msg);
    let n = bytes.len();
    bytes[n - 2..].copy_from_slice(&(-5i16).to_be_bytes());
    let decoded = StoredMessage::decode(&bytes).unwrap();
    assert_eq!(decoded.properties, "");
}

#[test]
fn bad_port_fails_full_decode_but_not_peek() {
    let msg = sample("10.0.0.1:1", "127.0.0.1:10911", "T");
    let mut bytes = encode(&msg);
    bytes[52..56].copy_from_slice(&70000i32.to_be_bytes());
    assert!(peek_record(&bytes).is_ok());
    assert!(StoredMessage::decode(&bytes).is_err());
}

#[test]
fn random_round_trips() {
    let mut rng = rand::rng();
    for _ in 0..300 {
        let v6_born: bool = rng.random();
        let born = if v6_born {
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(rng.random::<u128>() | 1 << 127)),
                rng.random(),
            )
        } else {
            SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(rng.random::<u32>())),
                rng.random(),
            )
        };
        let topic_len = rng.random_range(1..300);
        let body: Vec<u8> = (0..rng.random_range(0..500))
            .map(|_| rng.random())
            .collect();
        let topic: String = (0..topic_len)
            .map(|_| char::from(rng.random_range(b'a'..=b'z')))
            .collect();
        let mut msg = StoredMessage {
            magic: crate::message::magic_for_topic(&topic),
            body_crc: crc32_masked(&body),
            queue_id: rng.random(),
            flag: rng.random(),
            queue_offset: rng.random(),
            commit_log_offset: rng.random(),
            sys_flag: rng.random::<i32>() & 0xF,
            born_timestamp: rng.random(),
            born_host: born,
            store_timestamp: rng.random(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: rng.random(),
            prepared_transaction_offset: rng.random(),
            body: Bytes::from(body),
            topic,
            properties: properties::encode(&[("K".into(), "é".repeat(rng.random_range(1..50)))]),
        };
        let bytes = encode(&msg);
        assert_eq!(bytes.len(), msg.encoded_len());
        msg.sys_flag = msg.sys_flag_for_hosts();
        assert_eq!(StoredMessage::decode(&bytes).unwrap(), msg);
    }
}

#[test]
fn offset_msg_id_uses_store_host_and_offset() {
    let mut msg = sample("10.0.0.1:1", "127.0.0.1:10911", "T");
    msg.commit_log_offset = 0;
    assert_eq!(msg.offset_msg_id(), "7F00000100002A9F0000000000000000");
}
