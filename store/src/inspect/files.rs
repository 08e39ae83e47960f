//! Numbered files: `commitlog/` and each `consumequeue/<topic>/<queue>/` hold fixed-size files named by the
//! 20-digit offset of their first byte (`UtilAll.offset2FileName`). Java loads them in name order and expects
//! each to start where the previous one ends; the first ones may be gone (retention).

use std::path::{Path, PathBuf};

use super::fault::{Fault, FaultKind};
use super::{io_error, InspectError};

/// One file of a numbered sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NumberedFile {
    pub path: PathBuf,
    /// The offset its name gives.
    pub start: u64,
    pub len: u64,
}

/// The 20-digit files of `dir` in offset order, and the faults of their sequence: sizes differing from the
/// first file's, sizes not a multiple of `unit`, names that do not continue the previous file. Other names are
/// ignored, as Java's `MappedFileQueue.load` would choke on them only if they were numeric.
pub(crate) fn list(
    dir: &Path,
    unit: u64,
    faults: &mut Vec<Fault>,
) -> Result<Vec<NumberedFile>, InspectError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let Some(start) = name
            .to_str()
            .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let len = entry.metadata().map_err(io_error(&path))?.len();
        files.push(NumberedFile { path, start, len });
    }
    files.sort_by_key(|f| f.start);
    check_sequence(&files, unit, faults);
    Ok(files)
}

fn check_sequence(files: &[NumberedFile], unit: u64, faults: &mut Vec<Fault>) {
    let Some(first) = files.first() else { return };
    let layout = |file: &NumberedFile, reason: String| Fault {
        path: file.path.clone(),
        pos: 0,
        log_offset: None,
        kind: FaultKind::FileLayout(reason),
    };
    if first.len == 0 || first.len % unit != 0 {
        faults.push(layout(
            first,
            format!("size {} is not a positive multiple of {unit}", first.len),
        ));
    }
    for pair in files.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        if next.len != first.len {
            faults.push(layout(
                next,
                format!(
                    "size {} differs from the first file's {}",
                    next.len, first.len
                ),
            ));
        }
        if prev.start.checked_add(prev.len) != Some(next.start) {
            faults.push(layout(
                next,
                format!(
                    "starts at {} but the previous file ends at {}",
                    next.start,
                    prev.start.saturating_add(prev.len)
                ),
            ));
        }
    }
}
