//! `MessageStore`: the commit log plus consume queues, with put, get, offsets, flushing and recovery on open.
//!
//! When a put is durable, per flush mode, is stated in [`durability`]; the threads that make it so live in
//! `flush.rs`.

pub mod durability;
mod flush;
mod get;
mod hooks;
mod put;
mod queue_admin;
mod recovery;
mod replica;
mod stats;
mod store_config;

pub use durability::{Checkpoint, CHECKPOINT_SIZE};
pub use flush::{FlushOutcome, FlushWaiter, PutStatus};
pub use hooks::{AppendedHook, BlockingHook, StoreHooks};
pub(crate) use recovery::dispatch_tags_code;
pub use recovery::{SCHEDULE_TOPIC, TIMER_OUT_MS, TIMER_TOPIC};
pub use replica::ReplicaAppend;
pub use stats::{StatsTotals, StoreStats, TIME_BOUNDS_US};
pub use store_config::{StoreConfig, DEFAULT_DELAY_LEVELS_MS};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use rmq_codec::message::{layout, peek_record, sys_flag, RecordPeek, StoredMessage};

use crate::background::BackgroundThread;
use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueue, CqUnit};
use crate::error::StoreError;
use crate::histogram::{Histogram, HistogramSnapshot};
use crate::index::{Index, QueryResult};
use crate::retention::{CleanReport, Cleaner};
use durability::DirLock;
use flush::Flusher;

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushDiskType {
    #[default]
    Async,
    Sync,
}

/// Where a put went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    pub commit_log_offset: i64,
    /// Logical offset in the consume queue (0 for PREPARED/ROLLBACK records, which get no unit).
    pub queue_offset: i64,
    pub store_timestamp: i64,
    pub wrote_bytes: usize,
    /// The offset message id (`storeHost + commitLogOffset`).
    pub msg_id: String,
    /// `PutOk` until a wait for durability says otherwise (`put`/`put_batch` wait; the `_deferred` variants
    /// leave it to their [`FlushWaiter`]).
    pub status: PutStatus,
}

/// `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetStatus {
    Found,
    NoMatchedMessage,
    /// A unit points at a commit-log range that is gone.
    MessageWasRemoving,
    /// The queue has no messages (also for queues never written, as Java creates them on lookup).
    NoMessageInQueue,
    OffsetTooSmall,
    OffsetOverflowOne,
    OffsetOverflowBadly,
    OffsetFoundNull,
    /// Kept for the response-code mapping; this store never returns it (see `NoMessageInQueue`).
    NoMatchedLogicQueue,
}

/// The answer to a pull.
#[derive(Debug, Clone)]
pub struct GetResult {
    pub status: GetStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Raw records in queue order, zero-copy views of the mapped commit log.
    pub messages: Vec<Bytes>,
}

impl GetResult {
    /// Total bytes of `messages` (the pull body length).
    pub fn total_bytes(&self) -> usize {
        self.messages.iter().map(Bytes::len).sum()
    }
}

type QueueTable = HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>;

pub(crate) struct Inner {
    config: StoreConfig,
    commit_log: CommitLog,
    queues: RwLock<QueueTable>,
    /// The append path: offset assignment, commit-log copy and consume-queue unit, in one order.
    put_lock: Mutex<()>,
    poisoned: AtomicBool,
    shut_down: AtomicBool,
    /// Store timestamp of the last appended record (for the checkpoint).
    last_store_timestamp: AtomicI64,
    checkpoint: Mutex<Checkpoint>,
    /// `<root>/index/`, fed after each append (see `append_locked`) and on open.
    index: Index,
    /// Commit-log flushes that wrote something: their msync time (rmqd only, `rmqd_flush_latency_seconds`).
    flush_latency_us: Histogram,
    /// Slave stores: where the next replicated record starts (Java's `reputFromOffset`); see `replica.rs`.
    reput_from: AtomicU64,
    _lock: DirLock,
}

/// The message store. `Send + Sync`; every method takes `&self`.
pub struct MessageStore {
    inner: Arc<Inner>,
    flusher: Flusher,
    /// Retention thread and disk-full state (`crate::retention`).
    cleaner: Cleaner,
    /// Re-indexes what the index files miss after open (`index/catch_up.rs`); `None` when nothing is missed.
    index_catch_up: Option<BackgroundThread>,
    hooks: StoreHooks,
    /// `maxMessageSize`, which the broker may change at run time (UPDATE_BROKER_CONFIG; Java's CommitLog
    /// re-reads it before each put).
    max_message_size: AtomicUsize,
    /// Put/get counters for GET_BROKER_RUNTIME_INFO (Java's `StoreStatsService`).
    stats: Arc<StoreStats>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Patches the fields the store assigns into an encoded record.
fn patch_record(
    record: &mut [u8],
    queue_offset: i64,
    commit_log_offset: u64,
    store_timestamp: i64,
    flag: i32,
) {
    record[layout::QUEUE_OFFSET..layout::QUEUE_OFFSET + 8]
        .copy_from_slice(&queue_offset.to_be_bytes());
    record[layout::PHYSICAL_OFFSET..layout::PHYSICAL_OFFSET + 8]
        .copy_from_slice(&(commit_log_offset as i64).to_be_bytes());
    let ts = layout::store_timestamp_pos(flag);
    record[ts..ts + 8].copy_from_slice(&store_timestamp.to_be_bytes());
}

impl MessageStore {
    /// Locks `<root>/lock`, loads and recovers the commit log and consume queues, re-dispatches records the
    /// consume queues miss, creates `<root>/abort`, and starts the async flusher when configured. Blocking
    /// work runs inline; see [`open_with`](Self::open_with).
    pub fn open(config: StoreConfig) -> Result<Self, StoreError> {
        Self::open_with(config, StoreHooks::default())
    }

    /// [`open`](Self::open) with the owner's hooks, e.g. how to run put work that may block.
    pub fn open_with(config: StoreConfig, hooks: StoreHooks) -> Result<Self, StoreError> {
        let inner = recovery::open(config)?;
        #[cfg(test)]
        let inner = hooks.pause_index(inner);
        let inner = Arc::new(inner);
        let flusher = Flusher::start(&inner)?;
        let cleaner = Cleaner::start(&inner)?;
        let index_catch_up = recovery::start_index_catch_up(&inner)?;
        let max_message_size = AtomicUsize::new(inner.config.max_message_size);
        Ok(MessageStore {
            max_message_size,
            stats: Arc::new(StoreStats::new(now_ms())),
            inner,
            flusher,
            cleaner,
            index_catch_up,
            hooks,
        })
    }

    /// The config the store was opened with (`maxMessageSize` there is the value at open; see
    /// [`max_message_size`](Self::max_message_size)).
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// The current limit on one body and on the bodies of a batch together.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size.load(Ordering::Relaxed)
    }

    /// Changes `maxMessageSize` for the puts that start after this call.
    pub fn limit_message_size(&self, bytes: usize) {
        self.max_message_size.store(bytes, Ordering::Relaxed);
    }

    fn append_locked(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
        buf: &mut BytesMut,
        lens: &[usize],
    ) -> Result<Vec<PutResult>, StoreError> {
        let inner = &*self.inner;
        self.cleaner.retention.check_writable(&inner.config)?;
        let (topic, queue_id) = (msgs[0].topic.as_str(), msgs[0].queue_id);
        // A queue's directory and next file are made before taking the put lock: with thousands of queues,
        // creating them under it stalled every other send for the mkdir/create/mmap.
        let cq = if msgs.iter().any(|m| sys_flag::is_dispatched(m.sys_flag)) {
            Some(self.writable_queue(topic, queue_id)?)
        } else {
            None
        };
        let _guard = self.lock_for_put()?;
        let first_queue_offset = cq.as_ref().map_or(0, |q| q.max_offset());
        let now = now_ms();
        let mut assigned = Vec::with_capacity(msgs.len());
        let offset = inner.commit_log.append(buf, |data, base| {
            let (mut pos, mut next_queue_offset) = (0usize, first_queue_offset);
            assigned.clear();
            for (msg, len) in msgs.iter().zip(lens) {
                let queue_offset = if sys_flag::is_dispatched(msg.sys_flag) {
                    next_queue_offset += 1;
                    next_queue_offset - 1
                } else {
                    0
                };
                let at = base + pos as u64;
                patch_record(
                    &mut data[pos..pos + len],
                    queue_offset,
                    at,
                    now,
                    msg.sys_flag,
                );
                assigned.push((at, queue_offset));
                pos += len;
            }
        })?;
        debug_assert_eq!(assigned.first().map(|a| a.0), Some(offset));
        inner.last_store_timestamp.store(now, Ordering::Release);
        let mut results = Vec::with_capacity(msgs.len());
        for (((msg, len), (at, queue_offset)), tags_code) in
            msgs.iter_mut().zip(lens).zip(assigned).zip(tags_codes)
        {
            if let (Some(cq), true) = (&cq, sys_flag::is_dispatched(msg.sys_flag)) {
                // Delayed and timer records are ordered by delivery time, computed from the store
                // timestamp assigned above exactly as recovery recomputes it.
                let tags_code = recovery::delivery_tags_code(
                    &msg.topic,
                    &msg.properties,
                    now,
                    &inner.config.message_delay_levels_ms,
                )
                .unwrap_or(*tags_code);
                let unit = CqUnit {
                    commit_log_offset: at as i64,
                    size: *len as i32,
                    tags_code,
                };
                // The record is in the commit log; a missing unit would hand its queue offset out twice.
                if let Err(e) = cq.append(queue_offset, unit) {
                    inner.poisoned.store(true, Ordering::Release);
                    return Err(e);
                }
            }
            msg.queue_offset = queue_offset;
            msg.commit_log_offset = at as i64;
            msg.store_timestamp = now;
            results.push(PutResult {
                commit_log_offset: at as i64,
                queue_offset,
                store_timestamp: now,
                wrote_bytes: *len,
                msg_id: msg.offset_msg_id(),
                status: PutStatus::PutOk,
            });
        }
        // Index entries must follow commit-log order: take the index lock before the next put can append,
        // then index outside the append lock. None while the open's catch-up will index these records.
        let index = inner.index.writer_for_append();
        drop(_guard);
        if let Some(mut index) = index {
            index.add_stored(msgs);
        }
        Ok(results)
    }

    /// Exclusive maximum logical offset of a queue (0 for an unknown queue).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .queue(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    /// Minimum logical offset of a queue (0 for an unknown queue).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .queue(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    /// The consume-queue unit at a logical offset.
    pub fn queue_unit(&self, topic: &str, queue_id: i32, offset: i64) -> Option<CqUnit> {
        self.inner.queue(topic, queue_id)?.unit(offset)
    }

    /// Queue ids that have a consume queue for `topic`, sorted.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .inner
            .queues
            .read()
            .get(topic)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// One raw record at a commit-log offset (zero-copy).
    pub fn message_at(&self, commit_log_offset: i64) -> Option<Bytes> {
        self.inner
            .commit_log
            .record_at(u64::try_from(commit_log_offset).ok()?)
    }

    /// Store timestamp of the message at a logical queue offset.
    pub fn store_time_at(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let unit = self.queue_unit(topic, queue_id, offset)?;
        let record = self.message_at(unit.commit_log_offset)?;
        match peek_record(&record) {
            Ok(RecordPeek::Message(view)) => Some(view.store_timestamp),
            _ => None,
        }
    }

    /// Store timestamp of the oldest record in the commit log (Java's `getEarliestMessageTime`), None
    /// when the log is empty.
    pub fn earliest_message_time(&self) -> Option<i64> {
        let record = self.message_at(self.min_commit_log_offset())?;
        match peek_record(&record) {
            Ok(RecordPeek::Message(view)) => Some(view.store_timestamp).filter(|&t| t > 0),
            _ => None,
        }
    }

    /// Offset just past the last commit-log record.
    pub fn max_commit_log_offset(&self) -> i64 {
        self.inner.commit_log.max_offset() as i64
    }

    /// Java's `lockTimeMills`: how long the put holding the append lock has held it, 0 when none does.
    pub fn lock_time_ms(&self) -> i64 {
        self.inner.commit_log.lock_held_ms(now_ms()).unwrap_or(0)
    }

    /// The put/get counters (`StoreStatsService`).
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Puts waiting for the append lock now: rmqd's equivalent of Java's send thread-pool queue.
    pub fn put_lock_waiters(&self) -> usize {
        self.inner.commit_log.lock_waiters()
    }

    /// How long the commit-log flushes that wrote something took (µs).
    pub fn flush_latency_us(&self) -> HistogramSnapshot {
        self.inner.flush_latency_us.snapshot()
    }

    /// First commit-log offset still on disk.
    pub fn min_commit_log_offset(&self) -> i64 {
        self.inner.commit_log.min_offset() as i64
    }

    /// Java's `CommitLog.getMinOffset`: the first offset on disk, or `None` when there is no commit-log file
    /// (Java answers -1 then).
    pub fn first_commit_log_file_offset(&self) -> Option<i64> {
        let log = &self.inner.commit_log;
        (!log.has_no_file()).then(|| log.min_offset() as i64)
    }

    /// Offset below which the commit log is known to be on disk.
    pub fn flushed_commit_log_offset(&self) -> i64 {
        self.inner.commit_log.flushed_offset() as i64
    }

    /// How many commit-log flushes wrote something since open (with group commit, fewer than the puts).
    pub fn commit_log_flush_count(&self) -> u64 {
        self.inner.commit_log.flush_count()
    }

    /// QUERY_MESSAGE (`DefaultMessageStore.queryMessage`): records whose `topic#key` is indexed within
    /// `[begin_ms, end_ms]`, newest index files first, at most `max_num` (capped at 64 like Java's
    /// `maxMsgsNumBatch`). Records whose UNIQ_KEY and KEYS do not hold `key` (hash collisions) are dropped.
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> QueryResult {
        let read = |offset: i64| self.message_at(offset);
        self.inner
            .index
            .query_messages(topic, key, max_num, begin_ms, end_ms, &read)
    }

    /// The index files (for inspection; the store writes them).
    pub fn index(&self) -> &Index {
        &self.inner.index
    }

    /// Flushes the commit log, every consume queue and the checkpoint.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush_commit_log(0)?;
        self.inner.flush_queues_and_checkpoint(0)
    }

    /// Stops the flusher, flushes everything, writes the checkpoint and deletes `<root>/abort`.
    /// Later writes fail with [`StoreError::ShutDown`]; reads keep working. Idempotent.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        self.stop_threads();
        let _guard = self.inner.put_lock.lock();
        if self.inner.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.flush()?;
        durability::remove_abort(&self.inner.config.root_dir)
    }
}

impl MessageStore {
    /// Stops and joins every background thread of the store: retention, flushers, index catch-up (before
    /// the put lock, which its hand-over takes; the index files then end at its last record), prefault.
    fn stop_threads(&self) {
        self.cleaner.stop();
        self.flusher.stop();
        if let Some(catch_up) = &self.index_catch_up {
            catch_up.stop();
        }
        self.inner.commit_log.stop_prefault();
    }
}

impl Drop for MessageStore {
    /// Stops the background threads only: dropping without `shutdown` behaves like a crash (abort file kept).
    fn drop(&mut self) {
        self.stop_threads();
    }
}

// retention: start
impl MessageStore {
    /// Runs one retention pass now, whatever the hour in `deleteWhen` (Java `executeDeleteFilesManually`):
    /// probes the disk (setting or clearing the disk-full state), deletes up to `deleteFileBatchMax` commit-log
    /// files older than `fileReservedTime` (any age with `force`, or when the disk is above
    /// `diskSpaceCleanForciblyRatio`), then the consume-queue and index files below the new minimum offset.
    /// Failures are logged; the report counts what was deleted.
    pub fn clean_expired_now(&self, force: bool) -> CleanReport {
        self.cleaner.clean_now(&self.inner, force)
    }

    /// Whether puts are refused because the disk is above `diskSpaceWarningLevelRatio`.
    pub fn is_disk_full(&self) -> bool {
        self.cleaner.retention.is_disk_full()
    }
}

/// What the cleaner needs of the store.
impl Inner {
    pub(crate) fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub(crate) fn commit_log(&self) -> &CommitLog {
        &self.commit_log
    }

    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    pub(crate) fn queues_snapshot(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }
}
// retention: end

impl Inner {
    fn queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().get(topic)?.get(&queue_id).cloned()
    }

    fn queue_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = self.queue(topic, queue_id) {
            return Ok(q);
        }
        // Loaded (mkdir, directory scan) without holding the table: every send looks queues up in it, and
        // a burst of new queues would otherwise stall them all behind the filesystem. Two racing loads of the
        // same new queue find the same empty directory; the first one inserted wins.
        let loaded = Arc::new(ConsumeQueue::load(
            &self.config.root_dir.join("consumequeue"),
            topic,
            queue_id,
            self.config.mapped_file_size_consume_queue as usize,
        )?);
        let mut table = self.queues.write();
        let q = table
            .entry(topic.to_owned())
            .or_default()
            .entry(queue_id)
            .or_insert(loaded);
        Ok(Arc::clone(q))
    }

    fn poison_on_err<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if r.is_err() {
            self.poisoned.store(true, Ordering::Release);
        }
        r
    }

    /// Flushes the commit log (see [`CommitLog::flush`]) and returns the flushed offset. A failure poisons the
    /// store and is never retried: after a failed fsync the kernel may have dropped the dirty pages and cleared
    /// the error, so a retry could "succeed" without the data.
    fn flush_commit_log(&self, least_pages: usize) -> Result<u64, StoreError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        // `ts` belongs to a record that ends at or below `written` (it is stored after its append).
        let ts = self.last_store_timestamp.load(Ordering::Acquire);
        let written = self.commit_log.max_offset();
        let (started, flushes) = (Instant::now(), self.commit_log.flush_count());
        let flushed = self.poison_on_err(self.commit_log.flush(least_pages))?;
        if self.commit_log.flush_count() != flushes {
            let took_us = started.elapsed().as_micros() as u64;
            self.flush_latency_us.record(took_us);
        }
        // With `least_pages > 0` the flush may have skipped that record: claim its timestamp only if covered.
        if flushed >= written {
            let mut cp = self.checkpoint.lock();
            cp.physic_msg_timestamp = cp.physic_msg_timestamp.max(ts);
        }
        Ok(flushed)
    }

    /// Flushes the queue files with at least `least_pages` dirty pages (all dirty bytes when 0) and the index.
    /// The checkpoint's logics timestamp vouches for every queue, so it only moves on a full flush.
    fn flush_queues_and_checkpoint(&self, least_pages: usize) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        // Units are written under the put lock right after their record, so everything up to this
        // timestamp is in the queues we are about to flush.
        let ts = self.last_store_timestamp.load(Ordering::Acquire);
        let queues: Vec<Arc<ConsumeQueue>> = self
            .queues
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect();
        for q in queues {
            self.poison_on_err(q.flush(least_pages))?;
        }
        let index_ts = self.poison_on_err(self.index.flush())?;
        let mut cp = self.checkpoint.lock();
        if least_pages == 0 {
            cp.logics_msg_timestamp = cp.logics_msg_timestamp.max(ts);
        }
        if let Some(index_ts) = index_ts {
            cp.index_msg_timestamp = cp.index_msg_timestamp.max(index_ts);
        }
        self.poison_on_err(cp.write())
    }
}

#[cfg(test)]
#[path = "message_store/tests.rs"]
mod tests;
