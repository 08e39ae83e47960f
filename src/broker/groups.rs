//! Subscription group configs (`config/subscriptionGroup.json`), auto-created on first use like Java.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_store::config::{PersistedFile, Persister, SubscriptionGroupConfig, SubscriptionGroupFile};

use super::auto_create::AutoCreateLimit;
use crate::config::BrokerConfig;

/// Groups every Java broker creates at start (`SubscriptionGroupManager.init`).
const SYSTEM_GROUPS: [&str; 8] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
];

/// `MixAll.isSysConsumerGroup`: groups with this prefix are created on first use even when
/// `autoCreateSubscriptionGroup` is off (4.9.x; 5.x also while `enableCreateSysGroup`, default true).
const SYS_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

fn is_system_group(group: &str) -> bool {
    group.starts_with(SYS_GROUP_PREFIX)
}

pub struct GroupTable {
    file: Arc<Mutex<SubscriptionGroupFile>>,
    /// `config/subscriptionGroup.json`, written by the broker's persister thread after each change.
    persisted: PersistedFile,
    /// `autoCreateSubscriptionGroup`, changed at run time by UPDATE_BROKER_CONFIG.
    auto_create: AtomicBool,
    /// `autoCreateSubscriptionGroupLimit`: groups clients may still make.
    auto_create_limit: AutoCreateLimit,
}

impl GroupTable {
    /// Loads `config/subscriptionGroup.json`, adds the system groups and writes the file at once
    /// (startup, before `persister` writes it), then registers it with `persister`.
    pub fn load(config: &BrokerConfig, persister: &Persister) -> anyhow::Result<Self> {
        let path = rmq_store::config::subscription_group_path(&config.store.root_dir);
        let mut file = SubscriptionGroupFile::load(&path)?;
        for name in SYSTEM_GROUPS {
            file.groups
                .entry(name.to_string())
                .or_insert_with(|| SubscriptionGroupConfig::new(name));
        }
        file.persist(&path)?;
        let file = Arc::new(Mutex::new(file));
        let persisted = {
            let file = Arc::clone(&file);
            persister.register(path, move || Some(file.lock().to_value()))
        };
        Ok(GroupTable {
            file,
            persisted,
            auto_create: AtomicBool::new(config.auto_create_subscription_group),
            auto_create_limit: AutoCreateLimit::new(config.auto_create_subscription_group_limit),
        })
    }

    /// The group's config, created with Java defaults when auto-creation is on and the broker is below
    /// `autoCreateSubscriptionGroupLimit`. None when unknown.
    pub fn ensure(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        let mut file = self.file.lock();
        if let Some(existing) = file.groups.get(group) {
            return Some(existing.clone());
        }
        let entries = file.groups.len();
        let auto_create = self.auto_create.load(Ordering::Relaxed) || is_system_group(group);
        if !auto_create
            || !self
                .auto_create_limit
                .allows(entries, "subscription group", group)
        {
            return None;
        }
        let created = SubscriptionGroupConfig::new(group);
        file.groups.insert(group.to_string(), created.clone());
        file.data_version.next_version();
        self.persisted.mark_changed();
        tracing::info!(group, "subscription group auto-created");
        Some(created)
    }

    /// `autoCreateSubscriptionGroup` changed by UPDATE_BROKER_CONFIG.
    pub fn allow_auto_create(&self, on: bool) {
        self.auto_create.store(on, Ordering::Relaxed);
    }

    /// The group's config without auto-creating it.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.file.lock().groups.get(group).cloned()
    }

    /// Creates or replaces a group (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, Java's
    /// `updateSubscriptionGroupConfig`: the whole config is replaced and the version bumped, even when
    /// nothing changed). Not bounded by `autoCreateSubscriptionGroupLimit`, which only stops clients.
    pub fn upsert(&self, config: SubscriptionGroupConfig) {
        let mut file = self.file.lock();
        let name = config.group_name.clone();
        let old = file.groups.insert(name.clone(), config);
        file.data_version.next_version();
        self.persisted.mark_changed();
        tracing::info!(
            group = name,
            created = old.is_none(),
            "subscription group updated"
        );
    }

    /// Removes a group (DELETE_SUBSCRIPTIONGROUP); 5.x also drops its `forbiddenTable` entry. False when
    /// the group did not exist (Java logs it and answers SUCCESS). System groups are not protected, as in Java.
    pub fn delete(&self, group: &str) -> bool {
        let mut file = self.file.lock();
        let existed = file.groups.remove(group).is_some();
        if let rmq_codec::fastjson::Value::Object(forbidden) = &mut file.forbidden_table {
            forbidden.retain(|(key, _)| key.as_str() != Some(group));
        }
        if existed {
            file.data_version.next_version();
            self.persisted.mark_changed();
            tracing::info!(group, "subscription group deleted");
        }
        existed
    }

    /// The `SubscriptionGroupWrapper` JSON (`subscriptionGroupTable`, `dataVersion`, 5.x `forbiddenTable`),
    /// the body of GET_ALL_SUBSCRIPTIONGROUP_CONFIG and the content of `subscriptionGroup.json`.
    pub fn wrapper_value(&self) -> rmq_codec::fastjson::Value {
        self.file.lock().to_value()
    }

    /// A slave's copy of its master's groups (`SlaveSynchronize.syncSubscriptionGroupConfig`): when the
    /// master's DataVersion differs, the table becomes the master's under its DataVersion, and is
    /// persisted. Returns whether anything was taken.
    pub fn take_from_master(&self, master: SubscriptionGroupFile) -> bool {
        let mut file = self.file.lock();
        if file.data_version == master.data_version {
            return false;
        }
        *file = master;
        self.persisted.mark_changed();
        true
    }

    /// Whether the group is known, without auto-creating it.
    pub fn contains(&self, group: &str) -> bool {
        self.file.lock().groups.contains_key(group)
    }

    pub fn notify_enabled(&self, group: &str) -> bool {
        self.file
            .lock()
            .groups
            .get(group)
            .is_none_or(|g| g.notify_consumer_ids_changed_enable)
    }

    /// Every group's name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.file.lock().groups.keys().cloned().collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use rmq_store::StoreConfig;

    use super::*;

    #[test]
    fn groups_stop_being_auto_created_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let config = BrokerConfig {
            store: StoreConfig {
                root_dir: dir.path().to_path_buf(),
                ..StoreConfig::default()
            },
            auto_create_subscription_group_limit: SYSTEM_GROUPS.len() + 1,
            ..BrokerConfig::default()
        };
        let persister = Persister::start().unwrap();
        let groups = GroupTable::load(&config, &persister).unwrap();
        assert!(groups.ensure("first").is_some());
        assert!(groups.ensure("second").is_none(), "at the limit");
        assert!(!groups.contains("second"));
        assert!(
            groups.ensure("first").is_some(),
            "an existing group is still found"
        );
        assert!(
            groups.ensure("TOOLS_CONSUMER").is_some(),
            "system groups exist"
        );

        persister.flush().unwrap(); // before the next load writes the same file
        let off = BrokerConfig {
            auto_create_subscription_group: false,
            ..config
        };
        let groups = GroupTable::load(&off, &persister).unwrap();
        assert!(groups.ensure("third").is_none(), "auto-creation off");
    }
}
