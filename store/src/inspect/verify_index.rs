//! The index pass: `index/<yyyyMMddHHmmssSSS>` hash files (layout in `index::file`). Checks the header against
//! the entries, every slot's head entry hashing to that slot, every chain link staying in its slot and pointing
//! back, and every entry pointing at a record that carries a key (`UNIQ_KEY` or a `KEYS` token) with that hash.

use std::path::{Path, PathBuf};

use super::fault::{Fault, FaultKind, Report};
use super::log::CommitLogFiles;
use super::verify::Progress;
use super::{io_error, map, IndexDims, InspectError};
use crate::index::{self, key_hash, record_keys, ENTRY_SIZE, HEADER_SIZE, SLOT_SIZE};
use crate::mapped_file::ReadOnlyMap;

/// One index file mapped read-only, decoded on demand.
pub(crate) struct IndexView {
    map: ReadOnlyMap,
    dims: IndexDims,
}

/// An entry: `keyHash | phyOffset | timeDiff | prevIndex`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEntry {
    pub key_hash: i32,
    pub phy_offset: i64,
    pub time_diff_s: i32,
    pub prev_index: i32,
}

impl IndexView {
    /// Maps `path` if its size matches `dims`.
    pub fn open(path: &Path, dims: IndexDims) -> Result<Result<Self, FaultKind>, InspectError> {
        let map = map(path)?;
        let expected = index::file_size(dims.slots, dims.entries);
        if map.bytes().len() as u64 != expected || dims.slots == 0 {
            return Ok(Err(FaultKind::IndexHeader(format!(
                "file is {} bytes, {expected} expected for {} slots and {} entries (maxHashSlotNum, maxIndexNum)",
                map.bytes().len(),
                dims.slots,
                dims.entries
            ))));
        }
        Ok(Ok(IndexView { map, dims }))
    }

    fn i32_at(&self, pos: usize) -> i32 {
        let b = &self.map.bytes()[pos..pos + 4];
        i32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    fn i64_at(&self, pos: usize) -> i64 {
        (i64::from(self.i32_at(pos)) << 32) | i64::from(self.i32_at(pos + 4) as u32)
    }

    pub fn begin_phy_offset(&self) -> i64 {
        self.i64_at(16)
    }

    pub fn end_phy_offset(&self) -> i64 {
        self.i64_at(24)
    }

    pub fn end_timestamp(&self) -> i64 {
        self.i64_at(8)
    }

    pub fn hash_slot_count(&self) -> i32 {
        self.i32_at(32)
    }

    /// The raw `indexCount` word (`IndexHeader.load` reads a value <= 0 as 1).
    pub fn index_count(&self) -> i32 {
        self.i32_at(36).max(1)
    }

    pub fn slot_of(&self, hash: i32) -> u32 {
        hash.unsigned_abs() % self.dims.slots
    }

    pub fn slot_head(&self, slot: u32) -> i32 {
        self.i32_at(HEADER_SIZE + slot as usize * SLOT_SIZE)
    }

    /// Entry `n`, which must be below `dims.entries`.
    pub fn entry(&self, n: u32) -> RawEntry {
        let pos = HEADER_SIZE + self.dims.slots as usize * SLOT_SIZE + n as usize * ENTRY_SIZE;
        RawEntry {
            key_hash: self.i32_at(pos),
            phy_offset: self.i64_at(pos + 4),
            time_diff_s: self.i32_at(pos + 12),
            prev_index: self.i32_at(pos + 16),
        }
    }

    /// Number of written entries (entry 0 is never used), bounded by the file.
    pub fn written_entries(&self) -> u32 {
        (self.index_count() as u32).min(self.dims.entries)
    }
}

/// The index files, oldest first (their names are creation times, `yyyyMMddHHmmssSSS`).
pub(crate) fn index_files(root: &Path) -> Result<Vec<PathBuf>, InspectError> {
    let dir = root.join("index");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
        let entry = entry.map_err(io_error(&dir))?;
        let name = entry.file_name();
        if name.len() == 17
            && name
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn walk(
    root: &Path,
    log: &CommitLogFiles,
    dims: IndexDims,
    report: &mut Report,
    progress: &mut Progress<'_>,
) -> Result<i64, InspectError> {
    let files = index_files(root)?;
    let mut newest_end_timestamp = 0;
    for (i, path) in files.iter().enumerate() {
        let fault = |pos: usize, kind: FaultKind| Fault {
            path: path.clone(),
            pos: pos as u64,
            log_offset: None,
            kind,
        };
        match IndexView::open(path, dims)? {
            Err(kind) => report.fault(fault(0, kind)),
            Ok(view) => {
                newest_end_timestamp = newest_end_timestamp.max(view.end_timestamp());
                for (pos, kind) in check_file(&view, log, report) {
                    report.fault(fault(pos, kind));
                }
            }
        }
        report.summary.index_files += 1;
        progress("index files", i as u64 + 1, files.len() as u64);
    }
    Ok(newest_end_timestamp)
}

fn check_file(
    view: &IndexView,
    log: &CommitLogFiles,
    report: &mut Report,
) -> Vec<(usize, FaultKind)> {
    let mut faults = Vec::new();
    let raw_count = view.i32_at(36);
    if i64::from(raw_count) > i64::from(view.dims.entries) {
        let reason = format!(
            "indexCount {raw_count} exceeds maxIndexNum {}",
            view.dims.entries
        );
        faults.push((36, FaultKind::IndexHeader(reason)));
    }
    let count = view.written_entries();
    if count > 1 && view.begin_phy_offset() > view.end_phy_offset() {
        let reason = format!(
            "beginPhyOffset {} after endPhyOffset {}",
            view.begin_phy_offset(),
            view.end_phy_offset()
        );
        faults.push((16, FaultKind::IndexHeader(reason)));
    }
    check_slots(view, count, &mut faults);
    for n in 1..count {
        if let Some(reason) = check_entry(view, n, log, report) {
            let pos = HEADER_SIZE + view.dims.slots as usize * SLOT_SIZE + n as usize * ENTRY_SIZE;
            faults.push((pos, FaultKind::IndexEntry { entry: n, reason }));
        }
    }
    report.summary.index_entries += u64::from(count.saturating_sub(1));
    faults
}

/// Each non-empty slot names a written entry whose hash falls in the slot; `hashSlotCount` counts them.
fn check_slots(view: &IndexView, count: u32, faults: &mut Vec<(usize, FaultKind)>) {
    let mut used = 0u64;
    for slot in 0..view.dims.slots {
        let head = view.slot_head(slot);
        if head == 0 {
            continue;
        }
        used += 1;
        let pos = HEADER_SIZE + slot as usize * SLOT_SIZE;
        let reason = match u32::try_from(head) {
            Ok(n) if n < count => {
                let hash = view.entry(n).key_hash;
                (view.slot_of(hash) != slot)
                    .then(|| format!("head entry {n} has hash {hash} of another slot"))
            }
            _ => Some(format!(
                "head entry {head} is not a written entry (indexCount {count})"
            )),
        };
        if let Some(reason) = reason {
            faults.push((pos, FaultKind::IndexSlot { slot, reason }));
        }
    }
    if used != u64::from(view.hash_slot_count().max(0) as u32) {
        let reason = format!(
            "hashSlotCount {} but {used} slots are in use",
            view.hash_slot_count()
        );
        faults.push((32, FaultKind::IndexHeader(reason)));
    }
}

fn check_entry(
    view: &IndexView,
    n: u32,
    log: &CommitLogFiles,
    report: &mut Report,
) -> Option<String> {
    let entry = view.entry(n);
    if entry.key_hash < 0 || entry.time_diff_s < 0 {
        return Some(format!("negative key hash or time diff: {entry:?}"));
    }
    if entry.prev_index < 0 || entry.prev_index as u32 >= n {
        return Some(format!(
            "chain link {} does not point back",
            entry.prev_index
        ));
    }
    if entry.prev_index > 0 {
        let prev_hash = view.entry(entry.prev_index as u32).key_hash;
        if view.slot_of(prev_hash) != view.slot_of(entry.key_hash) {
            return Some(format!("chain link {} leaves the slot", entry.prev_index));
        }
    }
    let offset = u64::try_from(entry.phy_offset).ok()?;
    if offset < log.min_offset() {
        report.summary.index_entries_expired += 1;
        return None;
    }
    let record = match log.record_at(offset) {
        Ok(record) => record,
        Err(kind) => return Some(format!("points at commit-log offset {offset}: {kind}")),
    };
    let carries = record_keys(&record.properties, record.sys_flag)
        .any(|key| key_hash(&index::index_key(&record.topic, key)) == entry.key_hash);
    (!carries).then(|| {
        format!(
            "the record at commit-log offset {offset} carries no key with hash {}",
            entry.key_hash
        )
    })
}
