//! Consumer offsets (`config/consumerOffset.json`) and the offset requests: 14, 15, 30, 31, 32.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CommandHeader, GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_store::config::{ConsumerOffsetFile, PersistedFile, Persister};

use super::reset_offset::ResetTable;
use super::{ok, reply_error, Broker, Reply};
use crate::config::BrokerConfig;

pub struct OffsetTable {
    file: Arc<Mutex<ConsumerOffsetFile>>,
    /// `config/consumerOffset.json`, handed to the broker's persister thread by [`persist`](Self::persist).
    persisted: PersistedFile,
    /// Offsets changed since the last [`persist`](Self::persist).
    dirty: AtomicBool,
    /// Server-side resets not yet taken by a pull (memory only, like Java). Lock order: `resets`, then
    /// `file`, so a commit cannot slip between a reset's two writes.
    resets: Mutex<ResetTable>,
    /// What the group's pulls of a topic got, by `"topic@group"` (memory only). Pulls pass the topic
    /// and group checks first, so it has no more keys than the topic and group tables allow.
    pulled: Mutex<HashMap<String, Pulled>>,
}

/// A group's pulls of one topic.
#[derive(Default)]
struct Pulled {
    /// Queue id → the next offset of the last pull (5.x `pullOffsetTable`), for GET_CONSUME_STATS'
    /// `pullOffset`.
    next_offsets: HashMap<i32, i64>,
}

impl OffsetTable {
    pub fn load(config: &BrokerConfig, persister: &Persister) -> anyhow::Result<Self> {
        let path = rmq_store::config::consumer_offset_path(&config.store.root_dir);
        let file = Arc::new(Mutex::new(ConsumerOffsetFile::load(&path)?));
        let persisted = {
            let file = Arc::clone(&file);
            persister.register(path, move || {
                let mut file = file.lock();
                file.data_version.next_version();
                Some(file.to_value())
            })
        };
        Ok(OffsetTable {
            file,
            persisted,
            dirty: AtomicBool::new(false),
            resets: Mutex::new(ResetTable::default()),
            pulled: Mutex::new(HashMap::new()),
        })
    }

    pub fn query(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let key = format!("{topic}@{group}");
        self.file.lock().offsets.get(&key)?.get(&queue_id).copied()
    }

    pub fn commit(&self, topic: &str, group: &str, queue_id: i32, offset: i64) {
        let key = format!("{topic}@{group}");
        self.file
            .lock()
            .offsets
            .entry(key)
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Records a server-side reset: pending until the next pull, and committed at once so that it
    /// survives a restart (Java's `assignResetOffset`). False for an illegal queue id or offset.
    pub fn assign_reset(&self, topic: &str, group: &str, queue_id: i32, offset: i64) -> bool {
        let mut resets = self.resets.lock();
        if !resets.assign(topic, group, queue_id, offset) {
            return false;
        }
        self.commit(topic, group, queue_id, offset);
        true
    }

    /// Takes the pending reset of a queue out (the pull that is redirected to it).
    pub fn take_reset(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        self.resets.lock().take(topic, group, queue_id)
    }

    pub fn has_reset(&self, topic: &str, group: &str, queue_id: i32) -> bool {
        self.resets.lock().pending(topic, group, queue_id).is_some()
    }

    /// What QUERY_CONSUMER_OFFSET answers: a pending reset first, else the committed offset.
    pub fn query_consumer(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let resets = self.resets.lock();
        resets
            .pending(topic, group, queue_id)
            .or_else(|| self.query(topic, group, queue_id))
    }

    /// A consumer's commit, ignored (false) while a reset of that queue is pending.
    pub fn commit_unless_reset(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
    ) -> bool {
        let resets = self.resets.lock();
        if resets.pending(topic, group, queue_id).is_some() {
            return false;
        }
        self.commit(topic, group, queue_id, offset);
        true
    }

    /// Records where the group's pull of a queue ends (Java's `commitPullOffset`, on every pull result).
    pub fn record_pull(&self, topic: &str, group: &str, queue_id: i32, next_offset: i64) {
        let mut pulled = self.pulled.lock();
        let entry = pulled
            .entry(ConsumerOffsetFile::key(topic, group))
            .or_default();
        entry.next_offsets.insert(queue_id, next_offset);
    }

    /// The next offset of the group's last pull of a queue, else what QUERY_CONSUMER_OFFSET answers
    /// (Java's `queryPullOffset`).
    pub fn query_pull(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let pulled = self
            .pulled
            .lock()
            .get(&ConsumerOffsetFile::key(topic, group))
            .and_then(|pulled| pulled.next_offsets.get(&queue_id).copied());
        pulled.or_else(|| self.query_consumer(topic, group, queue_id))
    }

    /// Topics the group has committed offsets for (Java's `whichTopicByConsumer`).
    pub fn topics_of_group(&self, group: &str) -> BTreeSet<String> {
        let file = self.file.lock();
        file.topic_group_pairs()
            .filter(|&(_, g)| g == group)
            .map(|(topic, _)| topic.to_owned())
            .collect()
    }

    /// Java's `ConsumerOffsetManager.cloneOffset`: `dest` gets a copy of `src`'s committed offsets of
    /// `topic` (replacing its own); nothing happens when `src` has none there.
    pub fn clone_offsets(&self, src: &str, dest: &str, topic: &str) {
        let mut file = self.file.lock();
        let Some(offsets) = file.offsets.get(&format!("{topic}@{src}")).cloned() else {
            return;
        };
        file.offsets.insert(format!("{topic}@{dest}"), offsets);
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Group → topics it has committed offsets for or pulled from (Java's consumer manager keeps a
    /// group that pulled in its compensation table).
    pub fn group_topics(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut map = self.file.lock().group_topic_map();
        for key in self.pulled.lock().keys() {
            if let Some((topic, group)) = key.split_once('@') {
                map.entry(group.to_string())
                    .or_default()
                    .insert(topic.to_string());
            }
        }
        map
    }

    /// Groups with committed offsets on the topic (Java's `whichGroupByTopic`).
    pub fn groups_of_topic(&self, topic: &str) -> BTreeSet<String> {
        let file = self.file.lock();
        file.topic_group_pairs()
            .filter(|&(t, _)| t == topic)
            .map(|(_, group)| group.to_owned())
            .collect()
    }

    /// Drops every committed offset of `group` (DELETE_SUBSCRIPTIONGROUP with removeOffset / cleanOffset,
    /// Java's `ConsumerOffsetManager.removeOffset`). Returns how many topics the group had offsets in.
    /// 5.3.3 also drops the group's pending server-side resets and pull offsets.
    pub fn remove_group(&self, group: &str) -> usize {
        self.pulled
            .lock()
            .retain(|key, _| !is_key_of_group(key, group));
        let mut resets = self.resets.lock();
        resets.forget_group(group);
        let mut file = self.file.lock();
        let before = file.offsets.len();
        file.offsets.retain(|key, _| !is_key_of_group(key, group));
        let removed = before - file.offsets.len();
        if removed > 0 {
            self.dirty.store(true, Ordering::Relaxed);
        }
        removed
    }

    /// Drops every group's committed offsets, pull offsets and pending resets of `topic`
    /// (DELETE_TOPIC_IN_BROKER, 5.3.3's `ConsumerOffsetManager.cleanOffsetByTopic`). Returns how many
    /// groups had offsets there.
    pub fn remove_topic(&self, topic: &str) -> usize {
        self.pulled
            .lock()
            .retain(|key, _| !is_key_of_topic(key, topic));
        let mut resets = self.resets.lock();
        resets.forget_topic(topic);
        let mut file = self.file.lock();
        let before = file.offsets.len();
        file.offsets.retain(|key, _| !is_key_of_topic(key, topic));
        let removed = before - file.offsets.len();
        if removed > 0 {
            self.dirty.store(true, Ordering::Relaxed);
        }
        removed
    }

    /// GET_ALL_CONSUMER_OFFSET (43): Java's `ConsumerOffsetManager.encode()`, the `consumerOffset.json`
    /// document (without bumping its DataVersion, which only a persist does).
    pub fn master_copy_value(&self) -> rmq_codec::fastjson::Value {
        self.file.lock().to_value()
    }

    /// A slave's copy of its master's offsets (`SlaveSynchronize.syncConsumerOffset`): every queue the
    /// master has replaces the slave's (`putAll` by `topic@group`; keys only the slave has stay), the
    /// master's DataVersion is taken (5.3.3) and the file persisted.
    pub fn take_from_master(&self, master: ConsumerOffsetFile) {
        {
            let mut file = self.file.lock();
            file.offsets.extend(master.offsets);
            file.data_version = master.data_version;
        }
        self.persisted.mark_changed();
    }

    /// Hands the offsets to the persister thread when they changed since the last call.
    pub fn persist(&self) {
        if self.dirty.swap(false, Ordering::Relaxed) {
            self.persisted.mark_changed();
        }
    }
}

/// Whether an `offsetTable` key `topic@group` belongs to `group` (a key that does not split in two
/// belongs to none, as in Java).
pub(super) fn is_key_of_group(key: &str, group: &str) -> bool {
    let mut parts = key.split(rmq_store::config::offsets::TOPIC_GROUP_SEPARATOR);
    matches!((parts.next(), parts.next(), parts.next()), (Some(_), Some(g), None) if g == group)
}

/// `topic@group` keys of `topic`, read as Java's `cleanOffsetByTopic` splits them: exactly two parts.
pub(super) fn is_key_of_topic(key: &str, topic: &str) -> bool {
    let mut parts = key.split(rmq_store::config::offsets::TOPIC_GROUP_SEPARATOR);
    matches!((parts.next(), parts.next(), parts.next()), (Some(t), Some(_), None) if t == topic)
}

fn offset_response(offset: i64) -> RemotingCommand {
    let mut resp = ok();
    OffsetResponseHeader { offset }.encode(&mut resp.ext_fields);
    resp
}

impl Broker {
    pub(super) fn query_consumer_offset(&self, req: &RemotingCommand) -> Reply {
        let h = QueryConsumerOffsetRequestHeader::decode(&req.ext_fields)?;
        let found = self
            .offsets
            .query_consumer(&h.topic, &h.consumer_group, h.queue_id);
        if let Some(offset) = found {
            if offset >= 0 {
                return Ok(offset_response(offset));
            }
        }
        if h.set_zero_if_not_found == Some(false) {
            return Err(reply_error(
                ResponseCode::QueryNotFound,
                "Not found, do not set to zero, maybe this group boot first",
            ));
        }
        // Java starts a new group at 0 while the queue's head is still young;
        // otherwise the client falls back to its ConsumeFromWhere.
        let min = self.store.min_offset_in_queue(&h.topic, h.queue_id);
        if min <= 0 {
            return Ok(offset_response(0));
        }
        Err(reply_error(
            ResponseCode::QueryNotFound,
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
        ))
    }

    /// UPDATE_CONSUMER_OFFSET (15) as 5.3.3's `ConsumerManageProcessor.updateConsumerOffset`: an unknown
    /// group or topic is refused (4.9.7 stores whatever it is sent; its clients send this oneway, so
    /// they never read the answer). A queue id outside the topic's queues is answered SUCCESS as by both
    /// Java versions, but not stored: a client cannot grow the offset table with queues that do not exist.
    pub(super) fn update_consumer_offset(&self, req: &RemotingCommand) -> Reply {
        let h = UpdateConsumerOffsetRequestHeader::decode(&req.ext_fields)?;
        if !self.groups.contains(&h.consumer_group) {
            return Err(reply_error(
                ResponseCode::SubscriptionGroupNotExist,
                format!("Group {} not exist!", h.consumer_group),
            ));
        }
        let Some(topic) = self.topics.get(&h.topic) else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!("Topic {} not exist!", h.topic),
            ));
        };
        let queues = topic.read_queue_nums.max(topic.write_queue_nums);
        if !(0..queues).contains(&h.queue_id) {
            tracing::debug!(
                topic = h.topic,
                group = h.consumer_group,
                queue_id = h.queue_id,
                "offset commit for a queue the topic does not have, not stored"
            );
            return Ok(ok());
        }
        let committed = self.offsets.commit_unless_reset(
            &h.topic,
            &h.consumer_group,
            h.queue_id,
            h.commit_offset,
        );
        if !committed {
            // 5.x acknowledges but ignores it: the consumer learns the reset from its next pull.
            let mut resp = ok();
            resp.remark = Some("Offset has been previously reset".into());
            return Ok(resp);
        }
        Ok(ok())
    }

    pub(super) fn max_offset(&self, req: &RemotingCommand) -> Reply {
        let h = GetMaxOffsetRequestHeader::decode(&req.ext_fields)?;
        Ok(offset_response(
            self.store.max_offset_in_queue(&h.topic, h.queue_id),
        ))
    }

    pub(super) fn min_offset(&self, req: &RemotingCommand) -> Reply {
        let h = GetMinOffsetRequestHeader::decode(&req.ext_fields)?;
        Ok(offset_response(
            self.store.min_offset_in_queue(&h.topic, h.queue_id),
        ))
    }

    pub(super) fn earliest_store_time(&self, req: &RemotingCommand) -> Reply {
        let h = GetEarliestMsgStoretimeRequestHeader::decode(&req.ext_fields)?;
        let min = self.store.min_offset_in_queue(&h.topic, h.queue_id);
        let timestamp = self
            .store
            .store_time_at(&h.topic, h.queue_id, min)
            .unwrap_or(-1);
        let mut resp = ok();
        GetEarliestMsgStoretimeResponseHeader { timestamp }.encode(&mut resp.ext_fields);
        Ok(resp)
    }

    /// Called by pull with COMMIT_OFFSET: the consumer's progress rides on its pulls.
    pub(super) fn commit_offset(&self, topic: &str, group: &str, queue_id: i32, offset: i64) {
        self.offsets.commit(topic, group, queue_id, offset);
    }
}

#[cfg(test)]
mod tests {
    use rmq_codec::code::RequestCode;
    use rmq_store::config::perm;

    use super::*;
    use crate::broker::test_support::config_in;

    fn broker(dir: &tempfile::TempDir) -> Arc<Broker> {
        let broker = Broker::open(config_in(dir)).expect("opens");
        broker.topics.ensure("T", 2, perm::READ | perm::WRITE);
        broker.groups.ensure("g").expect("group");
        broker
    }

    fn update(b: &Broker, group: &str, topic: &str, queue_id: i32) -> RemotingCommand {
        let h = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            commit_offset: 7,
        };
        let req =
            RemotingCommand::new_request(RequestCode::UpdateConsumerOffset, h.to_ext_fields());
        b.update_consumer_offset(&req)
            .unwrap_or_else(|e| e.into_response())
    }

    /// 5.3.3's answers: the group is checked first, then the topic; nothing is stored for either.
    #[test]
    fn unknown_groups_and_topics_are_refused_as_5x_refuses_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = broker(&dir);
        let refused = update(&b, "nobody", "Nope", 0);
        assert_eq!(
            (ResponseCode::from(refused.code), refused.remark.as_deref()),
            (
                ResponseCode::SubscriptionGroupNotExist,
                Some("Group nobody not exist!")
            )
        );
        let refused = update(&b, "g", "Nope", 0);
        assert_eq!(
            (ResponseCode::from(refused.code), refused.remark.as_deref()),
            (ResponseCode::TopicNotExist, Some("Topic Nope not exist!"))
        );
        assert!(!b.groups.contains("nobody"), "not auto-created");
        assert_eq!(b.offsets.query("Nope", "g", 0), None);
        assert_eq!(b.offsets.query("Nope", "nobody", 0), None);
    }

    #[test]
    fn a_queue_the_topic_does_not_have_is_acknowledged_but_not_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = broker(&dir);
        for queue_id in [2, -1, i32::MAX] {
            let answer = update(&b, "g", "T", queue_id);
            assert_eq!(ResponseCode::from(answer.code), ResponseCode::Success);
            assert_eq!(
                b.offsets.query("T", "g", queue_id),
                None,
                "queue {queue_id}"
            );
        }
        let answer = update(&b, "g", "T", 1);
        assert_eq!(ResponseCode::from(answer.code), ResponseCode::Success);
        assert_eq!(b.offsets.query("T", "g", 1), Some(7));
    }
}
