//! The HEART_BEAT body: `HeartbeatData::decode` of arbitrary bytes never panics, and what it decodes survives
//! encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::body::HeartbeatData;

fuzz_target!(|data: &[u8]| {
    let Ok(first) = HeartbeatData::decode(data) else {
        return;
    };
    let text = first.encode();
    let second = HeartbeatData::decode(text.as_bytes()).expect("our own heartbeat decodes");
    assert_eq!(second, first);
    assert_eq!(second.encode(), text, "encode is not a fixpoint");
});
