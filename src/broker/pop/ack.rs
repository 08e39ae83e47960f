//! ACK_MESSAGE (200051), BATCH_ACK_MESSAGE (200151) and CHANGE_INVISIBLETIME (200053).

use base64::Engine;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use rmq_codec::header::CommandHeader;
use serde::Deserialize;

use super::checkpoint::{AckOutcome, Checkpoint, CkKey};
use super::extra_info::{pop_retry_topic, ExtraInfo};
use super::order::{OrderAck, ORDER_REVIVE_QID};
use crate::broker::{ok, reply_error, Broker, Reply};
use crate::error::ServiceError;
use crate::remoting::connection::now_ms;

/// One entry of `BatchAckMessageRequestBody.acks` (fastjson short names, long names accepted).
#[derive(Deserialize)]
struct BatchAck {
    #[serde(rename = "c", alias = "consumerGroup")]
    group: String,
    #[serde(rename = "t", alias = "topic")]
    topic: String,
    /// "0" for the topic, "1"/"2" for its pop retry topic.
    #[serde(rename = "r", alias = "retry")]
    retry: String,
    #[serde(rename = "so", alias = "startOffset")]
    start_offset: i64,
    #[serde(rename = "q", alias = "queueId")]
    queue_id: i32,
    #[serde(rename = "pt", alias = "popTime")]
    pop_time: i64,
    /// `BitSet.toByteArray()` in base64: bit i (little-endian within each byte) acks `startOffset + i`.
    #[serde(rename = "b", alias = "bitSet", default)]
    bit_set: Option<String>,
}

#[derive(Deserialize)]
struct BatchAckBody {
    #[serde(default)]
    acks: Vec<BatchAck>,
}

/// Offsets named by a Java `BitSet.toByteArray()`, relative to 0.
fn bitset_indexes(bytes: &[u8]) -> impl Iterator<Item = i64> + '_ {
    bytes.iter().enumerate().flat_map(|(i, byte)| {
        (0..8)
            .filter(move |bit| byte & (1 << bit) != 0)
            .map(move |bit| (i * 8 + bit) as i64)
    })
}

impl Broker {
    /// Topic and queue checks shared by ACK and CHANGE_INVISIBLETIME (Java's remarks).
    fn check_ack_target(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), ServiceError> {
        let Some(config) = self.topics.get(topic) else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!("topic[{topic}] not exist, apply first please!"),
            ));
        };
        if queue_id < 0 || queue_id >= config.read_queue_nums {
            return Err(reply_error(
                ResponseCode::MessageIllegal,
                format!(
                    "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                    config.read_queue_nums, self.config.broker_ip1
                ),
            ));
        }
        let min = self.store.min_offset_in_queue(topic, queue_id);
        let max = self.store.max_offset_in_queue(topic, queue_id);
        if offset < min || offset > max {
            return Err(reply_error(
                ResponseCode::NoMessage,
                format!(
                    "offset is illegal, key:{topic}@{queue_id}, commit:{offset}, store:{min}~{max}"
                ),
            ));
        }
        Ok(())
    }

    pub(in crate::broker) fn ack_message(&self, req: &RemotingCommand) -> Reply {
        let h = AckMessageRequestHeader::decode(&req.ext_fields)?;
        let info = parse_extra_info(&h.extra_info)?;
        let topic = info.real_topic(&h.topic, &h.consumer_group);
        self.check_ack_target(&topic, h.queue_id, h.offset)?;
        if info.revive_qid == ORDER_REVIVE_QID {
            // AckMessageProcessor: an orderly pop's ack moves the offset once all its messages are acked.
            let group = &h.consumer_group;
            if let OrderAck::Done { next_offset } =
                self.pop.orders.ack(group, &topic, h.queue_id, h.offset)
            {
                self.commit_offset(&topic, group, h.queue_id, next_offset);
            }
            return Ok(ok());
        }
        let key: CkKey = (
            h.consumer_group,
            topic,
            h.queue_id,
            info.ck_start_offset,
            info.pop_time,
        );
        // Java answers an ack of an unknown or already revived checkpoint with success too.
        self.pop.checkpoints.ack(&key, h.offset);
        Ok(ok())
    }

    pub(in crate::broker) fn batch_ack_message(&self, req: &RemotingCommand) -> Reply {
        let body: BatchAckBody = serde_json::from_slice(&req.body).map_err(|e| {
            reply_error(
                ResponseCode::SystemError,
                format!("bad BatchAckMessageRequestBody: {e}"),
            )
        })?;
        for ack in body.acks {
            let topic = if ack.retry == "0" {
                ack.topic
            } else {
                pop_retry_topic(&ack.topic, &ack.group)
            };
            let bits = ack
                .bit_set
                .as_deref()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .unwrap_or_default();
            let key: CkKey = (
                ack.group,
                topic,
                ack.queue_id,
                ack.start_offset,
                ack.pop_time,
            );
            for index in bitset_indexes(&bits) {
                self.pop.checkpoints.ack(&key, ack.start_offset + index);
            }
        }
        Ok(ok())
    }

    /// CHANGE_INVISIBLETIME: the message gets a checkpoint of its own that revives `invisibleTime`
    /// from now, and leaves its old one. A message no longer in flight (acked or already revived)
    /// gets no new checkpoint, so it is not delivered again because of this call.
    pub(in crate::broker) fn change_invisible_time(&self, req: &RemotingCommand) -> Reply {
        let h = ChangeInvisibleTimeRequestHeader::decode(&req.ext_fields)?;
        let info = parse_extra_info(&h.extra_info)?;
        let topic = info.real_topic(&h.topic, &h.consumer_group);
        self.check_ack_target(&topic, h.queue_id, h.offset)?;
        let pop_time = now_ms() as i64;
        if info.revive_qid == ORDER_REVIVE_QID {
            // ChangeInvisibleTimeProcessor: an orderly pop's queue stays blocked until the new time.
            let visible_at = pop_time.saturating_add(h.invisible_time);
            self.pop.orders.change_visible_time(
                &h.consumer_group,
                &topic,
                h.queue_id,
                h.offset,
                visible_at,
            );
            let mut resp = ok();
            ChangeInvisibleTimeResponseHeader {
                pop_time,
                invisible_time: h.invisible_time,
                revive_qid: ORDER_REVIVE_QID,
            }
            .encode(&mut resp.ext_fields);
            return Ok(resp);
        }
        let revive_qid = self.pop.next_revive_qid();
        let old: CkKey = (
            h.consumer_group.clone(),
            topic.clone(),
            h.queue_id,
            info.ck_start_offset,
            info.pop_time,
        );
        if self.pop.checkpoints.ack(&old, h.offset) != AckOutcome::Unknown {
            self.pop.checkpoints.add(Checkpoint {
                group: h.consumer_group,
                topic,
                queue_id: h.queue_id,
                start_offset: h.offset,
                pop_time,
                invisible_time: h.invisible_time,
                revive_qid,
                offsets: vec![h.offset],
                acked: vec![false],
            });
        }
        let mut resp = ok();
        ChangeInvisibleTimeResponseHeader {
            pop_time,
            invisible_time: h.invisible_time,
            revive_qid,
        }
        .encode(&mut resp.ext_fields);
        Ok(resp)
    }
}

fn parse_extra_info(s: &str) -> Result<ExtraInfo, ServiceError> {
    ExtraInfo::parse(s).map_err(|e| reply_error(ResponseCode::InvalidParameter, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitset_bytes_are_little_endian_within_a_byte() {
        // Java: BitSet with bits 0, 3 and 9 set -> toByteArray() = [0x09, 0x02].
        assert_eq!(
            bitset_indexes(&[0x09, 0x02]).collect::<Vec<_>>(),
            vec![0, 3, 9]
        );
        assert_eq!(bitset_indexes(&[]).count(), 0);
    }

    #[test]
    fn batch_body_accepts_fastjson_short_names() {
        let body = br#"{"acks":[{"b":"CQI=","c":"G","it":60000,"pt":5,"q":1,"r":"1","rq":0,"so":10,"t":"T"}],"brokerName":"b"}"#;
        let parsed: BatchAckBody = serde_json::from_slice(body).expect("parses");
        let ack = &parsed.acks[0];
        assert_eq!((ack.queue_id, ack.start_offset, ack.pop_time), (1, 10, 5));
        let bits = base64::engine::general_purpose::STANDARD
            .decode(ack.bit_set.as_deref().unwrap_or_default())
            .expect("base64");
        assert_eq!(bitset_indexes(&bits).collect::<Vec<_>>(), vec![0, 3, 9]);
    }
}
