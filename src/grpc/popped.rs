//! A POP_MESSAGE answer as gRPC messages: the records of the body decoded, each with its receipt
//! handle (Java proxy's `LocalMessageService.popMessage` + `ConsumerProcessor.popMessage`), and a
//! record turned into an `apache.rocketmq.v2.Message` (`GrpcConverter.buildMessage`).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use md5::{Digest as _, Md5};
use rmq_codec::code::ResponseCode;
use rmq_codec::command::ExtFields;
use rmq_codec::header::pop::PopMessageResponseHeader;
use rmq_codec::header::CommandHeader;
use rmq_codec::message::record::{peek_record, RecordPeek};
use rmq_codec::message::{properties, StoredMessage};
use rmq_proto::v2;

use super::receipt::{topic_type_of, ReceiptHandle};

/// `MessageSysFlag.COMPRESSED_FLAG`: the body is zlib-compressed, sent as is with encoding GZIP.
const COMPRESSED_FLAG: i32 = 0x1;
/// `MessageConst.PROPERTY_TRACE_CONTEXT`.
const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
/// `MessageConst.PROPERTY_POP_CK`.
const POP_CK: &str = "POP_CK";

/// `PopStatus` as the proxy reads the broker's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopStatus {
    Found,
    PollingFull,
    /// POLLING_TIMEOUT and PULL_NOT_FOUND.
    NotFound,
}

/// A popped message: the stored record, its properties (last value per key, as Java's map) and the
/// receipt handle the client gets.
#[derive(Debug, Clone)]
pub struct PoppedMessage {
    pub record: StoredMessage,
    pub properties: HashMap<String, String>,
    pub handle: ReceiptHandle,
}

impl PoppedMessage {
    /// `MessageExt.getMsgId` of a client-side message after `fillUniqIDIfNeed`: the UNIQ_KEY, or the
    /// offset message id when the producer set none.
    pub fn message_id(&self) -> String {
        match self.properties.get(properties::UNIQ_KEY) {
            Some(id) if !id.trim().is_empty() => id.clone(),
            _ => self.record.offset_msg_id(),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.properties.get(properties::TAGS).map(String::as_str)
    }
}

/// What a POP_MESSAGE answer holds.
#[derive(Debug)]
pub struct PopOutcome {
    pub status: PopStatus,
    pub messages: Vec<PoppedMessage>,
}

/// Why a POP_MESSAGE answer gives no messages: any other broker code (the proxy's
/// `ProxyException(INTERNAL_SERVER_ERROR, remark)`), or a body or header that does not decode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PopFailed(pub String);

/// Reads a POP_MESSAGE answer of `broker_name`'s broker: code, header and body.
pub fn decode_pop_response(
    code: i32,
    remark: Option<&str>,
    ext: &ExtFields,
    body: &Bytes,
    broker_name: &str,
) -> Result<PopOutcome, PopFailed> {
    let status = match ResponseCode::from(code) {
        ResponseCode::Success => PopStatus::Found,
        ResponseCode::PollingFull => PopStatus::PollingFull,
        ResponseCode::PollingTimeout | ResponseCode::PullNotFound => PopStatus::NotFound,
        _ => return Err(PopFailed(remark.unwrap_or_default().to_string())),
    };
    if status != PopStatus::Found {
        return Ok(PopOutcome {
            status,
            messages: Vec::new(),
        });
    }
    let header = PopMessageResponseHeader::decode(ext).map_err(|e| PopFailed(e.to_string()))?;
    let starts = start_offsets(header.start_offset_info.as_deref().unwrap_or_default());
    let counts = start_offsets(header.order_count_info.as_deref().unwrap_or_default());
    let messages = decode_records(body)?
        .into_iter()
        .map(|mut record| {
            // LocalMessageService: an orderly pop's count of earlier deliveries is the reconsume times.
            let key = (topic_type_of(&record.topic).to_string(), record.queue_id);
            if let Some(count) = counts.get(&key).filter(|c| **c > 0) {
                record.reconsume_times = i32::try_from(*count).unwrap_or(i32::MAX);
            }
            popped(record, &header, &starts, broker_name)
        })
        .collect();
    Ok(PopOutcome { status, messages })
}

/// Every record of a pull/pop body, in order (`MessageDecoder.decodesBatch`).
fn decode_records(body: &[u8]) -> Result<Vec<StoredMessage>, PopFailed> {
    let mut records = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let len = match peek_record(rest) {
            Ok(RecordPeek::Message(view)) => view.total_size,
            Ok(RecordPeek::Blank { .. }) | Err(_) => {
                return Err(PopFailed("undecodable record in a pop answer".into()))
            }
        };
        let record = StoredMessage::decode(rest).map_err(|e| PopFailed(e.to_string()))?;
        records.push(record);
        rest = &rest[len..];
    }
    Ok(records)
}

/// `startOffsetInfo` (`retry qid start;...`), or `orderCountInfo` (`retry qid count;...`), by (retry
/// mark, queue id).
fn start_offsets(info: &str) -> HashMap<(String, i32), i64> {
    info.split(';')
        .filter_map(|entry| {
            let mut fields = entry.split(' ');
            let mark = fields.next()?.to_string();
            let queue_id = fields.next()?.parse().ok()?;
            let start = fields.next()?.parse().ok()?;
            Some(((mark, queue_id), start))
        })
        .collect()
}

/// The POP_CK the proxy builds for a message the broker left without one
/// (`ExtraInfoUtil.buildExtraInfo` with the queue's start offset), plus the commit-log offset.
fn popped(
    record: StoredMessage,
    header: &PopMessageResponseHeader,
    starts: &HashMap<(String, i32), i64>,
    broker_name: &str,
) -> PoppedMessage {
    let mut props = HashMap::new();
    for (key, value) in properties::iter(&record.properties) {
        props.insert(key.to_string(), value.to_string());
    }
    let topic_type = topic_type_of(&record.topic);
    let existing = props
        .get(POP_CK)
        .and_then(|ck| ReceiptHandle::parse(ck).ok());
    let handle = existing.unwrap_or_else(|| ReceiptHandle {
        start_offset: starts
            .get(&(topic_type.to_string(), record.queue_id))
            .copied()
            .unwrap_or(record.queue_offset),
        retrieve_time: header.pop_time,
        invisible_time: header.invisible_time,
        revive_qid: header.revive_qid,
        topic_type: topic_type.to_string(),
        broker_name: broker_name.to_string(),
        queue_id: record.queue_id,
        offset: record.queue_offset,
        commit_log_offset: record.commit_log_offset,
    });
    let handle = ReceiptHandle {
        commit_log_offset: record.commit_log_offset,
        ..handle
    };
    PoppedMessage {
        record,
        properties: props,
        handle,
    }
}

/// `Timestamps.fromMillis`.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// `InetAddress.getHostAddress`.
fn host_address(addr: &SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// `NetworkUtil.socketAddress2String`: `ip:port`.
fn host_and_port(addr: &SocketAddr) -> String {
    format!("{}:{}", host_address(addr), addr.port())
}

/// `BinaryUtil.generateMd5`: upper-case hex.
fn md5_hex(body: &[u8]) -> String {
    Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// `GrpcConverter.buildMessage`, with the topic named as the client asked for it (the proxy sets the
/// request's topic on every message, retried ones included).
pub fn to_grpc_message(m: &PoppedMessage, topic: &str, now_ms: i64) -> v2::Message {
    let props = &m.properties;
    let prop = |key: &str| props.get(key).map(String::as_str);
    let user_properties: BTreeMap<String, String> = props
        .iter()
        .filter(|(k, _)| !super::convert::SYSTEM_PROPERTY_NAMES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let message_type = if prop(properties::TRANSACTION_PREPARED) == Some("true") {
        v2::MessageType::Transaction
    } else if prop(properties::DELAY).is_some()
        || prop(properties::TIMER_DELIVER_MS).is_some()
        || prop(properties::TIMER_DELAY_SEC).is_some()
    {
        v2::MessageType::Delay
    } else if prop(properties::SHARDING_KEY).is_some() {
        v2::MessageType::Fifo
    } else {
        v2::MessageType::Normal
    };
    let born_host = prop(properties::BORN_HOST)
        .filter(|h| !h.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| host_address(&m.record.born_host));
    let delivery_timestamp = match prop(properties::TIMER_DELAY_SEC) {
        Some(sec) => sec
            .parse::<i64>()
            .ok()
            .map(|s| timestamp(now_ms.saturating_add(s.saturating_mul(1000)))),
        None => prop(properties::TIMER_DELIVER_MS)
            .and_then(|ms| ms.parse::<i64>().ok())
            .map(timestamp),
    };
    let dead_letter_queue = match (
        prop(properties::DLQ_ORIGIN_TOPIC),
        prop(properties::DLQ_ORIGIN_MESSAGE_ID),
    ) {
        (Some(topic), Some(id)) => Some(v2::DeadLetterQueue {
            topic: topic.to_string(),
            message_id: id.to_string(),
        }),
        _ => None,
    };
    let encoding = if m.record.sys_flag & COMPRESSED_FLAG != 0 {
        v2::Encoding::Gzip
    } else {
        v2::Encoding::Identity
    };
    let system_properties = v2::SystemProperties {
        tag: m.tag().map(str::to_string),
        keys: prop(properties::KEYS)
            .map(|k| {
                k.split(properties::KEY_SEPARATOR)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        message_id: m.message_id(),
        body_digest: Some(v2::Digest {
            r#type: v2::DigestType::Md5 as i32,
            checksum: md5_hex(&m.record.body),
        }),
        body_encoding: encoding as i32,
        message_type: message_type as i32,
        born_timestamp: Some(timestamp(m.record.born_timestamp)),
        born_host,
        store_timestamp: Some(timestamp(m.record.store_timestamp)),
        store_host: host_and_port(&m.record.store_host),
        delivery_timestamp,
        receipt_handle: Some(m.handle.to_string()),
        queue_id: m.record.queue_id,
        queue_offset: Some(m.record.queue_offset),
        delivery_attempt: Some(m.record.reconsume_times.saturating_add(1)),
        message_group: prop(properties::SHARDING_KEY).map(str::to_string),
        trace_context: prop(TRACE_CONTEXT).map(str::to_string),
        dead_letter_queue,
        ..Default::default()
    };
    v2::Message {
        topic: Some(v2::Resource {
            resource_namespace: String::new(),
            name: topic.to_string(),
        }),
        user_properties,
        system_properties: Some(system_properties),
        body: m.record.body.to_vec(),
    }
}

#[cfg(test)]
#[path = "popped_tests.rs"]
mod tests;
