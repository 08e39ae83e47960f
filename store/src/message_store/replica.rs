//! Classic master/slave replication, store side (no networking).
//!
//! - Master: [`MessageStore::commit_log_chunk`] hands out raw commit-log bytes (Java's `CommitLog.getData`, which
//!   `HAConnection.WriteSocketService` sends).
//! - Slave: [`MessageStore::append_replicated`] copies the master's bytes verbatim to the same offsets (Java's
//!   `CommitLog.appendData`) and dispatches every record now whole, as Java's `ReputMessageService` does on a
//!   slave: the consume-queue unit at the record's QUEUEOFFSET, its index entries, the store timestamp the
//!   checkpoint takes, and the put totals. The master may cut a record anywhere; its rest comes with a later
//!   call. `Inner::reput_from` (where the first record not yet dispatched starts) only moves under the append
//!   lock, which the append holds like a put.
//!
//! Before anything is written the new bytes are checked where records must start: a known magic, a TOTALSIZE
//! that fits in its file (a BLANK's must reach the file end exactly), and, once the record is whole, the length
//! formula and a PHYSICALOFFSET equal to its position. Bytes that fail are refused and nothing is written, so
//! the log never holds a record the dispatcher would stop at. Like Java's slave, body CRCs are not checked
//! here; recovery checks them on open.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rmq_codec::message::{
    peek_record, sys_flag, RecordPeek, RecordView, BLANK_MAGIC, MAGIC_V1, MAGIC_V2,
};

use super::{dispatch_tags_code, MessageStore};
use crate::commit_log::BLANK_LEN;
use crate::consume_queue::CqUnit;
use crate::error::StoreError;
use crate::index::IndexWriter;

/// What one replicated append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaAppend {
    /// The commit log's new end: the offset the slave reports to the master.
    pub end: u64,
    /// Queues that got units (each once, in the order of their first new unit), for long-polling pulls.
    pub arrived: Vec<(String, i32)>,
}

/// A record made whole by an append: its offset and TOTALSIZE.
type WholeRecord = (u64, usize);

impl MessageStore {
    /// Master side: up to `max` bytes of the commit log from `from`, never past the end of the file holding
    /// `from` nor past what is written (the last record may be cut); `None` when nothing is written at `from`
    /// yet or its file is gone. When `from` is the end of a full file the bytes come from the next file.
    /// Zero-copy.
    pub fn commit_log_chunk(&self, from: u64, max: usize) -> Option<Bytes> {
        self.inner.commit_log.chunk(from, max)
    }

    /// Slave side: appends bytes the master sent for commit-log offset `at` and dispatches every record now
    /// whole (module doc). `at` must equal [`max_commit_log_offset`](Self::max_commit_log_offset); on an empty
    /// log it must be a file start (a multiple of `mappedFileSizeCommitLog`) and the first file is created
    /// there. Refused with [`StoreError::NotSlave`] unless the store was opened as a slave, with
    /// [`StoreError::ReplicaOffset`] or [`StoreError::ReplicaData`] (nothing written) for bytes that do not
    /// continue the log. Blocks for file creation and the copy: call it off async threads.
    pub fn append_replicated(&self, at: u64, data: &[u8]) -> Result<ReplicaAppend, StoreError> {
        let inner = &*self.inner;
        if !inner.config.slave {
            return Err(StoreError::NotSlave);
        }
        let guard = inner.put_lock.lock();
        // Under the lock: shutdown marks the store shut down while holding it.
        self.check_writable()?;
        let from = self.replica_resume_offset(at)?;
        let (whole, reput_to) = self.check_replicated(from, at, data)?;
        inner.commit_log.append_at(at, data)?;
        inner.reput_from.store(reput_to, Ordering::Release);
        let arrived = self.dispatch_units(&whole)?;
        // Index entries follow commit-log order: take the index lock before the next append, index after.
        let index = inner.index.writer_for_append();
        drop(guard);
        if let Some(mut index) = index {
            self.index_replicated(&mut index, &whole);
        }
        let bytes: usize = whole.iter().map(|r| r.1).sum();
        self.stats
            .record_replicated(whole.len() as i64, bytes as i64);
        self.flusher.wake();
        Ok(ReplicaAppend {
            end: at + data.len() as u64,
            arrived,
        })
    }

    /// Checks that `at` continues the log (on an empty log: is a file start) and returns where the first
    /// record not yet dispatched starts. Under the append lock.
    fn replica_resume_offset(&self, at: u64) -> Result<u64, StoreError> {
        let log = &self.inner.commit_log;
        let file_size = log.file_size() as u64;
        if log.has_no_file() {
            if !at.is_multiple_of(file_size) {
                return Err(StoreError::ReplicaOffset {
                    expected: at - at % file_size,
                    got: at,
                });
            }
            return Ok(at);
        }
        let expected = log.max_offset();
        if at != expected {
            return Err(StoreError::ReplicaOffset { expected, got: at });
        }
        Ok(self.inner.reput_from.load(Ordering::Acquire))
    }

    /// Adds the index entries of records just made whole, in log order. A failure is logged, as for a put:
    /// the records are stored and the next open re-indexes what is missing.
    fn index_replicated(&self, index: &mut IndexWriter<'_>, whole: &[WholeRecord]) {
        for &(offset, size) in whole {
            let added = self.with_record(offset, size, |view| {
                index.add(
                    &view.topic,
                    &view.properties,
                    view.sys_flag,
                    offset as i64,
                    view.store_timestamp,
                )
            });
            if let Err(e) = added.and_then(|r| r) {
                tracing::error!(error = %e, offset, "indexing a replicated message failed");
                return;
            }
        }
    }

    /// The error a put on a slave store gets, with the disk usage Java's remark carries.
    pub(super) fn put_on_slave(&self) -> StoreError {
        let config = &self.inner.config;
        let used = |dir: &str| {
            config
                .disk_usage
                .used_ratio(&config.root_dir.join(dir))
                .unwrap_or(-1.0)
        };
        StoreError::PutOnSlave {
            commit_log: used("commitlog"),
            consume_queue: used("consumequeue"),
            index: used("index"),
        }
    }

    /// Walks the records from `from` (the first not dispatched) through the bytes below `at` (already in the
    /// log) and `data` (to be written at `at`). Returns the records that are whole and where the walk stopped:
    /// the start of a record not yet whole, or past a BLANK, the start of the next file.
    fn check_replicated(
        &self,
        from: u64,
        at: u64,
        data: &[u8],
    ) -> Result<(Vec<WholeRecord>, u64), StoreError> {
        let end = at + data.len() as u64;
        let file_size = self.inner.commit_log.file_size() as u64;
        let bad = |offset: u64, reason: String| StoreError::ReplicaData { offset, reason };
        let (mut pos, mut whole) = (from, Vec::new());
        while pos < end {
            let file_end = pos - pos % file_size + file_size;
            let Some(head) = self.gather(pos, BLANK_LEN, at, data)? else {
                break;
            };
            let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
            if magic == BLANK_MAGIC {
                if i64::from(size) != (file_end - pos) as i64 {
                    return Err(bad(
                        pos,
                        format!("BLANK of {size} bytes does not end its file"),
                    ));
                }
                pos = file_end;
                continue;
            }
            if magic != MAGIC_V1 && magic != MAGIC_V2 {
                return Err(bad(pos, format!("illegal magic code {magic:#x}")));
            }
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s > BLANK_LEN && pos + (s + BLANK_LEN) as u64 <= file_end)
                .ok_or_else(|| bad(pos, format!("TOTALSIZE {size} does not fit in its file")))?;
            let Some(raw) = self.gather(pos, size, at, data)? else {
                break;
            };
            match peek_record(&raw) {
                Ok(RecordPeek::Message(view)) if view.commit_log_offset == pos as i64 => {}
                Ok(RecordPeek::Message(view)) => {
                    let reason = format!("PHYSICALOFFSET {}", view.commit_log_offset);
                    return Err(bad(pos, reason));
                }
                Ok(RecordPeek::Blank { .. }) => return Err(bad(pos, "BLANK".into())),
                Err(e) => return Err(bad(pos, e.to_string())),
            }
            whole.push((pos, size));
            pos += size as u64;
        }
        Ok((whole, pos))
    }

    /// `len` bytes at `pos`: from the log below `at`, from `data` (to be written at `at`) above it. `None` while
    /// they have not all arrived. Only a record cut by the previous append spans both (then they are copied).
    fn gather<'a>(
        &self,
        pos: u64,
        len: usize,
        at: u64,
        data: &'a [u8],
    ) -> Result<Option<Cow<'a, [u8]>>, StoreError> {
        if pos >= at {
            let start = (pos - at) as usize;
            return Ok(data.get(start..start + len).map(Cow::Borrowed));
        }
        let in_log = ((at - pos) as usize).min(len);
        let Some(tail) = data.get(..len - in_log) else {
            return Ok(None);
        };
        let head =
            self.inner
                .commit_log
                .read(pos, in_log)
                .ok_or_else(|| StoreError::ReplicaData {
                    offset: pos,
                    reason: "the start of this record is no longer in the commit log".into(),
                })?;
        Ok(Some(Cow::Owned([&head[..], tail].concat())))
    }

    /// Writes the consume-queue units of records just made whole (under the append lock) and moves the
    /// store timestamp the checkpoint takes. A failed unit poisons the store, as on the put path.
    fn dispatch_units(&self, whole: &[WholeRecord]) -> Result<Vec<(String, i32)>, StoreError> {
        let inner = &*self.inner;
        let mut arrived: Vec<(String, i32)> = Vec::new();
        for &(offset, size) in whole {
            let dispatched = self.with_record(offset, size, |view| {
                inner
                    .last_store_timestamp
                    .store(view.store_timestamp, Ordering::Release);
                if !sys_flag::is_dispatched(view.sys_flag) {
                    return Ok(());
                }
                let unit = CqUnit {
                    commit_log_offset: offset as i64,
                    size: size as i32,
                    tags_code: dispatch_tags_code(view, &inner.config.message_delay_levels_ms),
                };
                inner
                    .queue_or_create(&view.topic, view.queue_id)?
                    .append(view.queue_offset, unit)?;
                if !arrived
                    .iter()
                    .any(|(t, q)| *q == view.queue_id && *t == view.topic)
                {
                    arrived.push((view.topic.to_string(), view.queue_id));
                }
                Ok(())
            });
            inner.poison_on_err(dispatched.and_then(|r| r))?;
        }
        Ok(arrived)
    }

    /// Runs `f` on the record at `offset` (checked when it was appended).
    fn with_record<T>(
        &self,
        offset: u64,
        size: usize,
        f: impl FnOnce(&RecordView<'_>) -> T,
    ) -> Result<T, StoreError> {
        let raw = self.inner.commit_log.read(offset, size);
        match raw.as_deref().map(peek_record) {
            Some(Ok(RecordPeek::Message(view))) => Ok(f(&view)),
            _ => Err(StoreError::ReplicaData {
                offset,
                reason: "record unreadable after its append".into(),
            }),
        }
    }
}

#[cfg(test)]
#[path = "replica_tests.rs"]
mod tests;
