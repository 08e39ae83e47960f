//! The broker's topic table (`config/topics.json`): system topics, auto-creation through TBW102, and the
//! DataVersion that tells name servers when routes changed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_store::config::{perm, PersistedFile, Persister, TopicConfig, TopicConfigFile};

use super::attributes::{self, TOPIC_ATTRIBUTES};
use super::auto_create::AutoCreateLimit;
use super::message_type::TopicMessageType;
use crate::config::BrokerConfig;

pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";

/// Topics clients may not send to directly (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    SCHEDULE_TOPIC,
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

pub fn topic_config(name: &str, read: i32, write: i32, perm_bits: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_string(),
        read_queue_nums: read,
        write_queue_nums: write,
        perm: perm_bits,
        topic_filter_type: "SINGLE_TAG".to_string(),
        topic_sys_flag: 0,
        order: false,
        attributes: BTreeMap::new(),
    }
}

/// Java's topic name rule: `^[%|a-zA-Z0-9_-]+$`, at most 127 characters (255 for retry/DLQ topics).
pub fn validate_topic_name(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("The specified topic is blank.".into());
    }
    let max = if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
        || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
    {
        255
    } else {
        127
    };
    if topic.chars().count() > max {
        return Err(format!(
            "The specified topic is longer than topic max length {max}."
        ));
    }
    if !topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
    {
        return Err(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

pub fn is_send_forbidden(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic)
}

pub struct TopicTable {
    file: Arc<Mutex<TopicConfigFile>>,
    /// `config/topics.json`, written by the broker's persister thread after each change.
    persisted: PersistedFile,
    /// Bumped on every change, so the broker can tell that a request changed routes and must
    /// re-register before answering (as Java's `registerBrokerAll` inside the request does).
    changes: AtomicU64,
    /// `autoCreateTopicLimit`: topics a send may still make.
    auto_create_limit: AutoCreateLimit,
    /// `autoCreateTopicEnable`, changed at run time by UPDATE_BROKER_CONFIG: while off, TBW102 spawns no
    /// topic whatever its INHERIT bit (Java's `createTopicInSendMessageMethod`).
    auto_create_enabled: AtomicBool,
}

impl TopicTable {
    /// Loads `config/topics.json`, adds the system topics and writes the file at once (startup, before
    /// `persister` writes it), then registers it with `persister`.
    pub fn load(config: &BrokerConfig, persister: &Persister) -> anyhow::Result<Self> {
        let path = rmq_store::config::topics_path(&config.store.root_dir);
        let mut file = TopicConfigFile::load(&path)?;
        for system in system_topics(config) {
            file.topics
                .entry(system.topic_name.clone())
                .or_insert(system);
        }
        if !config.auto_create_topic_enable {
            // Like Java: an old TBW102 entry stays, but without INHERIT it cannot spawn topics.
            if let Some(t) = file.topics.get_mut(AUTO_CREATE_TOPIC_KEY) {
                t.perm &= !perm::INHERIT;
            }
        }
        file.data_version.next_version();
        file.persist(&path)?;
        let file = Arc::new(Mutex::new(file));
        let persisted = {
            let file = Arc::clone(&file);
            persister.register(path, move || Some(file.lock().to_wrapper_value()))
        };
        Ok(TopicTable {
            file,
            persisted,
            changes: AtomicU64::new(0),
            auto_create_limit: AutoCreateLimit::new(config.auto_create_topic_limit),
            auto_create_enabled: AtomicBool::new(config.auto_create_topic_enable),
        })
    }

    /// `autoCreateTopicEnable` changed by UPDATE_BROKER_CONFIG.
    pub fn allow_auto_create(&self, on: bool) {
        self.auto_create_enabled.store(on, Ordering::Relaxed);
    }

    /// Bumps the DataVersion without changing a topic, so that the next registration carries the routes
    /// again (UPDATE_BROKER_CONFIG of `brokerPermission`).
    pub fn touch(&self) {
        self.file.lock().data_version.next_version();
        self.persisted.mark_changed();
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn change_count(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.file.lock().topics.get(topic).cloned()
    }

    /// Every topic name, system topics included.
    pub fn names(&self) -> Vec<String> {
        self.file.lock().topics.keys().cloned().collect()
    }

    /// The `TopicConfigSerializeWrapper` JSON, the body of GET_ALL_TOPIC_CONFIG.
    pub fn wrapper_value(&self) -> rmq_codec::fastjson::Value {
        self.file.lock().to_wrapper_value()
    }

    /// A slave's copy of its master's topics (`SlaveSynchronize.syncTopicConfig`): when the master's
    /// DataVersion differs, the table becomes the master's (topics it lacks are dropped) under the
    /// master's DataVersion, and is persisted. Returns whether anything was taken.
    pub fn take_from_master(&self, master: TopicConfigFile) -> bool {
        {
            let mut file = self.file.lock();
            if file.data_version == master.data_version {
                return false;
            }
            *file = master;
        }
        self.persisted.mark_changed();
        true
    }

    /// The `TopicConfigSerializeWrapper` a REGISTER_BROKER body carries.
    pub fn register_wrapper(&self) -> rmq_codec::body::TopicConfigSerializeWrapper {
        (&*self.file.lock()).into()
    }

    /// Inserts or replaces a topic (UPDATE_AND_CREATE_TOPIC). Returns false if nothing changed.
    pub fn upsert(&self, config: TopicConfig) -> bool {
        {
            let mut file = self.file.lock();
            if file.topics.get(&config.topic_name) == Some(&config) {
                return false;
            }
            tracing::info!(
                topic = config.topic_name,
                read = config.read_queue_nums,
                write = config.write_queue_nums,
                perm = config.perm,
                "topic created or updated"
            );
            file.topics.insert(config.topic_name.clone(), config);
            file.data_version.next_version();
        }
        self.persisted.mark_changed();
        self.changes.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Stores `configs` (UPDATE_AND_CREATE_TOPIC and its list), whose `attributes` are the request's
    /// `+key`/`-key` map: each becomes the topic's altered attribute map (`TopicConfigManager.
    /// updateTopicConfig`, a later config of the same topic altering an earlier one). Nothing is stored when
    /// one fails; the error is Java's message. Returns whether anything changed.
    pub fn update_with_attributes(&self, configs: Vec<TopicConfig>) -> Result<bool, String> {
        let mut file = self.file.lock();
        let mut staged: BTreeMap<String, TopicConfig> = BTreeMap::new();
        for mut config in configs {
            let current = staged
                .get(&config.topic_name)
                .or_else(|| file.topics.get(&config.topic_name))
                .map(|c| c.attributes.clone());
            config.attributes =
                attributes::alter(&TOPIC_ATTRIBUTES, current.as_ref(), &config.attributes)?;
            staged.insert(config.topic_name.clone(), config);
        }
        staged.retain(|name, config| file.topics.get(name) != Some(config));
        if staged.is_empty() {
            return Ok(false);
        }
        for (name, config) in staged {
            tracing::info!(
                topic = name,
                read = config.read_queue_nums,
                write = config.write_queue_nums,
                perm = config.perm,
                attributes = ?config.attributes,
                "topic created or updated"
            );
            file.topics.insert(name, config);
        }
        file.data_version.next_version();
        drop(file);
        self.persisted.mark_changed();
        self.changes.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// The topic's `message.type` as the 5.3.3 proxy reads it in local mode (`LocalMetadataService.
    /// getTopicMessageType`): UNSPECIFIED for a topic this broker does not have, NORMAL for one without
    /// the attribute.
    pub fn message_type(&self, topic: &str) -> TopicMessageType {
        match self.file.lock().topics.get(topic) {
            Some(config) => TopicMessageType::of_topic(&config.attributes),
            None => TopicMessageType::Unspecified,
        }
    }

    pub fn delete(&self, topic: &str) -> bool {
        {
            let mut file = self.file.lock();
            if file.topics.remove(topic).is_none() {
                return false;
            }
            file.data_version.next_version();
        }
        self.persisted.mark_changed();
        self.changes.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Creates `topic` from the template `default_topic` when the template has the INHERIT bit
    /// (`createTopicInSendMessageMethod`) and the broker is below `autoCreateTopicLimit`. Returns the
    /// topic's config if it exists afterwards.
    pub fn create_from_default(
        &self,
        topic: &str,
        default_topic: &str,
        client_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Option<TopicConfig> {
        if let Some(existing) = self.get(topic) {
            return Some(existing);
        }
        let template = self.get(default_topic)?;
        let disabled = default_topic == AUTO_CREATE_TOPIC_KEY
            && !self.auto_create_enabled.load(Ordering::Relaxed);
        if disabled || !perm::is_inherited(template.perm) {
            tracing::warn!(
                topic,
                default_topic,
                "template topic lacks INHERIT; not auto-creating"
            );
            return None;
        }
        let queues = client_queue_nums.min(template.write_queue_nums).max(0);
        let mut config = topic_config(topic, queues, queues, template.perm & !perm::INHERIT);
        config.topic_filter_type = template.topic_filter_type.clone();
        config.topic_sys_flag = topic_sys_flag;
        self.insert_within_limit(config)
    }

    /// Creates a retry, DLQ or system topic with `queues` queues when missing
    /// (`createTopicInSendMessageBackMethod`). Not limited: these belong to a known group or to the broker.
    pub fn ensure(&self, topic: &str, queues: i32, perm_bits: i32) -> TopicConfig {
        let mut file = self.file.lock();
        match file.topics.get(topic) {
            Some(existing) => existing.clone(),
            None => self.insert_new(&mut file, topic_config(topic, queues, queues, perm_bits)),
        }
    }

    /// [`ensure`](Self::ensure) for a topic a client named in a send (a `%RETRY%` topic, which Java makes
    /// in `msgCheck` when the send cannot create it from its template): None at `autoCreateTopicLimit`.
    pub fn ensure_within_limit(
        &self,
        topic: &str,
        queues: i32,
        perm_bits: i32,
    ) -> Option<TopicConfig> {
        self.insert_within_limit(topic_config(topic, queues, queues, perm_bits))
    }

    /// The existing config of `config.topic_name`, or `config` once inserted; None when the table is at
    /// `autoCreateTopicLimit`.
    fn insert_within_limit(&self, config: TopicConfig) -> Option<TopicConfig> {
        let mut file = self.file.lock();
        if let Some(existing) = file.topics.get(&config.topic_name) {
            return Some(existing.clone());
        }
        let entries = file.topics.len();
        if !self
            .auto_create_limit
            .allows(entries, "topic", &config.topic_name)
        {
            return None;
        }
        Some(self.insert_new(&mut file, config))
    }

    /// Inserts `config`, which `file` (the locked table) does not have.
    fn insert_new(&self, file: &mut TopicConfigFile, config: TopicConfig) -> TopicConfig {
        tracing::info!(
            topic = config.topic_name,
            queues = config.write_queue_nums,
            perm = config.perm,
            "topic auto-created"
        );
        file.topics
            .insert(config.topic_name.clone(), config.clone());
        file.data_version.next_version();
        self.persisted.mark_changed();
        self.changes.fetch_add(1, Ordering::Relaxed);
        config
    }
}

/// Topics every Java broker creates at start (`TopicConfigManager`'s constructor).
fn system_topics(config: &BrokerConfig) -> Vec<TopicConfig> {
    let rw = perm::READ | perm::WRITE;
    let mut topics = vec![
        topic_config("SELF_TEST_TOPIC", 1, 1, rw),
        topic_config("BenchmarkTest", 1024, 1024, rw),
        topic_config("OFFSET_MOVED_EVENT", 1, 1, rw),
        topic_config(SCHEDULE_TOPIC, 18, 18, rw),
        topic_config(
            &format!("{}_REPLY_TOPIC", config.broker_cluster_name),
            1,
            1,
            rw,
        ),
    ];
    if config.auto_create_topic_enable {
        let n = config.default_topic_queue_nums;
        topics.push(topic_config(
            AUTO_CREATE_TOPIC_KEY,
            n,
            n,
            perm::INHERIT | rw,
        ));
    }
    let cluster_perm = perm::INHERIT | if config.cluster_topic_enable { rw } else { 0 };
    topics.push(topic_config(
        &config.broker_cluster_name,
        16,
        16,
        cluster_perm,
    ));
    let broker_perm = perm::INHERIT | if config.broker_topic_enable { rw } else { 0 };
    topics.push(topic_config(&config.broker_name, 1, 1, broker_perm));
    topics
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_store::StoreConfig;

    #[test]
    fn topic_names_follow_the_java_rule() {
        assert!(validate_topic_name("TopicTest-1_a%b|c").is_ok());
        assert!(validate_topic_name("bad topic").is_err());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name(&"a".repeat(128)).is_err());
        assert!(validate_topic_name(&format!("%RETRY%{}", "a".repeat(200))).is_ok());
    }

    #[test]
    fn auto_creation_inherits_from_tbw102() {
        let dir = tempfile::tempdir().unwrap();
        let config = BrokerConfig {
            store: StoreConfig {
                root_dir: dir.path().to_path_buf(),
                ..StoreConfig::default()
            },
            ..BrokerConfig::default()
        };
        let persister = Persister::start().unwrap();
        let table = TopicTable::load(&config, &persister).unwrap();
        let created = table
            .create_from_default("NewTopic", AUTO_CREATE_TOPIC_KEY, 4, 0)
            .unwrap();
        assert_eq!(
            (
                created.read_queue_nums,
                created.write_queue_nums,
                created.perm
            ),
            (4, 4, 6)
        );
        // A topic without INHERIT is no template.
        assert!(table
            .create_from_default("Other", "NewTopic", 4, 0)
            .is_none());
        // The table survives a reload.
        drop(table);
        persister.stop().unwrap();
        let reloaded = TopicTable::load(&config, &persister).unwrap();
        assert_eq!(reloaded.get("NewTopic").unwrap().read_queue_nums, 4);
    }
}
