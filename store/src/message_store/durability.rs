//! The durability contract, and the three small files next to the data: `lock`, `abort` and `checkpoint`.
//!
//! # When a send is answered
//!
//! A put is *written* when, under the put lock, its record is copied into the mapped commit-log file and its
//! consume-queue unit into the mapped queue file. From then on readers see it, and it survives a crash of the
//! process (the page cache belongs to the kernel). It survives an OS crash or power loss only once it is
//! *flushed*: `msync(MS_SYNC)` of the commit-log range holding it has returned (for a shared file mapping
//! that is `fdatasync` of the range: data plus the metadata needed to read it back, such as the file size).
//!
//! | mode | the send is answered after | OS crash / power loss can lose |
//! |------|----------------------------|--------------------------------|
//! | SYNC_FLUSH, WAIT true (default) | write, then a flush whose range covers the record: PUT_OK | nothing answered PUT_OK |
//! | SYNC_FLUSH, flush slower than `syncFlushTimeout` (5 s) | write, then the timeout: FLUSH_DISK_TIMEOUT | that message |
//! | SYNC_FLUSH, WAIT false | write (the flusher is woken) | messages written since the last flush, usually under a millisecond |
//! | ASYNC_FLUSH (default) | write (the flusher is woken) | the unflushed tail: flushed once 4 pages (16 KiB) are dirty, all of it every 10 s |
//!
//! - **Group commit.** One thread (`flush.rs`) issues every commit-log msync while the store runs. A waiting
//!   put queues its end offset and wakes that thread, which msyncs everything written so far and completes
//!   every queued put whose record the msync covered; puts written during the msync wait for the next one.
//!   The put lock is not held during an msync, so writes continue and form the next group.
//! - **Timeout.** A separate thread answers FLUSH_DISK_TIMEOUT at the deadline even while an msync hangs; the
//!   record stays in the log and a later flush still writes it. [`FlushWaiter`](super::FlushWaiter) delivers
//!   the outcome by blocking or by callback.
//! - **New files.** A commit-log or queue file is created at full size (`set_len`) and its directory is
//!   fsync'ed before the first record goes in, so its name survives a crash before the first msync.
//!   Deleted files (recovery truncation) are not followed by a directory fsync: a file that comes back is
//!   truncated again by the next recovery.
//! - **Failure.** An msync/fsync error poisons the store: waiting puts get `Failed` (an error, not PUT_OK),
//!   every later put fails with [`StoreError::Poisoned`], and the flush is never retried. After a failed
//!   fsync Linux may already have dropped the dirty pages and cleared the error, so a retry could report
//!   success for data that is gone.
//! - **Consume queues and checkpoint** never hold up a send: they are flushed every
//!   `flushIntervalConsumeQueue` (1 s) by their own thread, in both modes, and recovery rebuilds missing
//!   units from the commit log. The checkpoint is written (`pwrite` + `fdatasync`) after the queues, and
//!   claims `physicMsgTimestamp` only for records a completed flush covered.
//! - **Recovery** msyncs the commit-log files it scanned before the store accepts puts: after a process crash
//!   their tail may exist only in the page cache, and a synchronous put must not be acknowledged on top of
//!   records an OS crash could still erase (recovery would then cut the log before the acknowledged one).
//! - **Clean shutdown** flushes the commit log, every queue and the checkpoint, then deletes `abort`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::StoreError;
use crate::mapped_file::try_lock_exclusive;

/// Store roots locked by this process. POSIX locks never conflict within one process, so this registry is
/// what stops a second `MessageStore` on the same directory here (Java has `OverlappingFileLockException`).
static LOCKED_ROOTS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The exclusive lock on `<root>/lock`, held for the life of the store.
#[derive(Debug)]
pub(crate) struct DirLock {
    /// Keeps the descriptor (and with it the fcntl lock) open.
    _file: File,
    key: PathBuf,
}

impl DirLock {
    pub(crate) fn acquire(root: &Path) -> Result<Self, StoreError> {
        let key = root.canonicalize()?;
        let mut locked = LOCKED_ROOTS.lock().unwrap_or_else(|e| e.into_inner());
        // Check the registry before touching the file: opening and closing another descriptor of a file we
        // already lock would silently drop our lock.
        if locked.contains(&key) {
            return Err(StoreError::Locked(root.to_path_buf()));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(root.join("lock"))?;
        if !try_lock_exclusive(&file)? {
            return Err(StoreError::Locked(root.to_path_buf()));
        }
        file.write_all_at(b"lock", 0)?;
        file.flush()?;
        file.sync_all()?;
        locked.push(key.clone());
        Ok(DirLock { _file: file, key })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let mut locked = LOCKED_ROOTS.lock().unwrap_or_else(|e| e.into_inner());
        locked.retain(|k| k != &self.key);
    }
}

/// `<root>/abort`: present while a store is open; present at open means the last exit was not clean.
pub(crate) fn abort_path(root: &Path) -> PathBuf {
    root.join("abort")
}

/// Creates `<root>/abort` holding our pid, as Java's `createTempFile` does.
pub(crate) fn create_abort(root: &Path) -> Result<(), StoreError> {
    let path = abort_path(root);
    let mut file = File::create(&path)?;
    file.write_all(std::process::id().to_string().as_bytes())?;
    file.sync_all()?;
    Ok(())
}

pub(crate) fn remove_abort(root: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(abort_path(root)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Size of `<root>/checkpoint` (one OS page in Java).
pub const CHECKPOINT_SIZE: u64 = 4096;

/// `<root>/checkpoint`: int64 physicMsgTimestamp at 0, logicsMsgTimestamp at 8, indexMsgTimestamp at 16.
/// Bytes after 24 (5.x offsets) are left as found.
#[derive(Debug)]
pub struct Checkpoint {
    file: File,
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    /// Store time up to which every full index file is on disk (see `index::IndexService::flush`).
    pub index_msg_timestamp: i64,
}

impl Checkpoint {
    pub(crate) fn open(root: &Path) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(root.join("checkpoint"))?;
        if file.metadata()?.len() < CHECKPOINT_SIZE {
            file.set_len(CHECKPOINT_SIZE)?;
        }
        let mut head = [0u8; 24];
        file.read_exact_at(&mut head, 0)?;
        let field = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[i * 8..i * 8 + 8]);
            i64::from_be_bytes(b)
        };
        Ok(Checkpoint {
            physic_msg_timestamp: field(0),
            logics_msg_timestamp: field(1),
            index_msg_timestamp: field(2),
            file,
        })
    }

    /// `getMinTimestamp`: min(physic, logics) − 3 s, floored at 0.
    pub fn min_timestamp(&self) -> i64 {
        (self.physic_msg_timestamp.min(self.logics_msg_timestamp) - 3000).max(0)
    }

    /// Writes the three timestamps and syncs the file.
    pub(crate) fn write(&self) -> Result<(), StoreError> {
        let mut head = [0u8; 24];
        head[..8].copy_from_slice(&self.physic_msg_timestamp.to_be_bytes());
        head[8..16].copy_from_slice(&self.logics_msg_timestamp.to_be_bytes());
        head[16..].copy_from_slice(&self.index_msg_timestamp.to_be_bytes());
        self.file.write_all_at(&head, 0)?;
        self.file.sync_data()?;
        Ok(())
    }
}
