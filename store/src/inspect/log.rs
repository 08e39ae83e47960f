//! The commit log mapped read-only, and one record read the way Java's `CommitLog.checkMessageAndReturnSize`
//! accepts it (the decoding itself is the codec's [`peek_record`]).

use std::path::{Path, PathBuf};

use rmq_codec::message::{crc32_masked, peek_record, RecordPeek, RecordView, MAGIC_V1, MAGIC_V2};

use super::fault::{Fault, FaultKind};
use super::files::{list, NumberedFile};
use super::{map, InspectError};
use crate::mapped_file::ReadOnlyMap;

/// One commit-log file.
#[derive(Debug)]
pub struct LogFile {
    pub start: u64,
    map: ReadOnlyMap,
}

impl LogFile {
    pub fn path(&self) -> &Path {
        self.map.path()
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.bytes()
    }

    pub fn end(&self) -> u64 {
        self.start + self.bytes().len() as u64
    }
}

/// `<root>/commitlog/`, every file mapped read-only.
#[derive(Debug)]
pub struct CommitLogFiles {
    dir: PathBuf,
    files: Vec<LogFile>,
}

impl CommitLogFiles {
    /// Maps the files of `<root>/commitlog`; the faults are those of the file sequence (sizes, gaps).
    pub fn open(root: &Path) -> Result<(Self, Vec<Fault>), InspectError> {
        let dir = root.join("commitlog");
        if !dir.is_dir() {
            return Err(InspectError::NotAStore(root.to_path_buf()));
        }
        let mut faults = Vec::new();
        let listed = list(&dir, 1, &mut faults)?;
        let files = listed
            .into_iter()
            .map(|NumberedFile { path, start, .. }| {
                Ok(LogFile {
                    start,
                    map: map(&path)?,
                })
            })
            .collect::<Result<Vec<_>, InspectError>>()?;
        Ok((CommitLogFiles { dir, files }, faults))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn files(&self) -> &[LogFile] {
        &self.files
    }

    /// First offset still on disk (0 without files).
    pub fn min_offset(&self) -> u64 {
        self.files.first().map_or(0, |f| f.start)
    }

    /// End of the last file (not of the written data).
    pub fn files_end(&self) -> u64 {
        self.files.last().map_or(0, LogFile::end)
    }

    /// The file holding `offset` and the position in it.
    pub fn locate(&self, offset: u64) -> Option<(&LogFile, usize)> {
        let i = self
            .files
            .partition_point(|f| f.start <= offset)
            .checked_sub(1)?;
        let file = &self.files[i];
        let pos = usize::try_from(offset - file.start).ok()?;
        (pos < file.bytes().len()).then_some((file, pos))
    }

    /// The message record at `offset`: [`check_layout`] and PHYSICALOFFSET, not the body CRC (the commit-log
    /// pass reports that once; consume-queue and index checks only need the record's identity).
    pub fn record_at(&self, offset: u64) -> Result<RecordView<'_>, FaultKind> {
        let (file, pos) = self.locate(offset).ok_or_else(|| {
            FaultKind::Unreadable(format!("offset {offset} is in no commit-log file"))
        })?;
        match check_layout(&file.bytes()[pos..])? {
            RecordPeek::Message(view) if view.commit_log_offset != offset as i64 => {
                Err(FaultKind::PhysicalOffset {
                    stored: view.commit_log_offset,
                })
            }
            RecordPeek::Message(view) => Ok(view),
            RecordPeek::Blank { .. } => Err(FaultKind::Unreadable(format!(
                "offset {offset} holds the BLANK end-of-file record"
            ))),
        }
    }
}

/// The record (or BLANK) at the start of `rest`, the bytes from it to its file's end: known magic, TOTALSIZE
/// equal to the length formula (`checkMessageAndReturnSize`) and inside the file. A record passing this has a
/// length, so a walk can go on after it even when [`content_fault`] finds something.
pub fn check_layout(rest: &[u8]) -> Result<RecordPeek<'_>, FaultKind> {
    if rest.len() < 8 {
        return Err(FaultKind::BadRecord(format!(
            "only {} bytes left in the file, less than a record header",
            rest.len()
        )));
    }
    let word = |i: usize| i32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    let (total_size, magic) = (word(0), word(4));
    if magic == MAGIC_V1 || magic == MAGIC_V2 {
        let fits = usize::try_from(total_size).is_ok_and(|t| t <= rest.len());
        if !fits && total_size > 0 {
            return Err(FaultKind::CrossesFileEnd {
                total_size: i64::from(total_size),
                remaining: rest.len() as u64,
            });
        }
    }
    peek_record(rest).map_err(|e| match magic {
        MAGIC_V1 | MAGIC_V2 => FaultKind::BadRecord(e.to_string()),
        other => FaultKind::BadMagic(other),
    })
}

/// PHYSICALOFFSET equal to the record's own `offset`, then the CRC check of `checkMessageAndReturnSize` (only a
/// non-empty body is checked, as Java does).
pub fn content_fault(view: &RecordView<'_>, offset: u64) -> Option<FaultKind> {
    if view.commit_log_offset != offset as i64 {
        return Some(FaultKind::PhysicalOffset {
            stored: view.commit_log_offset,
        });
    }
    crc_fault(view)
}

/// The body CRC check alone.
pub fn crc_fault(view: &RecordView<'_>) -> Option<FaultKind> {
    (!view.body_crc_matches()).then(|| FaultKind::BodyCrc {
        stored: view.body_crc,
        computed: crc32_masked(view.body),
    })
}
