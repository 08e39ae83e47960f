//! Java's classic master/slave replication (4.x `HAService`, 5.x `DefaultHAService` without a controller):
//! the master serves its commit log on `haListenPort`, a slave appends what it receives and reports how far
//! it got. Frames in `rmq_codec::ha`.
//!
//! - [`master`]: the HA listener, one reader/writer task pair per slave, [`master::HaMaster`] (acks,
//!   SYNC_MASTER waits, connection list for GET_BROKER_HA_STATUS).
//! - [`slave`]: the HA client of a slave: connect, report, append, reconnect.
//!
//! Both sides reach the commit log through [`CommitLogSource`] / [`ReplicaSink`], implemented by the
//! message store (`store_log.rs`) and by an in-memory log in the tests.

pub mod master;
pub mod slave;
mod store_log;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmq_store::MessageStore;

/// The master's view of its commit log.
pub trait CommitLogSource: Send + Sync + 'static {
    /// The commit log's end (Java's `getMaxPhyOffset`).
    fn max_offset(&self) -> u64;
    /// `mappedFileSizeCommitLog`: a slave that reports 0 gets the log from the start of the last file.
    fn file_size(&self) -> u64;
    /// Up to `max` bytes written at `from`, never across a file end; None when nothing is there yet.
    fn chunk(&self, from: u64, max: usize) -> Option<Bytes>;
}

/// The slave's commit log.
pub trait ReplicaSink: Send + Sync + 'static {
    fn max_offset(&self) -> u64;
    /// Appends the master's bytes for offset `at` (== `max_offset()`); returns the queues that got
    /// messages, whose long polls are then woken.
    fn append(&self, at: u64, data: &[u8]) -> anyhow::Result<Vec<(String, i32)>>;
}

/// The HA settings (Java's `MessageStoreConfig` keys).
#[derive(Debug, Clone)]
pub struct HaSettings {
    /// `haTransferBatchSize` (32 KiB): the largest body of one transfer.
    pub transfer_batch_size: usize,
    /// `haSendHeartbeatInterval` (5 s): an idle master sends an empty transfer, a slave its offset.
    pub heartbeat_interval: Duration,
    /// `haHousekeepingInterval` (20 s): a connection silent this long is closed.
    pub housekeeping_interval: Duration,
    /// `slaveTimeout` (3 s): how long a SYNC_MASTER send waits for a slave's ack.
    pub slave_timeout: Duration,
    /// `haMaxGapNotInSync` (256 MiB): a slave further behind does not count for SYNC_MASTER.
    pub max_gap_not_in_sync: u64,
    /// How long the slave waits before connecting again (Java's HAClient: 5 s).
    pub reconnect_interval: Duration,
}

impl Default for HaSettings {
    fn default() -> Self {
        HaSettings {
            transfer_batch_size: 32 * 1024,
            heartbeat_interval: Duration::from_secs(5),
            housekeeping_interval: Duration::from_secs(20),
            slave_timeout: Duration::from_secs(3),
            max_gap_not_in_sync: 256 * 1024 * 1024,
            reconnect_interval: Duration::from_secs(5),
        }
    }
}

/// A broker that serves its commit log to slaves: every role but SLAVE.
pub fn is_master(config: &crate::config::BrokerConfig) -> bool {
    !config.is_slave()
}

/// Java's `BrokerRole.SYNC_MASTER`: sends wait for a slave's ack.
pub fn is_sync_master(config: &crate::config::BrokerConfig) -> bool {
    config.broker_role == "SYNC_MASTER"
}

/// The message store as the master's commit-log source.
pub fn store_source(store: &Arc<MessageStore>) -> Arc<dyn CommitLogSource> {
    store.clone()
}

/// The message store as the slave's replica sink.
pub fn store_sink(store: &Arc<MessageStore>) -> Arc<dyn ReplicaSink> {
    store.clone()
}
