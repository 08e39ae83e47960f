//! `StoreConfig`: the `MessageStoreConfig` keys the store implements, with Java's defaults.

use std::path::PathBuf;

use crate::retention::DiskUsageProbe;

use super::FlushDiskType;

/// Store settings (the `MessageStoreConfig` subset we implement).
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `storePathRootDir`.
    pub root_dir: PathBuf,
    /// `mappedFileSizeCommitLog`, default 1 GiB; at most `i32::MAX`.
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue`, default 300,000 × 20; a multiple of 20.
    pub mapped_file_size_consume_queue: u64,
    /// `maxMessageSize`: limit on one body (and on the sum of bodies of a batch), default 4 MiB.
    pub max_message_size: usize,
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog`, default 500 ms (async flush only).
    pub flush_interval_commit_log_ms: u64,
    /// `flushCommitLogLeastPages`, default 4: an async flush waits for this many dirty 4 KiB pages.
    pub flush_commit_log_least_pages: usize,
    /// `flushCommitLogThoroughInterval`, default 10 s: an async flush takes any dirty byte this often.
    pub flush_commit_log_thorough_interval_ms: u64,
    /// `syncFlushTimeout`, default 5 s: a SYNC_FLUSH put not on disk by then is FLUSH_DISK_TIMEOUT.
    pub sync_flush_timeout_ms: u64,
    /// `flushIntervalConsumeQueue`, default 1 s: consume queues and checkpoint (both modes).
    pub flush_interval_consume_queue_ms: u64,
    /// `flushConsumeQueueLeastPages`, default 2: a queue file is msync'ed once this many pages are dirty, so
    /// thousands of slowly growing queues do not cost thousands of msyncs a second.
    pub flush_consume_queue_least_pages: usize,
    /// `flushConsumeQueueThoroughInterval`, default 60 s: every queue's dirty bytes are msync'ed this often,
    /// and only then does the checkpoint's logics timestamp advance.
    pub flush_consume_queue_thorough_interval_ms: u64,
    /// `messageDelayLevel` in milliseconds, level 1 first. Used to recompute the tags code (delivery time) of
    /// `SCHEDULE_TOPIC_XXXX` records when consume queues are rebuilt.
    pub message_delay_levels_ms: Vec<i64>,
    /// `messageIndexEnable`, default true: build the `<root>/index/` files QUERY_MESSAGE reads.
    pub message_index_enable: bool,
    /// `maxHashSlotNum`, default 5,000,000 hash slots per index file.
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`, default 20,000,000 entries per index file.
    pub max_index_num: u32,
    // retention: start (see `crate::retention`)
    /// `fileReservedTime`, default 72 hours: commit-log files last modified longer ago are deleted.
    pub file_reserved_time_hours: u64,
    /// `deleteWhen`, default "04": `;`-separated local hours at which expired commit-log files are deleted.
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`, default 75 (%, clamped to 10..=95 like Java): above it expired files are
    /// deleted at any hour.
    pub disk_max_used_space_ratio: u32,
    /// `diskSpaceWarningLevelRatio`, default 90 (%): above it puts fail with [`StoreError::DiskFull`].
    pub disk_space_warning_level_ratio: u32,
    /// `diskSpaceCleanForciblyRatio`, default 85 (%): above it the oldest files are deleted whatever their age.
    pub disk_space_clean_forcibly_ratio: u32,
    /// `cleanResourceInterval`, default 10 s: how often the cleaner probes the disk and deletes files.
    pub clean_resource_interval_ms: u64,
    /// `deleteFileBatchMax`, default 10: most commit-log files deleted per pass.
    pub delete_file_batch_max: usize,
    /// `deleteCommitLogFilesInterval`, default 100 ms: pause between two commit-log unlinks of one pass.
    pub delete_commit_log_files_interval_ms: u64,
    /// `destroyMapedFileIntervalForcibly`, default 120 s. Accepted for broker.conf compatibility only: Java needs
    /// it to unmap a deleted file that readers still reference; here each reader owns the mapping through an
    /// `Arc`, so the file is unlinked at once and unmapped when its last reader drops it.
    pub destroy_mapped_file_interval_forcibly_ms: u64,
    /// Used fraction of the store's filesystem (`statvfs` by default; tests inject one).
    pub disk_usage: DiskUsageProbe,
    // retention: end
    /// `truncateCorruptCommitLog` (rmqd only), default false: when recovery finds a valid record after an
    /// invalid one, cut the log at the invalid record anyway instead of refusing to open (see `recovery.rs`).
    pub truncate_corrupt_commit_log: bool,
    // flow control: start (see `put.rs`)
    /// `osPageCacheBusyTimeOutMills`, default 1 s: while a put has held the append lock longer than this,
    /// puts that find the lock taken fail at once with [`StoreError::PageCacheBusy`].
    pub os_page_cache_busy_timeout_ms: u64,
    /// Longest wait for the append lock before a put fails with [`StoreError::PutQueueTimeout`]; `None` waits
    /// as long as it takes. The broker sets it from `waitTimeMillsInSendQueue` (default 200 ms).
    pub put_lock_wait_limit_ms: Option<u64>,
    // flow control: end
    /// Opened for a `brokerRole=SLAVE` broker: puts are refused ([`crate::StoreError::PutOnSlave`]) and the commit
    /// log grows only by [`MessageStore::append_replicated`](super::MessageStore::append_replicated).
    pub slave: bool,
}

/// Java's default `messageDelayLevel`: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".
pub const DEFAULT_DELAY_LEVELS_MS: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

impl Default for StoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        StoreConfig {
            root_dir: home.join("store"),
            mapped_file_size_commit_log: 1 << 30,
            mapped_file_size_consume_queue: 300_000 * 20,
            max_message_size: 4 << 20,
            flush_disk_type: FlushDiskType::Async,
            flush_interval_commit_log_ms: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval_ms: 10_000,
            sync_flush_timeout_ms: 5_000,
            flush_interval_consume_queue_ms: 1_000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval_ms: 60_000,
            message_delay_levels_ms: DEFAULT_DELAY_LEVELS_MS.to_vec(),
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            // retention: start
            file_reserved_time_hours: 72,
            delete_when: "04".into(),
            disk_max_used_space_ratio: 75,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            clean_resource_interval_ms: 10_000,
            delete_file_batch_max: 10,
            delete_commit_log_files_interval_ms: 100,
            destroy_mapped_file_interval_forcibly_ms: 120_000,
            disk_usage: DiskUsageProbe::default(),
            // retention: end
            truncate_corrupt_commit_log: false,
            // flow control: start
            os_page_cache_busy_timeout_ms: 1_000,
            put_lock_wait_limit_ms: None,
            // flow control: end
            slave: false,
        }
    }
}
