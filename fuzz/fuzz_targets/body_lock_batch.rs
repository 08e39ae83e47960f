//! The LOCK_BATCH_MQ / UNLOCK_BATCH_MQ bodies: request and response decode of arbitrary bytes never panics,
//! and what they decode survives encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::body::{LockBatchRequestBody, LockBatchResponseBody};

fuzz_target!(|data: &[u8]| {
    if let Ok(first) = LockBatchRequestBody::decode(data) {
        let text = first.encode();
        let second = LockBatchRequestBody::decode(text.as_bytes()).expect("our own request decodes");
        assert_eq!(second, first);
        assert_eq!(second.encode(), text, "request encode is not a fixpoint");
    }
    if let Ok(first) = LockBatchResponseBody::decode(data) {
        let text = first.encode();
        let second =
            LockBatchResponseBody::decode(text.as_bytes()).expect("our own response decodes");
        assert_eq!(second, first);
        assert_eq!(second.encode(), text, "response encode is not a fixpoint");
    }
});
