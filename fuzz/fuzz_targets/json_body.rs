//! fastjson parsing of request bodies (heartbeat, lock/unlock batch, register broker, topic and subscription
//! configs, offsets...): every JSON body the broker and name server read goes through `fastjson::parse_slice`.
//! Parsed documents must survive the compact and pretty writers unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::fastjson;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = fastjson::parse_slice(data) else {
        return;
    };
    let _ = parsed.to_serde_json();
    // A float that overflows to infinity is written as `null` (as fastjson writes non-finite doubles) and a
    // null entry is then left out, so the first pass may drop entries; after it, parse and write are inverses.
    let first = fastjson::parse(&fastjson::to_string(&parsed)).expect("compact output parses");
    let compact = fastjson::to_string(&first);
    let again = fastjson::parse(&compact).expect("compact output parses");
    assert_eq!(
        fastjson::to_string(&again),
        compact,
        "compact output is not a fixpoint"
    );
    let pretty = fastjson::to_string_pretty(&first);
    let from_pretty = fastjson::parse(&pretty).expect("pretty output parses");
    assert_eq!(
        fastjson::to_string(&from_pretty),
        compact,
        "pretty output reads differently"
    );
    let standard = fastjson::to_standard_string(&first);
    fastjson::parse(&standard).expect("standard output parses");
});
