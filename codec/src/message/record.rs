//! The stored-message record: the commit-log layout, also used for pull, query and view bodies.
//!
//! ```text
//!  0 TOTALSIZE i32 | 4 MAGIC i32 | 8 BODYCRC i32 | 12 QUEUEID i32 | 16 FLAG i32 | 20 QUEUEOFFSET i64
//! 28 PHYSICALOFFSET i64 | 36 SYSFLAG i32 | 40 BORNTIMESTAMP i64 | 48 BORNHOST (4|16 ip + i32 port)
//!    STORETIMESTAMP i64 | STOREHOST (4|16 ip + i32 port) | RECONSUMETIMES i32 | PREPAREDTXOFFSET i64
//!    BODYLEN i32 | BODY | TOPICLEN (V1: i8, V2: i16) | TOPIC | PROPLEN i16 | PROPERTIES
//! ```
//! Java's recovery (`CommitLog.checkMessageAndReturnSize`) accepts a record when its magic is known and its TOTALSIZE
//! equals the length formula; it treats a negative BODYLEN or PROPLEN as 0 and never parses the host fields.
//! [`peek_record`] accepts exactly the same records, so we never truncate data a Java broker would keep.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::ids::{create_offset_msg_id, java_ip};
use super::{crc32_masked, layout, sys_flag, BLANK_MAGIC, MAGIC_V1, MAGIC_V2};
use crate::CodecError;

/// Fixed part of a record with IPv4 hosts, up to and including BODYLEN.
const FIXED_LEN_V4: usize = 88;

/// A message as stored in the commit log and as returned in pull bodies (Java `MessageExt` layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
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
    pub body: Bytes,
    pub topic: String,
    /// The raw property string (`key\u{1}value\u{2}...`), order preserved as given.
    pub properties: String,
}

impl Default for StoredMessage {
    fn default() -> Self {
        let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        StoredMessage {
            magic: MAGIC_V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::new(),
            topic: String::new(),
            properties: String::new(),
        }
    }
}

fn is_v6(addr: &SocketAddr) -> bool {
    matches!(java_ip(addr), IpAddr::V6(_))
}

fn put_host(dst: &mut BytesMut, addr: &SocketAddr) {
    match java_ip(addr) {
        IpAddr::V4(v4) => dst.put_slice(&v4.octets()),
        IpAddr::V6(v6) => dst.put_slice(&v6.octets()),
    }
    dst.put_i32(i32::from(addr.port()));
}

impl StoredMessage {
    /// `sys_flag` with the BORNHOST_V6 / STOREHOST_V6 bits set to match the host address kinds.
    /// This is the SYSFLAG that [`encode`](Self::encode) writes.
    pub fn sys_flag_for_hosts(&self) -> i32 {
        let mut flag = self.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
        if is_v6(&self.born_host) {
            flag |= sys_flag::BORNHOST_V6;
        }
        if is_v6(&self.store_host) {
            flag |= sys_flag::STOREHOST_V6;
        }
        flag
    }

    fn topic_len_width(&self) -> usize {
        if self.magic == MAGIC_V2 {
            2
        } else {
            1
        }
    }

    /// The TOTALSIZE of the encoded record (`MessageExtEncoder.calMsgLength`).
    pub fn encoded_len(&self) -> usize {
        let flag = self.sys_flag_for_hosts();
        let hosts = layout::host_len(flag & sys_flag::BORNHOST_V6 != 0)
            + layout::host_len(flag & sys_flag::STOREHOST_V6 != 0);
        FIXED_LEN_V4 - 16
            + hosts
            + self.body.len()
            + self.topic_len_width()
            + self.topic.len()
            + 2
            + self.properties.len()
    }

    /// Checks that the record can be represented: known magic, topic length fits the version's length field,
    /// properties fit in int16, the whole record fits in int32.
    pub fn validate(&self) -> Result<(), CodecError> {
        let max_topic = match self.magic {
            MAGIC_V1 => i8::MAX as usize,
            MAGIC_V2 => i16::MAX as usize,
            other => {
                return Err(CodecError::InvalidMessage(format!(
                    "unknown magic {other:#x}"
                )))
            }
        };
        if self.topic.len() > max_topic {
            return Err(CodecError::InvalidMessage(format!(
                "topic of {} bytes does not fit magic {:#x}",
                self.topic.len(),
                self.magic
            )));
        }
        if self.properties.len() > i16::MAX as usize {
            return Err(CodecError::InvalidMessage(format!(
                "properties too long: {} bytes",
                self.properties.len()
            )));
        }
        if self.encoded_len() > i32::MAX as usize {
            return Err(CodecError::InvalidMessage(
                "record larger than 2 GiB".into(),
            ));
        }
        Ok(())
    }

    /// Appends the byte-exact Java record to `dst`. SYSFLAG is written as [`sys_flag_for_hosts`](Self::sys_flag_for_hosts);
    /// every other field is written as given (the store fills BODYCRC, offsets and STORETIMESTAMP beforehand).
    /// Nothing is written when [`validate`](Self::validate) fails.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.validate()?;
        let len = self.encoded_len();
        dst.reserve(len);
        // The casts below are bounded by validate().
        dst.put_i32(len as i32);
        dst.put_i32(self.magic);
        dst.put_i32(self.body_crc);
        dst.put_i32(self.queue_id);
        dst.put_i32(self.flag);
        dst.put_i64(self.queue_offset);
        dst.put_i64(self.commit_log_offset);
        dst.put_i32(self.sys_flag_for_hosts());
        dst.put_i64(self.born_timestamp);
        put_host(dst, &self.born_host);
        dst.put_i64(self.store_timestamp);
        put_host(dst, &self.store_host);
        dst.put_i32(self.reconsume_times);
        dst.put_i64(self.prepared_transaction_offset);
        dst.put_i32(self.body.len() as i32);
        dst.put_slice(&self.body);
        if self.magic == MAGIC_V2 {
            dst.put_i16(self.topic.len() as i16);
        } else {
            dst.put_i8(self.topic.len() as i8);
        }
        dst.put_slice(self.topic.as_bytes());
        dst.put_i16(self.properties.len() as i16);
        dst.put_slice(self.properties.as_bytes());
        Ok(())
    }

    /// Decodes the record at the start of `record` (trailing bytes are ignored; use TOTALSIZE to step).
    /// Fails on a BLANK record, a truncated or inconsistent record, or a host port outside 0..=65535
    /// (where Java's `MessageDecoder.decode` returns null). The body is copied.
    pub fn decode(record: &[u8]) -> Result<Self, CodecError> {
        let view = match peek_record(record)? {
            RecordPeek::Message(view) => view,
            RecordPeek::Blank { .. } => {
                return Err(CodecError::InvalidMessage(
                    "end-of-file blank record".into(),
                ))
            }
        };
        Ok(StoredMessage {
            magic: view.magic,
            body_crc: view.body_crc,
            queue_id: view.queue_id,
            flag: view.flag,
            queue_offset: view.queue_offset,
            commit_log_offset: view.commit_log_offset,
            sys_flag: view.sys_flag,
            born_timestamp: view.born_timestamp,
            born_host: parse_host(view.born_host)?,
            store_timestamp: view.store_timestamp,
            store_host: parse_host(view.store_host)?,
            reconsume_times: view.reconsume_times,
            prepared_transaction_offset: view.prepared_transaction_offset,
            body: Bytes::copy_from_slice(view.body),
            topic: view.topic.into_owned(),
            properties: view.properties.into_owned(),
        })
    }

    /// The offset message id of this record (`storeHost + commitLogOffset`).
    pub fn offset_msg_id(&self) -> String {
        create_offset_msg_id(self.store_host, self.commit_log_offset)
    }
}

/// Java's `InetAddress.getByAddress` turns 16 IPv4-mapped bytes (`::ffff:a.b.c.d`) into an `Inet4Address`, so
/// such a host reads as IPv4 (and is written back as 4 bytes, see `java_ip`).
fn parse_host(raw: &[u8]) -> Result<SocketAddr, CodecError> {
    let (ip, port) = raw.split_at(raw.len() - 4);
    let ip = match <[u8; 16]>::try_from(ip) {
        Ok(v6) => java_ip(&SocketAddr::new(IpAddr::V6(Ipv6Addr::from(v6)), 0)),
        Err(_) => IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])),
    };
    let port = i32::from_be_bytes([port[0], port[1], port[2], port[3]]);
    let port = u16::try_from(port)
        .map_err(|_| CodecError::InvalidMessage(format!("host port {port} out of range")))?;
    Ok(SocketAddr::new(ip, port))
}

/// What sits at a position of a commit-log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordPeek<'a> {
    /// A message record.
    Message(RecordView<'a>),
    /// The end-of-file filler; `declared_size` is the TOTALSIZE field (the bytes left in the file when written).
    Blank { declared_size: i32 },
}

/// A borrowing view of one record: fixed fields parsed, body/topic/properties not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub total_size: usize,
    pub magic: i32,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    /// Raw BORNHOST field: 4 or 16 address bytes followed by an int32 port.
    pub born_host: &'a [u8],
    pub store_timestamp: i64,
    /// Raw STOREHOST field, same shape as `born_host`.
    pub store_host: &'a [u8],
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    /// Position of the body inside the buffer given to [`peek_record`], for zero-copy slicing.
    pub body_range: Range<usize>,
    /// Decoded like Java's `new String(bytes, UTF_8)`: borrowed when valid, replacement characters otherwise.
    pub topic: Cow<'a, str>,
    pub properties: Cow<'a, str>,
}

impl RecordView<'_> {
    /// The recovery CRC check: Java only checks when the body is non-empty.
    pub fn body_crc_matches(&self) -> bool {
        self.body.is_empty() || crc32_masked(self.body) == self.body_crc
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.buf.len());
        let end = end.ok_or(CodecError::Truncated {
            needed: self.pos.saturating_add(n),
            available: self.buf.len(),
        })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, CodecError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, CodecError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, CodecError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
}

/// Parses the record (or BLANK filler) at the start of `buf` without copying.
///
/// Succeeds exactly when Java's recovery would accept the record, minus the CRC check (see
/// [`RecordView::body_crc_matches`]): known magic, the whole record present, TOTALSIZE equal to the length formula.
pub fn peek_record(buf: &[u8]) -> Result<RecordPeek<'_>, CodecError> {
    let mut head = Cursor { buf, pos: 0 };
    let total_size = head.i32()?;
    let magic = head.i32()?;
    if magic == BLANK_MAGIC {
        return Ok(RecordPeek::Blank {
            declared_size: total_size,
        });
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(CodecError::InvalidMessage(format!(
            "illegal magic code {magic:#x}"
        )));
    }
    let total = usize::try_from(total_size)
        .ok()
        .filter(|t| *t >= FIXED_LEN_V4 + 3)
        .ok_or_else(|| CodecError::BadLength(format!("record TOTALSIZE {total_size}")))?;
    if buf.len() < total {
        return Err(CodecError::Truncated {
            needed: total,
            available: buf.len(),
        });
    }
    let mut c = Cursor {
        buf: &buf[..total],
        pos: 8,
    };
    let view = parse_fields(&mut c, total, magic)?;
    if c.pos != total {
        return Err(CodecError::BadLength(format!(
            "record TOTALSIZE {total} but fields end at {}",
            c.pos
        )));
    }
    Ok(RecordPeek::Message(view))
}

fn parse_fields<'a>(
    c: &mut Cursor<'a>,
    total_size: usize,
    magic: i32,
) -> Result<RecordView<'a>, CodecError> {
    let body_crc = c.i32()?;
    let queue_id = c.i32()?;
    let flag = c.i32()?;
    let queue_offset = c.i64()?;
    let commit_log_offset = c.i64()?;
    let sys_flag = c.i32()?;
    let born_timestamp = c.i64()?;
    let born_host = c.bytes(layout::host_len(sys_flag & sys_flag::BORNHOST_V6 != 0))?;
    let store_timestamp = c.i64()?;
    let store_host = c.bytes(layout::host_len(sys_flag & sys_flag::STOREHOST_V6 != 0))?;
    let reconsume_times = c.i32()?;
    let prepared_transaction_offset = c.i64()?;
    // Java skips a non-positive body or properties length and counts it as 0 in the length formula.
    let body_len = usize::try_from(c.i32()?).unwrap_or(0);
    let body_start = c.pos;
    let body = c.bytes(body_len)?;
    let topic_len = if magic == MAGIC_V2 {
        i32::from(c.i16()?)
    } else {
        i32::from(i8::from_be_bytes(c.array()?))
    };
    let topic_len = usize::try_from(topic_len)
        .map_err(|_| CodecError::BadLength(format!("negative topic length {topic_len}")))?;
    let topic = c.bytes(topic_len)?;
    let props_len = usize::try_from(c.i16()?).unwrap_or(0);
    let properties = c.bytes(props_len)?;
    Ok(RecordView {
        total_size,
        magic,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        body_range: body_start..body_start + body_len,
        topic: String::from_utf8_lossy(topic),
        properties: String::from_utf8_lossy(properties),
    })
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
