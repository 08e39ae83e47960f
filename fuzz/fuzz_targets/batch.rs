//! The SEND_BATCH_MESSAGE body: `batch::decode` of arbitrary bytes, then encode → decode equality and property
//! parsing of every element.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use rmq_codec::message::{batch, properties};

fuzz_target!(|data: &[u8]| {
    let Ok(first) = batch::decode(&Bytes::copy_from_slice(data)) else {
        return;
    };
    for element in &first {
        let _ = properties::decode(&element.properties);
    }
    let mut buf = BytesMut::new();
    batch::encode(&first, &mut buf).expect("decoded elements fit the layout");
    let second = batch::decode(&buf.freeze()).expect("our own batch decodes");
    assert_eq!(second, first);
});
