//! Per topic/queue index of 20-byte units (`ConsumeQueue`):
//! `int64 commitLogOffset | int32 size | int64 tagsCode`. Unit `n` (logical offset `n`) sits at byte `n * 20` of
//! the queue's file stream in `consumequeue/<topic>/<queueId>/<20-digit byte offset>`.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::error::StoreError;
use crate::mapped_file::{MappedFile, MappedFileQueue};

/// Bytes per unit.
pub const UNIT_SIZE: usize = 20;
/// Size of the filler unit Java writes before the first real unit of a recreated queue ("pre-blank").
const BLANK_UNIT_SIZE: i32 = i32::MAX;

/// One consume-queue unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqUnit {
    fn encode(&self) -> [u8; UNIT_SIZE] {
        let mut out = [0u8; UNIT_SIZE];
        out[..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    pub(crate) fn decode(raw: &[u8]) -> CqUnit {
        let mut off = [0u8; 8];
        let mut size = [0u8; 4];
        let mut tags = [0u8; 8];
        off.copy_from_slice(&raw[..8]);
        size.copy_from_slice(&raw[8..12]);
        tags.copy_from_slice(&raw[12..20]);
        CqUnit {
            commit_log_offset: i64::from_be_bytes(off),
            size: i32::from_be_bytes(size),
            tags_code: i64::from_be_bytes(tags),
        }
    }

    /// The pre-blank filler `(0, Integer.MAX_VALUE, 0)`.
    pub fn is_blank(&self) -> bool {
        self.size == BLANK_UNIT_SIZE && self.commit_log_offset == 0
    }

    /// What Java's CQ recovery accepts as a written unit.
    pub(crate) fn is_written(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }
}

/// One consume queue.
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    files: MappedFileQueue,
    min_offset: AtomicI64,
}

impl ConsumeQueue {
    /// Loads (or creates) `<cq_root>/<topic>/<queue_id>/`. `file_size` must be a multiple of 20.
    pub fn load(
        cq_root: &Path,
        topic: &str,
        queue_id: i32,
        file_size: usize,
    ) -> Result<Self, StoreError> {
        if file_size == 0 || !file_size.is_multiple_of(UNIT_SIZE) {
            return Err(StoreError::InvalidArgument(format!(
                "consume queue file size {file_size} is not a multiple of {UNIT_SIZE}"
            )));
        }
        let dir = cq_root.join(topic).join(queue_id.to_string());
        let files = MappedFileQueue::load(&dir, file_size)?.without_dir_sync();
        let min = files.min_offset() / UNIT_SIZE as u64;
        Ok(ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            files,
            min_offset: AtomicI64::new(min as i64),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Next logical offset to be written (exclusive maximum).
    pub fn max_offset(&self) -> i64 {
        (self.files.max_offset() / UNIT_SIZE as u64) as i64
    }

    /// First readable logical offset.
    pub fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    fn locate(&self, offset: i64) -> Option<(Arc<MappedFile>, usize)> {
        let byte = u64::try_from(offset).ok()?.checked_mul(UNIT_SIZE as u64)?;
        let file = self.files.find(byte)?;
        let pos = (byte - file.from_offset()) as usize;
        Some((file, pos))
    }

    /// The unit at `offset`, if written.
    pub fn unit(&self, offset: i64) -> Option<CqUnit> {
        let (file, pos) = self.locate(offset)?;
        file.slice(pos, UNIT_SIZE).map(CqUnit::decode)
    }

    /// Up to `max` consecutive units from `offset`, all from the file holding `offset` (like Java's
    /// `getIndexBuffer`). `None` when `offset` is not written or its file is gone.
    pub fn units_from(&self, offset: i64, max: usize) -> Option<Vec<CqUnit>> {
        let (file, pos) = self.locate(offset)?;
        let available = (file.wrote_position().checked_sub(pos)? / UNIT_SIZE).min(max);
        if available == 0 {
            return None;
        }
        let raw = file.slice(pos, available * UNIT_SIZE)?;
        Some(raw.chunks_exact(UNIT_SIZE).map(CqUnit::decode).collect())
    }

    /// First logical offset of the file after the one holding `offset` (`rollNextFile`).
    pub fn next_file_offset(&self, offset: i64) -> i64 {
        let per_file = (self.files.file_size() / UNIT_SIZE) as i64;
        offset + per_file - offset.rem_euclid(per_file)
    }

    /// Makes sure the file the next unit goes into exists, so that [`append`](Self::append), under the put
    /// lock, finds it. Safe without the put lock: the file queue serializes creation itself.
    pub fn prepare_next_file(&self) -> Result<(), StoreError> {
        let byte = self.max_offset().max(0) as u64 * UNIT_SIZE as u64;
        self.writable(byte - byte % self.files.file_size() as u64)?;
        Ok(())
    }

    /// Whether the file the next unit goes into exists (then [`prepare_next_file`](Self::prepare_next_file)
    /// would touch no file): one lookup, for callers that move file creation off a latency-sensitive thread.
    pub fn next_file_ready(&self) -> bool {
        self.files.last().is_some_and(|f| !f.is_full())
    }

    /// The file queue's writable file. A file it has to create is sparse past its write position, so read-around
    /// is turned off for it (see [`MappedFile::advise_read_around`]: the first unit of a new queue otherwise makes
    /// the kernel zero-fill the whole read-ahead window) and back on for the file it follows, now full. Either
    /// advice failing only costs speed.
    fn writable(&self, first_file: u64) -> Result<Arc<MappedFile>, StoreError> {
        if let Some(last) = self.files.last() {
            if !last.is_full() {
                return Ok(last);
            }
        }
        let previous = self.files.last();
        let file = self.files.writable(first_file)?;
        if let Err(e) = file.advise_read_around(false) {
            tracing::debug!(path = %file.path().display(), error = %e, "madvise(MADV_RANDOM) failed");
        }
        if let Some(previous) = previous.filter(|p| p.from_offset() != file.from_offset()) {
            let _ = previous.advise_read_around(true);
        }
        Ok(file)
    }

    /// Writes `unit` at logical `offset`. An offset below the maximum is already written and is skipped
    /// (re-dispatch); an offset above it is preceded by blank units, as Java does for a recreated queue.
    /// The caller serializes appends (the store's put lock).
    pub fn append(&self, offset: i64, unit: CqUnit) -> Result<(), StoreError> {
        let max = self.max_offset();
        if offset < max {
            return Ok(());
        }
        let was_empty = self.files.is_empty();
        let unit_bytes = UNIT_SIZE as u64;
        let byte = offset as u64 * unit_bytes;
        let first_file = byte - byte % self.files.file_size() as u64;
        if offset > max && !self.files.is_empty() {
            tracing::warn!(topic = %self.topic, queue_id = self.queue_id, offset, max, "consume queue gap, filling");
        }
        let blank = CqUnit {
            commit_log_offset: 0,
            size: BLANK_UNIT_SIZE,
            tags_code: 0,
        };
        loop {
            let file = self.writable(first_file)?;
            let at = file.from_offset() + file.wrote_position() as u64;
            let (data, done) = if at >= byte {
                (unit.encode(), true)
            } else {
                (blank.encode(), false)
            };
            if file.append(&data).is_none() {
                return Err(StoreError::Corrupt {
                    path: file.path().to_path_buf(),
                    reason: "consume queue file not unit aligned".into(),
                });
            }
            if done {
                if was_empty {
                    self.min_offset.store(offset, Ordering::Release);
                }
                return Ok(());
            }
        }
    }

    /// Bytes of this queue known to be on disk.
    #[cfg(test)]
    pub(crate) fn flushed_offset(&self) -> u64 {
        self.files.flushed_offset()
    }

    /// Flushes files with at least `least_pages` dirty pages; every dirty byte when 0.
    pub fn flush(&self, least_pages: usize) -> Result<(), StoreError> {
        self.files.flush_least(least_pages)?;
        Ok(())
    }

    /// Recovery: from the third-last file, accepts units while they are written (`offset >= 0 && size > 0`)
    /// and point below `commit_log_end`; truncates at the first that is not (Java's `recover` followed by
    /// `truncateDirtyLogicFiles`). Then computes the minimum offset from `commit_log_min`.
    pub fn recover(&mut self, commit_log_min: u64, commit_log_end: u64) -> Result<(), StoreError> {
        let files = self.files.files();
        let mut end = files.first().map_or(0, |f| f.from_offset());
        'files: for file in files.iter().skip(files.len().saturating_sub(3)) {
            end = file.from_offset();
            let raw = file.slice(0, file.wrote_position()).unwrap_or_default();
            for chunk in raw.chunks_exact(UNIT_SIZE) {
                let unit = CqUnit::decode(chunk);
                let inside = unit.is_blank()
                    || (unit.commit_log_offset as u64).saturating_add(unit.size as u64)
                        <= commit_log_end;
                if !unit.is_written() || !inside {
                    break 'files;
                }
                end += UNIT_SIZE as u64;
            }
        }
        drop(files);
        self.files.truncate(end)?;
        // The file the next units go into is sparse past `end` (see `writable`).
        if let Some(last) = self.files.last().filter(|f| !f.is_full()) {
            let _ = last.advise_read_around(false);
        }
        let min = self.first_live_offset(commit_log_min);
        *self.min_offset.get_mut() = min;
        Ok(())
    }

    /// The first unit of the first file that points into the live commit log (`correctMinOffset`).
    fn first_live_offset(&self, commit_log_min: u64) -> i64 {
        let Some(first) = self.files.files().into_iter().next() else {
            return 0;
        };
        let base = (first.from_offset() / UNIT_SIZE as u64) as i64;
        let raw = first.slice(0, first.wrote_position()).unwrap_or_default();
        let live = raw
            .chunks_exact(UNIT_SIZE)
            .map(CqUnit::decode)
            .position(|u| {
                !u.is_blank()
                    && u.commit_log_offset >= 0
                    && u.commit_log_offset as u64 >= commit_log_min
            });
        base + live.unwrap_or(raw.len() / UNIT_SIZE) as i64
    }

    // retention: start
    /// `deleteExpiredFile`: takes off the front every full file whose last unit points below `commit_log_min`
    /// (never the file being written), then moves the minimum offset to the first unit still in the log
    /// (`correctMinOffset`). Returns the removed files, oldest first, for the caller to unlink.
    pub fn remove_expired(&self, commit_log_min: u64) -> Vec<Arc<MappedFile>> {
        let min = i64::try_from(commit_log_min).unwrap_or(i64::MAX);
        let removed = self.files.remove_front(usize::MAX, |f| {
            f.is_full()
                && f.slice(f.size() - UNIT_SIZE, UNIT_SIZE)
                    .map(CqUnit::decode)
                    .is_some_and(|u| u.commit_log_offset < min)
        });
        self.correct_min_offset(commit_log_min);
        removed
    }

    /// Moves the minimum offset up to the first unit of the first file that points at or above
    /// `commit_log_min`; it never moves down, so a pull below it keeps getting OFFSET_TOO_SMALL.
    pub fn correct_min_offset(&self, commit_log_min: u64) {
        if self.files.is_empty() {
            return;
        }
        let min = self.first_live_offset(commit_log_min);
        self.min_offset.fetch_max(min, Ordering::AcqRel);
    }
    // retention: end

    /// End (offset + size) of the last real unit, i.e. how far this queue covers the commit log.
    pub fn max_physical_end(&self) -> u64 {
        let max = self.max_offset();
        let min_file = (self.files.min_offset() / UNIT_SIZE as u64) as i64;
        (min_file..max)
            .rev()
            .filter_map(|o| self.unit(o))
            .find(|u| !u.is_blank())
            .map_or(0, |u| u.commit_log_offset as u64 + u.size as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(off: i64) -> CqUnit {
        CqUnit {
            commit_log_offset: off,
            size: 100,
            tags_code: -5,
        }
    }

    #[test]
    fn append_read_roll_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::load(dir.path(), "T", 1, 60).unwrap();
        for i in 0..7 {
            cq.append(i, unit(i * 100)).unwrap();
        }
        cq.append(3, unit(999)).unwrap(); // already written: skipped
        assert_eq!(cq.max_offset(), 7);
        assert_eq!(cq.unit(3), Some(unit(300)));
        assert_eq!(cq.units_from(1, 10).unwrap(), vec![unit(100), unit(200)]);
        assert_eq!(cq.next_file_offset(4), 6);
        assert_eq!(cq.max_physical_end(), 700);
        let files: Vec<_> = std::fs::read_dir(dir.path().join("T/1")).unwrap().collect();
        assert_eq!(files.len(), 3);
        drop(cq);
        let mut cq = ConsumeQueue::load(dir.path(), "T", 1, 60).unwrap();
        cq.recover(0, 450).unwrap();
        assert_eq!(cq.max_offset(), 4, "units ending past 450 are dropped");
        let raw = std::fs::read(dir.path().join("T/1/00000000000000000060")).unwrap();
        assert_eq!(&raw[..20], &unit(300).encode());
        assert_eq!(&raw[20..], &[0u8; 40]);
    }

    /// The `VmFlags` of this process's mapping of `path` (`rr`: MADV_RANDOM, no read-around on faults).
    fn vm_flags(path: &Path) -> Vec<String> {
        let path = std::fs::canonicalize(path).unwrap();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut lines = smaps.lines();
        while let Some(line) = lines.next() {
            if !line.ends_with(path.to_str().unwrap()) {
                continue;
            }
            let flags = lines.find_map(|l| l.strip_prefix("VmFlags:")).unwrap();
            return flags.split_whitespace().map(String::from).collect();
        }
        panic!("{} is not mapped", path.display());
    }

    #[test]
    fn only_the_file_being_filled_is_read_without_read_around() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| dir.path().join("T/0").join(name);
        let random = |name: &str| vm_flags(&file(name)).contains(&"rr".to_string());
        let cq = ConsumeQueue::load(dir.path(), "T", 0, 60).unwrap();
        cq.prepare_next_file().unwrap();
        assert!(random("00000000000000000000"), "a new, sparse file");
        for i in 0..4 {
            cq.append(i, unit(i * 100)).unwrap();
        }
        assert!(!random("00000000000000000000"), "full: read-ahead is back");
        assert!(random("00000000000000000060"));
        drop(cq);
        let mut cq = ConsumeQueue::load(dir.path(), "T", 0, 60).unwrap();
        cq.recover(0, 1000).unwrap();
        assert!(
            random("00000000000000000060"),
            "still being filled after a restart"
        );
        assert!(!random("00000000000000000000"));
    }

    #[test]
    fn new_queue_at_nonzero_offset_is_pre_blanked() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::load(dir.path(), "T", 0, 60).unwrap();
        cq.append(4, unit(7)).unwrap();
        assert_eq!(cq.max_offset(), 5);
        assert!(cq.unit(3).unwrap().is_blank());
        assert_eq!(cq.min_offset(), 4);
        let mut cq = ConsumeQueue::load(dir.path(), "T", 0, 60).unwrap();
        cq.recover(0, 1000).unwrap();
        assert_eq!(cq.min_offset(), 4);
        assert_eq!(cq.max_physical_end(), 107);
    }
}
