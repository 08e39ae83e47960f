//! The property string (`key\u1value\u2...`): decode, encode, get/put/remove on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::message::properties;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pairs = properties::decode(&text);
    let encoded = properties::encode(&pairs);
    assert_eq!(
        properties::decode(&encoded),
        pairs,
        "decode(encode(pairs)) changed them"
    );
    for (key, value) in &pairs {
        assert_eq!(properties::get(&text, key), Some(value.as_str()));
    }
    // Use the first pair (or a fixed one) to exercise put/remove on the raw string.
    let (key, value) = pairs
        .first()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap_or_else(|| ("TAGS".into(), "x".into()));
    let put = properties::put(&text, &key, &value);
    assert_eq!(properties::get(&put, &key), Some(value.as_str()));
    let removed = properties::remove(&put, &key);
    assert_eq!(properties::get(&removed, &key), None);
    let _ = properties::append_batch(&text, &encoded);
});
