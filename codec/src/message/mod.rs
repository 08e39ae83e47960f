//! The stored-message record (commit log and pull-body layout) and the small pure helpers around it:
//! properties strings, client batches, offset message ids, the masked CRC and Java `String.hashCode`.
//!
//! Layout of the submodules:
//! - [`record`]: [`StoredMessage`] (full decode/encode) and [`peek_record`] (borrowing parse for recovery and dispatch).
//! - [`properties`]: the `key\u{1}value\u{2}` property string and the property key constants.
//! - [`batch`]: the SEND_BATCH_MESSAGE body (client-encoded elements).
//! - [`ids`]: offset message ids (`storeHost + port + commitLogOffset` as uppercase hex).

pub mod batch;
pub mod ids;
pub mod properties;
pub mod record;

pub use ids::{create_offset_msg_id, decode_offset_msg_id};
pub use record::{peek_record, RecordPeek, RecordView, StoredMessage};

/// Magic code of a V1 record (1-byte topic length). Written for every topic of at most 127 characters.
pub const MAGIC_V1: i32 = 0xDAA320A7_u32 as i32;
/// Magic code of a V2 record (2-byte topic length, 5.1+). Older clients cannot decode it.
pub const MAGIC_V2: i32 = 0xDAA320AB_u32 as i32;
/// Magic code of the end-of-file filler: `[int32 remaining][BLANK_MAGIC]`.
pub const BLANK_MAGIC: i32 = 0xCBD43194_u32 as i32;

/// `MessageSysFlag` bits.
pub mod sys_flag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_NOT: i32 = 0x0;
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const BORNHOST_V6: i32 = 0x10;
    pub const STOREHOST_V6: i32 = 0x20;
    pub const NEED_UNWRAP: i32 = 0x40;
    pub const INNER_BATCH: i32 = 0x80;
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

    /// The transaction type bits (`TRANSACTION_NOT`, `_PREPARED`, `_COMMIT` or `_ROLLBACK`).
    pub fn transaction_type(sys_flag: i32) -> i32 {
        sys_flag & TRANSACTION_MASK
    }

    /// Whether a record of this type gets a consume-queue unit and a real queue offset.
    /// PREPARED (half) and ROLLBACK records do not.
    pub fn is_dispatched(sys_flag: i32) -> bool {
        matches!(
            transaction_type(sys_flag),
            TRANSACTION_NOT | TRANSACTION_COMMIT
        )
    }
}

/// Fixed byte positions inside a record, used by the store to patch a pre-encoded record.
pub mod layout {
    use super::sys_flag;

    pub const TOTAL_SIZE: usize = 0;
    pub const MAGIC: usize = 4;
    pub const BODY_CRC: usize = 8;
    pub const QUEUE_ID: usize = 12;
    pub const FLAG: usize = 16;
    pub const QUEUE_OFFSET: usize = 20;
    pub const PHYSICAL_OFFSET: usize = 28;
    pub const SYS_FLAG: usize = 36;
    pub const BORN_TIMESTAMP: usize = 40;
    pub const BORN_HOST: usize = 48;

    /// Length of a host field (address + int32 port): 8 for IPv4, 20 for IPv6.
    pub fn host_len(v6: bool) -> usize {
        if v6 {
            20
        } else {
            8
        }
    }

    /// Position of STORETIMESTAMP: 56 with an IPv4 born host, 68 with an IPv6 one.
    pub fn store_timestamp_pos(sys_flag: i32) -> usize {
        BORN_HOST + host_len(sys_flag & sys_flag::BORNHOST_V6 != 0)
    }

    /// Position of STOREHOST.
    pub fn store_host_pos(sys_flag: i32) -> usize {
        store_timestamp_pos(sys_flag) + 8
    }

    /// Position of BODYLEN (RECONSUMETIMES and PREPARED TRANSACTION OFFSET sit between STOREHOST and it).
    pub fn body_len_pos(sys_flag: i32) -> usize {
        store_host_pos(sys_flag) + host_len(sys_flag & sys_flag::STOREHOST_V6 != 0) + 4 + 8
    }
}

/// Selects the record version for a topic: V2 when the topic is longer than 127 characters.
///
/// Java counts UTF-16 units (`topic.length() > 127`); we also switch to V2 when the UTF-8 length exceeds 127,
/// because a V1 record stores the byte length in a signed byte and Java would write a corrupt record there.
/// For the ASCII topic names the broker accepts the two rules are identical.
pub fn magic_for_topic(topic: &str) -> i32 {
    if topic.len() > 127 || topic.encode_utf16().count() > 127 {
        MAGIC_V2
    } else {
        MAGIC_V1
    }
}

/// `UtilAll.crc32`: `java.util.zip.CRC32` (IEEE) masked with `0x7FFFFFFF`. Empty input gives 0.
pub fn crc32_masked(data: &[u8]) -> i32 {
    (crc32fast::hash(data) & 0x7FFF_FFFF) as i32
}

/// Java `String.hashCode`: `h = 31*h + c` over UTF-16 code units with int32 wrap-around.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Consume-queue tags code of a normal message: 0 without tags, else the tag's Java hash sign-extended.
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => i64::from(java_string_hash(t)),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_java_crc32_masked() {
        // The standard CRC-32 check value of "123456789" is 0xCBF43926; masking drops the top bit.
        assert_eq!(crc32_masked(b"123456789"), 0x4BF43926);
        assert_eq!(crc32_masked(b""), 0);
        // CRC32("a") = 0xE8B7BE43.
        assert_eq!(crc32_masked(b"a"), 0x68B7BE43);
    }

    #[test]
    fn java_hash_known_values() {
        assert_eq!(java_string_hash("TagA"), 2598919);
        assert_eq!(java_string_hash(""), 0);
        // "é" is one UTF-16 unit (0xE9); "😀" is the surrogate pair D83D DE00.
        assert_eq!(java_string_hash("é"), 0xE9);
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
        // Overflow wraps like Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn tags_code_sign_extends() {
        assert_eq!(tags_code(None), 0);
        assert_eq!(tags_code(Some("")), 0);
        assert_eq!(tags_code(Some("TagA")), 2598919);
        assert_eq!(tags_code(Some("polygenelubricants")), -2147483648i64);
    }

    #[test]
    fn magic_switches_above_127_chars() {
        assert_eq!(magic_for_topic(&"t".repeat(127)), MAGIC_V1);
        assert_eq!(magic_for_topic(&"t".repeat(128)), MAGIC_V2);
        assert_eq!(MAGIC_V1, -626843481);
        assert_eq!(MAGIC_V2, -626843477);
        assert_eq!(BLANK_MAGIC, -875286124);
    }

    #[test]
    fn layout_positions() {
        assert_eq!(layout::store_timestamp_pos(0), 56);
        assert_eq!(layout::store_timestamp_pos(sys_flag::BORNHOST_V6), 68);
        assert_eq!(layout::body_len_pos(0), 84);
        assert_eq!(
            layout::body_len_pos(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6),
            108
        );
    }

    #[test]
    fn transaction_types() {
        assert!(sys_flag::is_dispatched(0));
        assert!(sys_flag::is_dispatched(
            sys_flag::TRANSACTION_COMMIT | sys_flag::COMPRESSED
        ));
        assert!(!sys_flag::is_dispatched(sys_flag::TRANSACTION_PREPARED));
        assert!(!sys_flag::is_dispatched(sys_flag::TRANSACTION_ROLLBACK));
    }
}
