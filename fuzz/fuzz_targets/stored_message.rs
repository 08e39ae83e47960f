//! The commit-log / pull-body record: `peek_record` and `StoredMessage::decode` of arbitrary bytes, then
//! decode → encode → decode equality, and the encoded length must match TOTALSIZE.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_codec::message::record::{peek_record, RecordPeek, StoredMessage};

fuzz_target!(|data: &[u8]| {
    let peeked = peek_record(data);
    let decoded = StoredMessage::decode(data);
    if let Ok(RecordPeek::Message(view)) = &peeked {
        assert!(view.total_size <= data.len());
        assert_eq!(&data[view.body_range.clone()], view.body);
        let _ = view.body_crc_matches();
    }
    let Ok(first) = decoded else {
        return;
    };
    let _ = first.offset_msg_id();
    let mut buf = BytesMut::new();
    // Lossy UTF-8 in the topic can grow it past what a V1 record holds; that may fail, but not panic.
    if first.encode(&mut buf).is_err() {
        return;
    }
    assert_eq!(buf.len(), first.encoded_len());
    let second = StoredMessage::decode(&buf).expect("our own record decodes");
    // SYSFLAG's host bits are rewritten to match the hosts (Java would write a corrupt record instead).
    let expected = StoredMessage {
        sys_flag: first.sys_flag_for_hosts(),
        ..first
    };
    assert_eq!(second, expected);
});
