//! QUERY_CONSUME_QUEUE (321, `mqadmin queryCq`): units of one consume queue (Java's
//! `AdminBrokerProcessor.queryConsumeQueue`).

use bytes::Bytes;
use rmq_codec::body::{ConsumeQueueData, QueryConsumeQueueResponseBody};
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, QueryConsumeQueueRequestHeader};
use rmq_store::consume_queue::UNIT_SIZE;

use super::admin_stats::subscription_data;
use super::{ok, reply_error, Broker, Reply};

impl Broker {
    /// The queue's bounds and up to `count` units from `index`. Like Java's iterator, the units end at
    /// the end of the consume-queue file that holds `index`. With `consumerGroup`, the group's
    /// subscription and a filter note: `"null"` for a TAG subscription (Java has no filter data for it).
    pub(super) fn query_consume_queue(&self, req: &RemotingCommand) -> Reply {
        let h = QueryConsumeQueueRequestHeader::decode(&req.ext_fields)?;
        if !self.store.queue_ids(&h.topic).contains(&h.queue_id) {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!("{}@{} is not exist!", h.queue_id, h.topic),
            ));
        }
        let mut body = QueryConsumeQueueResponseBody {
            max_queue_index: self.store.max_offset_in_queue(&h.topic, h.queue_id),
            min_queue_index: self.store.min_offset_in_queue(&h.topic, h.queue_id),
            ..QueryConsumeQueueResponseBody::default()
        };
        if let Some(group) = &h.consumer_group {
            let clients = self.clients.lock();
            match clients.subscription(group, &h.topic) {
                Some(sub) => {
                    body.subscription_data = Some(subscription_data(sub));
                    body.filter_data = Some("null".into());
                }
                None => body.filter_data = Some(format!("{group}@{} is not online!", h.topic)),
            }
        }
        if h.index < body.min_queue_index || h.index >= body.max_queue_index {
            let mut resp = ok();
            resp.remark = Some(format!(
                "Index {} of {}@{} is not exist!",
                h.index, h.queue_id, h.topic
            ));
            return Ok(resp);
        }
        let end = self.units_end(h.index, body.max_queue_index, h.count);
        body.queue_data = (h.index..end)
            .map_while(|offset| self.store.queue_unit(&h.topic, h.queue_id, offset))
            .map(|unit| ConsumeQueueData {
                physic_offset: unit.commit_log_offset,
                physic_size: unit.size,
                tags_code: unit.tags_code,
            })
            .collect();
        let mut resp = ok();
        // Java sets SUCCESS on the response it created with SYSTEM_ERROR and never clears that remark.
        resp.remark = Some("not set any response code".into());
        resp.body = Bytes::from(body.encode());
        Ok(resp)
    }

    /// One past the last unit to report: `count` units from `index`, within the queue and within the
    /// consume-queue file that holds `index`.
    fn units_end(&self, index: i64, max: i64, count: i32) -> i64 {
        let per_file =
            (self.store.config().mapped_file_size_consume_queue / UNIT_SIZE as u64).max(1);
        let per_file = i64::try_from(per_file).unwrap_or(i64::MAX);
        let file_end = (index / per_file)
            .saturating_add(1)
            .saturating_mul(per_file);
        max.min(file_end)
            .min(index.saturating_add(i64::from(count.max(0))))
    }
}
