//! Golden vectors, part 1: the manifests themselves and the scalar functions (CRC, tag hash, offset message
//! ids, property strings) against the values the Java library computed.
//! Frames are in `golden_remoting.rs`, message records in `golden_message.rs`.

use std::collections::BTreeMap;

use compat_tests::{hex, Golden, Vector};
use rmq_codec::message::{
    crc32_masked, create_offset_msg_id, decode_offset_msg_id, java_string_hash, properties,
};

#[test]
fn every_manifest_matches_its_files() {
    // Golden::load checks size and sha256 of every file.
    for g in Golden::all() {
        let m = &g.manifest;
        assert!(
            m.generator.starts_with("rmqd-golden-gen"),
            "{}",
            m.generator
        );
        let expected_ordinal = if g.is_4x() { 409 } else { 479 };
        assert_eq!(m.remoting_version_ordinal, expected_ordinal);
        assert!(
            m.files.len() >= 27,
            "{}: only {} vectors",
            g.version,
            m.files.len()
        );
        let has = |f: fn(&Vector) -> bool| m.files.iter().any(f);
        assert!(has(|v| matches!(v, Vector::Remoting(_))));
        assert!(has(|v| matches!(v, Vector::StoredMessage(_))));
        assert!(has(|v| matches!(v, Vector::StoreRecord(_))));
        assert!(has(|v| matches!(v, Vector::BatchBody(_))));
        assert!(has(|v| matches!(v, Vector::StoreBatch(_))));
    }
}

#[test]
fn crc32_matches_util_all_crc32() {
    for g in Golden::all() {
        for case in &g.manifest.functions.crc32 {
            assert_eq!(
                crc32_masked(&hex(&case.input_hex)),
                case.value,
                "{}: crc32 of {}",
                g.version,
                case.input_hex
            );
        }
    }
}

#[test]
fn tag_hash_matches_java_string_hash_code() {
    for g in Golden::all() {
        for case in &g.manifest.functions.string_hash {
            assert_eq!(
                java_string_hash(&case.input),
                case.value,
                "{}: hashCode of {:?}",
                g.version,
                case.input
            );
        }
    }
}

#[test]
fn offset_msg_ids_match_create_message_id() {
    for g in Golden::all() {
        for case in &g.manifest.functions.offset_msg_id {
            let ours = create_offset_msg_id(case.store_host, case.commit_log_offset);
            assert_eq!(ours, case.id, "{}: id of {:?}", g.version, case);
            let (host, offset) = decode_offset_msg_id(&case.id)
                .unwrap_or_else(|e| panic!("{}: decoding {}: {e}", g.version, case.id));
            assert_eq!((host, offset), (case.store_host, case.commit_log_offset));
        }
    }
}

/// Our encoder writes the 5.x form (a `\u{2}` after every pair). 4.9.x `messageProperties2String` drops the
/// last separator; every Java version parses both forms to the same map, which the decode half checks.
#[test]
fn property_strings_match_message_properties_2_string() {
    for g in Golden::all() {
        for case in &g.manifest.functions.properties_to_string {
            let ours = properties::encode(&case.pairs);
            let java_5x_form = if g.is_4x() && !case.value.is_empty() {
                format!("{}\u{2}", case.value)
            } else {
                case.value.clone()
            };
            assert_eq!(ours, java_5x_form, "{}: {:?}", g.version, case.pairs);
            assert_eq!(properties::decode(&case.value), case.pairs, "{}", g.version);
        }
    }
}

#[test]
fn property_parsing_matches_string_2_message_properties() {
    for g in Golden::all() {
        for case in &g.manifest.functions.string_to_properties {
            let ours: BTreeMap<String, String> =
                properties::decode(&case.input).into_iter().collect();
            assert_eq!(ours, case.value, "{}: {:?}", g.version, case.input);
        }
    }
}

/// The 4.x/5.x difference above is real and visible in the records too: 4.9.8 strings never end in `\u{2}`.
#[test]
fn trailing_property_separator_differs_by_version() {
    for g in Golden::all() {
        for s in g.stored().filter(|s| !s.properties.is_empty()) {
            assert_eq!(
                s.properties.ends_with('\u{2}'),
                !g.is_4x(),
                "{}/{}",
                g.version,
                s.file.file
            );
        }
    }
}
