//! `rmqd store dump`: messages chosen by commit-log offset, by queue offset range, or by key through the index
//! files, handed to a visitor one at a time (nothing is collected, so a huge range needs no memory).

use std::path::{Path, PathBuf};

use rmq_codec::message::{RecordPeek, StoredMessage};

use super::fault::{Fault, FaultKind};
use super::files::list;
use super::log::{check_layout, content_fault, crc_fault, CommitLogFiles};
use super::verify_index::{index_files, IndexView};
use super::{map, IndexDims, InspectError};
use crate::consume_queue::{CqUnit, UNIT_SIZE};
use crate::index::{index_key, key_hash, record_keys};

/// Which messages to dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `count` records from the record at commit-log offset `offset`, stepping over BLANK fillers.
    Offset { offset: u64, count: u64 },
    /// Queue offsets `from..to` (`to` exclusive; `None` = to the end of the queue) of one queue.
    Queue {
        topic: String,
        queue_id: i32,
        from: i64,
        to: Option<i64>,
    },
    /// At most `max` records of `topic` carrying `key` as `UNIQ_KEY` or a `KEYS` token, found through the index
    /// files (`topic#key`), in commit-log order.
    Key {
        topic: String,
        key: String,
        max: usize,
    },
}

/// One dumped record, or why a selected position holds none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpItem {
    Message {
        message: StoredMessage,
        store_size: usize,
        /// The body matches BODYCRC (an empty body always does, as in Java).
        crc_ok: bool,
    },
    Fault(Fault),
}

/// Most index entries followed for one key; more than the records a key query returns, for hash collisions.
const MAX_KEY_CANDIDATES: usize = 4096;

pub fn dump(
    root: &Path,
    selection: &Selection,
    index: IndexDims,
    visit: &mut dyn FnMut(DumpItem),
) -> Result<(), InspectError> {
    let (log, _) = CommitLogFiles::open(root)?;
    match selection {
        Selection::Offset { offset, count } => by_offset(&log, *offset, *count, visit),
        Selection::Queue {
            topic,
            queue_id,
            from,
            to,
        } => by_queue(root, &log, topic, *queue_id, (*from, *to), visit),
        Selection::Key { topic, key, max } => by_key(root, &log, index, (topic, key), *max, visit),
    }
}

fn log_fault(path: PathBuf, pos: usize, offset: u64, kind: FaultKind) -> DumpItem {
    DumpItem::Fault(Fault {
        path,
        pos: pos as u64,
        log_offset: Some(offset),
        kind,
    })
}

/// The record at `offset` as an item; `Ok(None)` at a BLANK or the end of the written data, whose next record
/// (if any) starts at the returned offset.
fn item_at(log: &CommitLogFiles, offset: u64) -> Result<DumpItem, Option<u64>> {
    let Some((file, pos)) = log.locate(offset) else {
        return Err(None);
    };
    let rest = &file.bytes()[pos..];
    if rest.len() < 8 || rest[..8] == [0u8; 8] {
        return Err(None);
    }
    let path = file.path().to_path_buf();
    let view = match check_layout(rest) {
        Ok(RecordPeek::Blank { .. }) => return Err(Some(file.end())),
        Ok(RecordPeek::Message(view)) => view,
        Err(kind) => return Ok(log_fault(path, pos, offset, kind)),
    };
    let crc_ok = crc_fault(&view).is_none();
    match content_fault(&view, offset) {
        Some(kind @ FaultKind::PhysicalOffset { .. }) => Ok(log_fault(path, pos, offset, kind)),
        _ => Ok(match StoredMessage::decode(rest) {
            Ok(message) => DumpItem::Message {
                message,
                store_size: view.total_size,
                crc_ok,
            },
            Err(e) => log_fault(path, pos, offset, FaultKind::BadRecord(e.to_string())),
        }),
    }
}

fn by_offset(
    log: &CommitLogFiles,
    mut offset: u64,
    count: u64,
    visit: &mut dyn FnMut(DumpItem),
) -> Result<(), InspectError> {
    if log.locate(offset).is_none() {
        return Err(InspectError::InvalidSelection(format!(
            "offset {offset} is in no commit-log file (the files cover {}..{})",
            log.min_offset(),
            log.files_end()
        )));
    }
    let mut dumped = 0;
    while dumped < count {
        match item_at(log, offset) {
            Ok(item @ DumpItem::Message { store_size, .. }) => {
                visit(item);
                offset += store_size as u64;
                dumped += 1;
            }
            Ok(fault) => {
                visit(fault);
                return Ok(());
            }
            Err(Some(next)) => offset = next,
            Err(None) => return Ok(()),
        }
    }
    Ok(())
}

fn by_queue(
    root: &Path,
    log: &CommitLogFiles,
    topic: &str,
    queue_id: i32,
    (from, to): (i64, Option<i64>),
    visit: &mut dyn FnMut(DumpItem),
) -> Result<(), InspectError> {
    let dir = root
        .join("consumequeue")
        .join(topic)
        .join(queue_id.to_string());
    if !dir.is_dir() {
        return Err(InspectError::InvalidSelection(format!(
            "no consume queue {topic}/{queue_id}"
        )));
    }
    let files = list(&dir, UNIT_SIZE as u64, &mut Vec::new())?;
    let first = u64::try_from(from.max(0)).unwrap_or(0) * UNIT_SIZE as u64;
    let end = to.map_or(u64::MAX, |to| {
        u64::try_from(to.max(0))
            .unwrap_or(0)
            .saturating_mul(UNIT_SIZE as u64)
    });
    for file in files
        .iter()
        .filter(|f| f.start + f.len > first && f.start < end)
    {
        let mapped = map(&file.path)?;
        let from_pos = first.saturating_sub(file.start) as usize;
        let to_pos = (end.saturating_sub(file.start)).min(file.len) as usize;
        for raw in mapped.bytes()[from_pos..to_pos].chunks_exact(UNIT_SIZE) {
            let unit = CqUnit::decode(raw);
            if !unit.is_written() {
                return Ok(());
            }
            if unit.is_blank() {
                continue;
            }
            if let Ok(item) = item_at(log, unit.commit_log_offset as u64) {
                visit(item);
            }
        }
    }
    Ok(())
}

fn by_key(
    root: &Path,
    log: &CommitLogFiles,
    dims: IndexDims,
    (topic, key): (&str, &str),
    max: usize,
    visit: &mut dyn FnMut(DumpItem),
) -> Result<(), InspectError> {
    let hash = key_hash(&index_key(topic, key));
    let mut offsets = Vec::new();
    for path in index_files(root)?.iter().rev() {
        let view = match IndexView::open(path, dims)? {
            Ok(view) => view,
            Err(kind) => {
                visit(DumpItem::Fault(Fault {
                    path: path.clone(),
                    pos: 0,
                    log_offset: None,
                    kind,
                }));
                continue;
            }
        };
        chain_offsets(&view, hash, &mut offsets);
        if offsets.len() >= MAX_KEY_CANDIDATES {
            break;
        }
    }
    offsets.sort_unstable();
    offsets.dedup();
    let mut dumped = 0;
    for offset in offsets {
        if dumped >= max {
            break;
        }
        let Ok(item) = item_at(log, offset) else {
            continue;
        };
        if let DumpItem::Message { message, .. } = &item {
            let carries = record_keys(&message.properties, message.sys_flag).any(|k| k == key);
            if message.topic != topic || !carries {
                continue; // another key with the same hash
            }
        }
        visit(item);
        dumped += 1;
    }
    Ok(())
}

/// The offsets of the entries with `hash` on its slot's chain, newest first. The chain must strictly descend,
/// so a corrupt file cannot make the walk loop.
fn chain_offsets(view: &IndexView, hash: i32, out: &mut Vec<u64>) {
    let count = view.written_entries();
    let mut n = view.slot_head(view.slot_of(hash));
    while n > 0 && (n as u32) < count && out.len() < MAX_KEY_CANDIDATES {
        let entry = view.entry(n as u32);
        if entry.key_hash == hash {
            if let Ok(offset) = u64::try_from(entry.phy_offset) {
                out.push(offset);
            }
        }
        if entry.prev_index >= n {
            break;
        }
        n = entry.prev_index;
    }
}
