//! SendMessage (Java proxy's `SendMessageActivity`, `ProducerProcessor.sendMessage` and
//! `LocalMessageService.sendMessage`): checks, the message-type check against the topic, a write queue
//! (by message group, else round robin), one SEND_MESSAGE (or SEND_BATCH_MESSAGE) to the broker, and the
//! result entries with the proxy's codes.

use std::sync::atomic::Ordering;

use bytes::BytesMut;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, SendMessageRequestHeader, SendMessageResponseHeader};
use rmq_codec::message::batch::{self, BatchElement};
use rmq_codec::message::sys_flag;
use rmq_proto::v2::{Code, Message, SendMessageRequest, SendMessageResponse, SendResultEntry};

use super::context::ClientContext;
use super::convert::{self, RemotingMessage};
use super::route::{self, TopicMessageType};
use super::status::{code_name, ok, status, GrpcError, GrpcResult};
use super::transaction::TransactionData;
use super::GrpcEndpoint;

/// `TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC` and the queue count the proxy asks for.
const DEFAULT_TOPIC: &str = "TBW102";
const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

pub async fn send_message(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    request: SendMessageRequest,
) -> SendMessageResponse {
    match try_send(ep, ctx, request).await {
        Ok(response) => response,
        Err(e) => SendMessageResponse {
            status: Some(e.status()),
            entries: Vec::new(),
        },
    }
}

async fn try_send(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    request: SendMessageRequest,
) -> GrpcResult<SendMessageResponse> {
    let messages = check_request(ep, &request)?;
    let topic = messages[0].topic.clone().unwrap_or_default().name;
    let now = crate::remoting::connection::now_ms() as i64;
    let born_host = ctx.peer.to_string();
    let built = messages
        .iter()
        .map(|m| convert::to_remoting(m, &topic, &born_host, now, &ep.limits))
        .collect::<GrpcResult<Vec<_>>>()?;
    let config = ep.broker.topics.get(&topic);
    if !is_retry_or_dlq(&topic) {
        let actual = TopicMessageType::of_message(|key| built[0].property(key));
        let expected = config.as_ref().map_or(TopicMessageType::Unspecified, |c| {
            TopicMessageType::of_topic(&c.attributes)
        });
        route::check_message_type(expected, actual)?;
    }
    let write_queues = config
        .as_ref()
        .filter(|c| c.perm & 0x2 != 0)
        .map_or(0, |c| c.write_queue_nums.max(0) as usize);
    if write_queues == 0 {
        return Err(GrpcError::new(Code::Forbidden, "no writable queue"));
    }
    let group = (built.len() == 1)
        .then(|| built[0].property(rmq_codec::message::properties::SHARDING_KEY))
        .flatten();
    let queue_id = match group {
        Some(group) => consistent_hash(java_string_hash(group) as i64, write_queues),
        None => ep.next_queue.fetch_add(1, Ordering::Relaxed) % write_queues,
    } as i32;
    let cmd = send_command(&topic, &topic, queue_id, &built, now)?;
    let response = ep.bridge.call(&ctx.client_id, ctx.peer, cmd).await?;
    let entries = entries_of(&response.cmd, &built)?;
    if built[0].sys_flag & sys_flag::TRANSACTION_PREPARED != 0 {
        remember_half_message(ep, &topic, &response.cmd, &built[0]);
    }
    Ok(response_of(entries))
}

/// `SendMessageActivity.sendMessage` / `buildMessage`: at least one message, a legal topic, all the same.
fn check_request<'a>(
    ep: &GrpcEndpoint,
    request: &'a SendMessageRequest,
) -> GrpcResult<&'a [Message]> {
    let Some(first) = request.messages.first() else {
        return Err(GrpcError::new(Code::MessageCorrupted, "no message to send"));
    };
    let topic = first.topic.clone().unwrap_or_default();
    super::client::check_topic(&ep.broker, &topic.name)?;
    // The first topic passed check_topic, so it is set: a message without one differs too.
    if request
        .messages
        .iter()
        .any(|m| m.topic.as_ref() != Some(&topic))
    {
        return Err(GrpcError::new(
            Code::MessageCorrupted,
            "topic in message is not same",
        ));
    }
    Ok(&request.messages)
}

fn is_retry_or_dlq(topic: &str) -> bool {
    topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%")
}

/// The request `ProducerProcessor.buildSendMessageRequestHeader` and `LocalMessageService.sendMessage`
/// build: SEND_MESSAGE for one message, SEND_BATCH_MESSAGE with the encoded elements for several.
pub fn send_command(
    topic: &str,
    producer_group: &str,
    queue_id: i32,
    messages: &[RemotingMessage],
    now_ms: i64,
) -> GrpcResult<RemotingCommand> {
    let first = &messages[0];
    let batch = messages.len() > 1;
    let header = SendMessageRequestHeader {
        producer_group: producer_group.to_string(),
        topic: topic.to_string(),
        default_topic: DEFAULT_TOPIC.to_string(),
        default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
        queue_id,
        sys_flag: first.sys_flag,
        born_timestamp: now_ms,
        flag: 0,
        properties: (!batch).then(|| first.property_string()),
        reconsume_times: Some(0),
        unit_mode: false,
        batch,
        max_reconsume_times: None,
        broker_name: None,
    };
    if !batch {
        let cmd = RemotingCommand::new_request(RequestCode::SendMessage, header.to_ext_fields());
        return Ok(cmd.with_body(first.body.clone()));
    }
    let elements: Vec<BatchElement> = messages
        .iter()
        .map(|m| BatchElement {
            flag: 0,
            body: m.body.clone().into(),
            properties: m.property_string(),
        })
        .collect();
    let mut body = BytesMut::new();
    batch::encode(&elements, &mut body)
        .map_err(|e| GrpcError::new(Code::MessageCorrupted, e.to_string()))?;
    let cmd = RemotingCommand::new_request(RequestCode::SendBatchMessage, header.to_ext_fields());
    Ok(cmd.with_body(body.freeze()))
}

/// `LocalMessageService.sendMessage`'s send status and `convertToSendMessageResponse`'s entry per message.
fn entries_of(
    response: &RemotingCommand,
    messages: &[RemotingMessage],
) -> GrpcResult<Vec<SendResultEntry>> {
    let failed = |code: Code, status_name: &str| {
        let message = format!("send message failed, sendStatus={status_name}");
        let entry = SendResultEntry {
            status: Some(status(code, &message)),
            ..Default::default()
        };
        Ok(vec![entry; messages.len()])
    };
    match ResponseCode::from(response.code) {
        ResponseCode::Success => {}
        ResponseCode::FlushDiskTimeout => {
            return failed(Code::MasterPersistenceTimeout, "FLUSH_DISK_TIMEOUT")
        }
        ResponseCode::FlushSlaveTimeout => {
            return failed(Code::SlavePersistenceTimeout, "FLUSH_SLAVE_TIMEOUT")
        }
        ResponseCode::SlaveNotAvailable => {
            return failed(Code::HaNotAvailable, "SLAVE_NOT_AVAILABLE")
        }
        ResponseCode::SystemBusy => {
            return Err(GrpcError::from_remoting(
                response.code,
                response.remark.as_deref(),
            ))
        }
        _ => {
            let remark = response.remark.clone().unwrap_or_default();
            return Err(GrpcError::new(Code::InternalServerError, remark));
        }
    }
    let header = SendMessageResponseHeader::decode(&response.ext_fields)
        .map_err(|e| GrpcError::new(Code::InternalServerError, e.to_string()))?;
    Ok(messages
        .iter()
        .enumerate()
        .map(|(i, m)| SendResultEntry {
            status: Some(ok()),
            message_id: m.message_id.clone(),
            transaction_id: header.transaction_id.clone().unwrap_or_default(),
            offset: header.queue_offset + i as i64,
            recall_handle: response
                .ext_fields
                .get("recallHandle")
                .cloned()
                .unwrap_or_default(),
        })
        .collect())
}

/// The response status: the entries' one code, or MULTIPLE_RESULTS.
fn response_of(entries: Vec<SendResultEntry>) -> SendMessageResponse {
    let codes: std::collections::BTreeSet<i32> = entries
        .iter()
        .map(|e| e.status.as_ref().map_or(0, |s| s.code))
        .collect();
    let overall = match codes.len() {
        0 => status(Code::InternalServerError, "send status is empty"),
        1 => {
            let code =
                Code::try_from(*codes.first().unwrap_or(&0)).unwrap_or(Code::InternalServerError);
            status(code, code_name(code))
        }
        _ => status(Code::MultipleResults, "MULTIPLE_RESULTS"),
    };
    SendMessageResponse {
        status: Some(overall),
        entries,
    }
}

/// `ProducerProcessor.fillTransactionData`: what EndTransaction needs to find the half message.
fn remember_half_message(
    ep: &GrpcEndpoint,
    topic: &str,
    response: &RemotingCommand,
    message: &RemotingMessage,
) {
    let Ok(header) = SendMessageResponseHeader::decode(&response.ext_fields) else {
        return;
    };
    let Some(transaction_id) = header.transaction_id.filter(|t| !t.trim().is_empty()) else {
        return;
    };
    let Ok((_, commit_log_offset)) = rmq_codec::message::ids::decode_offset_msg_id(
        header.msg_id.split(',').next().unwrap_or(""),
    ) else {
        return;
    };
    ep.transactions.insert(
        topic,
        TransactionData {
            topic: topic.to_string(),
            transaction_id,
            message_id: message.message_id.clone(),
            tran_state_table_offset: header.queue_offset,
            commit_log_offset,
        },
    );
}

/// Java's `String.hashCode` over UTF-16 code units.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Guava's `Hashing.consistentHash(long, int)` (the proxy's queue for a message group).
pub fn consistent_hash(input: i64, buckets: usize) -> usize {
    let mut state = input;
    let mut next_double = || {
        state = state
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(1);
        f64::from((((state as u64) >> 33) as i32).wrapping_add(1)) / f64::from(1u32 << 31)
    };
    let mut candidate: i64 = 0;
    loop {
        let next = ((candidate + 1) as f64 / next_double()) as i64;
        if next >= 0 && next < buckets as i64 {
            candidate = next;
        } else {
            return candidate as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "hello".hashCode() in Java.
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn consistent_hash_stays_in_range_and_moves_little() {
        for input in [-5i64, 0, 1, 99_162_322, i64::from(i32::MIN)] {
            let small = consistent_hash(input, 8);
            assert!(small < 8);
            let grown = consistent_hash(input, 9);
            assert!(
                grown == small || grown == 8,
                "a key moves only to the new bucket"
            );
        }
        assert_eq!(consistent_hash(12345, 1), 0);
    }

    fn message(id: &str) -> RemotingMessage {
        RemotingMessage {
            properties: vec![("UNIQ_KEY".into(), id.into())],
            body: b"x".to_vec(),
            sys_flag: 0,
            message_id: id.into(),
        }
    }

    #[test]
    fn one_message_is_a_send_message_with_the_proxys_header() {
        let cmd = send_command("T", "T", 3, &[message("m1")], 1000).unwrap();
        assert_eq!(cmd.code, i32::from(RequestCode::SendMessage));
        let header = SendMessageRequestHeader::decode(&cmd.ext_fields).unwrap();
        assert_eq!(header.producer_group, "T");
        assert_eq!(header.default_topic, "TBW102");
        assert_eq!(header.default_topic_queue_nums, 4);
        assert_eq!(header.queue_id, 3);
        assert!(!header.batch);
        assert_eq!(header.properties.as_deref(), Some("UNIQ_KEY\u{1}m1\u{2}"));
        assert_eq!(&cmd.body[..], b"x");
    }

    #[test]
    fn several_messages_are_one_batch() {
        let cmd = send_command("T", "T", 0, &[message("a"), message("b")], 1000).unwrap();
        assert_eq!(cmd.code, i32::from(RequestCode::SendBatchMessage));
        let header = SendMessageRequestHeader::decode(&cmd.ext_fields).unwrap();
        assert!(header.batch);
        let elements = batch::decode(&cmd.body).unwrap();
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[1].properties, "UNIQ_KEY\u{1}b\u{2}");
    }

    #[test]
    fn a_flush_timeout_is_master_persistence_timeout_for_every_message() {
        let response = RemotingCommand::new_response(ResponseCode::FlushDiskTimeout, None);
        let entries = entries_of(&response, &[message("a")]).unwrap();
        let status = entries[0].status.clone().unwrap();
        assert_eq!(status.code, Code::MasterPersistenceTimeout as i32);
        assert_eq!(
            status.message,
            "send message failed, sendStatus=FLUSH_DISK_TIMEOUT"
        );
        let overall = response_of(entries).status.unwrap();
        assert_eq!(overall.code, Code::MasterPersistenceTimeout as i32);
    }

    #[test]
    fn other_failures_are_internal_errors_with_the_brokers_remark() {
        let response =
            RemotingCommand::new_response(ResponseCode::MessageIllegal, Some("too big".into()));
        let err = entries_of(&response, &[message("a")]).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (Code::InternalServerError, "too big")
        );
    }
}
