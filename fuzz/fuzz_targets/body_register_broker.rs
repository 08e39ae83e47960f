//! The REGISTER_BROKER body and the QUERY_DATA_VERSION body: decode of arbitrary bytes never panics, and what
//! they decode survives encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::body::{DataVersion, RegisterBrokerBody};

fuzz_target!(|data: &[u8]| {
    if let Ok(first) = RegisterBrokerBody::decode(data) {
        let text = first.encode();
        let second = RegisterBrokerBody::decode(text.as_bytes()).expect("our own body decodes");
        assert_eq!(second, first);
        assert_eq!(second.encode(), text, "encode is not a fixpoint");
    }
    if let Ok(first) = DataVersion::decode(data) {
        let second = DataVersion::decode(first.encode().as_bytes()).expect("our own version decodes");
        assert_eq!(second, first);
    }
});
