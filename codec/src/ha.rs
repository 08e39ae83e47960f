//! The two frames of Java's classic HA protocol (4.x `HAService`/`HAConnection`, 5.x `DefaultHAClient`/
//! `DefaultHAConnection` without a controller), on the master's `haListenPort`. No framing beyond them:
//! the stream is a sequence of these, big-endian.
//!
//! Slave → master, an offset report (8 bytes):
//! ```text
//! | int64 slave commit-log max offset |
//! ```
//! Master → slave, a transfer (12-byte header, then `body_size` raw commit-log bytes):
//! ```text
//! | int64 physical offset of the body | int32 body_size | body ... |
//! ```
//! A body size of 0 is the master's heartbeat.

use crate::CodecError;

/// Length of a slave's offset report.
pub const REPORT_LEN: usize = 8;
/// Length of the header before a transfer's body.
pub const TRANSFER_HEADER_LEN: usize = 12;

/// The slave's report of its commit-log max offset (its ack of everything below it).
pub fn encode_report(max_offset: u64) -> [u8; REPORT_LEN] {
    max_offset.to_be_bytes()
}

/// The last complete report in `buf`, and how many bytes the complete reports take. Java's master reads
/// whatever arrived and acts on the last whole 8 bytes only (`HAConnection.ReadSocketService`).
pub fn decode_last_report(buf: &[u8]) -> Option<(u64, usize)> {
    let whole = buf.len() - buf.len() % REPORT_LEN;
    let last = buf.get(whole.checked_sub(REPORT_LEN)?..whole)?;
    let offset = i64::from_be_bytes(last.try_into().ok()?);
    // A negative offset is not a position; treat it as 0 (the master then starts at its last file).
    Some((offset.max(0) as u64, whole))
}

/// The header of a master's transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    /// Commit-log offset of the body's first byte.
    pub offset: u64,
    /// Body length; 0 for a heartbeat.
    pub body_size: u32,
}

impl TransferHeader {
    pub fn encode(&self) -> [u8; TRANSFER_HEADER_LEN] {
        let mut out = [0u8; TRANSFER_HEADER_LEN];
        out[..8].copy_from_slice(&self.offset.to_be_bytes());
        out[8..].copy_from_slice(&self.body_size.to_be_bytes());
        out
    }

    /// Decodes a header from the first 12 bytes of `buf`. A negative offset or size is a corrupt stream.
    pub fn decode(buf: &[u8]) -> Result<Self, CodecError> {
        let header = buf
            .get(..TRANSFER_HEADER_LEN)
            .ok_or(CodecError::Truncated {
                needed: TRANSFER_HEADER_LEN,
                available: buf.len(),
            })?;
        let offset = i64::from_be_bytes(header[..8].try_into().expect("8 bytes"));
        let size = i32::from_be_bytes(header[8..].try_into().expect("4 bytes"));
        if offset < 0 || size < 0 {
            return Err(CodecError::BadLength(format!(
                "HA transfer header with offset {offset} and body size {size}"
            )));
        }
        Ok(TransferHeader {
            offset: offset as u64,
            body_size: size as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_the_big_endian_offset() {
        assert_eq!(
            encode_report(0x0102_0304_0506_0708),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(encode_report(0), [0; 8]);
    }

    #[test]
    fn the_last_whole_report_wins() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&encode_report(100));
        buf.extend_from_slice(&encode_report(1 << 40));
        buf.extend_from_slice(&[0, 0, 0]); // a report still arriving
        assert_eq!(decode_last_report(&buf), Some((1 << 40, 16)));
        for cut in 0..REPORT_LEN {
            assert_eq!(decode_last_report(&buf[..cut]), None, "prefix {cut}");
        }
        assert_eq!(decode_last_report(&[0xff; 8]), Some((0, 8)));
    }

    #[test]
    fn transfer_header_golden_bytes() {
        let header = TransferHeader {
            offset: 1_073_741_824 + 0x1234,
            body_size: 32 * 1024,
        };
        let bytes = header.encode();
        assert_eq!(
            bytes,
            [0, 0, 0, 0, 0x40, 0, 0x12, 0x34, 0, 0, 0x80, 0],
            "int64 offset then int32 size, big-endian, as Java's ByteBuffer writes them"
        );
        assert_eq!(TransferHeader::decode(&bytes), Ok(header));
    }

    #[test]
    fn every_prefix_of_a_header_is_truncated() {
        let bytes = TransferHeader {
            offset: 7,
            body_size: 0,
        }
        .encode();
        for cut in 0..TRANSFER_HEADER_LEN {
            assert!(matches!(
                TransferHeader::decode(&bytes[..cut]),
                Err(CodecError::Truncated { .. })
            ));
        }
    }

    #[test]
    fn negative_fields_are_refused() {
        let mut bytes = [0u8; 12];
        bytes[8..].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            TransferHeader::decode(&bytes),
            Err(CodecError::BadLength(_))
        ));
        let bytes = [0xff; 12];
        assert!(TransferHeader::decode(&bytes).is_err());
    }
}
