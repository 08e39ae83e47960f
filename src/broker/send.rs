//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320).

use bytes::Bytes;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, SendMessageRequestHeader, SendMessageResponseHeader};
use rmq_codec::message::{self, batch, properties, sys_flag, StoredMessage};
use rmq_store::config::{perm, TopicConfig};
use rmq_store::FlushWaiter;

use super::topics::{is_send_forbidden, validate_topic_name, RETRY_GROUP_TOPIC_PREFIX};
use super::{reply_error, Broker};
use crate::error::ServiceError;
use crate::remoting::{Answer, Connection};

/// Java's limit on the property string (it is stored with an int16 length).
const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// The property keys `transaction::is_half_send` and `schedule::route_delayed` act on; without any of them
/// both leave a message as it is. Keep in step with those two functions.
const ROUTING_PROPERTIES: [&str; 5] = [
    properties::TRANSACTION_PREPARED,
    properties::DELAY,
    properties::TIMER_DELAY_SEC,
    properties::TIMER_DELAY_MS,
    properties::TIMER_DELIVER_MS,
];

/// A stored send: the response header, and when SYNC_FLUSH must be awaited, the flush to wait for;
/// when the sender waits for the store (WAIT not false), the commit-log offset past the message(s), which a
/// SYNC_MASTER's slave must ack.
struct Stored {
    header: SendMessageResponseHeader,
    flush: Option<FlushWaiter>,
    replica_end: Option<u64>,
}

impl Broker {
    pub(super) fn send_message(&self, conn: &Connection, req: &RemotingCommand) -> Answer {
        let result = self.store_single(conn, req);
        self.answer_send(conn, req, result)
    }

    pub(super) fn send_batch(&self, conn: &Connection, req: &RemotingCommand) -> Answer {
        let result = self.store_batch(conn, req);
        self.answer_send(conn, req, result)
    }

    /// Answers an error now, a stored send now or later (`send_ack.rs`: SYNC_FLUSH, SYNC_MASTER).
    fn answer_send(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
        result: Result<Stored, ServiceError>,
    ) -> Answer {
        match result {
            Ok(Stored {
                header,
                flush,
                replica_end,
            }) => self.answer_stored(conn, req, header, flush, replica_end),
            Err(e) => {
                let mut resp = e.into_response();
                add_send_ext_fields(&mut resp, &self.config.region_id, self.runtime().trace_on);
                resp.into()
            }
        }
    }

    fn store_single(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
    ) -> Result<Stored, ServiceError> {
        let h = SendMessageRequestHeader::decode_any(&req.ext_fields)?;
        let topic = self.check_send(&h)?;
        let queue_id = self.pick_queue(&h, &topic)?;
        self.check_body(&req.body)?;
        let mut pairs = properties::decode(h.properties.as_deref().unwrap_or(""));
        // ---- retry and DLQ (`retry.rs`): a %RETRY% send past its retries
        // goes to %DLQ%<group>, queue 0, never delayed (DELAY=-1, as Java 5.x stores it).
        let dlq = self.retry_send_dlq(&h, req.version)?;
        if dlq.is_some() {
            pairs.retain(|(k, _)| k != properties::DELAY);
            pairs.push((properties::DELAY.to_string(), "-1".to_string()));
        }
        // ---- end of retry and DLQ
        // Most sends carry none of the keys that make a message a half or a delayed one: skip the two
        // checks, which would scan the property string five more times (~10k instructions a send).
        let routed = pairs
            .iter()
            .any(|(k, _)| ROUTING_PROPERTIES.contains(&k.as_str()));
        let is_half = routed
            && super::transaction::is_half_send(
                h.properties.as_deref().unwrap_or(""),
                h.reconsume_times.unwrap_or(0),
            );
        if is_half && self.runtime().reject_transaction_message {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!(
                    "the broker[{}] sending transaction message is forbidden",
                    self.config.broker_ip1
                ),
            ));
        }
        let wait_store_ok = !pairs
            .iter()
            .any(|(k, v)| k == properties::WAIT && v.eq_ignore_ascii_case("false"));
        // Like Java 4.9.8: WAIT is not worth storing, CLUSTER is always added.
        pairs.retain(|(k, _)| k != properties::WAIT && k != properties::CLUSTER);
        pairs.push((
            properties::CLUSTER.to_string(),
            self.config.broker_cluster_name.clone(),
        ));
        // Like Java 5.x (buildMsgContext): every stored message carries MSG_REGION and TRACE_ON; 5.x
        // consumers drop the trace records of messages without a region.
        pairs.retain(|(k, _)| k != properties::MSG_REGION && k != properties::TRACE_SWITCH);
        pairs.push((properties::MSG_REGION.into(), self.config.region_id.clone()));
        pairs.push((
            properties::TRACE_SWITCH.into(),
            self.runtime().trace_on.to_string(),
        ));
        // Like Java 5.x: a message sent without UNIQ_KEY (raw protocol senders) gets one (uniq_id.rs).
        if !pairs.iter().any(|(k, _)| k == properties::UNIQ_KEY) {
            let id = super::uniq_id::create(
                self.store_host.ip(),
                crate::remoting::connection::now_ms() as i64,
            );
            pairs.push((properties::UNIQ_KEY.to_string(), id));
        }
        let props = properties::encode(&pairs);
        check_properties(&props)?;
        // From the decoded pairs (keys are unique there) rather than by scanning `props` again.
        let value_of = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let uniq_key = value_of(properties::UNIQ_KEY).map(String::from);
        let tags_code = message::tags_code(value_of(properties::TAGS));
        let mut msg = self.new_record(conn, &h, &topic, queue_id, req.body.clone(), h.flag, props);
        if let Some(dlq) = &dlq {
            msg.topic = dlq.topic_name.clone();
            msg.queue_id = 0;
        }
        if is_half {
            super::transaction::into_half(&mut msg);
        } else if routed {
            // ---- delay levels and timers (`schedule.rs`): DELAY > 0 or a
            // future TIMER_* time moves the record to SCHEDULE_TOPIC_XXXX / rmq_sys_wheel_timer.
            let rules = super::schedule::DelayRules::from_config(&self.config);
            super::schedule::route_delayed(
                &mut msg,
                rules,
                crate::remoting::connection::now_ms() as i64,
            )?;
            // ---- end of delay levels and timers
        }
        let (put, flush) = self
            .store
            .put_deferred(&mut msg, tags_code, wait_store_ok)?;
        let kind = self
            .metrics
            .message_type_of_send(h.properties.as_deref().unwrap_or(""));
        self.count_put(&msg.topic, kind, 1, put.wrote_bytes);
        self.polling.message_arrived(&msg.topic, msg.queue_id);
        let header = SendMessageResponseHeader {
            msg_id: put.msg_id,
            queue_id,
            queue_offset: put.queue_offset,
            transaction_id: uniq_key,
            batch_uniq_id: None,
        };
        let replica_end =
            wait_store_ok.then_some(put.commit_log_offset as u64 + put.wrote_bytes as u64);
        Ok(Stored {
            header,
            flush,
            replica_end,
        })
    }

    fn store_batch(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
    ) -> Result<Stored, ServiceError> {
        let h = SendMessageRequestHeader::decode_any(&req.ext_fields)?;
        if h.topic.chars().count() > 127 {
            return Err(reply_error(
                ResponseCode::MessageIllegal,
                format!("message topic length too long {}", h.topic.len()),
            ));
        }
        if h.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return Err(reply_error(
                ResponseCode::MessageIllegal,
                "batch request does not support retry group ",
            ));
        }
        let topic = self.check_send(&h)?;
        let queue_id = self.pick_queue(&h, &topic)?;
        // ---- delay levels: a batch cannot be delayed (the store refuses it in Java).
        let delayed = properties::get(h.properties.as_deref().unwrap_or(""), properties::DELAY)
            .and_then(|v| v.trim().parse::<i32>().ok())
            .is_some_and(|level| level > 0);
        if delayed {
            return Err(reply_error(
                ResponseCode::MessageIllegal,
                format!(
                    "the message is illegal, maybe msg body or properties length not matched. msg body length \
                     limit {}B, msg properties length limit 32KB.",
                    self.store.max_message_size()
                ),
            ));
        }
        // ---- end of delay levels
        let elements = batch::decode(&req.body)?;
        if elements.is_empty() {
            return Err(reply_error(
                ResponseCode::MessageIllegal,
                "the batch is empty",
            ));
        }
        // Java 4.9.8's batch encoder appends the batch-level properties (the header's, plus CLUSTER) to
        // every inner record (CommitLog.MessageExtBatchEncoder).
        let batch_props = with_property(
            h.properties.as_deref().unwrap_or(""),
            properties::CLUSTER,
            &self.config.broker_cluster_name,
        );
        let batch_props =
            with_property(&batch_props, properties::MSG_REGION, &self.config.region_id);
        let trace_on = self.runtime().trace_on.to_string();
        let batch_props = with_property(&batch_props, properties::TRACE_SWITCH, &trace_on);
        let mut records = Vec::with_capacity(elements.len());
        let mut tags_codes = Vec::with_capacity(elements.len());
        for element in elements {
            self.check_body(&element.body)?;
            let props = append_properties(&element.properties, &batch_props);
            check_properties(&props)?;
            tags_codes.push(message::tags_code(properties::get(
                &props,
                properties::TAGS,
            )));
            records.push(self.new_record(
                conn,
                &h,
                &topic,
                queue_id,
                element.body,
                element.flag,
                props,
            ));
        }
        let wait_store_ok = properties::get(&batch_props, properties::WAIT)
            .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
        let (puts, flush) =
            self.store
                .put_batch_deferred(&mut records, &tags_codes, wait_store_ok)?;
        let bytes = puts.iter().map(|p| p.wrote_bytes).sum();
        let kind = self
            .metrics
            .message_type_of_send(h.properties.as_deref().unwrap_or(""));
        self.count_put(&h.topic, kind, puts.len(), bytes);
        self.polling.message_arrived(&h.topic, queue_id);
        let msg_ids: Vec<String> = puts.iter().map(|p| p.msg_id.clone()).collect();
        let header = SendMessageResponseHeader {
            msg_id: msg_ids.join(","),
            queue_id,
            queue_offset: puts.first().map(|p| p.queue_offset).unwrap_or(0),
            transaction_id: None,
            batch_uniq_id: None,
        };
        let replica_end = puts
            .last()
            .filter(|_| wait_store_ok)
            .map(|p| p.commit_log_offset as u64 + p.wrote_bytes as u64);
        Ok(Stored {
            header,
            flush,
            replica_end,
        })
    }

    /// Broker permission, topic name, forbidden topics, then the topic itself (auto-created from
    /// `defaultTopic` if allowed), in Java's order.
    fn check_send(&self, h: &SendMessageRequestHeader) -> Result<TopicConfig, ServiceError> {
        if !perm::is_writeable(self.runtime().broker_permission) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!(
                    "the broker[{}] sending message is forbidden",
                    self.config.broker_ip1
                ),
            ));
        }
        validate_topic_name(&h.topic)
            .map_err(|e| reply_error(ResponseCode::InvalidParameter, e))?;
        if is_send_forbidden(&h.topic) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!("Sending message to topic[{}] is forbidden.", h.topic),
            ));
        }
        let created = if h.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            self.topics
                .ensure_within_limit(&h.topic, 1, perm::READ | perm::WRITE)
        } else {
            let sys_flag = if h.unit_mode { 1 } else { 0 };
            self.topics.create_from_default(
                &h.topic,
                &h.default_topic,
                h.default_topic_queue_nums,
                sys_flag,
            )
        };
        let Some(topic) = created else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!(
                    "topic[{}] not exist, apply first please! http://rocketmq.apache.org/docs/faq/",
                    h.topic
                ),
            ));
        };
        if !perm::is_writeable(topic.perm) {
            return Err(reply_error(
                ResponseCode::NoPermission,
                format!("the topic[{}] sending message is forbidden", h.topic),
            ));
        }
        Ok(topic)
    }

    fn pick_queue(
        &self,
        h: &SendMessageRequestHeader,
        topic: &TopicConfig,
    ) -> Result<i32, ServiceError> {
        let max = topic.read_queue_nums.max(topic.write_queue_nums);
        if h.queue_id >= max {
            return Err(reply_error(
                ResponseCode::InvalidParameter,
                format!(
                    "request queueId[{}] is illegal, {:?} Producer: {}",
                    h.queue_id, topic.topic_name, h.producer_group
                ),
            ));
        }
        if h.queue_id >= 0 {
            return Ok(h.queue_id);
        }
        if topic.write_queue_nums <= 0 {
            return Err(reply_error(
                ResponseCode::NoPermission,
                "the topic has no write queue",
            ));
        }
        Ok(rand::random_range(0..topic.write_queue_nums))
    }

    fn check_body(&self, body: &Bytes) -> Result<(), ServiceError> {
        let max = self.store.max_message_size();
        if body.len() > max {
            return Err(reply_error(
                ResponseCode::MessageIllegal,
                format!("the message body size over max value, MAX: {max}"),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn new_record(
        &self,
        conn: &Connection,
        h: &SendMessageRequestHeader,
        topic: &TopicConfig,
        queue_id: i32,
        body: Bytes,
        flag: i32,
        props: String,
    ) -> StoredMessage {
        let mut flags = h.sys_flag;
        if topic.topic_filter_type == "MULTI_TAG" {
            flags |= sys_flag::MULTI_TAGS;
        }
        StoredMessage {
            magic: message::magic_for_topic(&h.topic),
            body_crc: 0,
            queue_id,
            flag,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: flags,
            born_timestamp: h.born_timestamp,
            born_host: conn.peer(),
            store_timestamp: 0,
            store_host: self.store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
            body,
            topic: h.topic.clone(),
            properties: props,
        }
    }
}

/// Every send response, errors included, carries MSG_REGION and TRACE_ON: the Java client reads them
/// unconditionally.
pub(super) fn add_send_ext_fields(resp: &mut RemotingCommand, region: &str, trace_on: bool) {
    resp.ext_fields
        .insert("MSG_REGION".into(), region.to_string());
    resp.ext_fields
        .insert("TRACE_ON".into(), trace_on.to_string());
}

/// A send response with the stored message's header. FLUSH_DISK_TIMEOUT carries it too: the message
/// is stored and the client reports SendStatus.FLUSH_DISK_TIMEOUT with the ids.
pub(super) fn send_response(
    code: ResponseCode,
    header: &SendMessageResponseHeader,
    region: &str,
    trace_on: bool,
) -> RemotingCommand {
    let mut resp = RemotingCommand::new_response(code, None);
    // Five header fields plus MSG_REGION and TRACE_ON, without growing the map twice.
    resp.ext_fields.reserve(8);
    header.encode(&mut resp.ext_fields);
    add_send_ext_fields(&mut resp, region, trace_on);
    resp
}

fn check_properties(props: &str) -> Result<(), ServiceError> {
    if props.len() > MAX_PROPERTIES_LEN {
        return Err(reply_error(
            ResponseCode::MessageIllegal,
            format!("the message properties length over max value, MAX: {MAX_PROPERTIES_LEN}"),
        ));
    }
    Ok(())
}

/// `inner` followed by `extra`, with the pair separator between them when `inner` lacks a trailing one.
fn append_properties(inner: &str, extra: &str) -> String {
    let needs_separator = !inner.is_empty() && !extra.is_empty() && !inner.ends_with('\u{2}');
    let mut out = String::with_capacity(inner.len() + extra.len() + 1);
    out.push_str(inner);
    if needs_separator {
        out.push('\u{2}');
    }
    out.push_str(extra);
    out
}

/// `props` with `key` set to `value`: an existing value replaced, the other pairs kept in order.
fn with_property(props: &str, key: &str, value: &str) -> String {
    if properties::get(props, key) == Some(value) {
        return props.to_string();
    }
    let mut pairs = properties::decode(props);
    pairs.retain(|(k, _)| k != key);
    pairs.push((key.to_string(), value.to_string()));
    properties::encode(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_property_replaces_and_appends() {
        let props = properties::encode(&[("A".into(), "1".into()), ("CLUSTER".into(), "x".into())]);
        let out = with_property(&props, "CLUSTER", "DefaultCluster");
        assert_eq!(properties::get(&out, "CLUSTER"), Some("DefaultCluster"));
        assert_eq!(properties::get(&out, "A"), Some("1"));
        assert_eq!(properties::decode(&out).len(), 2);
    }
}
