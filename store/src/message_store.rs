//! `MessageStore`: the commit log plus consume queues, with put, get, offsets, flushing and recovery on open.
//!
//! Durability contract (see also compat-map §5.11):
//! - `FlushDiskType::Sync`: `put`/`put_batch` return only after the commit-log bytes of the record are msync'ed.
//!   Consume-queue units are rebuilt from the commit log on open, so they are flushed lazily.
//! - `FlushDiskType::Async`: `put` returns after the copy into the page cache; a background thread msyncs the
//!   commit log every `flush_interval_commit_log_ms` and the consume queues and checkpoint every second.
//!   A process crash loses nothing (the page cache survives); an OS crash may lose the last interval.
//! - A failed flush poisons the store: later writes fail with [`StoreError::Poisoned`].
//! - New files are created at full size and their directory is fsync'ed before use.

mod durability;
mod get;
mod recovery;

pub use durability::{Checkpoint, CHECKPOINT_SIZE};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use rmq_codec::message::{
    crc32_masked, layout, magic_for_topic, peek_record, sys_flag, RecordPeek, StoredMessage,
};

use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueue, CqUnit};
use crate::error::StoreError;
use durability::DirLock;

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushDiskType {
    #[default]
    Async,
    Sync,
}

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
    /// `messageDelayLevel` in milliseconds, level 1 first. Used to recompute the tags code (delivery time) of
    /// `SCHEDULE_TOPIC_XXXX` records when consume queues are rebuilt.
    pub message_delay_levels_ms: Vec<i64>,
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
            message_delay_levels_ms: DEFAULT_DELAY_LEVELS_MS.to_vec(),
        }
    }
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
    _lock: DirLock,
}

/// The message store. `Send + Sync`; every method takes `&self`.
pub struct MessageStore {
    inner: Arc<Inner>,
    flusher: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
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
    /// consume queues miss, creates `<root>/abort`, and starts the async flusher when configured.
    pub fn open(config: StoreConfig) -> Result<Self, StoreError> {
        let inner = Arc::new(recovery::open(config)?);
        let store = MessageStore {
            inner,
            flusher: Mutex::new(None),
        };
        if store.inner.config.flush_disk_type == FlushDiskType::Async {
            store.start_flusher()?;
        }
        Ok(store)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    fn start_flusher(&self) -> Result<(), StoreError> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let inner = Arc::clone(&self.inner);
        let interval = Duration::from_millis(inner.config.flush_interval_commit_log_ms.max(1));
        let handle = std::thread::Builder::new()
            .name("rmq-store-flush".into())
            .spawn(move || {
                let mut last_cq_flush = Instant::now();
                while let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(interval) {
                    let result = inner.flush_commit_log().and_then(|()| {
                        if last_cq_flush.elapsed() >= Duration::from_secs(1) {
                            last_cq_flush = Instant::now();
                            inner.flush_queues_and_checkpoint()
                        } else {
                            Ok(())
                        }
                    });
                    if let Err(e) = result {
                        tracing::error!(error = %e, "background flush failed; store poisoned");
                    }
                }
            })?;
        *self.flusher.lock() = Some((stop_tx, handle));
        Ok(())
    }

    fn stop_flusher(&self) {
        if let Some((stop, handle)) = self.flusher.lock().take() {
            drop(stop);
            if handle.join().is_err() {
                tracing::error!("flush thread panicked");
            }
        }
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(StoreError::ShutDown);
        }
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        Ok(())
    }

    /// Fills what the broker owns (magic, host v6 bits, body CRC) and checks the size limits.
    fn prepare(&self, msg: &mut StoredMessage) -> Result<(), StoreError> {
        let max = self.inner.config.max_message_size;
        if msg.body.len() > max {
            return Err(StoreError::MessageTooLarge {
                size: msg.body.len(),
                limit: max,
            });
        }
        if msg.properties.len() > i16::MAX as usize {
            return Err(StoreError::PropertiesTooLarge(msg.properties.len()));
        }
        msg.magic = magic_for_topic(&msg.topic);
        msg.sys_flag = msg.sys_flag_for_hosts();
        msg.body_crc = crc32_masked(&msg.body);
        let record_limit = max.saturating_add(64 * 1024);
        if msg.encoded_len() > record_limit {
            return Err(StoreError::MessageTooLarge {
                size: msg.encoded_len(),
                limit: record_limit,
            });
        }
        Ok(())
    }

    /// Appends one message: assigns the queue offset (dense per topic/queue), commit-log offset, store
    /// timestamp and body CRC, writes the record and its consume-queue unit (`tags_code` as given).
    /// PREPARED and ROLLBACK records get queue offset 0 and no unit. On success `msg` holds the stored values.
    pub fn put(&self, msg: &mut StoredMessage, tags_code: i64) -> Result<PutResult, StoreError> {
        let mut results = self.put_batch(std::slice::from_mut(msg), &[tags_code])?;
        results
            .pop()
            .ok_or_else(|| StoreError::InvalidArgument("empty put".into()))
    }

    /// Appends messages of one topic and queue as consecutive records in one commit-log file, with consecutive
    /// queue offsets and one store timestamp. `tags_codes[i]` belongs to `msgs[i]`.
    pub fn put_batch(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
    ) -> Result<Vec<PutResult>, StoreError> {
        self.check_writable()?;
        validate_batch(msgs, tags_codes)?;
        let total_body: usize = msgs.iter().map(|m| m.body.len()).sum();
        if total_body > self.inner.config.max_message_size {
            return Err(StoreError::MessageTooLarge {
                size: total_body,
                limit: self.inner.config.max_message_size,
            });
        }
        let mut buf = BytesMut::new();
        let mut lens = Vec::with_capacity(msgs.len());
        for msg in msgs.iter_mut() {
            self.prepare(msg)?;
            let before = buf.len();
            msg.encode(&mut buf)?;
            lens.push(buf.len() - before);
        }
        let results = self.append_locked(msgs, tags_codes, &mut buf, &lens)?;
        if self.inner.config.flush_disk_type == FlushDiskType::Sync {
            self.inner.flush_commit_log()?;
        }
        Ok(results)
    }

    fn append_locked(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
        buf: &mut BytesMut,
        lens: &[usize],
    ) -> Result<Vec<PutResult>, StoreError> {
        let inner = &*self.inner;
        let _guard = inner.put_lock.lock();
        let (topic, queue_id) = (msgs[0].topic.as_str(), msgs[0].queue_id);
        let cq = if msgs.iter().any(|m| sys_flag::is_dispatched(m.sys_flag)) {
            Some(inner.queue_or_create(topic, queue_id)?)
        } else {
            None
        };
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
                let unit = CqUnit {
                    commit_log_offset: at as i64,
                    size: *len as i32,
                    tags_code: *tags_code,
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
            });
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

    /// Offset just past the last commit-log record.
    pub fn max_commit_log_offset(&self) -> i64 {
        self.inner.commit_log.max_offset() as i64
    }

    /// First commit-log offset still on disk.
    pub fn min_commit_log_offset(&self) -> i64 {
        self.inner.commit_log.min_offset() as i64
    }

    /// Flushes the commit log, every consume queue and the checkpoint.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush_commit_log()?;
        self.inner.flush_queues_and_checkpoint()
    }

    /// Stops the flusher, flushes everything, writes the checkpoint and deletes `<root>/abort`.
    /// Later writes fail with [`StoreError::ShutDown`]; reads keep working. Idempotent.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        self.stop_flusher();
        let _guard = self.inner.put_lock.lock();
        if self.inner.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.flush()?;
        durability::remove_abort(&self.inner.config.root_dir)
    }
}

impl Drop for MessageStore {
    /// Stops the flusher thread only: dropping without `shutdown` behaves like a crash (abort file kept).
    fn drop(&mut self) {
        self.stop_flusher();
    }
}

fn validate_batch(msgs: &[StoredMessage], tags_codes: &[i64]) -> Result<(), StoreError> {
    let Some(first) = msgs.first() else {
        return Err(StoreError::InvalidArgument("empty batch".into()));
    };
    if msgs.len() != tags_codes.len() {
        return Err(StoreError::InvalidArgument(format!(
            "{} messages but {} tags codes",
            msgs.len(),
            tags_codes.len()
        )));
    }
    if msgs
        .iter()
        .any(|m| m.topic != first.topic || m.queue_id != first.queue_id)
    {
        return Err(StoreError::InvalidArgument(
            "batch mixes topics or queues".into(),
        ));
    }
    Ok(())
}

impl Inner {
    fn queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().get(topic)?.get(&queue_id).cloned()
    }

    fn queue_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(q) = self.queue(topic, queue_id) {
            return Ok(q);
        }
        let mut table = self.queues.write();
        if let Some(q) = table.get(topic).and_then(|m| m.get(&queue_id)) {
            return Ok(Arc::clone(q));
        }
        let q = Arc::new(ConsumeQueue::load(
            &self.config.root_dir.join("consumequeue"),
            topic,
            queue_id,
            self.config.mapped_file_size_consume_queue as usize,
        )?);
        table
            .entry(topic.to_owned())
            .or_default()
            .insert(queue_id, Arc::clone(&q));
        Ok(q)
    }

    fn poison_on_err<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if r.is_err() {
            self.poisoned.store(true, Ordering::Release);
        }
        r
    }

    fn flush_commit_log(&self) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        let ts = self.last_store_timestamp.load(Ordering::Acquire);
        self.poison_on_err(self.commit_log.flush())?;
        let mut cp = self.checkpoint.lock();
        cp.physic_msg_timestamp = cp.physic_msg_timestamp.max(ts);
        Ok(())
    }

    fn flush_queues_and_checkpoint(&self) -> Result<(), StoreError> {
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
            self.poison_on_err(q.flush())?;
        }
        let mut cp = self.checkpoint.lock();
        cp.logics_msg_timestamp = cp.logics_msg_timestamp.max(ts);
        self.poison_on_err(cp.write())
    }
}

#[cfg(test)]
#[path = "message_store/tests.rs"]
mod tests;
