//! Round trips, pinned bytes, truncation and fuzz tests for the frame codec.

use super::*;
use crate::code::RMQD_VERSION;
use rand::{Rng, SeedableRng};

fn ext(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Encodes and strips the total-length word, checking it on the way.
fn frame_of(command: &RemotingCommand) -> Bytes {
    let mut buf = BytesMut::new();
    command.encode(&mut buf);
    let total = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    assert_eq!(total, buf.len() - 4);
    buf.freeze().slice(4..)
}

fn sample(serialize_type: SerializeType) -> RemotingCommand {
    let mut command = RemotingCommand::new_request(
        RequestCode::SendMessageV2,
        ext(&[
            ("a", "PG"),
            ("b", "TopicTest"),
            ("i", "KEYS\u{1}k1\u{2}TAGS\u{1}é/\"x\\"),
        ]),
    );
    command.opaque = -42;
    command.flag = RPC_ONEWAY;
    command.language = LanguageCode::Go;
    command.remark = Some("line\nbreak \u{7f} \u{2028} 中文".into());
    command.serialize_type = serialize_type;
    command.with_body(Bytes::from_static(b"hello body"))
}

#[test]
fn json_round_trip() {
    let command = sample(SerializeType::Json);
    assert_eq!(
        RemotingCommand::decode(frame_of(&command)).unwrap(),
        command
    );
}

#[test]
fn binary_round_trip() {
    let command = sample(SerializeType::RocketMq);
    let frame = frame_of(&command);
    assert_eq!(frame[0], 1, "type byte");
    assert_eq!(RemotingCommand::decode(frame).unwrap(), command);
}

#[test]
fn binary_golden_bytes() {
    // code 310, JAVA, version 479, opaque 7, flag 0, no remark, ext {"a":"PG"}, no body.
    let expected: &[u8] = &[
        0, 0, 0, 34, // total = 4 + 30
        1, 0, 0, 30, // ROCKETMQ, header 21 + 9
        0x01, 0x36, 0, 0x01, 0xDF, 0, 0, 0, 7, 0, 0, 0,
        0, // code, lang, version, opaque, flag
        0, 0, 0, 0, // remark null
        0, 0, 0, 9, 0, 1, b'a', 0, 0, 0, 2, b'P', b'G',
    ];
    let mut command = RemotingCommand::new_request(RequestCode::SendMessageV2, ext(&[("a", "PG")]));
    command.opaque = 7;
    command.serialize_type = SerializeType::RocketMq;
    let mut buf = BytesMut::new();
    command.encode(&mut buf);
    assert_eq!(&buf[..], expected);
    let decoded = RemotingCommand::decode(Bytes::copy_from_slice(&expected[4..])).unwrap();
    assert_eq!(decoded, command);
}

#[test]
fn json_golden_bytes() {
    let json = br#"{"code":310,"extFields":{"a":"PG"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let mut expected = vec![0, 0, 0, 0x7C, 0, 0, 0, 0x78];
    expected.extend_from_slice(json);
    let mut command = RemotingCommand::new_request(RequestCode::SendMessageV2, ext(&[("a", "PG")]));
    command.opaque = 7;
    let mut buf = BytesMut::new();
    command.encode(&mut buf);
    assert_eq!(&buf[..], &expected[..]);
}

#[test]
fn json_escapes_like_fastjson() {
    let mut buf = BytesMut::new();
    put_json_string(
        &mut buf,
        "a\"b\\c/d\u{0}\u{b}\t\u{7f}\u{9f}\u{a0}é\u{2028}😀",
    );
    assert_eq!(
        std::str::from_utf8(&buf).unwrap(),
        "\"a\\\"b\\\\c/d\\u0000\\u000B\\t\\u007F\\u009F\u{a0}é\\u2028😀\""
    );
    let mut buf = BytesMut::new();
    for value in [0, -1, i64::MIN, i64::MAX, 479] {
        buf.clear();
        put_decimal(&mut buf, value);
        assert_eq!(std::str::from_utf8(&buf).unwrap(), value.to_string());
    }
}

#[test]
fn response_defaults() {
    let response = RemotingCommand::new_response(ResponseCode::TopicNotExist, Some("no".into()));
    assert!(response.is_response() && !response.is_oneway());
    assert_eq!(response.response_code(), ResponseCode::TopicNotExist);
    assert_eq!(response.version, RMQD_VERSION);
    let frame = frame_of(&response);
    let text = std::str::from_utf8(&frame[4..]).unwrap();
    assert_eq!(
        text,
        r#"{"code":17,"flag":1,"language":"JAVA","opaque":0,"remark":"no","serializeTypeCurrentRPC":"JSON","version":479}"#
    );
}

fn json_frame(json: &str, body: &[u8]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_u32(json.len() as u32);
    buf.put_slice(json.as_bytes());
    buf.put_slice(body);
    buf.freeze()
}

#[test]
fn decodes_go_client_header() {
    let json = r#"{"code":10,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"producerGroup":"pg","topic":"t"}}"#;
    let command = RemotingCommand::decode(json_frame(json, b"body")).unwrap();
    assert_eq!(command.request_code(), RequestCode::SendMessage);
    assert_eq!(command.language, LanguageCode::Go);
    assert_eq!((command.version, command.opaque, command.flag), (317, 3, 0));
    assert_eq!(command.remark.as_deref(), Some(""));
    assert_eq!(
        command.ext_fields,
        ext(&[("producerGroup", "pg"), ("topic", "t")])
    );
    assert_eq!(&command.body[..], b"body");
    assert_eq!(command.serialize_type, SerializeType::Json);
}

#[test]
fn decodes_sloppy_json_leniently() {
    let json = r#"{"code":"310","language":9,"opaque":" 5 ","serializeTypeCurrentRPC":"JSON",
        "extFields":{"n":12,"b":true,"s":"x","z":null,"o":{"k":1}},"unknown":[1,2]}"#;
    let command = RemotingCommand::decode(json_frame(json, b"")).unwrap();
    assert_eq!(command.code, 310);
    assert_eq!(command.language, LanguageCode::Go);
    assert_eq!((command.opaque, command.version, command.flag), (5, 0, 0));
    assert_eq!(command.remark, None);
    assert_eq!(
        command.ext_fields,
        ext(&[("n", "12"), ("b", "true"), ("s", "x"), ("o", r#"{"k":1}"#)])
    );
    assert!(command.body.is_empty());

    let command = RemotingCommand::decode(json_frame(r#"{"language":"KLINGON"}"#, b"")).unwrap();
    assert_eq!(
        command.language,
        LanguageCode::Unknown(LanguageCode::UNKNOWN_BYTE)
    );
    let command = RemotingCommand::decode(json_frame("{}", b"")).unwrap();
    assert_eq!(command, RemotingCommand::default());
}

#[test]
fn rejects_bad_json_headers() {
    for json in [
        "[]",
        "{",
        "{\"code\":true}",
        "{\"code\":4294967296}",
        "{\"extFields\":3}",
        "",
    ] {
        let result = RemotingCommand::decode(json_frame(json, b""));
        assert!(
            matches!(result, Err(CodecError::Json(_))),
            "{json}: {result:?}"
        );
    }
}

#[test]
fn large_codes_fall_back_to_json() {
    let mut command = RemotingCommand::new_request(RequestCode::PopMessage, ext(&[("topic", "t")]));
    command.serialize_type = SerializeType::RocketMq;
    let frame = frame_of(&command);
    assert_eq!(frame[0], 0, "written as JSON");
    let decoded = RemotingCommand::decode(frame).unwrap();
    assert_eq!(decoded.request_code(), RequestCode::PopMessage);
    assert_eq!(decoded.serialize_type, SerializeType::Json);
}

/// Builds a ROCKETMQ header by hand from raw parts.
fn binary_frame(
    code: i16,
    remark_len: i32,
    remark: &[u8],
    ext_len: i32,
    ext_bytes: &[u8],
) -> Bytes {
    let mut header = BytesMut::new();
    header.put_i16(code);
    header.put_u8(42);
    header.put_i16(-2);
    header.put_i32(1);
    header.put_i32(3);
    header.put_i32(remark_len);
    header.put_slice(remark);
    header.put_i32(ext_len);
    header.put_slice(ext_bytes);
    let mut frame = BytesMut::new();
    frame.put_u32((1 << 24) | header.len() as u32);
    frame.put_slice(&header);
    frame.freeze()
}

fn ext_entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut entry = (key.len() as u16).to_be_bytes().to_vec();
    entry.extend_from_slice(key);
    entry.extend_from_slice(&(value.len() as u32).to_be_bytes());
    entry.extend_from_slice(value);
    entry
}

#[test]
fn binary_edge_cases() {
    let mut map = ext_entry(b"k", b"first");
    map.extend(ext_entry(b"gone", b"x"));
    map.extend(ext_entry(b"k", b"last"));
    map.extend(ext_entry(b"gone", b""));
    map.extend(ext_entry(b"", b"null key"));
    let command =
        RemotingCommand::decode(binary_frame(-1, 0, b"", map.len() as i32, &map)).unwrap();
    assert_eq!(command.code, -1, "code is a signed short");
    assert_eq!(command.version, -2);
    assert_eq!(command.language, LanguageCode::Unknown(42));
    assert_eq!((command.opaque, command.flag), (1, 3));
    assert!(command.is_response() && command.is_oneway());
    assert_eq!(command.remark, None);
    assert_eq!(command.ext_fields, ext(&[("k", "last")]));

    // A negative map length is ignored, as in Java.
    let command = RemotingCommand::decode(binary_frame(10, 2, b"hi", -1, b"")).unwrap();
    assert_eq!(command.remark.as_deref(), Some("hi"));
    assert!(command.ext_fields.is_empty());
}

#[test]
fn rejects_bad_binary_headers() {
    let entry = ext_entry(b"key", b"value");
    let cases = [
        binary_frame(10, -1, b"", 0, b""),
        binary_frame(10, 100, b"short", 0, b""),
        binary_frame(10, 0, b"", entry.len() as i32 + 1, &entry),
        binary_frame(10, 0, b"", 4, &[0, 9, b'a', b'b']),
        binary_frame(10, 0, b"", 6, &[0, 1, b'a', 0xFF, 0xFF, 0xFF]),
        binary_frame(10, 0, b"", 2, &[0x80, 0]),
    ];
    for frame in cases {
        assert!(RemotingCommand::decode(frame.clone()).is_err(), "{frame:?}");
    }
}

#[test]
fn rejects_bad_frames() {
    assert!(matches!(
        RemotingCommand::decode(Bytes::from_static(&[0, 0, 1])),
        Err(CodecError::Truncated { .. })
    ));
    assert!(matches!(
        RemotingCommand::decode(Bytes::from_static(&[0, 0, 0, 3, b'{', b'}'])),
        Err(CodecError::BadLength(_))
    ));
    assert_eq!(
        RemotingCommand::decode(Bytes::from_static(&[2, 0, 0, 2, b'{', b'}'])),
        Err(CodecError::UnknownSerializeType(2))
    );
}

#[test]
fn every_header_prefix_is_an_error() {
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let command = sample(serialize_type).with_body(Bytes::new());
        let frame = frame_of(&command);
        // Cut frames: the declared header length no longer fits.
        for len in 0..frame.len() {
            assert!(
                RemotingCommand::decode(frame.slice(..len)).is_err(),
                "{serialize_type:?} {len}"
            );
        }
        // Cut headers with a consistent length word: the header parser itself must refuse.
        for header_len in 0..frame.len() - 4 {
            let mut cut = BytesMut::new();
            cut.put_u32(((serialize_type as u32) << 24) | header_len as u32);
            cut.put_slice(&frame[4..4 + header_len]);
            let result = RemotingCommand::decode(cut.freeze());
            assert!(
                result.is_err(),
                "{serialize_type:?} header cut at {header_len}: {result:?}"
            );
        }
    }
}

#[test]
fn body_is_a_slice_of_the_frame() {
    let frame = frame_of(&sample(SerializeType::RocketMq));
    let command = RemotingCommand::decode(frame.clone()).unwrap();
    let offset = frame.len() - command.body.len();
    assert_eq!(command.body.as_ptr(), frame[offset..].as_ptr());
}

#[test]
fn encode_header_matches_encode() {
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let command = sample(serialize_type);
        let mut whole = BytesMut::new();
        command.encode(&mut whole);
        let mut split = BytesMut::from(&b"prefix"[..]);
        command.encode_header(command.body.len(), &mut split);
        split.put_slice(&command.body);
        assert_eq!(&split[6..], &whole[..]);
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EED);
    let valid = [
        frame_of(&sample(SerializeType::Json)),
        frame_of(&sample(SerializeType::RocketMq)),
    ];
    for round in 0..20_000 {
        let bytes: Vec<u8> = if round % 2 == 0 {
            let len = rng.random_range(0..96);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len >= 4 {
                // Keep the header length plausible so the header parsers get exercised.
                bytes[0] = rng.random_range(0..3);
                bytes[1] = 0;
                bytes[2] = 0;
                bytes[3] = rng.random_range(0..len as u8);
            }
            bytes
        } else {
            let mut bytes = valid[round % 4 / 2].to_vec();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
            bytes
        };
        let _ = RemotingCommand::decode(Bytes::from(bytes));
    }
}

#[test]
fn ext_entry_count_walks_the_binary_section() {
    // key "ab" = "xyz", key "c" = null (length 0), key "dd" = "1"
    let mut section = Vec::new();
    for (key, value) in [("ab", "xyz"), ("c", ""), ("dd", "1")] {
        section.extend_from_slice(&(key.len() as i16).to_be_bytes());
        section.extend_from_slice(key.as_bytes());
        section.extend_from_slice(&(value.len() as i32).to_be_bytes());
        section.extend_from_slice(value.as_bytes());
    }
    assert_eq!(count_ext_entries(&section), 3);
    assert_eq!(
        count_ext_entries(&section[..section.len() - 1]),
        3,
        "a short value still counts"
    );
    assert_eq!(
        count_ext_entries(&section[..9]),
        1,
        "the second entry starts past the end"
    );
    assert_eq!(count_ext_entries(&[]), 0);
    let mut huge = vec![0x7f, 0xff];
    huge.extend_from_slice(&[0; 8]);
    assert_eq!(
        count_ext_entries(&huge),
        0,
        "a key longer than the section ends the walk"
    );
    let decoded = decode_ext_map(&section).unwrap();
    assert_eq!(decoded.len(), 2, "the null value removes its key");
    assert!(decoded.capacity() >= 3);
}
