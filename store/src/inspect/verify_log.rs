//! The commit-log pass: every record from the first file to the end of the written data, checked like Java's
//! recovery (`CommitLog.checkMessageAndReturnSize` with CRC), plus what recovery takes on trust: PHYSICALOFFSET,
//! the BLANK filler's size, records never crossing a file end, and queue offsets counting up per queue.

use std::collections::HashMap;

use rmq_codec::message::{properties, sys_flag, RecordPeek, RecordView};

use super::fault::{Fault, FaultKind, Report};
use super::log::{check_layout, content_fault, CommitLogFiles, LogFile};
use super::verify::Progress;
use crate::mapped_file::data_extents;

/// `MessageConst.PROPERTY_INNER_NUM`: messages in a 5.x inner batch record, which take that many queue offsets.
const INNER_NUM: &str = "INNER_NUM";

/// How often a walk through one file reports progress.
const PROGRESS_EVERY_BYTES: usize = 16 << 20;

/// Per queue: the queue offset the next record must carry.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueueTrack {
    pub next_offset: i64,
    pub records: u64,
    /// Records of unknown queues were skipped since this queue's last record (a file's rest after a record
    /// without a usable length), so its next queue offset is unknown.
    pub after_gap: bool,
}

/// What the other passes need from the walk.
#[derive(Debug, Default)]
pub(crate) struct LogFacts {
    /// End of the written data (where the next record would go).
    pub end_offset: u64,
    pub newest_store_timestamp: i64,
    pub queues: HashMap<String, HashMap<i32, QueueTrack>>,
}

pub(crate) fn walk(
    log: &CommitLogFiles,
    report: &mut Report,
    progress: &mut Progress<'_>,
) -> LogFacts {
    let mut facts = LogFacts {
        end_offset: log.min_offset(),
        ..LogFacts::default()
    };
    let total: u64 = log.files().iter().map(|f| f.bytes().len() as u64).sum();
    let mut done = 0;
    let files = log.files();
    for (i, file) in files.iter().enumerate() {
        let is_last = i + 1 == files.len();
        let mut at = |pos: usize| progress("commit log", done + pos as u64, total);
        if let Some(end) = walk_file(file, is_last, &mut facts, report, &mut at) {
            facts.end_offset = end;
            note_bytes_after_end(file, end, report);
        }
        done += file.bytes().len() as u64;
        progress("commit log", done, total);
    }
    report.summary.commit_log_files = files.len() as u64;
    report.summary.log_min_offset = log.min_offset();
    report.summary.log_end_offset = facts.end_offset;
    facts
}

/// Non-zero bytes after the end of the data in the last file: a torn write, bytes left by an earlier
/// truncation (Java's recovery moves its write position without zeroing), or records after a zeroed one that
/// recovery would drop (then consume-queue units pointing at them are faults). Only the file's data extents
/// are read, so the sparse rest of a preallocated file costs nothing.
fn note_bytes_after_end(file: &LogFile, end: u64, report: &mut Report) {
    let bytes = file.bytes();
    let from = end - file.start;
    let extents = data_extents(file.path(), from, bytes.len() as u64)
        .unwrap_or_else(|_| vec![(from, bytes.len() as u64)]);
    let first_non_zero = extents.into_iter().find_map(|(start, stop)| {
        let range = usize::try_from(start).ok()?..usize::try_from(stop).ok()?.min(bytes.len());
        let at = bytes.get(range)?.iter().position(|b| *b != 0)?;
        Some(start + at as u64)
    });
    if let Some(at) = first_non_zero {
        report.note(format!(
            "{}: non-zero bytes at byte {at}, after the end of the log's data at byte {from}",
            file.path().display()
        ));
    }
}

fn fault(file: &LogFile, pos: usize, kind: FaultKind) -> Fault {
    Fault {
        path: file.path().to_path_buf(),
        pos: pos as u64,
        log_offset: Some(file.start + pos as u64),
        kind,
    }
}

/// Walks one file; returns the end of the written data when the file is the last one, else `None`. After a
/// record without a usable length the rest of the file cannot be walked; the next file starts afresh.
fn walk_file(
    file: &LogFile,
    is_last: bool,
    facts: &mut LogFacts,
    report: &mut Report,
    at: &mut dyn FnMut(usize),
) -> Option<u64> {
    let bytes = file.bytes();
    let mut pos = 0usize;
    let mut reported = 0usize;
    loop {
        if pos - reported >= PROGRESS_EVERY_BYTES {
            at(pos);
            reported = pos;
        }
        let rest = &bytes[pos..];
        let never_written = rest.len() < 8 || rest[..8] == [0u8; 8];
        if never_written {
            // Java's recovery stops at TOTALSIZE 0: the end of the data, which only the last file may have.
            if !is_last {
                report.fault(fault(file, pos, FaultKind::MissingBlank));
            }
            return is_last.then_some(file.start + pos as u64);
        }
        let view = match check_layout(rest) {
            Ok(RecordPeek::Message(view)) => view,
            Ok(RecordPeek::Blank { declared_size }) => {
                if usize::try_from(declared_size).ok() != Some(rest.len()) {
                    let kind = FaultKind::BlankSize {
                        declared: declared_size,
                        remaining: rest.len() as u64,
                    };
                    report.fault(fault(file, pos, kind));
                }
                return is_last.then_some(file.start + pos as u64);
            }
            Err(kind) => {
                report.fault(fault(file, pos, kind));
                let tracks = facts.queues.values_mut().flat_map(|q| q.values_mut());
                tracks.for_each(|t| t.after_gap = true);
                return is_last.then_some(file.start + pos as u64);
            }
        };
        let offset = file.start + pos as u64;
        if let Some(kind) = content_fault(&view, offset) {
            report.fault(fault(file, pos, kind));
        }
        if let Some(kind) = check_queue_offset(&view, facts) {
            report.fault(fault(file, pos, kind));
        }
        report.summary.records += 1;
        report.summary.record_bytes += view.total_size as u64;
        facts.newest_store_timestamp = facts.newest_store_timestamp.max(view.store_timestamp);
        pos += view.total_size;
    }
}

/// Queue offsets of a queue count up by one per message in commit-log order (Java assigns them under the put
/// lock). PREPARED and ROLLBACK records take none. A queue seen for the first time may start anywhere (older
/// files expired, or records were skipped after a broken one); a restart at 0 is a deleted and recreated topic.
fn check_queue_offset(view: &RecordView<'_>, facts: &mut LogFacts) -> Option<FaultKind> {
    if view.queue_id < 0 {
        return Some(FaultKind::NegativeQueueId(view.queue_id));
    }
    if !sys_flag::is_dispatched(view.sys_flag) {
        return None;
    }
    let messages = if view.sys_flag & sys_flag::INNER_BATCH != 0 {
        properties::get(&view.properties, INNER_NUM)
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1)
    } else {
        1
    };
    let topic: &str = &view.topic;
    if !facts.queues.contains_key(topic) {
        facts.queues.insert(topic.to_owned(), HashMap::new());
    }
    let queues = facts.queues.get_mut(topic)?;
    let first = !queues.contains_key(&view.queue_id);
    let track = queues.entry(view.queue_id).or_default();
    let expected = track.next_offset;
    track.next_offset = view.queue_offset.saturating_add(messages);
    track.records += 1;
    let fine = first || track.after_gap || view.queue_offset == expected || view.queue_offset == 0;
    track.after_gap = false;
    (!fine).then(|| FaultKind::QueueOffset {
        topic: topic.to_owned(),
        queue_id: view.queue_id,
        found: view.queue_offset,
        expected,
    })
}
