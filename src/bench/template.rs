//! A send request encoded once and patched in place for every send, so the hot path only copies bytes.
//!
//! The frame uses the ROCKETMQ binary header (Java and rmqd brokers answer in the request's format),
//! where every extFields value is a length-prefixed string at a fixed position. The varying fields are
//! written at a fixed width so that positions never move:
//! - `opaque`: int32 at byte 13 of the frame;
//! - `queueId` (`e`): four zero-padded digits (`Integer.parseInt("0003")` is 3);
//! - `bornTimestamp` (`g`): thirteen digits (epoch milliseconds until the year 2286);
//! - `UNIQ_KEY`: 32 hex digits, the last 16 a per-connection counter;
//! - the body of every message starts with [`STAMP_MAGIC`] and the send time in microseconds since
//!   the epoch (big-endian u64), which e2e reads back on the consumer side.

use anyhow::{bail, ensure};
use bytes::{Bytes, BytesMut};
use rmq_codec::code::RequestCode;
use rmq_codec::command::{ExtFields, RemotingCommand, SerializeType};
use rmq_codec::header::SendMessageRequestHeader;
use rmq_codec::message::batch::{self, BatchElement};
use rmq_codec::message::properties;

/// Marks a body carrying a send timestamp.
pub const STAMP_MAGIC: &[u8; 4] = b"RMQB";
/// Magic plus the u64 timestamp.
pub const STAMP_LEN: usize = 12;
/// Byte offset of `opaque` in a frame with a binary header: length, type word, code, language, version.
const OPAQUE_AT: usize = 4 + 4 + 2 + 1 + 2;
const QUEUE_DIGITS: usize = 4;
const BORN_DIGITS: usize = 13;
const UNIQ_COUNTER_DIGITS: usize = 16;
/// Placeholders found (and replaced) in the encoded frame.
const QUEUE_SENTINEL: i32 = 9999;
const BORN_SENTINEL: i64 = 9_876_543_210_123;
const UNIQ_SENTINEL: &str = "QQQQQQQQQQQQQQQQ";

/// What every request of one producer connection looks like.
#[derive(Debug, Clone)]
pub struct TemplateSpec<'a> {
    pub topic: &'a str,
    pub producer_group: &'a str,
    pub size_bytes: usize,
    /// 1 sends SEND_MESSAGE_V2, more SEND_BATCH_MESSAGE with that many messages.
    pub batch: usize,
    /// The first 16 hex digits of every UNIQ_KEY of this connection.
    pub uniq_prefix: u64,
}

pub struct Template {
    frame: Vec<u8>,
    queue_at: usize,
    born_at: usize,
    uniq_at: Vec<usize>,
    stamp_at: Vec<usize>,
    /// Messages per request.
    pub messages: u64,
    /// Body bytes per request (user bodies only, as the Java benchmark counts).
    pub body_bytes: u64,
}

fn hex16(value: u64) -> String {
    format!("{value:016X}")
}

fn message_body(size_bytes: usize) -> Vec<u8> {
    let mut body = vec![b'x'; size_bytes];
    if size_bytes >= STAMP_LEN {
        body[..4].copy_from_slice(STAMP_MAGIC);
    }
    body
}

fn uniq_property(prefix: u64) -> String {
    format!("{}{UNIQ_SENTINEL}", hex16(prefix))
}

/// Start positions of every occurrence of `needle` in `haystack`.
fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at)
        .collect()
}

/// Where the value of the binary-header entry `key` = `value` starts.
fn find_ext_value(frame: &[u8], key: &str, value: &str) -> anyhow::Result<usize> {
    let mut entry = Vec::with_capacity(6 + key.len() + value.len());
    entry.extend_from_slice(&(key.len() as u16).to_be_bytes());
    entry.extend_from_slice(key.as_bytes());
    entry.extend_from_slice(&(value.len() as u32).to_be_bytes());
    entry.extend_from_slice(value.as_bytes());
    match find_all(frame, &entry).as_slice() {
        [at] => Ok(at + entry.len() - value.len()),
        found => bail!(
            "header field {key:?} found {} times in the template",
            found.len()
        ),
    }
}

impl Template {
    pub fn build(spec: &TemplateSpec) -> anyhow::Result<Self> {
        let batched = spec.batch > 1;
        let element_props = properties::encode(&[
            (
                properties::UNIQ_KEY.to_string(),
                uniq_property(spec.uniq_prefix),
            ),
            (properties::WAIT.to_string(), "true".to_string()),
        ]);
        let (code, body, header_props) = if batched {
            let element = BatchElement {
                flag: 0,
                body: Bytes::from(message_body(spec.size_bytes)),
                properties: element_props,
            };
            let mut body = BytesMut::new();
            batch::encode(&vec![element; spec.batch], &mut body)?;
            let header_props = properties::encode(&[(properties::WAIT.into(), "true".into())]);
            (RequestCode::SendBatchMessage, body.freeze(), header_props)
        } else {
            let body = Bytes::from(message_body(spec.size_bytes));
            (RequestCode::SendMessageV2, body, element_props)
        };
        let header = SendMessageRequestHeader {
            producer_group: spec.producer_group.to_string(),
            topic: spec.topic.to_string(),
            default_topic: "TBW102".to_string(),
            default_topic_queue_nums: 4,
            queue_id: QUEUE_SENTINEL,
            sys_flag: 0,
            born_timestamp: BORN_SENTINEL,
            flag: 0,
            properties: Some(header_props),
            reconsume_times: Some(0),
            unit_mode: false,
            batch: batched,
            max_reconsume_times: None,
            broker_name: None,
        };
        let mut ext = ExtFields::new();
        header.encode_v2(&mut ext);
        let mut command = RemotingCommand::new_request(code, ext).with_body(body);
        command.serialize_type = SerializeType::RocketMq;
        let mut encoded = BytesMut::new();
        command.encode(&mut encoded);
        let frame = encoded.to_vec();
        ensure!(
            frame.len() >= OPAQUE_AT + 4 && frame[4] == 1,
            "not a binary-header frame"
        );
        let body_start = frame.len() - command.body.len();
        let uniq_at = find_all(&frame, UNIQ_SENTINEL.as_bytes());
        ensure!(
            uniq_at.len() == spec.batch,
            "UNIQ_KEY placeholders: {}",
            uniq_at.len()
        );
        // The stamp follows the magic, only inside message bodies.
        let stamp_at: Vec<usize> = if spec.size_bytes >= STAMP_LEN {
            find_all(&frame[body_start..], STAMP_MAGIC)
                .into_iter()
                .map(|at| body_start + at + STAMP_MAGIC.len())
                .collect()
        } else {
            Vec::new()
        };
        ensure!(
            stamp_at.is_empty() || stamp_at.len() == spec.batch,
            "stamps: {}",
            stamp_at.len()
        );
        Ok(Template {
            queue_at: find_ext_value(&frame, "e", &QUEUE_SENTINEL.to_string())?,
            born_at: find_ext_value(&frame, "g", &BORN_SENTINEL.to_string())?,
            frame,
            uniq_at,
            stamp_at,
            messages: spec.batch as u64,
            body_bytes: (spec.batch * spec.size_bytes) as u64,
        })
    }

    /// Appends one request to `dst`. `next_uniq` is the connection's UNIQ_KEY counter.
    pub fn write(&self, dst: &mut BytesMut, send: &SendFields, next_uniq: &mut u64) {
        let start = dst.len();
        dst.extend_from_slice(&self.frame);
        let frame = &mut dst[start..];
        frame[OPAQUE_AT..OPAQUE_AT + 4].copy_from_slice(&send.opaque.to_be_bytes());
        put_decimal(
            &mut frame[self.queue_at..self.queue_at + QUEUE_DIGITS],
            send.queue_id as u64,
        );
        put_decimal(
            &mut frame[self.born_at..self.born_at + BORN_DIGITS],
            send.born_ms,
        );
        for &at in &self.uniq_at {
            put_hex(&mut frame[at..at + UNIQ_COUNTER_DIGITS], *next_uniq);
            *next_uniq = next_uniq.wrapping_add(1);
        }
        for &at in &self.stamp_at {
            frame[at..at + 8].copy_from_slice(&send.stamp_us.to_be_bytes());
        }
    }
}

/// The per-request values patched into a template.
pub struct SendFields {
    pub opaque: i32,
    /// Below 10,000 (the benchmark creates at most 1,024 queues; routes with more are cut).
    pub queue_id: i32,
    pub born_ms: u64,
    pub stamp_us: u64,
}

/// Writes `value` as zero-padded decimal filling `dst` (higher digits are dropped).
fn put_decimal(dst: &mut [u8], mut value: u64) {
    for digit in dst.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn put_hex(dst: &mut [u8], mut value: u64) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for digit in dst.iter_mut().rev() {
        *digit = HEX[(value & 0xF) as usize];
        value >>= 4;
    }
}

/// The send time in a body written from a template, if it has one.
pub fn body_stamp_us(body: &[u8]) -> Option<u64> {
    if body.len() < STAMP_LEN || &body[..4] != STAMP_MAGIC {
        return None;
    }
    let mut stamp = [0u8; 8];
    stamp.copy_from_slice(&body[4..STAMP_LEN]);
    Some(u64::from_be_bytes(stamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(batch: usize, size_bytes: usize) -> TemplateSpec<'static> {
        TemplateSpec {
            topic: "BenchTopic",
            producer_group: "pg",
            size_bytes,
            batch,
            uniq_prefix: 0xABCD,
        }
    }

    fn decode(frame: &[u8]) -> RemotingCommand {
        let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len + 4, frame.len());
        RemotingCommand::decode(Bytes::copy_from_slice(&frame[4..])).unwrap()
    }

    #[test]
    fn patched_single_send_decodes() {
        let template = Template::build(&spec(1, 64)).unwrap();
        let mut buf = BytesMut::new();
        let mut uniq = 0x1F;
        let send = SendFields {
            opaque: 77,
            queue_id: 12,
            born_ms: 1_712_345_678_901,
            stamp_us: 1_712_345_678_901_234,
        };
        template.write(&mut buf, &send, &mut uniq);
        assert_eq!(uniq, 0x20);
        let cmd = decode(&buf);
        assert_eq!(cmd.code, 310);
        assert_eq!(cmd.opaque, 77);
        let header = SendMessageRequestHeader::decode_any(&cmd.ext_fields).unwrap();
        assert_eq!(header.queue_id, 12);
        assert_eq!(header.born_timestamp, 1_712_345_678_901);
        assert_eq!(header.topic, "BenchTopic");
        let props = header.properties.unwrap();
        assert_eq!(
            properties::get(&props, properties::UNIQ_KEY),
            Some("000000000000ABCD000000000000001F")
        );
        assert_eq!(cmd.body.len(), 64);
        assert_eq!(body_stamp_us(&cmd.body), Some(send.stamp_us));
    }

    #[test]
    fn patched_batch_decodes() {
        let template = Template::build(&spec(3, 20)).unwrap();
        assert_eq!((template.messages, template.body_bytes), (3, 60));
        let mut buf = BytesMut::new();
        let mut uniq = 0;
        let send = SendFields {
            opaque: -5,
            queue_id: 0,
            born_ms: 1,
            stamp_us: 42,
        };
        template.write(&mut buf, &send, &mut uniq);
        template.write(&mut buf, &send, &mut uniq);
        let first = decode(&buf[..buf.len() / 2]);
        assert_eq!(first.code, 320);
        let header = SendMessageRequestHeader::decode_any(&first.ext_fields).unwrap();
        assert!(header.batch);
        assert_eq!(header.born_timestamp, 1);
        let elements = batch::decode(&first.body).unwrap();
        assert_eq!(elements.len(), 3);
        let keys: Vec<_> = elements
            .iter()
            .map(|e| {
                properties::get(&e.properties, properties::UNIQ_KEY)
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(keys[2], "000000000000ABCD0000000000000002");
        assert!(elements.iter().all(|e| body_stamp_us(&e.body) == Some(42)));
        let second = decode(&buf[buf.len() / 2..]);
        let elements = batch::decode(&second.body).unwrap();
        assert!(
            properties::get(&elements[0].properties, properties::UNIQ_KEY)
                .unwrap()
                .ends_with("0003")
        );
    }

    #[test]
    fn tiny_bodies_carry_no_stamp() {
        let template = Template::build(&spec(1, 4)).unwrap();
        assert!(template.stamp_at.is_empty());
        assert_eq!(body_stamp_us(b"RMQB"), None);
        assert_eq!(body_stamp_us(b"xxxxxxxxxxxxxx"), None);
    }
}
