//! Golden vectors, part 2: stored message records (client `MessageDecoder.encode` and the broker's store
//! encoder), a PULL body, a SEND_BATCH_MESSAGE body and the broker-side batch records, all produced by Java.
//! Each is decoded and compared field by field with the manifest, then rebuilt from the manifest's inputs and
//! compared byte for byte.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use compat_tests::{hex, BatchElementSpec, Golden, StoredVector, Vector};
use rmq_codec::message::batch::{self, BatchElement};
use rmq_codec::message::{crc32_masked, properties, StoredMessage, MAGIC_V1};

fn from_manifest(s: &StoredVector) -> StoredMessage {
    StoredMessage {
        magic: s.magic,
        body_crc: s.body_crc,
        queue_id: s.queue_id,
        flag: s.flag,
        queue_offset: s.queue_offset,
        commit_log_offset: s.commit_log_offset,
        sys_flag: s.sys_flag,
        born_timestamp: s.born_timestamp,
        born_host: s.born_host,
        store_timestamp: s.store_timestamp,
        store_host: s.store_host,
        reconsume_times: s.reconsume_times,
        prepared_transaction_offset: s.prepared_transaction_offset,
        body: Bytes::from(hex(&s.body_hex)),
        topic: s.topic.clone(),
        properties: s.properties.clone(),
    }
}

fn batch_elements(specs: &[BatchElementSpec]) -> Vec<BatchElement> {
    specs
        .iter()
        .map(|e| BatchElement {
            flag: e.flag,
            body: Bytes::from(hex(&e.body_hex)),
            properties: e.properties.clone(),
        })
        .collect()
}

#[test]
fn stored_records_decode_to_the_java_values() {
    for g in Golden::all() {
        for s in g.stored() {
            let name = format!("{}/{}", g.version, s.file.file);
            let bytes = g.bytes(&s.file.file);
            assert_eq!(bytes.len(), s.total_size, "{name}: TOTALSIZE");
            let ours = StoredMessage::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(ours, from_manifest(s), "{name}");
            assert_eq!(
                ours.magic, MAGIC_V1,
                "{name}: both encoders write V1 for short topics"
            );
            assert_eq!(ours.body_crc, crc32_masked(&ours.body), "{name}: BODYCRC");
            assert_eq!(ours.offset_msg_id(), s.java_decoded_msg_id, "{name}: msgId");
            let props: BTreeMap<String, String> =
                properties::decode(&ours.properties).into_iter().collect();
            assert_eq!(props, s.java_decoded_properties, "{name}: properties map");
        }
    }
}

#[test]
fn stored_records_encode_byte_for_byte() {
    for g in Golden::all() {
        for s in g.stored() {
            let name = format!("{}/{}", g.version, s.file.file);
            let mut out = BytesMut::new();
            from_manifest(s)
                .encode(&mut out)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&out[..], &g.bytes(&s.file.file)[..], "{name}");
        }
    }
}

/// The client-side and the store encoder agree on everything except the offsets the store patches later.
#[test]
fn client_and_store_encoders_agree_on_layout() {
    for g in Golden::all() {
        for s in g.stored().filter(|s| s.file.file.starts_with("msg_")) {
            let store = g.bytes(&format!("store_{}", s.file.file));
            let client = g.bytes(&s.file.file);
            assert_eq!(store.len(), client.len(), "{}/{}", g.version, s.file.file);
            // TOTALSIZE..FLAG and SYSFLAG..end are identical; QUEUEOFFSET/PHYSICALOFFSET (20..36) may differ.
            assert_eq!(store[..20], client[..20]);
            assert_eq!(store[36..], client[36..]);
        }
    }
}

#[test]
fn pull_body_is_records_back_to_back() {
    for g in Golden::all() {
        let Vector::StoredMessageList(list) = g.vector("pull_body.bin") else {
            panic!("pull_body.bin has the wrong kind");
        };
        let body = g.bytes(&list.file.file);
        let mut pos = 0;
        for file in &list.records {
            let record = StoredMessage::decode(&body[pos..])
                .unwrap_or_else(|e| panic!("{}: record {file} at {pos}: {e}", g.version));
            let expected = g.bytes(file);
            let mut again = BytesMut::new();
            record.encode(&mut again).expect("re-encode");
            assert_eq!(&again[..], &expected[..], "{}: {file}", g.version);
            pos += expected.len();
        }
        assert_eq!(
            pos,
            body.len(),
            "{}: nothing after the last record",
            g.version
        );
    }
}

#[test]
fn batch_body_matches_encode_messages() {
    for g in Golden::all() {
        let Vector::BatchBody(v) = g.vector("batch_body.bin") else {
            panic!("batch_body.bin has the wrong kind");
        };
        let bytes = g.bytes(&v.file.file);
        let expected = batch_elements(&v.elements);
        let decoded = batch::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", g.version));
        assert_eq!(decoded, expected, "{}: decode", g.version);
        let mut out = BytesMut::new();
        batch::encode(&expected, &mut out).unwrap_or_else(|e| panic!("{}: {e}", g.version));
        assert_eq!(&out[..], &bytes[..], "{}: encode", g.version);
    }
}

/// The broker stores one record per batch element, with its own BODYCRC and the batch-level properties
/// appended to the element's (`properties::append_batch`).
#[test]
fn store_batch_records_match_the_broker_encoder() {
    for g in Golden::all() {
        let Vector::StoreBatch(v) = g.vector("store_batch.bin") else {
            panic!("store_batch.bin has the wrong kind");
        };
        let bytes = g.bytes(&v.file.file);
        let mut expected = BytesMut::new();
        let mut pos = 0;
        for (el, java) in v.elements.iter().zip(&v.java_decoded_records) {
            let name = format!("{}/store_batch.bin at {pos}", g.version);
            let body = Bytes::from(hex(&el.body_hex));
            let record = StoredMessage {
                magic: MAGIC_V1,
                body_crc: crc32_masked(&body),
                queue_id: v.queue_id,
                flag: el.flag,
                queue_offset: 0,
                commit_log_offset: 0,
                sys_flag: v.sys_flag,
                born_timestamp: v.born_timestamp,
                born_host: v.born_host,
                store_timestamp: v.store_timestamp,
                store_host: v.store_host,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body,
                topic: v.topic.clone(),
                properties: properties::append_batch(&el.properties, &v.batch_properties),
            };
            let decoded =
                StoredMessage::decode(&bytes[pos..]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(decoded, record, "{name}");
            assert_eq!(decoded.body_crc, java.body_crc, "{name}: BODYCRC");
            assert_eq!(decoded.flag, java.flag, "{name}");
            let props: BTreeMap<String, String> = properties::decode(&decoded.properties)
                .into_iter()
                .collect();
            assert_eq!(props, java.properties_map, "{name}: properties");
            record.encode(&mut expected).expect("encode");
            pos += java.total_size;
        }
        assert_eq!(v.elements.len(), v.java_decoded_records.len());
        assert_eq!(
            &expected[..],
            &bytes[..],
            "{}: store batch bytes",
            g.version
        );
        // The request body the batch came from is the client encoding of the same elements.
        let mut body = BytesMut::new();
        batch::encode(&batch_elements(&v.elements), &mut body).expect("batch encode");
        assert_eq!(
            &body[..],
            &hex(&v.batch_body_hex)[..],
            "{}: request body",
            g.version
        );
    }
}
