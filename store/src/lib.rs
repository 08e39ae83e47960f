//! The message store in the Java broker's on-disk format.
//!
//! Synchronous, no networking, no async runtime.
//!
//! Layout:
//! - [`mapped_file`][]: fixed-size memory-mapped files named by their 20-digit start offset (the only `unsafe`).
//! - [`commit_log`][]: the append-only record log (`<root>/commitlog/`).
//! - [`consume_queue`][]: per topic/queue 20-byte index units (`<root>/consumequeue/<topic>/<queueId>/`).
//! - [`message_store`][]: `MessageStore`, which ties the two together: put, get, offsets, recovery on open.
//! - [`index`][]: `<root>/index/` hash files mapping `topic#key` to commit-log offsets (QUERY_MESSAGE).
//! - [`config`][]: the JSON files under `<root>/config/` (topics, consumer offsets, subscription groups)
//!   written the way fastjson writes them, atomically.
//! - [`retention`][]: deleting expired commit-log, consume-queue and index files; refusing puts on a full disk.
//! - [`inspect`][]: the offline tools' read-only walk of a store directory (`rmqd store verify|dump`).
//! - [`error`][]: `StoreError`.
//! - [`histogram`][]: lock-free fixed-bucket histograms (flush and put-lock times, broker metrics).
//! - `background`: `BackgroundThread`, the stop-and-join handle every store thread runs under.

mod background;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
pub mod error;
pub mod histogram;
pub mod index;
pub mod inspect;
pub mod mapped_file;
pub mod message_store;
pub mod retention;

pub use commit_log::CommitLog;
pub use consume_queue::{ConsumeQueue, CqUnit};
pub use error::StoreError;
pub use index::QueryResult;
pub use message_store::{AppendedHook, BlockingHook, StoreHooks};
pub use message_store::{
    FlushDiskType, GetResult, GetStatus, MessageStore, PutResult, ReplicaAppend, StoreConfig,
    DEFAULT_DELAY_LEVELS_MS,
};
pub use message_store::{FlushOutcome, FlushWaiter, PutStatus};
pub use message_store::{StatsTotals, StoreStats};
pub use message_store::{SCHEDULE_TOPIC, TIMER_OUT_MS, TIMER_TOPIC};
pub use retention::{CleanReport, DiskUsageProbe};
