//! The limits on what clients make the broker create: topics auto-created by a send (from TBW102, or a
//! `%RETRY%` topic named by a send) and subscription groups auto-created by a heartbeat, pull or send-back.
//!
//! A limit counts every entry of its table, however it was created (system, admin, auto-created): the table's
//! size is what costs memory, the registration body every name server receives each period and the config
//! file rewritten after each change, and `topics.json` / `subscriptionGroup.json` do not record how an entry
//! was made, so a count of auto-created ones would not survive a restart or a store moved from a Java broker.
//! Only auto-creation is refused at the limit; UPDATE_AND_CREATE_TOPIC and the broker's own topics are not.
//! Java has no such limit; a refused creation is answered as Java answers a topic or group that cannot be
//! created (auto-creation off): TOPIC_NOT_EXIST on send, SUBSCRIPTION_GROUP_NOT_EXIST on pull.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::remoting::connection::now_ms;

/// `autoCreateTopicLimit` default: auto-creation stops once the broker has this many topics.
pub const DEFAULT_TOPIC_LIMIT: usize = 30_000;
/// `autoCreateSubscriptionGroupLimit` default: auto-creation stops once the broker has this many groups.
pub const DEFAULT_GROUP_LIMIT: usize = 30_000;

/// A refusal is logged at most this often per table: a client creating names in a loop must not flood the log.
const REFUSAL_LOG_INTERVAL_MS: u64 = 10_000;

/// A table size limit on auto-creation, with its rate-limited refusal log.
#[derive(Debug)]
pub struct AutoCreateLimit {
    max_entries: usize,
    last_refusal_log_ms: AtomicU64,
}

impl AutoCreateLimit {
    pub fn new(max_entries: usize) -> Self {
        AutoCreateLimit {
            max_entries,
            last_refusal_log_ms: AtomicU64::new(0),
        }
    }

    /// Whether a table of `entries` may get one more auto-created entry; logs a refusal (rate-limited).
    pub fn allows(&self, entries: usize, what: &str, name: &str) -> bool {
        if entries < self.max_entries {
            return true;
        }
        let now = now_ms();
        let last = self.last_refusal_log_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= REFUSAL_LOG_INTERVAL_MS
            && self
                .last_refusal_log_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                name,
                entries,
                limit = self.max_entries,
                "{what} not auto-created: the broker is at its limit (further refusals for 10 s not logged)"
            );
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use rmq_store::config::{perm, Persister};
    use rmq_store::StoreConfig;

    use super::*;
    use crate::broker::topics::{topic_config, TopicTable, AUTO_CREATE_TOPIC_KEY};
    use crate::config::BrokerConfig;

    fn config(dir: &tempfile::TempDir) -> BrokerConfig {
        BrokerConfig {
            store: StoreConfig {
                root_dir: dir.path().to_path_buf(),
                ..StoreConfig::default()
            },
            ..BrokerConfig::default()
        }
    }

    #[test]
    fn the_limit_counts_entries_and_refuses_at_it() {
        let limit = AutoCreateLimit::new(3);
        assert!(limit.allows(2, "topic", "a"));
        assert!(!limit.allows(3, "topic", "b"));
        assert!(!limit.allows(4, "topic", "c"), "refused again, logged once");
    }

    #[test]
    fn sends_stop_creating_topics_at_the_limit_but_the_broker_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let persister = Persister::start().unwrap();
        let loaded = TopicTable::load(&config(&dir), &persister).unwrap();
        let at_start = loaded.names().len();
        drop(loaded);
        persister.flush().unwrap(); // before the next load writes the same file
        let config = BrokerConfig {
            auto_create_topic_limit: at_start + 2,
            ..config(&dir)
        };
        let topics = TopicTable::load(&config, &persister).unwrap();
        let create = |name: &str| topics.create_from_default(name, AUTO_CREATE_TOPIC_KEY, 4, 0);
        assert!(create("A").is_some());
        assert!(topics
            .ensure_within_limit("%RETRY%g", 1, perm::READ | perm::WRITE)
            .is_some());
        assert!(create("B").is_none(), "at the limit");
        assert!(topics
            .ensure_within_limit("%RETRY%h", 1, perm::READ | perm::WRITE)
            .is_none());
        assert!(create("A").is_some(), "an existing topic is still found");
        assert_eq!(topics.get("B"), None);

        // Topics of known groups and of the admin are not limited.
        topics.ensure("%DLQ%g", 1, perm::READ | perm::WRITE);
        assert!(topics.upsert(topic_config("Admin", 4, 4, perm::READ | perm::WRITE)));
        assert_eq!(topics.names().len(), at_start + 4);
    }
}
