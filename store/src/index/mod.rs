//! The message index: `<root>/index/<yyyyMMddHHmmssSSS>` files mapping `topic#key` to commit-log offsets, in the
//! Java broker's format (`IndexService`), for QUERY_MESSAGE.
//!
//! - Keys: the `UNIQ_KEY` property and every space-separated token of `KEYS`, each as `topic#key`. ROLLBACK
//!   records are not indexed; PREPARED ones are, as in Java.
//! - Writes happen in commit-log order under one lock ([`Index::writer`]); the store takes it before releasing
//!   its append lock, so indexing overlaps the next append without reordering entries.
//! - Durability: files are flushed with the consume queues; the checkpoint's `indexMsgTimestamp` then records
//!   the end timestamp of the newest flushed file. After an abnormal exit, files whose end timestamp is newer are
//!   deleted at load (as Java does) and every open re-indexes the commit log from where the files end, on a
//!   background thread while puts are accepted (`catch_up.rs`).

mod catch_up;
mod file;
mod query;

#[cfg(test)]
pub(crate) use catch_up::Pause;
pub use catch_up::{CatchUpEnd, CatchUpPlan};

pub use file::{file_size, key_hash, Entry, IndexFile, ENTRY_SIZE, HEADER_SIZE, SLOT_SIZE};
pub use query::{OffsetQuery, QueryResult};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard, RwLock};
use rmq_codec::message::{properties, sys_flag, StoredMessage};

use crate::error::StoreError;
use crate::mapped_file::local_time;

/// Java's `maxMsgsNumBatch` default: the most offsets one index query returns.
pub const MAX_MSGS_NUM_BATCH: usize = 64;

/// `IndexService.buildKey`.
pub fn index_key(topic: &str, key: &str) -> String {
    format!("{topic}#{key}")
}

/// The keys Java indexes for a record: `UNIQ_KEY`, then each non-empty `KEYS` token (`KEY_SEPARATOR` is " ").
/// Nothing for ROLLBACK records.
pub fn record_keys(props: &str, sys_flag_value: i32) -> impl Iterator<Item = &str> {
    let rollback = sys_flag::transaction_type(sys_flag_value) == sys_flag::TRANSACTION_ROLLBACK;
    let (uniq, keys) = if rollback {
        (None, None)
    } else {
        (
            properties::get(props, properties::UNIQ_KEY),
            properties::get(props, properties::KEYS),
        )
    };
    uniq.into_iter().chain(
        keys.into_iter()
            .flat_map(|k| k.split(' '))
            .filter(|k| !k.is_empty()),
    )
}

/// `UtilAll.timeMillisToHumanString`: `yyyyMMddHHmmssSSS` in local time.
pub fn file_name_for(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    match local_time(secs) {
        Some(t) => format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{millis:03}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ),
        // Only for times localtime cannot represent; still 17 digits and increasing.
        None => format!("{:017}", ms.max(0)),
    }
}

fn is_index_file_name(name: &str) -> bool {
    name.len() == 17 && name.bytes().all(|b| b.is_ascii_digit())
}

/// The index files of one store, oldest first.
#[derive(Debug)]
pub struct Index {
    dir: PathBuf,
    slot_num: u32,
    index_num: u32,
    /// `messageIndexEnable`: when false nothing is written, but existing files can still be queried.
    enabled: bool,
    /// Whether the last exit was clean, so the newest entry's record is known to be fully indexed.
    clean_exit: bool,
    /// Writers change the list under `writer` too; readers take a snapshot of the `Arc`s.
    files: RwLock<Vec<Arc<IndexFile>>>,
    writer: Mutex<()>,
    /// Set while a catch-up owns the tail of the index: puts leave their records to it (`catch_up.rs`).
    catching_up: AtomicBool,
    /// Records catch-up indexes per hold of `writer`.
    batch_records: usize,
    /// Bytes left to index at which catch-up hands over to puts.
    handover_bytes: u64,
    #[cfg(test)]
    pause: Option<Arc<catch_up::Pause>>,
}

/// The write side, held by one thread at a time; see [`Index::writer`].
pub struct IndexWriter<'a> {
    index: &'a Index,
    _guard: MutexGuard<'a, ()>,
}

impl Index {
    /// Loads `dir` (created if missing), like `IndexService.load`: files in name order; after an abnormal exit
    /// (`clean_exit` false) files with `endTimestamp > checkpoint_timestamp` are deleted. Files that index
    /// records at or beyond `commit_log_end` (a log truncated by recovery) are deleted too, since a later
    /// record at the same offset would be skipped as already indexed.
    pub fn load(
        dir: &Path,
        slot_num: u32,
        index_num: u32,
        enabled: bool,
        clean_exit: bool,
        checkpoint_timestamp: i64,
        commit_log_end: u64,
    ) -> Result<Self, StoreError> {
        check_dimensions(slot_num, index_num)?;
        std::fs::create_dir_all(dir)?;
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            match entry.file_name().to_str() {
                Some(name) if is_index_file_name(name) => names.push(name.to_owned()),
                _ => {
                    tracing::warn!(file = ?entry.path(), "skipping a file that is not an index file")
                }
            }
        }
        names.sort();
        let mut files = Vec::with_capacity(names.len());
        for name in names {
            let file = IndexFile::open(&dir.join(&name), slot_num, index_num)?;
            let newer_than_checkpoint = !clean_exit && file.end_timestamp() > checkpoint_timestamp;
            let beyond_log = file.index_count() > 1
                && u64::try_from(file.end_phy_offset()).is_ok_and(|end| end >= commit_log_end);
            if newer_than_checkpoint || beyond_log {
                tracing::warn!(
                    file = %name,
                    end_timestamp = file.end_timestamp(),
                    checkpoint_timestamp,
                    end_phy_offset = file.end_phy_offset(),
                    commit_log_end,
                    "deleting index file to rebuild it from the commit log"
                );
                file.delete()?;
                continue;
            }
            files.push(Arc::new(file));
        }
        Ok(Index {
            dir: dir.to_path_buf(),
            slot_num,
            index_num,
            enabled,
            clean_exit,
            files: RwLock::new(files),
            writer: Mutex::new(()),
            catching_up: AtomicBool::new(false),
            batch_records: catch_up::BATCH_RECORDS,
            handover_bytes: catch_up::HANDOVER_BYTES,
            #[cfg(test)]
            pause: None,
        })
    }

    /// Holds catch-up at `pause` (before it starts): its batches are `pause.batch_records` records and the
    /// hand-over starts 4 KiB before the end.
    #[cfg(test)]
    pub(crate) fn use_pause(&mut self, pause: Arc<Pause>) {
        self.batch_records = pause.batch_records;
        self.handover_bytes = 4096;
        self.pause = Some(pause);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// A snapshot of the files, oldest first.
    pub fn files(&self) -> Vec<Arc<IndexFile>> {
        self.files.read().clone()
    }

    /// Takes the write lock. Entries must be added in commit-log order, so take it while that order is still
    /// held (the store's append lock), then release the append lock and index.
    pub fn writer(&self) -> IndexWriter<'_> {
        IndexWriter {
            index: self,
            _guard: self.writer.lock(),
        }
    }

    /// The write lock for a put that just appended, or `None` while catch-up will index its records. Call it
    /// under the store's append lock, before the next append: catch-up hands over under that lock too, so
    /// the answer is exact for the records just appended.
    pub fn writer_for_append(&self) -> Option<IndexWriter<'_>> {
        if !self.enabled || self.catching_up.load(Ordering::Acquire) {
            return None;
        }
        Some(self.writer())
    }

    /// Flushes files written since the last flush. Returns the end timestamp of the newest *full* file
    /// (the checkpoint's `indexMsgTimestamp`, as Java keeps it), or `None` while only one file exists.
    pub fn flush(&self) -> Result<Option<i64>, StoreError> {
        // Wait for an indexing put in progress, so the timestamp covers whole records.
        let (files, end_timestamp) = {
            let _writer = self.writer.lock();
            let files = self.files();
            // Like Java, the checkpoint only vouches for index files that are full (every file but the
            // newest). After a crash a Java broker keeps index files whose end time is at or below this
            // stamp, so claiming the file still being written would let it re-index that file's tail twice.
            let ts = files.iter().rev().nth(1).map(|f| f.end_timestamp());
            (files, ts)
        };
        for f in &files {
            f.flush()?;
        }
        Ok(end_timestamp)
    }

    /// `deleteExpiredFile`: deletes the oldest files, never the newest, whose entries all point below
    /// `min_commit_log_offset`.
    pub fn delete_expired(&self, min_commit_log_offset: i64) -> Result<usize, StoreError> {
        let _writer = self.writer.lock();
        let mut files = self.files.write();
        let expired = files
            .iter()
            .take(files.len().saturating_sub(1))
            .take_while(|f| f.end_phy_offset() < min_commit_log_offset)
            .count();
        for f in files.drain(..expired) {
            f.delete()?;
        }
        Ok(expired)
    }
}

fn check_dimensions(slot_num: u32, index_num: u32) -> Result<(), StoreError> {
    // Java computes the file size and every position in an int.
    let size = file::file_size(slot_num, index_num);
    if slot_num == 0 || index_num < 2 || size > i32::MAX as u64 {
        return Err(StoreError::InvalidArgument(format!(
            "index dimensions: {slot_num} hash slots, {index_num} entries"
        )));
    }
    Ok(())
}

impl IndexWriter<'_> {
    /// `IndexService.buildIndex` for one record: puts each of its keys, rolling to a new file when the current
    /// one is full. Returns whether anything was indexed. No-op when the index is disabled.
    pub fn add(
        &mut self,
        topic: &str,
        props: &str,
        sys_flag_value: i32,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<bool, StoreError> {
        if !self.index.enabled {
            return Ok(false);
        }
        let mut any = false;
        for key in record_keys(props, sys_flag_value) {
            let hash = key_hash(&index_key(topic, key));
            let mut file = self.current_file()?;
            if !file.put(hash, phy_offset, store_timestamp) {
                file = self.roll(&file)?;
                if !file.put(hash, phy_offset, store_timestamp) {
                    return Err(StoreError::InvalidArgument("new index file is full".into()));
                }
            }
            any = true;
        }
        Ok(any)
    }

    /// Indexes freshly appended records (`commit_log_offset` and `store_timestamp` assigned). A failure is
    /// logged, not returned: the records are already stored and the put must not fail for the index; the next
    /// open re-indexes what is missing.
    pub fn add_stored(&mut self, msgs: &[StoredMessage]) {
        for msg in msgs {
            let added = self.add(
                &msg.topic,
                &msg.properties,
                msg.sys_flag,
                msg.commit_log_offset,
                msg.store_timestamp,
            );
            if let Err(e) = added {
                tracing::error!(error = %e, offset = msg.commit_log_offset, "indexing a stored message failed");
                return;
            }
        }
    }

    /// The newest file if it has room, else a new one.
    fn current_file(&mut self) -> Result<Arc<IndexFile>, StoreError> {
        let last = self.index.files.read().last().cloned();
        match last {
            Some(f) if !f.is_full() => Ok(f),
            Some(f) => self.roll(&f),
            None => self.create(0, 0),
        }
    }

    /// `getAndCreateLastIndexFile` for a full `prev`: a new file seeded with its end offset and timestamp.
    /// The full file is flushed now; it never changes again.
    fn roll(&mut self, prev: &IndexFile) -> Result<Arc<IndexFile>, StoreError> {
        let file = self.create(prev.end_phy_offset(), prev.end_timestamp())?;
        prev.flush()?;
        Ok(file)
    }

    fn create(
        &mut self,
        end_phy_offset: i64,
        end_timestamp: i64,
    ) -> Result<Arc<IndexFile>, StoreError> {
        // Names order the files: never reuse or go below the newest name (two rolls in one millisecond, or a
        // clock that stepped back). Java never parses the names, so a bumped one need not be a real time.
        let mut name = file_name_for(now_ms());
        if let Some(last) = self.index.files.read().last().map(|f| f.name()) {
            if name <= last {
                name = next_name(&last);
            }
        }
        while self.index.dir.join(&name).exists() {
            name = next_name(&name);
        }
        let file = Arc::new(IndexFile::create(
            &self.index.dir.join(&name),
            self.index.slot_num,
            self.index.index_num,
            end_phy_offset,
            end_timestamp,
        )?);
        self.index.files.write().push(Arc::clone(&file));
        Ok(file)
    }
}

/// The 17-digit name after `name`.
fn next_name(name: &str) -> String {
    let n: u64 = name.parse().unwrap_or(0);
    format!("{:017}", n.saturating_add(1))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod store_tests;

#[cfg(test)]
mod catch_up_tests;
