//! Golden vectors, part 3: whole remoting frames written by Java `RemotingCommand.encode()` and by the Netty
//! encoder (`fastEncodeHeader`), in both serialize types.
//!
//! Decoding must give exactly the values Java's decoder gives. Re-encoding the same values must give the same
//! bytes, with one documented exception: Java writes `extFields` in `HashMap` iteration order (a function of
//! key hashes and table size; the Netty path writes FastCodesHeader fields in declaration order instead), and
//! no receiver depends on that order. So the map section is compared as a sorted list of *raw* entries —
//! each entry still byte for byte, escapes included — and everything around it byte for byte.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use compat_tests::{
    frame_header, hex, object_members, split_binary_header, unquote, Golden, RemotingVector,
};
use rmq_codec::code::LanguageCode;
use rmq_codec::command::{ExtFields, RemotingCommand, SerializeType};
use rmq_codec::header::{
    CommandHeader, PullMessageRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};

fn serialize_type(v: &RemotingVector) -> SerializeType {
    if v.is_json() {
        SerializeType::Json
    } else {
        SerializeType::RocketMq
    }
}

/// The command rebuilt from the manifest's values alone (not from our decoder).
fn command_from_manifest(v: &RemotingVector) -> RemotingCommand {
    RemotingCommand {
        code: v.code,
        language: LanguageCode::from(v.language_code),
        version: v.version,
        opaque: v.opaque,
        flag: v.flag,
        remark: v.remark.clone(),
        ext_fields: v
            .ext_fields
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect::<ExtFields>(),
        body: v
            .body_hex
            .as_deref()
            .map(hex)
            .map(Bytes::from)
            .unwrap_or_default(),
        serialize_type: serialize_type(v),
    }
}

#[test]
fn frames_decode_to_the_java_values() {
    for g in Golden::all() {
        for v in g.remoting() {
            let name = format!("{}/{}", g.version, v.file.file);
            let frame = g.bytes(&v.file.file);
            let cmd =
                RemotingCommand::decode(frame.slice(4..)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(cmd.code, v.code, "{name}: code");
            assert_eq!(u8::from(cmd.language), v.language_code, "{name}: language");
            assert_eq!(cmd.version, v.version, "{name}: version");
            assert_eq!(cmd.opaque, v.opaque, "{name}: opaque");
            assert_eq!(cmd.flag, v.flag, "{name}: flag");
            assert_eq!(cmd.remark, v.remark, "{name}: remark");
            let ext: BTreeMap<_, _> = cmd.ext_fields.clone().into_iter().collect();
            assert_eq!(
                ext,
                v.ext_fields.clone().unwrap_or_default(),
                "{name}: extFields"
            );
            let body = v.body_hex.as_deref().map(hex).unwrap_or_default();
            assert_eq!(&cmd.body[..], &body[..], "{name}: body");
            assert_eq!(
                cmd.serialize_type,
                serialize_type(v),
                "{name}: serialize type"
            );
        }
    }
}

/// Duplicate keys (an ACL hook copied the FastCodes header into extFields) decode like Java: last one wins.
#[test]
fn duplicate_map_keys_decode_like_java() {
    for g in Golden::all() {
        let v = g
            .remoting()
            .find(|v| v.has_duplicate_keys())
            .expect("the ACL duplicate-key vector");
        let cmd = RemotingCommand::decode(g.bytes(&v.file.file).slice(4..)).expect("decode");
        assert!(v.ext_written.len() > cmd.ext_fields.len());
        let ext: BTreeMap<_, _> = cmd.ext_fields.into_iter().collect();
        assert_eq!(Some(ext), v.ext_fields);
    }
}

fn sorted(mut entries: Vec<(String, String)>) -> Vec<(String, String)> {
    entries.sort();
    entries
}

#[test]
fn frames_encode_byte_for_byte_except_map_order() {
    for g in Golden::all() {
        for v in g.remoting().filter(|v| !v.has_duplicate_keys()) {
            let name = format!("{}/{}", g.version, v.file.file);
            let java = g.bytes(&v.file.file);
            let mut ours = BytesMut::new();
            command_from_manifest(v).encode(&mut ours);
            if ours[..] == java[..] {
                continue;
            }
            // Length word and type+header-length word, then the body after the header.
            assert_eq!(ours[..8], java[..8], "{name}: frame words");
            let (our_header, java_header) = (frame_header(&ours), frame_header(&java));
            assert_eq!(
                ours[8 + our_header.len()..],
                java[8 + java_header.len()..],
                "{name}: body"
            );
            if v.is_json() {
                compare_json_headers(&name, our_header, java_header);
            } else {
                let (o, j) = (
                    split_binary_header(our_header),
                    split_binary_header(java_header),
                );
                assert_eq!(o.fixed, j.fixed, "{name}: code..remark and map length");
                assert_eq!(sorted(o.ext), sorted(j.ext), "{name}: map entries");
            }
        }
    }
}

/// Top-level members in fastjson's (alphabetical) order and byte-identical; extFields entries byte-identical
/// as a set.
fn compare_json_headers(name: &str, ours: &[u8], java: &[u8]) {
    let ours = std::str::from_utf8(ours).expect("our JSON is UTF-8");
    let java = std::str::from_utf8(java).expect("Java JSON is UTF-8");
    let (o, j) = (object_members(ours), object_members(java));
    let keys = |m: &[(&str, &str)]| {
        m.iter()
            .map(|(k, _)| unquote(k).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&o),
        keys(&j),
        "{name}: top-level keys and their order\nours: {ours}\njava: {java}"
    );
    for ((key, ov), (_, jv)) in o.iter().zip(&j) {
        if unquote(key) == "extFields" {
            let raw = |s: &str| {
                let mut v: Vec<String> = object_members(s)
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(raw(ov), raw(jv), "{name}: extFields entries");
        } else {
            assert_eq!(ov, jv, "{name}: member {key}");
        }
    }
}

#[test]
fn json_top_level_keys_are_alphabetical_like_fastjson() {
    for g in Golden::all() {
        for v in g.remoting().filter(|v| v.is_json()) {
            let order = v
                .json_key_order
                .clone()
                .expect("JSON vectors record key order");
            let mut sorted_order = order.clone();
            sorted_order.sort();
            assert_eq!(order, sorted_order, "{}/{}", g.version, v.file.file);
        }
    }
}

fn ext_of(v: &RemotingVector) -> ExtFields {
    v.ext_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// A numeric header input as Java wrote it into the manifest.
#[track_caller]
fn num(v: &RemotingVector, field: &str) -> i64 {
    v.header[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{}: {field} is not a number", v.file.file))
}

/// The typed headers read Java's extFields back to the inputs, and write exactly Java's map (FastCodes and
/// reflective headers alike: every non-null field as `String.valueOf`).
#[test]
fn typed_headers_match_java_headers() {
    for g in Golden::all() {
        for v in g.remoting().filter(|v| !v.has_duplicate_keys()) {
            let name = format!("{}/{}", g.version, v.file.file);
            let ext = ext_of(v);
            let base = v.file.file.split('.').next().unwrap_or_default();
            let mut ours = ExtFields::new();
            match base {
                "remoting_send_v2" => {
                    let h = SendMessageRequestHeader::decode_v2(&ext)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(h.producer_group, v.header_str("a"), "{name}");
                    assert_eq!(h.topic, v.header_str("b"), "{name}");
                    assert_eq!(h.default_topic, v.header_str("c"), "{name}");
                    assert_eq!(i64::from(h.default_topic_queue_nums), num(v, "d"), "{name}");
                    assert_eq!(i64::from(h.queue_id), num(v, "e"), "{name}");
                    assert_eq!(i64::from(h.sys_flag), num(v, "f"), "{name}");
                    assert_eq!(h.born_timestamp, num(v, "g"), "{name}");
                    assert_eq!(i64::from(h.flag), num(v, "h"), "{name}");
                    assert_eq!(h.properties, Some(v.header_str("i")), "{name}");
                    assert_eq!(
                        h.reconsume_times.map(i64::from),
                        Some(num(v, "j")),
                        "{name}"
                    );
                    assert!(!h.unit_mode && !h.batch, "{name}");
                    assert_eq!(h.max_reconsume_times, None, "{name}");
                    h.encode_v2(&mut ours);
                }
                "remoting_pull" => {
                    let h = PullMessageRequestHeader::decode(&ext)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(h.consumer_group, v.header_str("consumerGroup"), "{name}");
                    assert_eq!(h.topic, v.header_str("topic"), "{name}");
                    assert_eq!(i64::from(h.queue_id), num(v, "queueId"), "{name}");
                    assert_eq!(h.queue_offset, num(v, "queueOffset"), "{name}");
                    assert_eq!(i64::from(h.max_msg_nums), num(v, "maxMsgNums"), "{name}");
                    assert_eq!(i64::from(h.sys_flag), num(v, "sysFlag"), "{name}");
                    assert_eq!(h.commit_offset, num(v, "commitOffset"), "{name}");
                    assert_eq!(
                        h.suspend_timeout_millis,
                        num(v, "suspendTimeoutMillis"),
                        "{name}"
                    );
                    assert_eq!(h.subscription, Some(v.header_str("subscription")), "{name}");
                    assert_eq!(h.sub_version, num(v, "subVersion"), "{name}");
                    assert_eq!(
                        h.expression_type,
                        Some(v.header_str("expressionType")),
                        "{name}"
                    );
                    h.encode(&mut ours);
                }
                "remoting_send_response" => {
                    let h = SendMessageResponseHeader::decode(&ext)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(h.msg_id, v.header_str("msgId"), "{name}");
                    assert_eq!(i64::from(h.queue_id), num(v, "queueId"), "{name}");
                    assert_eq!(h.queue_offset, num(v, "queueOffset"), "{name}");
                    assert_eq!(
                        h.transaction_id,
                        Some(v.header_str("transactionId")),
                        "{name}"
                    );
                    h.encode(&mut ours);
                    // Added by the broker next to the header on every send response.
                    ours.insert("MSG_REGION".into(), "DefaultRegion".into());
                    ours.insert("TRACE_ON".into(), "true".into());
                }
                "remoting_oneway" => {
                    let h = UpdateConsumerOffsetRequestHeader::decode(&ext)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(h.consumer_group, v.header_str("consumerGroup"), "{name}");
                    assert_eq!(h.topic, v.header_str("topic"), "{name}");
                    assert_eq!(i64::from(h.queue_id), num(v, "queueId"), "{name}");
                    assert_eq!(h.commit_offset, num(v, "commitOffset"), "{name}");
                    h.encode(&mut ours);
                }
                "remoting_error_response" => {}
                other => panic!("{name}: no typed-header check for {other}"),
            }
            assert_eq!(ours, ext, "{name}: encoded header map");
        }
    }
}
