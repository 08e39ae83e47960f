//! A directory of equally sized mapped files forming one contiguous offset space (`MappedFileQueue`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use super::MappedFile;
use crate::error::StoreError;

/// Files `<dir>/<20-digit offset>`, each exactly `file_size` bytes, contiguous.
#[derive(Debug)]
pub struct MappedFileQueue {
    dir: PathBuf,
    file_size: usize,
    files: RwLock<Vec<Arc<MappedFile>>>,
    /// Start offset of the first file that may hold unflushed bytes. An offset, not an index into `files`, so
    /// that files removed from the front ([`remove_front`](Self::remove_front)) cannot make it skip a file.
    flush_from: AtomicU64,
    /// Global offset below which every byte is known to be on disk (Java `flushedWhere`); only grows,
    /// except in recovery.
    flushed: AtomicU64,
    /// fsync the directory after creating a file. The commit log needs it (a lost file name loses acknowledged
    /// data); consume queues do not (recovery rebuilds them from the commit log), and with thousands of queues
    /// a directory fsync per new queue file on the send path costs milliseconds each on a slow disk.
    sync_dir_on_create: bool,
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl MappedFileQueue {
    /// Loads every file of `dir` (created if missing), like `MappedFileQueue.doLoad`: files sorted by name,
    /// each exactly `file_size` bytes, except an empty last file, which is deleted. Unlike Java we also refuse
    /// names that are not 20 digits and gaps between files, because offsets could not be located otherwise.
    pub fn load(dir: &Path, file_size: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let mut entries: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let offset = (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
                .then(|| name.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| corrupt(&path, "not a 20-digit mapped file name"))?;
            entries.push((offset, path));
        }
        entries.sort();
        if let Some((_, last)) = entries.last() {
            if std::fs::metadata(last)?.len() == 0 {
                tracing::warn!(path = %last.display(), "deleting empty last mapped file");
                std::fs::remove_file(last)?;
                entries.pop();
            }
        }
        let mut files = Vec::with_capacity(entries.len());
        for (offset, path) in entries {
            if let Some(prev) = files.last().map(|f: &Arc<MappedFile>| f.from_offset()) {
                if offset != prev + file_size as u64 {
                    return Err(corrupt(&path, format!("gap after file starting at {prev}")));
                }
            }
            let file = MappedFile::open(&path, offset, file_size)
                .map_err(|e| corrupt(&path, e.to_string()))?;
            files.push(Arc::new(file));
        }
        // Loaded files count as flushed up to their end until recovery says where the data ends.
        let flushed = files
            .last()
            .map_or(0, |f: &Arc<MappedFile>| f.from_offset() + file_size as u64);
        Ok(MappedFileQueue {
            dir: dir.to_path_buf(),
            file_size,
            files: RwLock::new(files),
            sync_dir_on_create: true,
            flush_from: AtomicU64::new(0),
            flushed: AtomicU64::new(flushed),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file_size(&self) -> usize {
        self.file_size
    }

    pub fn is_empty(&self) -> bool {
        self.files.read().is_empty()
    }

    /// A snapshot of the files, oldest first.
    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().clone()
    }

    pub fn last(&self) -> Option<Arc<MappedFile>> {
        self.files.read().last().cloned()
    }

    /// The file holding global offset `offset`.
    pub fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.files.read();
        let first = files.first()?.from_offset();
        let index = offset.checked_sub(first)? / self.file_size as u64;
        files.get(usize::try_from(index).ok()?).cloned()
    }

    /// Offset of the first byte still on disk (0 when empty).
    pub fn min_offset(&self) -> u64 {
        self.files.read().first().map_or(0, |f| f.from_offset())
    }

    /// Offset just past the last written byte (0 when empty).
    pub fn max_offset(&self) -> u64 {
        self.last()
            .map_or(0, |f| f.from_offset() + f.wrote_position() as u64)
    }

    /// Files created from now on are not followed by a directory fsync (see `sync_dir_on_create`).
    pub fn without_dir_sync(mut self) -> Self {
        self.sync_dir_on_create = false;
        self
    }

    /// The last file if it has room, else a new file after it (or at `first_offset` when there is none).
    pub fn writable(&self, first_offset: u64) -> io::Result<Arc<MappedFile>> {
        if let Some(last) = self.last() {
            if !last.is_full() {
                return Ok(last);
            }
        }
        let mut files = self.files.write();
        let next = match files.last() {
            Some(last) if !last.is_full() => return Ok(Arc::clone(last)),
            Some(last) => last.from_offset() + self.file_size as u64,
            None => first_offset,
        };
        let file = MappedFile::create(&self.dir, next, self.file_size)?;
        if self.sync_dir_on_create {
            // A new file name must survive a crash, or the data written into it is unreachable.
            std::fs::File::open(&self.dir)?.sync_all()?;
        }
        let file = Arc::new(file);
        files.push(Arc::clone(&file));
        Ok(file)
    }

    // retention: start
    /// Takes up to `max` files off the front, oldest first, while `expired` holds; never the last file (the one
    /// being written). Readers that already hold a removed file (or a view of it) keep a valid mapping; new
    /// lookups below the new minimum offset find nothing. The caller unlinks the returned files, oldest first,
    /// so that a crash midway leaves a contiguous queue. Front removals must not run concurrently (the store's
    /// cleaner serializes its passes).
    pub fn remove_front(
        &self,
        max: usize,
        mut expired: impl FnMut(&MappedFile) -> bool,
    ) -> Vec<Arc<MappedFile>> {
        // Decide on a snapshot so `expired` (a stat, a read) runs without blocking lookups and appends.
        let snapshot = self.files();
        let count = snapshot
            .iter()
            .take(snapshot.len().saturating_sub(1))
            .take(max)
            .take_while(|f| expired(f))
            .count();
        if count == 0 {
            return Vec::new();
        }
        let mut files = self.files.write();
        // Appends only push at the back, so the front is as decided unless someone else removed files.
        let unchanged = count < files.len()
            && files
                .iter()
                .zip(&snapshot[..count])
                .all(|(a, b)| Arc::ptr_eq(a, b));
        if !unchanged {
            return Vec::new();
        }
        files.drain(..count).collect()
    }
    // retention: end

    /// Flushes every file with unflushed bytes. Returns the global flushed offset.
    pub fn flush(&self) -> io::Result<u64> {
        self.flush_least(0)
    }

    /// Flushes every file that has at least `least_pages` dirty pages or is full (see
    /// [`MappedFile::flush_least`]). Returns the global flushed offset.
    pub fn flush_least(&self, least_pages: usize) -> io::Result<u64> {
        let files = self.files();
        let from = self.flush_from.load(Ordering::Acquire);
        for file in files.iter().filter(|f| f.from_offset() >= from) {
            let pos = file.flush_least(least_pages)?;
            let end = file.from_offset() + pos as u64;
            if pos < file.size() {
                self.flushed.fetch_max(end, Ordering::AcqRel);
                // Later files are empty or hold bytes above a gap: they cannot extend the flushed prefix.
                break;
            }
            self.flushed.fetch_max(end, Ordering::AcqRel);
            self.flush_from.fetch_max(end, Ordering::AcqRel);
        }
        Ok(self.flushed_offset())
    }

    /// Global offset below which every byte is known to be on disk.
    pub fn flushed_offset(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// Msyncs every written byte of the files holding offsets at or above `offset` and marks them flushed
    /// (recovery: see [`MappedFile::sync_written`]).
    pub fn sync_from(&self, offset: u64) -> io::Result<()> {
        for file in self.files() {
            if file.from_offset() + self.file_size as u64 > offset {
                file.sync_written()?;
            }
        }
        self.flushed.store(self.max_offset(), Ordering::Release);
        Ok(())
    }

    /// Recovery (`truncateDirtyFiles`): keeps bytes below `offset`, zeroes the rest of the file holding it and
    /// deletes files that start beyond it. Needs exclusive access: no views may be outstanding.
    pub fn truncate(&mut self, offset: u64) -> Result<(), StoreError> {
        let files = self.files.get_mut();
        while let Some(last) = files.last().filter(|f| f.from_offset() > offset) {
            let path = last.path().to_path_buf();
            files.pop();
            std::fs::remove_file(&path)?;
        }
        if let Some(last) = files.last_mut() {
            let pos = usize::try_from(offset - last.from_offset()).unwrap_or(usize::MAX);
            if pos < last.size() {
                let file = Arc::get_mut(last)
                    .ok_or_else(|| corrupt(&self.dir, "truncate with live readers"))?;
                file.truncate(pos)?;
            }
        }
        *self.flush_from.get_mut() = 0;
        *self.flushed.get_mut() = offset.min(self.max_offset());
        Ok(())
    }
}
