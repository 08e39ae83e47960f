use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

fn obj(entries: Vec<(Key, Value)>) -> Value {
    Value::Object(entries)
}

#[test]
fn parses_unquoted_integer_keys() {
    let v = parse(r#"{"offsetTable":{"T@g":{0:5,1:7}}}"#).unwrap();
    let inner = v.get("offsetTable").and_then(|t| t.get("T@g")).unwrap();
    assert_eq!(
        inner.as_object().unwrap(),
        &[(Key::Int(0), Value::Int(5)), (Key::Int(1), Value::Int(7))][..]
    );
}

#[test]
fn parses_object_keys() {
    let v = parse(r#"{{"brokerName":"b","queueId":0,"topic":"T"}:5}"#).unwrap();
    let entries = v.as_object().unwrap();
    assert_eq!(entries.len(), 1);
    let (key, value) = &entries[0];
    assert_eq!(key.get("brokerName").and_then(Value::as_str), Some("b"));
    assert_eq!(key.get("queueId").and_then(Value::as_i64), Some(0));
    assert_eq!(key.get("topic").and_then(Value::as_str), Some("T"));
    assert_eq!(value, &Value::Int(5));
}

#[test]
fn parses_fastjson_leniencies() {
    let v = parse(
        "/* c */ {name:'a\\'b', 'k':[1,2,], \"n\":-3L, $x_1:true, \"e\":\"\\x41\\v\\u00e9\\uD83D\\uDE00\",}\n// end",
    )
    .unwrap();
    assert_eq!(v.get("name").and_then(Value::as_str), Some("a'b"));
    assert_eq!(
        v.get("k"),
        Some(&Value::Array(vec![Value::Int(1), Value::Int(2)]))
    );
    assert_eq!(v.get("n"), Some(&Value::Int(-3)));
    assert_eq!(v.get("$x_1"), Some(&Value::Bool(true)));
    assert_eq!(v.get("e").and_then(Value::as_str), Some("A\u{b}é😀"));
}

#[test]
fn parses_numbers() {
    assert_eq!(parse("1.5").unwrap(), Value::Float(1.5));
    assert_eq!(parse("-2E3").unwrap(), Value::Float(-2000.0));
    assert_eq!(parse("9223372036854775807").unwrap(), Value::Int(i64::MAX));
    assert_eq!(
        parse("92233720368547758070").unwrap(),
        Value::Float(9.223372036854776e19)
    );
    assert_eq!(
        parse("{1.5:2}").unwrap(),
        obj(vec![(Key::Str("1.5".into()), Value::Int(2))])
    );
}

#[test]
fn rejects_malformed_documents() {
    for bad in [
        "", "{", "{\"a\"}", "{\"a\":}", "[1 2]", "tru", "\"abc", "{} x", "-", "1.", "'\\q'",
        "{[1]:2}",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn depth_is_limited() {
    let deep = "[".repeat(100_000);
    assert!(parse(&deep).is_err());
    let keys = "{".repeat(100_000);
    assert!(parse(&keys).is_err());
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(parse(&too_deep).is_err());
}

const ROUTE_OLD: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

#[test]
fn compact_output_matches_fastjson_route_body() {
    let v = parse(ROUTE_OLD).unwrap();
    assert_eq!(to_string(&v), ROUTE_OLD);
}

#[test]
fn standard_output_quotes_and_sorts_keys() {
    let mut v = parse(ROUTE_OLD).unwrap();
    // Reverse the broker ids to check that MapSortField sorts them numerically.
    let addrs = Value::object(vec![
        (Key::Int(10), "x".into()),
        (Key::Int(2), "y/z".into()),
    ]);
    if let Some(Value::Array(items)) = v.get_mut("brokerDatas") {
        items[0].insert("brokerAddrs", addrs);
    }
    assert_eq!(
        to_standard_string(&v),
        r#"{"brokerDatas":[{"brokerAddrs":{"2":"y\/z","10":"x"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );
}

#[test]
fn standard_output_escapes_and_quotes_big_longs() {
    let v = Value::object(vec![
        ("z", Value::Int(9_007_199_254_740_992)),
        ("b", Value::Int(-9_007_199_254_740_991)),
        ("a", Value::from("é\u{1}\u{7f}😀")),
    ]);
    assert_eq!(
        to_standard_string(&v),
        r#"{"a":"\u00E9\u0001\u007F\uD83D\uDE00","b":-9007199254740991,"z":"9007199254740992"}"#
    );
    let mq = Value::object(vec![(
        Key::Object(vec![
            ("queueId".into(), Value::Int(0)),
            ("topic".into(), "T".into()),
        ]),
        Value::Int(5),
    )]);
    assert_eq!(
        to_standard_string(&mq),
        r#"{"{\"queueId\":0,\"topic\":\"T\"}":5}"#
    );
}

#[test]
fn default_string_escaping_matches_serialize_writer() {
    let v = Value::from("q\"b\\/\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}\u{9f}\u{a0}é\u{2028}😀");
    assert_eq!(
        to_string(&v),
        "\"q\\\"b\\\\/\\b\\t\\n\\u000B\\f\\r\\u001F\\u007F\\u009F\u{a0}é\\u2028😀\""
    );
}

#[test]
fn object_keys_and_nulls_in_compact_output() {
    let v = Value::object(vec![
        (
            Key::Object(vec![
                ("brokerName".into(), "b".into()),
                ("queueId".into(), Value::Int(0)),
                ("topic".into(), "T".into()),
            ]),
            Value::Int(5),
        ),
        (Key::Str("gone".into()), Value::Null),
    ]);
    assert_eq!(
        to_string(&v),
        r#"{{"brokerName":"b","queueId":0,"topic":"T"}:5}"#
    );
    assert_eq!(
        to_string(&Value::Array(vec![Value::Null, Value::Int(1)])),
        "[null,1]"
    );
}

#[test]
fn pretty_output_matches_fastjson_layout() {
    let v = parse(
        r#"{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":5},"groupTopicMap":{"g":["T","%RETRY%g"]},
            "offsetTable":{"T@g":{0:37960,1:37961}},"empty":{}}"#,
    )
    .unwrap();
    assert_eq!(
        to_string_pretty(&v),
        "{\n\t\"dataVersion\":{\n\t\t\"counter\":1,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":5\n\t},\n\
         \t\"groupTopicMap\":{\n\t\t\"g\":[\"T\",\"%RETRY%g\"]\n\t},\n\
         \t\"offsetTable\":{\n\t\t\"T@g\":{0:37960,1:37961\n\t\t}\n\t},\n\
         \t\"empty\":{}\n}"
    );
}

#[test]
fn doubles_are_written_like_java() {
    let cases = [
        (1.0, "1.0"),
        (0.001, "0.001"),
        (1234567.5, "1234567.5"),
        (1e7, "1.0E7"),
        (1.5e-5, "1.5E-5"),
        (-2.5e20, "-2.5E20"),
        (0.0, "0.0"),
    ];
    for (f, text) in cases {
        assert_eq!(to_string(&Value::Float(f)), text);
        assert_eq!(parse(text).unwrap(), Value::Float(f));
    }
    assert_eq!(to_string(&Value::Float(f64::NAN)), "null");
}

#[test]
fn accessors_are_lenient_like_fastjson() {
    let v = parse(r#"{"a":"12","b":"true","c":1,"d":3.0,"e":"x","f":"1e3"}"#).unwrap();
    assert_eq!(v.get("a").and_then(Value::as_i64), Some(12));
    assert_eq!(v.get("a").and_then(Value::as_i32), Some(12));
    assert_eq!(v.get("b").and_then(Value::as_bool), Some(true));
    assert_eq!(v.get("c").and_then(Value::as_bool), Some(true));
    assert_eq!(v.get("d").and_then(Value::as_i64), Some(3));
    assert_eq!(v.get("e").and_then(Value::as_i64), None);
    assert_eq!(v.get("f").and_then(Value::as_i64), Some(1000));
    assert_eq!(v.get("missing"), None);
    assert_eq!(Key::Str("7".into()).as_i64(), Some(7));
}

#[test]
fn serde_conversions_round_trip() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        topic_list: Vec<String>,
        broker_addr: Option<String>,
    }
    let body = Body {
        topic_list: vec!["A".into(), "B".into()],
        broker_addr: None,
    };
    let v = Value::from_serialize(&body).unwrap();
    // serde writes the None as null; fastjson-style output omits it.
    assert_eq!(to_string(&v), r#"{"topicList":["A","B"]}"#);
    assert_eq!(v.deserialize_into::<Body>().unwrap(), body);
    let keyed = parse("{0:\"a\"}").unwrap().to_serde_json();
    assert_eq!(keyed, serde_json::json!({"0": "a"}));
}

fn random_string(rng: &mut StdRng) -> String {
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', ' ', '"', '\\', '/', '\'', '\n', '\u{0}', '\u{1f}', '\u{7f}', '\u{9f}', 'é',
        '\u{2028}', '😀', '{', ':',
    ];
    let len = rng.random_range(0..8);
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn random_key(rng: &mut StdRng, depth: usize) -> Key {
    match rng.random_range(0..4) {
        0 | 1 => Key::Str(random_string(rng)),
        2 => Key::Int(rng.random()),
        _ if depth > 0 => Key::Object(random_entries(rng, depth - 1)),
        _ => Key::Int(rng.random_range(-5..5)),
    }
}

fn random_entries(rng: &mut StdRng, depth: usize) -> Vec<(Key, Value)> {
    let n = rng.random_range(0..4);
    (0..n)
        .map(|_| loop {
            // Null entries are omitted on output, so they cannot round-trip.
            let v = random_value(rng, depth);
            if !v.is_null() {
                break (random_key(rng, depth), v);
            }
        })
        .collect()
}

fn random_value(rng: &mut StdRng, depth: usize) -> Value {
    let kind = if depth == 0 {
        rng.random_range(0..6)
    } else {
        rng.random_range(0..8)
    };
    match kind {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => Value::Int(rng.random()),
        3 => Value::Float((rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-30..30))),
        4 | 5 => Value::Str(random_string(rng)),
        6 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(random_entries(rng, depth - 1)),
    }
}

#[test]
fn random_values_round_trip_through_every_writer() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..3000 {
        let v = random_value(&mut rng, 4);
        assert_eq!(
            parse(&to_string(&v)).unwrap(),
            v,
            "compact: {}",
            to_string(&v)
        );
        assert_eq!(
            parse(&to_string_pretty(&v)).unwrap(),
            v,
            "pretty: {}",
            to_string_pretty(&v)
        );
        let standard = to_standard_string(&v);
        assert!(standard.is_ascii(), "{standard}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&standard).is_ok(),
            "not strict JSON: {standard}"
        );
    }
}

#[test]
fn every_prefix_of_valid_input_is_an_error_not_a_panic() {
    let docs = [
        ROUTE_OLD,
        r#"{"offsetTable":{"T@g":{0:5,1:7}}}"#,
        r#"{{"brokerName":"b","queueId":0,"topic":"T"}:5}"#,
        "{'a':\"\\u00e9\\uD83D\\uDE00é\",b:[1.5e3,-2,true,null]}",
    ];
    for doc in docs {
        assert!(parse(doc).is_ok());
        for end in 0..doc.len() {
            if let Some(prefix) = doc.get(..end) {
                assert!(parse(prefix).is_err(), "prefix {prefix:?} parsed");
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(11);
    const PIECES: &[&str] = &[
        "{", "}", "[", "]", ":", ",", "\"", "'", "\\", "\\u", "0", "-", "1e", ".", "a", "/*", "//",
        " ", "null", "é",
    ];
    for _ in 0..20_000 {
        let len = rng.random_range(0..24);
        let text: String = (0..len)
            .map(|_| PIECES[rng.random_range(0..PIECES.len())])
            .collect();
        let _ = parse(&text);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let _ = parse_slice(&bytes);
    }
}

#[test]
fn cluster_info_example_round_trips_exactly() {
    // ClusterInfo is written with default fastjson, so broker ids stay unquoted.
    let text = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
    let v = parse(text).unwrap();
    let addrs = v
        .get("brokerAddrTable")
        .and_then(|t| t.get("broker-a"))
        .and_then(|b| b.get("brokerAddrs"))
        .and_then(Value::as_object)
        .unwrap();
    assert_eq!(addrs[1].0.as_i64(), Some(1));
    assert_eq!(to_string(&v), text);
}

/// Found by `fuzz/` (json_body): a number beyond f64 parses as infinity, which fastjson writes as `null`, and a
/// null entry is then left out. Writing is therefore a fixpoint only after one pass, which the target checks.
#[test]
fn overflowing_number_writes_as_null_then_settles() {
    let first = parse("{\"a\":1e999,\"b\":-7E400,\"c\":2}").unwrap();
    assert_eq!(first.get("a"), Some(&Value::Float(f64::INFINITY)));
    let written = to_string(&first);
    assert_eq!(written, "{\"a\":null,\"b\":null,\"c\":2}");
    let settled = to_string(&parse(&written).unwrap());
    assert_eq!(settled, "{\"c\":2}");
    assert_eq!(to_string(&parse(&settled).unwrap()), settled);
}
