//! The commit-log half of recovery: where the scan starts, where the valid log ends, and whether the bytes after
//! that end are a torn tail (cut them) or corruption (refuse to open).
//!
//! A *valid record* is one `CommitLog::walk` accepts: known magic, TOTALSIZE equal to the length formula, body CRC,
//! and PHYSICALOFFSET equal to its own position. The last check makes a stray match inside other bytes (a body
//! that happens to contain a record) practically impossible, so a valid record after the end means records were
//! lost in the middle of the log, not at its tail.

use std::path::PathBuf;
use std::sync::Arc;

use rmq_codec::message::{peek_record, RecordPeek, MAGIC_V1};

use crate::commit_log::CommitLog;
use crate::mapped_file::{data_extents, MappedFile};

/// Java's `recoverNormally` and `recoverAbnormally` (4.x) both check at most the last three files.
const FILES_SCANNED: usize = 3;

/// The first three bytes of both record magics (V1 `DAA320A7`, V2 `DAA320AB`), at byte 4 of a record.
const MAGIC_PREFIX: [u8; 3] = {
    let b = MAGIC_V1.to_be_bytes();
    [b[0], b[1], b[2]]
};

/// Block size for skipping the zeroed, never-written rest of a preallocated file.
const ZERO_BLOCK: usize = 64;

/// Result of the forward scan.
#[derive(Debug, Clone, Copy)]
pub(super) struct LogEnd {
    /// File start the scan began at.
    pub scanned_from: u64,
    /// End of the last valid record: where the log continues.
    pub end: u64,
    /// Store timestamp of the last valid record scanned (0 if none).
    pub last_store_timestamp: i64,
    /// Records checked (CRC included).
    pub records: u64,
}

/// A valid record found after the end of the valid log.
#[derive(Debug, Clone)]
pub(super) struct StrayRecord {
    pub offset: u64,
    pub store_timestamp: i64,
    pub path: PathBuf,
}

/// Where the scan starts. After an abnormal exit, the start of the third-last file, like Java. After a clean
/// exit every record was flushed and dispatched before the abort file was removed, so, like Java 5.x
/// (`dispatchFromPhyOffset`), the scan starts at the file holding the end of the last record the consume queues
/// cover (`covered_end`), never earlier than the third-last file: usually only the last file is read.
pub(super) fn scan_start(commit_log: &CommitLog, clean_exit: bool, covered_end: u64) -> u64 {
    let files = commit_log.mapped_files();
    let (Some(first), Some(last)) = (files.first(), files.last()) else {
        return 0;
    };
    let third_last = files[files.len().saturating_sub(FILES_SCANNED)].from_offset();
    if !clean_exit {
        return third_last;
    }
    let file_size = commit_log.file_size() as u64;
    let holding = covered_end
        .checked_sub(first.from_offset())
        .map_or(first.from_offset(), |d| {
            first.from_offset() + d / file_size * file_size
        })
        .min(last.from_offset());
    holding.max(third_last)
}

/// Walks the log from `from` to the first record that is not valid.
pub(super) fn scan(commit_log: &CommitLog, from: u64) -> LogEnd {
    let mut last_store_timestamp = 0;
    let mut records = 0u64;
    let end = commit_log.walk(from, &mut |_, view| {
        last_store_timestamp = view.store_timestamp;
        records += 1;
    });
    LogEnd {
        scanned_from: from,
        end,
        last_store_timestamp,
        records,
    }
}

/// The first valid record at or after `end` in the file holding `end` and every later file.
pub(super) fn find_record_after(commit_log: &CommitLog, end: u64) -> Option<StrayRecord> {
    commit_log.mapped_files().iter().find_map(|file| {
        let file_end = file.from_offset() + file.size() as u64;
        if file_end <= end {
            return None;
        }
        let from = usize::try_from(end.saturating_sub(file.from_offset())).ok()?;
        find_in_file(file, from)
    })
}

fn find_in_file(file: &Arc<MappedFile>, from: usize) -> Option<StrayRecord> {
    let buf = file.slice(0, file.wrote_position())?;
    // A valid record was written whole, so it lies inside one data extent: holes need no reading.
    let extents = data_extents(file.path(), from as u64, buf.len() as u64).unwrap_or_else(|e| {
        tracing::warn!(path = %file.path().display(), error = %e, "no hole map, scanning the whole tail");
        vec![(from as u64, buf.len() as u64)]
    });
    extents.into_iter().find_map(|(start, end)| {
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        find_in_range(buf, start.max(from), end, file)
    })
}

/// Tries every record start in `[from, to)` of `buf` (the whole file).
fn find_in_range(buf: &[u8], from: usize, to: usize, file: &MappedFile) -> Option<StrayRecord> {
    let base = file.from_offset();
    let mut pos = from;
    while pos < to && pos + 8 <= buf.len() {
        if pos.is_multiple_of(ZERO_BLOCK) && pos + ZERO_BLOCK <= to {
            // OR-fold instead of `all`: no early exit, so it vectorizes; zeros are most of a tail.
            if buf[pos..pos + ZERO_BLOCK].iter().fold(0u8, |a, b| a | b) == 0 {
                pos += ZERO_BLOCK;
                continue;
            }
        }
        if buf[pos + 4..pos + 7] == MAGIC_PREFIX {
            if let Ok(RecordPeek::Message(view)) = peek_record(&buf[pos..]) {
                if view.body_crc_matches() && view.commit_log_offset == (base + pos as u64) as i64 {
                    return Some(StrayRecord {
                        offset: base + pos as u64,
                        store_timestamp: view.store_timestamp,
                        path: file.path().to_path_buf(),
                    });
                }
            }
        }
        pos += 1;
    }
    None
}

/// Why the record at `offset` was rejected, for the error message.
pub(super) fn describe_invalid(commit_log: &CommitLog, offset: u64) -> (PathBuf, u64, String) {
    let files = commit_log.mapped_files();
    let Some(file) = files
        .iter()
        .find(|f| f.from_offset() <= offset && offset < f.from_offset() + f.size() as u64)
    else {
        return (PathBuf::new(), offset, "beyond the last file".into());
    };
    let pos = offset - file.from_offset();
    let buf = file
        .slice(
            pos as usize,
            file.wrote_position().saturating_sub(pos as usize),
        )
        .unwrap_or_default();
    let reason = match peek_record(buf) {
        Err(e) => e.to_string(),
        Ok(RecordPeek::Blank { .. }) => "BLANK record with no next file".into(),
        Ok(RecordPeek::Message(view)) if !view.body_crc_matches() => "body CRC mismatch".into(),
        Ok(RecordPeek::Message(view)) => format!(
            "PHYSICALOFFSET {} is not the record's position",
            view.commit_log_offset
        ),
    };
    (file.path().to_path_buf(), pos, reason)
}
