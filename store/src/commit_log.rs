//! The append-only record log `<root>/commitlog/`.
//!
//! Records are laid out back to back; when a record does not fit in the rest of a file (`len + 8 > remaining`),
//! the file is closed with the 8-byte BLANK record `[int32 remaining][BLANK_MAGIC]` and the record goes to the
//! next file. A record therefore never spans two files, and every file keeps room for a BLANK record.

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use bytes::Bytes;
use rmq_codec::message::{peek_record, RecordPeek, RecordView, BLANK_MAGIC};

use crate::background::BackgroundThread;
use crate::error::StoreError;
use crate::mapped_file::{MappedFile, MappedFileQueue};

/// Room a file must keep for the BLANK record (`END_FILE_MIN_BLANK_LENGTH`).
pub const BLANK_LEN: usize = 8;

/// How far past the write position the prefault thread keeps the commit log's pages faulted in; it is asked
/// for more once less than half of this is left. At 50k sends/s of 250-byte records that is a request every
/// few hundred milliseconds.
const PREFAULT_AHEAD_BYTES: u64 = 4 << 20;

/// Pages to fault in: `(file, position in the file, length)`; `None` wakes the thread to stop.
type PrefaultRequest = Option<(Arc<MappedFile>, usize, usize)>;

/// The `rmq-prefault` thread and its request queue.
struct Prefault {
    tx: SyncSender<PrefaultRequest>,
    thread: BackgroundThread,
}

/// A test's stand-in for a sick disk: runs before every commit-log flush and may sleep or fail it.
#[cfg(test)]
pub(crate) type FlushFault = Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;

pub struct CommitLog {
    files: MappedFileQueue,
    /// Flushes that moved the flushed offset (each one msync'ed at least one byte).
    flushes: AtomicU64,
    /// When the current holder took the append lock (ms since the epoch), 0 while it is free: Java's
    /// `beginTimeInLock`, read by the page-cache-busy check without taking the lock.
    lock_began_ms: AtomicI64,
    /// Puts waiting for the append lock (the "send queue" whose length a fast failure reports).
    lock_waiters: AtomicUsize,
    /// The prefault thread (`None` if it could not start).
    prefault: Option<Prefault>,
    /// Global offset up to which pages have been handed to the prefault thread.
    prefault_to: AtomicU64,
    #[cfg(test)]
    fault: parking_lot::Mutex<Option<FlushFault>>,
    /// A test's stand-in for a put stalled under the append lock (page faults, dirty throttling).
    #[cfg(test)]
    pub(crate) put_hook: parking_lot::Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for CommitLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLog")
            .field("files", &self.files)
            .field("flushes", &self.flushes)
            .finish()
    }
}

impl CommitLog {
    /// Loads `dir` (created if missing). Call [`recover`](Self::recover) before appending.
    pub fn open(dir: &Path, file_size: usize) -> Result<Self, StoreError> {
        Ok(CommitLog {
            files: MappedFileQueue::load(dir, file_size)?,
            flushes: AtomicU64::new(0),
            lock_began_ms: AtomicI64::new(0),
            lock_waiters: AtomicUsize::new(0),
            prefault: start_prefault_thread(),
            prefault_to: AtomicU64::new(0),
            #[cfg(test)]
            fault: parking_lot::Mutex::new(None),
            #[cfg(test)]
            put_hook: parking_lot::Mutex::new(None),
        })
    }

    pub fn file_size(&self) -> usize {
        self.files.file_size()
    }

    /// First offset still on disk.
    pub fn min_offset(&self) -> u64 {
        self.files.min_offset()
    }

    /// Whether the log has no file (a fresh store creates its first one with the first put).
    pub fn has_no_file(&self) -> bool {
        self.files.is_empty()
    }

    /// Offset just past the last record (where the next record goes, unless it rolls).
    pub fn max_offset(&self) -> u64 {
        self.files.max_offset()
    }

    /// Appends one record (or a batch of records, which must stay in one file). `patch` receives the global
    /// offset the data will start at, so PHYSICALOFFSET fields can be filled in before the copy.
    /// The caller serializes appends.
    pub fn append(
        &self,
        data: &mut [u8],
        patch: impl FnOnce(&mut [u8], u64),
    ) -> Result<u64, StoreError> {
        let file_size = self.files.file_size();
        if data.len() + BLANK_LEN > file_size {
            return Err(StoreError::MessageTooLarge {
                size: data.len(),
                limit: file_size - BLANK_LEN,
            });
        }
        let mut file = self.files.writable(0)?;
        if data.len() + BLANK_LEN > file.remaining() {
            close_with_blank(&file);
            file = self.files.writable(0)?;
        }
        let offset = file.from_offset() + file.wrote_position() as u64;
        patch(data, offset);
        let pos = file.append(data).ok_or_else(|| StoreError::Corrupt {
            path: file.path().to_path_buf(),
            reason: "record did not fit after roll".into(),
        })?;
        debug_assert_eq!(file.from_offset() + pos as u64, offset);
        self.prefault_ahead(&file, offset + data.len() as u64);
        Ok(offset)
    }

    /// Copies `data` verbatim to global offset `at`, which the caller has checked is the end of the log (on an
    /// empty log, a file start: the first file is created there). Rolls to a new file whenever the current one
    /// is full, so `data` may continue into the next file (Java's `CommitLog.appendData` with
    /// `getLastMappedFile(startOffset)`). The caller serializes appends.
    pub(crate) fn append_at(&self, at: u64, data: &[u8]) -> Result<(), StoreError> {
        let mut done = 0;
        while done < data.len() {
            let file = self.files.writable(at)?;
            let pos = file.from_offset() + file.wrote_position() as u64;
            if pos != at + done as u64 {
                return Err(StoreError::Corrupt {
                    path: file.path().to_path_buf(),
                    reason: format!(
                        "replicated append at {} but the file ends at {pos}",
                        at + done as u64
                    ),
                });
            }
            let n = file.remaining().min(data.len() - done);
            file.append(&data[done..done + n])
                .ok_or_else(|| StoreError::Corrupt {
                    path: file.path().to_path_buf(),
                    reason: "replicated bytes did not fit".into(),
                })?;
            done += n;
            self.prefault_ahead(&file, at + done as u64);
        }
        Ok(())
    }

    /// Up to `max` written bytes from `from`, never past the end of the file holding `from` (zero-copy). When
    /// `from` is the end of a full file the bytes come from the next one; `None` when nothing is written at
    /// `from` or its file is gone. Java's `CommitLog.getData` + `MappedFile.selectMappedBuffer`, as the master's
    /// `HAConnection.WriteSocketService` reads what it sends to a slave.
    pub fn chunk(&self, from: u64, max: usize) -> Option<Bytes> {
        let file = self.files.find(from)?;
        let pos = (from - file.from_offset()) as usize;
        let len = file.wrote_position().checked_sub(pos)?.min(max);
        if len == 0 {
            return None;
        }
        file.read(pos, len)
    }

    /// Asks the prefault thread for the pages after `end` when fewer than half of [`PREFAULT_AHEAD_BYTES`] are
    /// ready. Never blocks: when the thread is busy the request is retried on a later append. Runs under the
    /// caller's append serialization, so `prefault_to` has one writer.
    fn prefault_ahead(&self, file: &Arc<MappedFile>, end: u64) {
        let Some(Prefault { tx, .. }) = &self.prefault else {
            return;
        };
        let mark = self.prefault_to.load(Ordering::Relaxed);
        if mark >= end + PREFAULT_AHEAD_BYTES / 2 {
            return;
        }
        let from = mark.max(end);
        let to = (end + PREFAULT_AHEAD_BYTES).min(file.from_offset() + file.size() as u64);
        if from >= to {
            return;
        }
        let request = Some((
            file.clone(),
            (from - file.from_offset()) as usize,
            (to - from) as usize,
        ));
        if tx.try_send(request).is_ok() {
            self.prefault_to.store(to, Ordering::Relaxed);
        }
    }

    /// Zero-copy view of `size` bytes at `offset`, if they are written and inside one file.
    pub fn read(&self, offset: u64, size: usize) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        file.read((offset - file.from_offset()) as usize, size)
    }

    /// The whole record starting at `offset` (`None` for a BLANK record or an unwritten offset).
    pub fn record_at(&self, offset: u64) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        let pos = (offset - file.from_offset()) as usize;
        let head = file.slice(pos, 8)?;
        let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if magic == BLANK_MAGIC {
            return None;
        }
        file.read(pos, usize::try_from(size).ok()?)
    }

    /// Whether a BLANK (end-of-file) record is written at `offset`.
    pub(crate) fn is_blank_at(&self, offset: u64) -> bool {
        self.read(offset, BLANK_LEN)
            .is_some_and(|head| head[4..8] == BLANK_MAGIC.to_be_bytes())
    }

    /// Flushes (msync) the written bytes when at least `least_pages` pages are dirty, every written byte when
    /// `least_pages` is 0; returns the flushed offset. Appends continue while it runs.
    pub fn flush(&self, least_pages: usize) -> Result<u64, StoreError> {
        #[cfg(test)]
        if let Some(fault) = &*self.fault.lock() {
            fault()?;
        }
        let before = self.files.flushed_offset();
        let flushed = self.files.flush_least(least_pages)?;
        if flushed > before {
            self.flushes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(flushed)
    }

    // retention: start
    /// Takes up to `max` files off the front while `expired` holds, never the file being written (see
    /// [`MappedFileQueue::remove_front`]). The minimum offset moves at once; the caller unlinks the files.
    pub fn remove_expired(
        &self,
        max: usize,
        expired: impl FnMut(&MappedFile) -> bool,
    ) -> Vec<Arc<MappedFile>> {
        self.files.remove_front(max, expired)
    }
    // retention: end

    /// Records that the append lock was taken at `now_ms` (0 = released).
    pub(crate) fn mark_locked(&self, now_ms: i64) {
        self.lock_began_ms.store(now_ms, Ordering::Release);
    }

    /// How long the append lock has been held at `now_ms`, `None` while it is free.
    pub fn lock_held_ms(&self, now_ms: i64) -> Option<i64> {
        match self.lock_began_ms.load(Ordering::Acquire) {
            0 => None,
            began => Some(now_ms.saturating_sub(began).max(0)),
        }
    }

    /// Counts a put entering (`true`) or leaving the wait for the append lock; returns the count before.
    pub(crate) fn count_waiter(&self, entering: bool) -> usize {
        if entering {
            self.lock_waiters.fetch_add(1, Ordering::Relaxed)
        } else {
            self.lock_waiters.fetch_sub(1, Ordering::Relaxed)
        }
    }

    /// Puts waiting for the append lock now.
    pub fn lock_waiters(&self) -> usize {
        self.lock_waiters.load(Ordering::Relaxed)
    }

    /// Offset below which every record is known to be on disk.
    pub fn flushed_offset(&self) -> u64 {
        self.files.flushed_offset()
    }

    /// Stops and joins the prefault thread (the store's shutdown); appends then fault pages in themselves.
    pub(crate) fn stop_prefault(&self) {
        if let Some(prefault) = &self.prefault {
            prefault.thread.stop();
        }
    }

    #[cfg(test)]
    pub(crate) fn prefault_thread(&self) -> Option<&BackgroundThread> {
        self.prefault.as_ref().map(|p| &p.thread)
    }

    /// How many flushes wrote something (for group-commit statistics).
    pub fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Installs (or with `None` removes) a fault run before every flush.
    #[cfg(test)]
    pub(crate) fn inject_flush_fault(&self, fault: Option<FlushFault>) {
        *self.fault.lock() = fault;
    }

    /// Visits every valid record from `start` (a record boundary) onwards, following BLANK records to the next
    /// file. Stops at the first record Java's recovery would reject (bad magic, TOTALSIZE formula, body CRC) or
    /// whose PHYSICALOFFSET is not its own position, and returns that offset: the end of the valid log.
    pub fn walk(&self, start: u64, visit: &mut dyn FnMut(u64, &RecordView<'_>)) -> u64 {
        let files = self.files.files();
        let Some(first) = files.first().map(|f| f.from_offset()) else {
            return start;
        };
        let file_size = self.files.file_size() as u64;
        let mut offset = start;
        loop {
            let Some(file) = offset
                .checked_sub(first)
                .and_then(|d| files.get((d / file_size) as usize))
            else {
                return offset;
            };
            let pos = (offset - file.from_offset()) as usize;
            let buf = file
                .slice(pos, file.wrote_position().saturating_sub(pos))
                .unwrap_or_default();
            match peek_record(buf) {
                Ok(RecordPeek::Blank { .. }) => {
                    let next = file.from_offset() + file_size;
                    if (next - first) / file_size >= files.len() as u64 {
                        // Java ends recovery at a BLANK record in the last file.
                        return offset;
                    }
                    offset = next;
                }
                Ok(RecordPeek::Message(view))
                    if view.body_crc_matches() && view.commit_log_offset == offset as i64 =>
                {
                    visit(offset, &view);
                    offset += view.total_size as u64;
                }
                Ok(RecordPeek::Message(_)) | Err(_) => return offset,
            }
        }
    }

    /// The mapped files, oldest first (recovery reads them directly). Drop the snapshot before
    /// [`truncate_recovered`](Self::truncate_recovered), which needs the only reference to the last file.
    pub(crate) fn mapped_files(&self) -> Vec<Arc<MappedFile>> {
        self.files.files()
    }

    /// Recovery: cuts the log at `end` (zeroing what follows in its file, deleting later files), then msyncs the
    /// files from `scanned_from` on. Records recovered from the page cache after a process crash may not be on
    /// disk yet; a synchronous put acknowledged later would otherwise sit behind a hole an OS crash could open.
    /// Which offset is a safe `end` is the caller's decision (`message_store::recovery`). Must run before any
    /// view is handed out.
    pub(crate) fn truncate_recovered(
        &mut self,
        end: u64,
        scanned_from: u64,
    ) -> Result<(), StoreError> {
        self.files.truncate(end)?;
        self.files.sync_from(scanned_from)?;
        Ok(())
    }
}

/// Starts the thread that faults commit-log pages in ahead of the writer (see [`MappedFile::prefault`]).
fn start_prefault_thread() -> Option<Prefault> {
    let (tx, rx) = sync_channel::<PrefaultRequest>(2);
    let nudge = {
        let tx = tx.clone();
        // Waits for room at most one prefault (the queue holds two); fails at once if the thread is gone.
        move || {
            let _ = tx.send(None);
        }
    };
    let spawned = BackgroundThread::spawn_nudged("rmq-prefault", nudge, move |stop| {
        while let Ok(Some((file, from, len))) = rx.recv() {
            if stop.is_stopped() {
                return;
            }
            if let Err(e) = file.prefault(from, len) {
                // EINVAL: a kernel older than 5.14; appends then fault pages in themselves, as before.
                tracing::debug!(error = %e, "commit-log prefault failed, stopping it");
                return;
            }
        }
    });
    match spawned {
        Ok(thread) => Some(Prefault { tx, thread }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the commit-log prefault thread");
            None
        }
    }
}

fn close_with_blank(file: &Arc<MappedFile>) {
    let remaining = file.remaining();
    if remaining >= BLANK_LEN {
        let mut blank = [0u8; BLANK_LEN];
        blank[..4].copy_from_slice(&(remaining as i32).to_be_bytes());
        blank[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
        // Cannot fail: we just checked the room.
        let _ = file.append(&blank);
    }
    file.fill_to_end();
}
