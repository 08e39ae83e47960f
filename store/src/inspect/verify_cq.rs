//! The consume-queue pass: `consumequeue/<topic>/<queueId>/`, 20-byte units `commitLogOffset | size | tagsCode`.
//! Unit `n` must point at a record of that topic and queue, of that size, carrying queue offset `n`, with the
//! tags code Java's dispatcher computes; units are written back to back from the first file on, and a zero unit
//! ends the queue (Java's `ConsumeQueue.recover` stops at the first unit with offset < 0 or size <= 0).

use std::collections::HashSet;
use std::path::Path;

use rmq_codec::message::RecordView;

use super::fault::{Fault, FaultKind, Report};
use super::files::{list, NumberedFile};
use super::log::CommitLogFiles;
use super::verify::Progress;
use super::verify_log::LogFacts;
use super::{io_error, map, InspectError};
use crate::consume_queue::{CqUnit, UNIT_SIZE};
use crate::message_store::{dispatch_tags_code, SCHEDULE_TOPIC, TIMER_TOPIC};

/// `ConsumeQueueExt.isExtAddr`: tags codes below this are addresses into the `consumequeue_ext` files.
const MAX_EXT_ADDR: i64 = i32::MIN as i64 - 1;

/// One queue's walk state.
struct QueueWalk<'a> {
    topic: &'a str,
    queue_id: i32,
    /// Commit-log offset of the previous unit; units point at increasing offsets.
    prev_log_offset: i64,
    /// Set at the first unwritten unit; a written unit after it is a hole in the queue.
    ended_at: Option<i64>,
    units: u64,
    /// End of the commit log's valid data: a unit at or past it points at a record recovery would cut.
    log_end: u64,
}

pub(crate) fn walk(
    root: &Path,
    log: &CommitLogFiles,
    facts: &LogFacts,
    delay_levels_ms: &[i64],
    report: &mut Report,
    progress: &mut Progress<'_>,
) -> Result<(), InspectError> {
    let cq_root = root.join("consumequeue");
    if !cq_root.is_dir() {
        report.note("no consumequeue/ directory");
        return Ok(());
    }
    let topics = sorted_dirs(&cq_root)?;
    let mut seen = HashSet::new();
    for (i, (topic, topic_dir)) in topics.iter().enumerate() {
        for (queue, queue_dir) in sorted_dirs(topic_dir)? {
            let Ok(queue_id) = queue.parse::<i32>() else {
                report.note(format!("{}: not a queue directory", queue_dir.display()));
                continue;
            };
            let mut faults = Vec::new();
            let files = list(&queue_dir, UNIT_SIZE as u64, &mut faults)?;
            faults.into_iter().for_each(|f| report.fault(f));
            let mut q = QueueWalk {
                topic,
                queue_id,
                prev_log_offset: -1,
                ended_at: None,
                units: 0,
                log_end: facts.end_offset,
            };
            for file in &files {
                walk_file(file, &mut q, log, delay_levels_ms, report)?;
            }
            report.summary.cq_files += files.len() as u64;
            report.summary.cq_units += q.units;
            let end = files
                .last()
                .map_or(0, |f| (f.start + f.len) / UNIT_SIZE as u64) as i64;
            note_undispatched(&q, q.ended_at.unwrap_or(end), facts, report);
            seen.insert((topic.as_str(), queue_id));
        }
        progress("consume queues", i as u64 + 1, topics.len() as u64);
    }
    note_queues_without_files(facts, &seen, report);
    Ok(())
}

/// Queues with records in the commit log but no consume-queue directory (never dispatched, or deleted).
fn note_queues_without_files(facts: &LogFacts, seen: &HashSet<(&str, i32)>, report: &mut Report) {
    let mut missing: Vec<_> = facts
        .queues
        .iter()
        .flat_map(|(topic, queues)| queues.keys().map(move |q| (topic.as_str(), *q)))
        .filter(|key| !seen.contains(key))
        .collect();
    missing.sort_unstable();
    for (topic, queue_id) in missing {
        report.note(format!(
            "{topic}/{queue_id}: records in the commit log but no consume queue"
        ));
    }
}

/// The subdirectories of `dir`, by name.
fn sorted_dirs(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, InspectError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        if entry.file_type().map_err(io_error(dir))?.is_dir() {
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// A queue whose consume queue ends before the commit log's last record of it: Java and rmqd dispatch those
/// records at the next start (the commit log is the truth), so this is worth a note, not a fault.
fn note_undispatched(q: &QueueWalk<'_>, cq_end: i64, facts: &LogFacts, report: &mut Report) {
    let log_next = facts
        .queues
        .get(q.topic)
        .and_then(|queues| queues.get(&q.queue_id))
        .map(|t| t.next_offset);
    if let Some(next) = log_next.filter(|next| *next > cq_end) {
        report.note(format!(
            "{}/{}: consume queue ends at {cq_end}, the commit log has records up to queue offset {} \
             (dispatched at the next broker start)",
            q.topic,
            q.queue_id,
            next - 1
        ));
    }
}

fn walk_file(
    file: &NumberedFile,
    q: &mut QueueWalk<'_>,
    log: &CommitLogFiles,
    delay_levels_ms: &[i64],
    report: &mut Report,
) -> Result<(), InspectError> {
    let mapped = map(&file.path)?;
    for (i, raw) in mapped.bytes().chunks_exact(UNIT_SIZE).enumerate() {
        let pos = i * UNIT_SIZE;
        let unit_offset = ((file.start + pos as u64) / UNIT_SIZE as u64) as i64;
        let unit = CqUnit::decode(raw);
        let fault = |reason: String| Fault {
            path: file.path.clone(),
            pos: pos as u64,
            log_offset: None,
            kind: FaultKind::CqUnit {
                unit_offset,
                reason,
            },
        };
        if !unit.is_written() {
            if raw.iter().any(|b| *b != 0) {
                report.fault(fault(format!("not a unit: {unit:?}")));
            }
            q.ended_at.get_or_insert(unit_offset);
            continue;
        }
        if let Some(end) = q.ended_at {
            report.fault(fault(format!(
                "written unit after the queue ended at unit {end}"
            )));
            continue;
        }
        q.units += 1;
        if unit.is_blank() {
            continue;
        }
        if unit.commit_log_offset <= q.prev_log_offset {
            report.fault(fault(format!(
                "commit-log offset {} not after the previous unit's {}",
                unit.commit_log_offset, q.prev_log_offset
            )));
        }
        q.prev_log_offset = unit.commit_log_offset;
        if let Some(reason) = check_unit(&unit, unit_offset, q, log, delay_levels_ms, report) {
            report.fault(fault(reason));
        }
    }
    Ok(())
}

/// The record a unit points at, compared with the unit.
fn check_unit(
    unit: &CqUnit,
    unit_offset: i64,
    q: &QueueWalk<'_>,
    log: &CommitLogFiles,
    delay_levels_ms: &[i64],
    report: &mut Report,
) -> Option<String> {
    let offset = unit.commit_log_offset as u64;
    if offset < log.min_offset() {
        report.summary.cq_units_expired += 1;
        return None;
    }
    let view = match log.record_at(offset) {
        Ok(view) => view,
        Err(kind) => return Some(format!("points at commit-log offset {offset}: {kind}")),
    };
    if offset >= q.log_end {
        return Some(format!(
            "points at commit-log offset {offset}, after the end of the log's valid data at {}",
            q.log_end
        ));
    }
    let mut wrong = Vec::new();
    if view.total_size as i64 != i64::from(unit.size) {
        wrong.push(format!(
            "size {} but the record's TOTALSIZE is {}",
            unit.size, view.total_size
        ));
    }
    if view.topic != q.topic || view.queue_id != q.queue_id {
        wrong.push(format!(
            "record belongs to {}/{}",
            view.topic, view.queue_id
        ));
    }
    if view.queue_offset != unit_offset {
        wrong.push(format!("record's QUEUEOFFSET is {}", view.queue_offset));
    }
    if let Some(expected) = expected_tags_code(&view, unit.tags_code, delay_levels_ms) {
        wrong.push(format!(
            "tags code {} but the record's tags give {expected}",
            unit.tags_code
        ));
    }
    (!wrong.is_empty()).then(|| format!("commit-log offset {offset}: {}", wrong.join("; ")))
}

/// The tags code the dispatcher computes, when it differs from `found`. Not checked where it depends on broker
/// settings or kind: delay and timer queues (delivery times from `messageDelayLevel`; rmqd writes the timer
/// deadline where Java writes the TAGS hash) and `consumequeue_ext` addresses.
fn expected_tags_code(view: &RecordView<'_>, found: i64, delay_levels_ms: &[i64]) -> Option<i64> {
    if view.topic == SCHEDULE_TOPIC || view.topic == TIMER_TOPIC || found <= MAX_EXT_ADDR {
        return None;
    }
    let expected = dispatch_tags_code(view, delay_levels_ms);
    (expected != found).then_some(expected)
}
