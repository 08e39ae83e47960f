//! Dropping whole consume queues on an operator's request: CLEAN_EXPIRED_CONSUMEQUEUE
//! (`DefaultMessageStore.cleanExpiredConsumerQueue`), CLEAN_UNUSED_TOPIC (`cleanUnusedTopic`) and
//! DELETE_TOPIC_IN_BROKER (`deleteTopics`).
//!
//! A queue is taken out of the table under the append lock, so no append is half done on it, and its
//! directory is deleted after. As in Java, a put that looked the queue up just before may still write a unit
//! into the dropped queue's (unlinked) file; the record itself stays in the commit log.

use std::path::PathBuf;
use std::sync::Arc;

use super::MessageStore;
use crate::consume_queue::ConsumeQueue;
use crate::error::StoreError;

impl MessageStore {
    fn queue_dir(&self, topic: &str) -> PathBuf {
        self.inner.config.root_dir.join("consumequeue").join(topic)
    }

    /// Removes the queues `pick` selects from the table, under the append lock.
    fn take_queues(&self, pick: &dyn Fn(&str, &ConsumeQueue) -> bool) -> Vec<Arc<ConsumeQueue>> {
        let _appends = self.inner.put_lock.lock();
        let mut table = self.inner.queues.write();
        let mut taken = Vec::new();
        for (topic, queues) in table.iter_mut() {
            queues.retain(|_, cq| {
                let drop = pick(topic, cq);
                if drop {
                    taken.push(Arc::clone(cq));
                }
                !drop
            });
        }
        table.retain(|_, queues| !queues.is_empty());
        taken
    }

    fn delete_queue_dirs(&self, taken: &[Arc<ConsumeQueue>]) -> Result<(), StoreError> {
        for cq in taken {
            let dir = self.queue_dir(cq.topic()).join(cq.queue_id().to_string());
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            // Java's `deleteEmptyDirectory` of the topic: only when no queue is left in it.
            let _ = std::fs::remove_dir(self.queue_dir(cq.topic()));
        }
        Ok(())
    }

    /// `cleanExpiredConsumerQueue`: drops every queue of a topic `keep` does not protect whose last unit
    /// points below the commit log's first offset (its messages are all gone). Queues with no unit yet
    /// are kept (Java: "maybe ConsumeQueue was created just now"). Returns how many queues went.
    pub fn clean_expired_queues(&self, keep: &dyn Fn(&str) -> bool) -> Result<usize, StoreError> {
        let commit_log_min = self.inner.commit_log.min_offset();
        let taken = self.take_queues(&|topic, cq| {
            let end = cq.max_physical_end();
            !keep(topic) && end != 0 && end <= commit_log_min
        });
        self.delete_queue_dirs(&taken)?;
        Ok(taken.len())
    }

    /// `cleanUnusedTopic`: drops every queue of each topic `keep` does not retain (Java retains the topic
    /// config table's topics, system topics and LMQ topics). Returns how many topics went.
    pub fn clean_unused_topics(&self, keep: &dyn Fn(&str) -> bool) -> Result<usize, StoreError> {
        let taken = self.take_queues(&|topic, _| !keep(topic));
        let mut topics: Vec<&str> = taken.iter().map(|cq| cq.topic()).collect();
        topics.sort_unstable();
        topics.dedup();
        let count = topics.len();
        self.delete_queue_dirs(&taken)?;
        Ok(count)
    }

    /// `deleteTopics` of one topic: drops all its queues and their directories. The records stay in the
    /// commit log until retention removes the files. Returns how many queues went.
    pub fn delete_topic_queues(&self, topic: &str) -> Result<usize, StoreError> {
        let taken = self.take_queues(&|t, _| t == topic);
        self.delete_queue_dirs(&taken)?;
        Ok(taken.len())
    }
}

#[cfg(test)]
mod tests {
    use crate::message_store::{MessageStore, StoreConfig};
    use rmq_codec::message::StoredMessage;

    fn put(store: &MessageStore, topic: &str) {
        let mut msg = StoredMessage {
            topic: topic.into(),
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_host: "127.0.0.1:2".parse().unwrap(),
            body: "x".into(),
            ..StoredMessage::default()
        };
        store.put(&mut msg, 0).unwrap();
    }

    #[test]
    fn unused_topics_lose_their_queues_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            root_dir: dir.path().to_path_buf(),
            ..StoreConfig::default()
        };
        let store = MessageStore::open(config).unwrap();
        put(&store, "kept");
        put(&store, "unused");
        assert_eq!(store.clean_unused_topics(&|t| t == "kept").unwrap(), 1);
        assert!(store.queue_ids("unused").is_empty());
        assert_eq!(store.queue_ids("kept"), vec![0]);
        assert!(!dir.path().join("consumequeue/unused").exists());
        assert!(dir.path().join("consumequeue/kept/0").exists());
        // Nothing has expired while the commit log still starts at 0.
        assert_eq!(store.clean_expired_queues(&|_| false).unwrap(), 0);
        // The topic can be written again: a fresh queue from offset 0.
        put(&store, "unused");
        assert_eq!(store.max_offset_in_queue("unused", 0), 1);
    }

    #[test]
    fn a_deleted_topic_loses_only_its_own_queues() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            root_dir: dir.path().to_path_buf(),
            ..StoreConfig::default()
        };
        let store = MessageStore::open(config).unwrap();
        put(&store, "gone");
        put(&store, "gone");
        put(&store, "gone_too_similar");
        assert_eq!(store.delete_topic_queues("gone").unwrap(), 1);
        assert!(store.queue_ids("gone").is_empty());
        assert!(!dir.path().join("consumequeue/gone").exists());
        assert_eq!(store.max_offset_in_queue("gone_too_similar", 0), 1);
        assert_eq!(store.delete_topic_queues("never_was").unwrap(), 0);
        put(&store, "gone");
        assert_eq!(
            store.max_offset_in_queue("gone", 0),
            1,
            "a recreated topic starts at 0"
        );
    }
}
