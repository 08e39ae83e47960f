//! Going back in time: SEARCH_OFFSET_BY_TIMESTAMP (29) and INVOKE_BROKER_TO_RESET_OFFSET (222), which
//! pushes RESET_CONSUMER_CLIENT_OFFSET (220) to the group's consumers.

use bytes::Bytes;
use rmq_codec::body::MessageQueue;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Key, Value};
use rmq_codec::header::{
    CommandHeader, OffsetResponseHeader, ResetOffsetRequestHeader, SearchOffsetRequestHeader,
};

use super::{ok, reply_error, Broker, Reply};

/// Which end of a run of messages with the searched store time to answer (5.x `BoundaryType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// The first offset whose store time is at or after the timestamp (the default, and 4.x).
    Lower,
    /// The last offset whose store time is at or before the timestamp.
    Upper,
}

impl Boundary {
    fn parse(text: Option<&str>) -> Self {
        match text {
            Some(t) if t.eq_ignore_ascii_case("UPPER") => Boundary::Upper,
            _ => Boundary::Lower,
        }
    }
}

/// Binary search over the queue offsets `[min, max)` by store time, `store_time(offset)` reading the
/// record's STORETIMESTAMP. Answers like 5.x `ConsumeQueue.getOffsetInQueueByTime`, clamped to
/// `[min, max]`: LOWER past every message is `max`, UPPER before every message is `min`. An offset
/// whose record cannot be read (deleted under us) answers `min`, as Java's 0 clamped.
pub fn search_by_time(
    min: i64,
    max: i64,
    timestamp: i64,
    boundary: Boundary,
    store_time: impl Fn(i64) -> Option<i64>,
) -> i64 {
    // Invariant: every offset below `lo` is "before" the answer, every offset at or above `hi` is not.
    let (mut lo, mut hi) = (min, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(t) = store_time(mid) else {
            return min;
        };
        let before = match boundary {
            Boundary::Lower => t < timestamp,
            Boundary::Upper => t <= timestamp,
        };
        if before {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    match boundary {
        Boundary::Lower => lo,
        Boundary::Upper => (lo - 1).max(min),
    }
}

/// `ResetOffsetBody` / the body of 220: `{"offsetTable":{{"brokerName":..,"queueId":..,"topic":..}:offset}}`,
/// keys being MessageQueue objects written the fastjson way.
pub fn reset_offset_body(broker_name: &str, topic: &str, offsets: &[(i32, i64)]) -> Bytes {
    let table = offsets
        .iter()
        .map(|&(queue_id, offset)| {
            let mq = MessageQueue {
                topic: topic.into(),
                broker_name: broker_name.into(),
                queue_id,
            };
            (mq.to_key(), Value::Int(offset))
        })
        .collect();
    let body = Value::Object(vec![(Key::Str("offsetTable".into()), Value::Object(table))]);
    Bytes::from(fastjson::to_string(&body))
}

impl Broker {
    pub(super) fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: Boundary,
    ) -> i64 {
        let min = self.store.min_offset_in_queue(topic, queue_id);
        let max = self.store.max_offset_in_queue(topic, queue_id);
        search_by_time(min, max, timestamp, boundary, |offset| {
            self.store.store_time_at(topic, queue_id, offset)
        })
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub(super) fn search_offset(&self, req: &RemotingCommand) -> Reply {
        let h = SearchOffsetRequestHeader::decode(&req.ext_fields)?;
        let boundary = Boundary::parse(h.boundary_type.as_deref());
        let offset = self.offset_by_time(&h.topic, h.queue_id, h.timestamp, boundary);
        let mut resp = ok();
        OffsetResponseHeader { offset }.encode(&mut resp.ext_fields);
        Ok(resp)
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET (222): the 5.x server-side reset (`reset_offset.rs`) unless
    /// `useServerSideResetOffset=false`, else the 4.x flow (`Broker2Client.resetOffset`): for every
    /// write queue the offset at `timestamp` (the max for -1), kept unless `isForce` or it moves back;
    /// the offsets are committed here and pushed to every consumer of the group, which resets its
    /// in-memory offsets on RESET_CONSUMER_CLIENT_OFFSET.
    pub(super) fn reset_offset(&self, req: &RemotingCommand) -> Reply {
        let h = ResetOffsetRequestHeader::decode(&req.ext_fields)?;
        if self.runtime().use_server_side_reset_offset {
            return self.reset_offset_server_side(&h);
        }
        let Some(topic) = self.topics.get(&h.topic) else {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!(
                    "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                    h.topic
                ),
            ));
        };
        let queue_ids: Vec<i32> = match h.queue_id {
            Some(q) if q >= 0 => vec![q],
            _ => (0..topic.write_queue_nums).collect(),
        };
        let mut offsets = Vec::with_capacity(queue_ids.len());
        for queue_id in queue_ids {
            let Some(current) = self.offsets.query(&h.topic, &h.group, queue_id) else {
                return Err(reply_error(
                    ResponseCode::SystemError,
                    format!("THe consumer group <{}> not exist", h.group),
                ));
            };
            let target = match h.offset {
                Some(offset) if offset >= 0 && h.queue_id.is_some_and(|q| q >= 0) => offset,
                _ if h.timestamp == -1 => self.store.max_offset_in_queue(&h.topic, queue_id),
                _ => self.offset_by_time(&h.topic, queue_id, h.timestamp, Boundary::Lower),
            };
            let target = target.max(0);
            offsets.push((
                queue_id,
                if h.is_force || target < current {
                    target
                } else {
                    current
                },
            ));
        }
        let members = self.clients.lock().consumer_connections(&h.group);
        if members.is_empty() {
            return Err(reply_error(
                ResponseCode::ConsumerNotOnline,
                format!(
                    "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                    h.group, h.topic, h.timestamp
                ),
            ));
        }
        for &(queue_id, offset) in &offsets {
            self.offsets.commit(&h.topic, &h.group, queue_id, offset);
        }
        let body = reset_offset_body(&self.config.broker_name, &h.topic, &offsets);
        let push = ResetOffsetRequestHeader {
            topic: h.topic.clone(),
            group: h.group.clone(),
            timestamp: h.timestamp,
            is_force: false,
            queue_id: None,
            offset: None,
        };
        for conn in members {
            let mut cmd = RemotingCommand::new_request(
                RequestCode::ResetConsumerClientOffset,
                push.to_ext_fields(),
            );
            cmd.body = body.clone();
            conn.send_oneway_command(cmd);
        }
        tracing::info!(topic = %h.topic, group = %h.group, timestamp = h.timestamp, "consumer offsets reset");
        let mut resp = ok();
        resp.body = body;
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Store times of offsets 10..17: two messages share 200.
    fn times(offset: i64) -> Option<i64> {
        [100, 150, 200, 200, 250, 300, 400]
            .get((offset - 10) as usize)
            .copied()
    }

    #[test]
    fn lower_is_the_first_at_or_after() {
        let s = |ts| search_by_time(10, 17, ts, Boundary::Lower, times);
        assert_eq!(s(200), 12, "first of a run with the same time");
        assert_eq!(s(201), 14);
        assert_eq!(s(50), 10);
        assert_eq!(s(100), 10);
        assert_eq!(s(401), 17, "after every message: the max offset");
    }

    #[test]
    fn upper_is_the_last_at_or_before() {
        let s = |ts| search_by_time(10, 17, ts, Boundary::Upper, times);
        assert_eq!(s(200), 13, "last of a run with the same time");
        assert_eq!(s(249), 13);
        assert_eq!(s(50), 10, "before every message: clamped to the min");
        assert_eq!(s(1000), 16);
    }

    #[test]
    fn empty_queue_answers_its_offset() {
        assert_eq!(search_by_time(5, 5, 1, Boundary::Lower, |_| None), 5);
        assert_eq!(search_by_time(0, 0, 1, Boundary::Upper, |_| None), 0);
    }

    #[test]
    fn boundary_parses_case_insensitively() {
        assert_eq!(Boundary::parse(Some("upper")), Boundary::Upper);
        assert_eq!(Boundary::parse(None), Boundary::Lower);
    }

    #[test]
    fn reset_body_uses_object_keys() {
        let body = reset_offset_body("b", "T", &[(0, 5), (1, 7)]);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}}"#
        );
    }
}
