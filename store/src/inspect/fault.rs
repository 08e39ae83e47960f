//! What `verify` reports: faults (the store breaks the format), notes (worth knowing, not wrong) and a summary.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// One place where the store breaks the format Java's broker writes and reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub path: PathBuf,
    /// Byte position inside `path`.
    pub pos: u64,
    /// For commit-log faults, the global commit-log offset of `pos`.
    pub log_offset: Option<u64>,
    pub kind: FaultKind,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.path.display(), self.pos)?;
        if let Some(offset) = self.log_offset {
            write!(f, " (commit-log offset {offset})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// The fault itself; the text names the Java rule that is broken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FaultKind {
    /// `checkMessageAndReturnSize` with `checkCRC`: CRC32 of the body differs from BODYCRC.
    #[error("body CRC mismatch: BODYCRC {stored}, body hashes to {computed}")]
    BodyCrc { stored: i32, computed: i32 },
    #[error("illegal magic code {0:#010x}")]
    BadMagic(i32),
    /// TOTALSIZE disagrees with the length formula, a negative topic length, fields past TOTALSIZE.
    #[error("bad record layout: {0}")]
    BadRecord(String),
    #[error(
        "record of TOTALSIZE {total_size} crosses the end of its file ({remaining} bytes left)"
    )]
    CrossesFileEnd { total_size: i64, remaining: u64 },
    #[error("PHYSICALOFFSET {stored} is not the record's position")]
    PhysicalOffset { stored: i64 },
    #[error("BLANK record declares {declared} bytes but {remaining} are left in the file")]
    BlankSize { declared: i32, remaining: u64 },
    #[error("file ends without a BLANK record but more files follow")]
    MissingBlank,
    #[error("{topic}/{queue_id}: QUEUEOFFSET {found}, expected {expected}")]
    QueueOffset {
        topic: String,
        queue_id: i32,
        found: i64,
        expected: i64,
    },
    #[error("negative QUEUEID {0}")]
    NegativeQueueId(i32),
    /// Files of one directory differ in size, are not a multiple of the unit, or a name breaks the sequence.
    #[error("file layout: {0}")]
    FileLayout(String),
    #[error("consume-queue unit {unit_offset}: {reason}")]
    CqUnit { unit_offset: i64, reason: String },
    #[error("index header: {0}")]
    IndexHeader(String),
    #[error("index slot {slot}: {reason}")]
    IndexSlot { slot: u32, reason: String },
    #[error("index entry {entry}: {reason}")]
    IndexEntry { entry: u32, reason: String },
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("cannot read: {0}")]
    Unreadable(String),
}

/// Counts for the summary line of a clean (or not) store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub commit_log_files: u64,
    /// Message records walked.
    pub records: u64,
    /// Bytes of message records (BLANK fillers not counted).
    pub record_bytes: u64,
    /// First and end commit-log offset of the walk.
    pub log_min_offset: u64,
    pub log_end_offset: u64,
    pub topics: u64,
    pub queues: u64,
    pub cq_files: u64,
    pub cq_units: u64,
    /// Units pointing below the commit log's first file (expired, not yet cleaned).
    pub cq_units_expired: u64,
    pub index_files: u64,
    pub index_entries: u64,
    pub index_entries_expired: u64,
}

/// Everything `verify` found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The first faults, at most `VerifyOptions::max_faults`.
    pub faults: Vec<Fault>,
    /// Faults found beyond that limit.
    pub faults_not_kept: u64,
    pub notes: Vec<String>,
    pub summary: Summary,
    pub(crate) max_faults: usize,
}

impl Report {
    pub(crate) fn new(max_faults: usize) -> Self {
        Report {
            max_faults,
            ..Report::default()
        }
    }

    pub fn is_clean(&self) -> bool {
        self.faults.is_empty() && self.faults_not_kept == 0
    }

    pub fn fault_count(&self) -> u64 {
        self.faults.len() as u64 + self.faults_not_kept
    }

    pub(crate) fn fault(&mut self, fault: Fault) {
        if self.faults.len() < self.max_faults {
            self.faults.push(fault);
        } else {
            self.faults_not_kept += 1;
        }
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}
