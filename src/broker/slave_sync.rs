//! A slave's copy of its master's tables (Java's `SlaveSynchronize`, scheduled by `BrokerController`):
//! topics (GET_ALL_TOPIC_CONFIG 21), consumer offsets (GET_ALL_CONSUMER_OFFSET 43), delay offsets
//! (GET_ALL_DELAY_OFFSET 45), subscription groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201) and, as 5.3.3,
//! request modes (GET_ALL_MESSAGE_REQUEST_MODE 402). Each is persisted as the slave's own config file,
//! so the slave's topics.json etc. mirror the master's.
//!
//! Schedule: 4.9.7's, 3 s after start then every 10 s. 5.3.3 checks every 3 s from 10 s after start and
//! syncs all once 60 s passed since the last sync, the start counting as one (so its first copy comes
//! about 70 s after start), plus its timer checkpoint every 3 s, which rmqd's timer does not keep (see
//! `sync_source.rs`).
//!
//! The master is the `masterAddr` the name server answered at registration ([`MasterAddresses`]); none
//! (no master registered) or this broker's own address skips the round, as Java does.
//!
//! [`MasterAddresses`]: super::register::MasterAddresses

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::fastjson::{self, Value};
use rmq_store::config::{
    ConsumerOffsetFile, DelayOffsetFile, SubscriptionGroupFile, TopicConfigFile,
};

use super::pop::ModeFile;
use super::Broker;

/// `BrokerController.handleSlaveSynchronize` (4.9.7): initial delay and period.
const FIRST_SYNC: Duration = Duration::from_secs(3);
const SYNC_PERIOD: Duration = Duration::from_secs(10);
/// `BrokerOuterAPI.getAllTopicConfig` and the other reads: 3 s each.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the sync on a slave; nothing on a master.
pub fn schedule(broker: &Arc<Broker>) {
    if !broker.config.is_slave() {
        return;
    }
    broker.periodic.every_after(
        "slave-sync",
        broker,
        FIRST_SYNC,
        SYNC_PERIOD,
        |broker| async move {
            sync_all(&broker).await;
        },
    );
}

/// One round: every table in Java's order; a table that fails is logged and the next one tried.
pub async fn sync_all(broker: &Broker) {
    let master = broker.masters.master_addr().borrow().clone();
    let Some(master) = master.filter(|m| *m != broker.config.broker_addr()) else {
        return;
    };
    if let Err(e) = sync_topics(broker, &master).await {
        tracing::warn!(master, error = %e, "slave sync: topic config");
    }
    if let Err(e) = sync_consumer_offsets(broker, &master).await {
        tracing::warn!(master, error = %e, "slave sync: consumer offsets");
    }
    if let Err(e) = sync_delay_offsets(broker, &master).await {
        tracing::warn!(master, error = %e, "slave sync: delay offsets");
    }
    if let Err(e) = sync_groups(broker, &master).await {
        tracing::warn!(master, error = %e, "slave sync: subscription groups");
    }
    if let Err(e) = sync_request_modes(broker, &master).await {
        // A 4.x master does not know the code (REQUEST_CODE_NOT_SUPPORTED), every round.
        tracing::debug!(master, error = %e, "slave sync: message request modes");
    }
}

/// The body of the master's answer to `code`; an error unless SUCCESS (Java's `MQBrokerException`).
async fn read(broker: &Broker, master: &str, code: RequestCode) -> anyhow::Result<Bytes> {
    let request = RemotingCommand::new_request(code, ExtFields::new());
    let resp = broker
        .namesrv_client
        .invoke(master, request, READ_TIMEOUT)
        .await?;
    if resp.code != i32::from(ResponseCode::Success) {
        bail!(
            "{code:?} answered code {} ({})",
            resp.code,
            resp.remark.unwrap_or_default()
        );
    }
    Ok(resp.body)
}

async fn read_json(broker: &Broker, master: &str, code: RequestCode) -> anyhow::Result<Value> {
    let body = read(broker, master, code).await?;
    fastjson::parse_slice(&body).with_context(|| format!("{code:?} body is not JSON"))
}

async fn sync_topics(broker: &Broker, master: &str) -> anyhow::Result<()> {
    let value = read_json(broker, master, RequestCode::GetAllTopicConfig).await?;
    if broker
        .topics
        .take_from_master(TopicConfigFile::from_value(&value)?)
    {
        tracing::info!(master, "Update slave topic config from master");
    }
    Ok(())
}

async fn sync_consumer_offsets(broker: &Broker, master: &str) -> anyhow::Result<()> {
    let value = read_json(broker, master, RequestCode::GetAllConsumerOffset).await?;
    broker
        .offsets
        .take_from_master(ConsumerOffsetFile::from_value(&value)?);
    tracing::debug!(master, "Update slave consumer offset from master");
    Ok(())
}

async fn sync_delay_offsets(broker: &Broker, master: &str) -> anyhow::Result<()> {
    let value = read_json(broker, master, RequestCode::GetAllDelayOffset).await?;
    broker
        .schedule
        .take_from_master(DelayOffsetFile::from_value(&value)?);
    tracing::debug!(master, "Update slave delay offset from master");
    Ok(())
}

async fn sync_groups(broker: &Broker, master: &str) -> anyhow::Result<()> {
    let value = read_json(broker, master, RequestCode::GetAllSubscriptiongroupConfig).await?;
    if broker
        .groups
        .take_from_master(SubscriptionGroupFile::from_value(&value)?)
    {
        tracing::info!(master, "Update slave Subscription Group from master");
    }
    Ok(())
}

async fn sync_request_modes(broker: &Broker, master: &str) -> anyhow::Result<()> {
    let value = read_json(broker, master, RequestCode::GetAllMessageRequestMode).await?;
    let modes: ModeFile = serde_json::from_str(&fastjson::to_standard_string(&value))?;
    broker.pop.request_modes().take_from_master(modes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use rmq_store::config::{perm, DataVersion, SubscriptionGroupConfig};

    use super::super::test_support::TempBroker;
    use super::super::topics::topic_config;
    use super::*;

    /// `syncTopicConfig`: a different DataVersion replaces the whole table (a topic only the slave had
    /// goes) and takes the master's version; the same version changes nothing.
    #[test]
    fn topics_are_replaced_when_the_masters_version_differs() {
        let t = TempBroker::open();
        t.broker
            .topics
            .upsert(topic_config("SlaveOnly", 1, 1, perm::READ | perm::WRITE));
        let mut master = TopicConfigFile {
            data_version: DataVersion::new(),
            ..TopicConfigFile::default()
        };
        master.data_version.counter = 77;
        master.topics.insert(
            "FromMaster".into(),
            topic_config("FromMaster", 2, 2, perm::READ | perm::WRITE),
        );
        assert!(t.broker.topics.take_from_master(master.clone()));
        assert!(t.broker.topics.get("FromMaster").is_some());
        assert!(t.broker.topics.get("SlaveOnly").is_none());
        let version = TopicConfigFile::from_value(&t.broker.topics.wrapper_value())
            .unwrap()
            .data_version;
        assert_eq!(version, master.data_version);
        assert!(!t.broker.topics.take_from_master(master));
    }

    /// `syncConsumerOffset`: `putAll` by `topic@group`, so the master's queues win and keys only the slave
    /// has stay.
    #[test]
    fn consumer_offsets_are_merged_by_key() {
        let t = TempBroker::open();
        t.broker.offsets.commit("T", "Mine", 0, 5);
        t.broker.offsets.commit("T", "G", 1, 1);
        let mut master = ConsumerOffsetFile::default();
        master
            .offsets
            .insert("T@G".into(), [(0, 10), (3, 30)].into());
        t.broker.offsets.take_from_master(master);
        assert_eq!(t.broker.offsets.query("T", "G", 0), Some(10));
        assert_eq!(t.broker.offsets.query("T", "G", 3), Some(30));
        assert_eq!(
            t.broker.offsets.query("T", "G", 1),
            None,
            "the key's map is the master's"
        );
        assert_eq!(t.broker.offsets.query("T", "Mine", 0), Some(5));
    }

    #[test]
    fn groups_and_delay_offsets_become_the_masters() {
        let t = TempBroker::open();
        let mut groups = SubscriptionGroupFile::default();
        groups.data_version.counter = 9;
        groups
            .groups
            .insert("MG".into(), SubscriptionGroupConfig::new("MG"));
        assert!(t.broker.groups.take_from_master(groups));
        assert!(t.broker.groups.contains("MG"));
        assert!(
            !t.broker.groups.contains("CID_RMQ_SYS_TRANS"),
            "the table is the master's"
        );

        let delay = DelayOffsetFile {
            offsets: [(1, 4), (3, 2)].into(),
            data_version: None,
        };
        t.broker.schedule.take_from_master(delay);
        assert_eq!(t.broker.schedule.delay_cursors(), vec![(1, 4), (3, 2)]);
    }
}
