//! Redelivery of popped messages nobody acked in time (Java's `PopReviveService`): each un-acked
//! message of a checkpoint whose invisible time has passed is re-put to `%RETRY%<group>_<topic>`
//! (queue 0) with one more reconsume time, where the group's next pops find it.

use std::sync::Arc;
use std::time::Duration;

use rmq_codec::message::{self, properties, StoredMessage};
use rmq_store::config::perm;

use super::checkpoint::Checkpoint;
use super::extra_info::pop_retry_topic;
use crate::broker::topics::RETRY_GROUP_TOPIC_PREFIX;
use crate::broker::Broker;
use crate::remoting::connection::now_ms;

/// Java's `reviveInterval`.
const REVIVE_INTERVAL: Duration = Duration::from_secs(1);
/// `MessageConst.PROPERTY_FIRST_POP_TIME`.
const FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// Queues of a pop retry topic (Java's `addRetryTopicIfNotExist`).
const RETRY_QUEUES: i32 = 1;

/// Schedules reviving due checkpoints and handing the in-flight ones to the persister once a second.
pub fn schedule(broker: &Arc<Broker>) {
    broker
        .periodic
        .every("pop-revive", broker, REVIVE_INTERVAL, |broker| async move {
            broker.revive_due(now_ms() as i64);
            broker.pop.persist();
        });
}

impl Broker {
    pub(super) fn revive_due(&self, now: i64) {
        for mut ck in self.pop.checkpoints.take_due(now) {
            let pending: Vec<i64> = ck.unacked().collect();
            for offset in pending {
                if let Err(e) = self.revive_one(&ck, offset) {
                    // Keep the rest for the next tick rather than lose them.
                    tracing::error!(error = %e, topic = ck.topic, offset, "pop revive failed");
                    self.pop.checkpoints.add(ck);
                    break;
                }
                ck.ack(offset);
            }
        }
    }

    fn revive_one(&self, ck: &Checkpoint, offset: i64) -> anyhow::Result<()> {
        let Some(unit) = self.store.queue_unit(&ck.topic, ck.queue_id, offset) else {
            tracing::warn!(
                topic = ck.topic,
                offset,
                "popped message is gone, not revived"
            );
            return Ok(());
        };
        let Some(original) = self
            .store
            .message_at(unit.commit_log_offset)
            .and_then(|raw| StoredMessage::decode(&raw).ok())
        else {
            tracing::warn!(
                topic = ck.topic,
                offset,
                "popped message is unreadable, not revived"
            );
            return Ok(());
        };
        let topic = if ck.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            ck.topic.clone()
        } else {
            pop_retry_topic(&ck.topic, &ck.group)
        };
        self.topics
            .ensure(&topic, RETRY_QUEUES, perm::READ | perm::WRITE);
        let mut msg = revived_record(original, topic, ck.pop_time, self.store_host);
        let tags_code = message::tags_code(properties::get(&msg.properties, properties::TAGS));
        self.store.put_deferred(&mut msg, tags_code, false)?;
        self.polling.message_arrived(&msg.topic, msg.queue_id);
        Ok(())
    }
}

/// The retry copy: same body, flag, tags and properties, one more reconsume time, and the first pop
/// time remembered.
fn revived_record(
    original: StoredMessage,
    topic: String,
    pop_time: i64,
    store_host: std::net::SocketAddr,
) -> StoredMessage {
    let mut props = original.properties.clone();
    if original.reconsume_times == 0 || properties::get(&props, FIRST_POP_TIME).is_none() {
        props = properties::put(&props, FIRST_POP_TIME, &pop_time.to_string());
    }
    StoredMessage {
        magic: message::magic_for_topic(&topic),
        body_crc: 0,
        queue_id: 0,
        queue_offset: 0,
        commit_log_offset: 0,
        store_timestamp: 0,
        born_host: store_host,
        store_host,
        reconsume_times: original.reconsume_times.saturating_add(1),
        prepared_transaction_offset: 0,
        topic,
        properties: props,
        ..original
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn revived_copy_counts_a_reconsume_and_keeps_the_first_pop_time() {
        let host: std::net::SocketAddr = "10.0.0.1:10911".parse().expect("addr");
        let original = StoredMessage {
            magic: 0,
            body_crc: 1,
            queue_id: 3,
            flag: 7,
            queue_offset: 42,
            commit_log_offset: 100,
            sys_flag: 0,
            born_timestamp: 5,
            born_host: "10.0.0.9:1".parse().expect("addr"),
            store_timestamp: 6,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"hello"),
            topic: "T".into(),
            properties: properties::put("", properties::TAGS, "a"),
        };
        let first = revived_record(original, "%RETRY%G_T".into(), 1_000, host);
        assert_eq!(first.reconsume_times, 1);
        assert_eq!((first.queue_id, first.flag), (0, 7));
        assert_eq!(
            properties::get(&first.properties, FIRST_POP_TIME),
            Some("1000")
        );
        assert_eq!(
            properties::get(&first.properties, properties::TAGS),
            Some("a")
        );
        let second = revived_record(first, "%RETRY%G_T".into(), 9_000, host);
        assert_eq!(second.reconsume_times, 2);
        assert_eq!(
            properties::get(&second.properties, FIRST_POP_TIME),
            Some("1000")
        );
    }
}
