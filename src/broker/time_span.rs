//! QUERY_CONSUME_TIME_SPAN (303, `DefaultMQAdminExt.queryConsumeTimeSpan`): per write queue of a topic,
//! the store times of its first and last messages, of the last message the group consumed, and how long
//! the group's next message has waited (Java's `AdminBrokerProcessor.queryConsumeTimeSpan`).

use bytes::Bytes;
use rmq_codec::body::{encode_time_spans, MessageQueue, QueueTimeSpan};
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, QueryConsumeTimeSpanRequestHeader};

use super::{ok, reply_error, Broker, Reply};
use crate::remoting::connection::now_ms;

impl Broker {
    /// TOPIC_NOT_EXIST for a topic without config. Java's quirks are kept: a group without an offset counts
    /// as offset -1, so its consume time is the first message's and its delay is measured from store time
    /// -1 (the current time plus 1 ms) while the queue has messages.
    pub(super) fn consume_time_span(&self, req: &RemotingCommand) -> Reply {
        let h = QueryConsumeTimeSpanRequestHeader::decode(&req.ext_fields)?;
        let Some(config) = self.topics.get(&h.topic) else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!("topic[{}] not exist", h.topic),
            ));
        };
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        let spans: Vec<QueueTimeSpan> = (0..config.write_queue_nums)
            .map(|queue_id| self.queue_time_span(&h.topic, &h.group, queue_id, now))
            .collect();
        let mut resp = ok();
        resp.body = Bytes::from(encode_time_spans(&spans));
        Ok(resp)
    }

    fn queue_time_span(&self, topic: &str, group: &str, queue_id: i32, now: i64) -> QueueTimeSpan {
        let store_time = |offset: i64| {
            self.store
                .store_time_at(topic, queue_id, offset)
                .unwrap_or(-1)
        };
        let min_offset = self.store.min_offset_in_queue(topic, queue_id);
        let max_offset = self.store.max_offset_in_queue(topic, queue_id);
        let min_time_stamp = store_time(min_offset);
        let consumer_offset = self.offsets.query(topic, group, queue_id).unwrap_or(-1);
        let consume_time_stamp = if consumer_offset > 0 {
            store_time(consumer_offset - 1)
        } else {
            min_time_stamp
        };
        let delay_time = if consumer_offset < max_offset {
            now - store_time(consumer_offset)
        } else {
            0
        };
        QueueTimeSpan {
            message_queue: MessageQueue {
                topic: topic.to_string(),
                broker_name: self.config.broker_name.clone(),
                queue_id,
            },
            min_time_stamp,
            max_time_stamp: store_time(max_offset - 1),
            consume_time_stamp,
            delay_time,
        }
    }
}
