//! Helpers shared by the golden-byte tests in `tests/golden*.rs`.
//!
//! The vectors under `golden/<version>/` were written by the real Java RocketMQ library (generator:
//! `golden-gen/`, rerun with `golden-gen/generate.sh`). `manifest.json` lists every file with its size, its
//! sha256 and the input values the Java side used, so a test can rebuild the same value with rmq-codec and
//! compare bytes. These helpers load and verify the manifest and take headers apart so that a test can
//! compare everything byte for byte except the one thing Java leaves to chance: `HashMap` iteration order.
//!
//! Test helpers panic (with the file name) instead of returning errors: a broken vector is a test failure.

use std::path::PathBuf;

use bytes::Bytes;

pub use json_scan::{object_members, unquote};
pub use manifest::*;
pub use sha256::sha256_hex;

/// Every library version that has a vector set.
pub const VERSIONS: &[&str] = &["4.9.8", "5.3.3"];

/// The vector set of one Java library version, verified against its manifest.
pub struct Golden {
    pub version: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Golden {
    /// Loads `golden/<version>/manifest.json` and checks each file's size and sha256.
    #[track_caller]
    pub fn load(version: &str) -> Golden {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("golden")
            .join(version);
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let manifest: Manifest = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        assert_eq!(manifest.rocketmq_version, version, "manifest version");
        let golden = Golden {
            version: version.to_owned(),
            dir,
            manifest,
        };
        for vector in &golden.manifest.files {
            let info = vector.file_ref();
            let data = golden.read_unchecked(&info.file);
            assert_eq!(data.len(), info.size, "{version}/{}: size", info.file);
            assert_eq!(
                sha256_hex(&data),
                info.sha256,
                "{version}/{}: sha256",
                info.file
            );
        }
        golden
    }

    /// Every vector set, verified.
    pub fn all() -> Vec<Golden> {
        VERSIONS.iter().map(|v| Golden::load(v)).collect()
    }

    /// 4.9.x writes property strings without the trailing `\u{2}`; 5.x keeps it (`messageProperties2String`).
    pub fn is_4x(&self) -> bool {
        self.version.starts_with("4.")
    }

    /// The bytes of one vector file.
    #[track_caller]
    pub fn bytes(&self, file: &str) -> Bytes {
        self.read_unchecked(file)
    }

    #[track_caller]
    fn read_unchecked(&self, file: &str) -> Bytes {
        let path = self.dir.join(file);
        let data =
            std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Bytes::from(data)
    }

    /// Vectors of one kind, e.g. `golden.remoting()`.
    pub fn remoting(&self) -> impl Iterator<Item = &RemotingVector> {
        self.manifest.files.iter().filter_map(|v| match v {
            Vector::Remoting(r) => Some(r),
            _ => None,
        })
    }

    /// Single stored records, from `MessageDecoder.encode` and from the broker's store encoder.
    pub fn stored(&self) -> impl Iterator<Item = &StoredVector> {
        self.manifest.files.iter().filter_map(|v| match v {
            Vector::StoredMessage(s) | Vector::StoreRecord(s) => Some(s),
            _ => None,
        })
    }

    /// The one vector with this file name.
    #[track_caller]
    pub fn vector(&self, file: &str) -> &Vector {
        self.manifest
            .files
            .iter()
            .find(|v| v.file_ref().file == file)
            .unwrap_or_else(|| panic!("{}: no vector {file}", self.version))
    }
}

/// Decodes lowercase or uppercase hex.
#[track_caller]
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("hex {s}: {e}")))
        .collect()
}

/// A ROCKETMQ binary header cut in two: everything before the map section (code … remark, with the
/// map-length word) and the map entries in written order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryHeader {
    pub fixed: Vec<u8>,
    pub ext: Vec<(String, String)>,
}

/// Splits a ROCKETMQ header (`RocketMQSerializable` layout) without using rmq-codec, so the
/// tests can compare our encoder's output with Java's independently of our decoder.
#[track_caller]
pub fn split_binary_header(header: &[u8]) -> BinaryHeader {
    let be32 =
        |p: usize| i32::from_be_bytes([header[p], header[p + 1], header[p + 2], header[p + 3]]);
    let remark_len = usize::try_from(be32(13)).expect("remark length");
    let ext_at = 17 + remark_len;
    let ext_len = usize::try_from(be32(ext_at)).expect("ext length");
    let end = ext_at + 4 + ext_len;
    assert_eq!(end, header.len(), "map section must end the header");
    let mut ext = Vec::new();
    let mut p = ext_at + 4;
    while p < end {
        let klen = usize::from(u16::from_be_bytes([header[p], header[p + 1]]));
        let key = String::from_utf8(header[p + 2..p + 2 + klen].to_vec()).expect("utf-8 key");
        p += 2 + klen;
        let vlen = usize::try_from(be32(p)).expect("value length");
        let value = String::from_utf8(header[p + 4..p + 4 + vlen].to_vec()).expect("utf-8 value");
        p += 4 + vlen;
        ext.push((key, value));
    }
    BinaryHeader {
        fixed: header[..ext_at + 4].to_vec(),
        ext,
    }
}

/// The header bytes of a whole frame (4-byte length, 4-byte type+length word, header, body).
#[track_caller]
pub fn frame_header(frame: &[u8]) -> &[u8] {
    let word = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let len = (word & 0x00FF_FFFF) as usize;
    &frame[8..8 + len]
}

/// The shape of `golden/<version>/manifest.json` (written by `golden-gen/.../Generator.java`).
mod manifest {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;

    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    pub struct Manifest {
        pub generator: String,
        pub rocketmq_version: String,
        /// The `version` field every remoting command carries (MQVersion ordinal of the library).
        pub remoting_version_ordinal: i32,
        pub java_version: String,
        pub notes: Vec<String>,
        pub files: Vec<Vector>,
        pub functions: Functions,
    }

    /// Name, size and digest of one vector file.
    #[derive(Debug, Clone, Deserialize)]
    pub struct FileRef {
        pub file: String,
        pub size: usize,
        pub sha256: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Vector {
        Remoting(RemotingVector),
        /// `MessageDecoder.encode(MessageExt, false)`.
        StoredMessage(StoredVector),
        /// The broker's store encoder (`MessageExtEncoder`), before `doAppend` patches the offsets.
        StoreRecord(StoredVector),
        StoredMessageList(ListVector),
        BatchBody(BatchVector),
        StoreBatch(StoreBatchVector),
    }

    impl Vector {
        pub fn file_ref(&self) -> &FileRef {
            match self {
                Vector::Remoting(v) => &v.file,
                Vector::StoredMessage(v) | Vector::StoreRecord(v) => &v.file,
                Vector::StoredMessageList(v) => &v.file,
                Vector::BatchBody(v) => &v.file,
                Vector::StoreBatch(v) => &v.file,
            }
        }
    }

    /// One whole remoting frame and the values Java decodes from it.
    #[derive(Debug, Deserialize)]
    pub struct RemotingVector {
        #[serde(flatten)]
        pub file: FileRef,
        pub description: String,
        pub producer: String,
        /// `"JSON"` or `"ROCKETMQ"`.
        pub serialize_type: String,
        pub header_len: usize,
        pub code: i32,
        pub language: String,
        pub language_code: u8,
        pub version: i32,
        pub opaque: i32,
        pub flag: i32,
        pub remark: Option<String>,
        /// The map Java's decoder builds (duplicates collapsed).
        pub ext_fields: Option<BTreeMap<String, String>>,
        /// Top-level JSON keys in written order (JSON frames only): fastjson sorts them.
        pub json_key_order: Option<Vec<String>>,
        /// The extFields entries in written order, duplicates kept (Java `HashMap` iteration order).
        pub ext_written: Vec<(String, String)>,
        pub body_hex: Option<String>,
        /// The typed header the command was built from (Java field names; numbers as numbers).
        pub header: serde_json::Map<String, serde_json::Value>,
    }

    impl RemotingVector {
        pub fn is_json(&self) -> bool {
            self.serialize_type == "JSON"
        }

        /// Frames that an encoder given the same values could reproduce (the ACL-duplicate frame cannot: a map
        /// has no duplicate keys).
        pub fn has_duplicate_keys(&self) -> bool {
            let n = self.ext_fields.as_ref().map_or(0, BTreeMap::len);
            n != self.ext_written.len()
        }

        /// Header value as the string Java put into extFields.
        #[track_caller]
        pub fn header_str(&self, field: &str) -> String {
            match self.header.get(field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => panic!("{}: no header field {field}", self.file.file),
            }
        }
    }

    /// One stored message record with every input field.
    #[derive(Debug, Deserialize)]
    pub struct StoredVector {
        #[serde(flatten)]
        pub file: FileRef,
        pub description: String,
        pub producer: String,
        pub total_size: usize,
        pub magic: i32,
        pub body_crc: i32,
        pub queue_id: i32,
        pub flag: i32,
        pub queue_offset: i64,
        pub commit_log_offset: i64,
        pub sys_flag: i32,
        pub born_timestamp: i64,
        pub born_host: SocketAddr,
        pub store_timestamp: i64,
        pub store_host: SocketAddr,
        pub reconsume_times: i32,
        pub prepared_transaction_offset: i64,
        pub body_hex: String,
        pub topic: String,
        /// The exact property string in the record.
        pub properties: String,
        /// The Java map's iteration order that produced `properties`.
        pub properties_pairs: Vec<(String, String)>,
        pub java_decoded_msg_id: String,
        pub java_decoded_properties: BTreeMap<String, String>,
    }

    /// A PULL body: records concatenated, in `records` order.
    #[derive(Debug, Deserialize)]
    pub struct ListVector {
        #[serde(flatten)]
        pub file: FileRef,
        pub description: String,
        pub records: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    pub struct BatchElementSpec {
        pub flag: i32,
        pub body_hex: String,
        pub properties: String,
    }

    /// A SEND_BATCH_MESSAGE body (`MessageDecoder.encodeMessages`).
    #[derive(Debug, Deserialize)]
    pub struct BatchVector {
        #[serde(flatten)]
        pub file: FileRef,
        pub description: String,
        pub producer: String,
        pub elements: Vec<BatchElementSpec>,
    }

    #[derive(Debug, Deserialize)]
    pub struct DecodedRecord {
        pub total_size: usize,
        pub body_crc: i32,
        pub flag: i32,
        pub body_hex: String,
        pub properties_map: BTreeMap<String, String>,
    }

    /// A batch as the broker's store encoder writes it: one record per element.
    #[derive(Debug, Deserialize)]
    pub struct StoreBatchVector {
        #[serde(flatten)]
        pub file: FileRef,
        pub description: String,
        pub producer: String,
        pub topic: String,
        pub queue_id: i32,
        pub sys_flag: i32,
        pub born_timestamp: i64,
        pub born_host: SocketAddr,
        pub store_timestamp: i64,
        pub store_host: SocketAddr,
        pub batch_properties: String,
        pub batch_body_hex: String,
        pub elements: Vec<BatchElementSpec>,
        pub java_decoded_records: Vec<DecodedRecord>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Functions {
        pub crc32: Vec<Crc32Case>,
        pub string_hash: Vec<StringHashCase>,
        pub offset_msg_id: Vec<OffsetMsgIdCase>,
        pub properties_to_string: Vec<PropertiesToStringCase>,
        pub string_to_properties: Vec<StringToPropertiesCase>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Crc32Case {
        pub input_hex: String,
        pub value: i32,
    }

    #[derive(Debug, Deserialize)]
    pub struct StringHashCase {
        pub input: String,
        pub value: i32,
    }

    #[derive(Debug, Deserialize)]
    pub struct OffsetMsgIdCase {
        pub store_host: SocketAddr,
        pub commit_log_offset: i64,
        pub id: String,
    }

    #[derive(Debug, Deserialize)]
    pub struct PropertiesToStringCase {
        pub pairs: Vec<(String, String)>,
        pub value: String,
    }

    #[derive(Debug, Deserialize)]
    pub struct StringToPropertiesCase {
        pub input: String,
        pub value: BTreeMap<String, String>,
    }
}

/// SHA-256 (FIPS 180-4), enough to check the manifest digests without another dependency.
mod sha256 {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// Lowercase hex digest of `data`.
    pub fn sha256_hex(data: &[u8]) -> String {
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut msg = data.to_vec();
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
        for block in msg.chunks_exact(64) {
            compress(&mut h, block);
        }
        h.iter().map(|w| format!("{w:08x}")).collect()
    }

    fn compress(h: &mut [u32; 8], block: &[u8]) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = *h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn known_digests() {
            assert_eq!(
                super::sha256_hex(b""),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            );
            assert_eq!(
                super::sha256_hex(b"abc"),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
            // 56 bytes: the padding spills into a second block.
            assert_eq!(
                super::sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            );
        }
    }
}

/// Raw scanning of a JSON object's members, so tests can compare the exact bytes of each member (escapes
/// included) while ignoring member order where Java's order is a `HashMap` accident.
mod json_scan {
    /// The members of the JSON object `text` as raw `(key, value)` slices, in written order. `text` must be a
    /// single object as fastjson writes it (no whitespace between tokens is needed, but it is tolerated).
    #[track_caller]
    pub fn object_members(text: &str) -> Vec<(&str, &str)> {
        let bytes = text.trim().as_bytes();
        let text = text.trim();
        assert!(
            bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}'),
            "not an object: {text}"
        );
        let mut members = Vec::new();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut start = 1;
        let mut colon = None;
        for (i, &b) in bytes.iter().enumerate() {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b':' if depth == 1 && colon.is_none() => colon = Some(i),
                // A member ends at a top-level comma or at the closing brace of the object itself.
                b',' | b'}' if depth == 1 => {
                    if let Some(c) = colon.take() {
                        members.push((text[start..c].trim(), text[c + 1..i].trim()));
                    }
                    start = i + 1;
                    if b == b'}' {
                        depth = 0;
                    }
                }
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        members
    }

    /// `"abc"` → `abc` (for keys, which fastjson never escapes in these headers).
    #[track_caller]
    pub fn unquote(raw: &str) -> &str {
        raw.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or_else(|| panic!("not a simple string: {raw}"))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn members_in_order_with_nested_objects_and_escapes() {
            let text = r#"{"code":310,"extFields":{"i":"a\"}{,:b","k":"false"},"flag":0}"#;
            let top = object_members(text);
            let keys: Vec<_> = top.iter().map(|(k, _)| unquote(k)).collect();
            assert_eq!(keys, ["code", "extFields", "flag"]);
            let ext = object_members(top[1].1);
            assert_eq!(ext, [(r#""i""#, r#""a\"}{,:b""#), (r#""k""#, r#""false""#)]);
        }

        #[test]
        fn empty_object() {
            assert!(object_members("{}").is_empty());
        }
    }
}
