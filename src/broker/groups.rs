//! Subscription group configs (`config/subscriptionGroup.json`), auto-created on first use like Java.

use std::sync::Arc;

use parking_lot::Mutex;
use rmq_store::config::{PersistedFile, Persister, SubscriptionGroupConfig, SubscriptionGroupFile};

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

pub struct GroupTable {
    file: Arc<Mutex<SubscriptionGroupFile>>,
    /// `config/subscriptionGroup.json`, written by the broker's persister thread after each change.
    persisted: PersistedFile,
    auto_create: bool,
}

impl GroupTable {
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
            auto_create: config.auto_create_subscription_group,
        })
    }

    /// The group's config, created with Java defaults when auto-creation is on. None when unknown.
    pub fn ensure(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        let mut file = self.file.lock();
        if let Some(existing) = file.groups.get(group) {
            return Some(existing.clone());
        }
        if !self.auto_create {
            return None;
        }
        let created = SubscriptionGroupConfig::new(group);
        file.groups.insert(group.to_string(), created.clone());
        file.data_version.next_version();
        self.persisted.mark_changed();
        tracing::info!(group, "subscription group auto-created");
        Some(created)
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
}
