//! Offline inspection of a store directory written by the Java broker or rmqd, while no broker runs on it:
//! `rmqd store verify` ([`verify`]) and `rmqd store dump` ([`dump`]). Everything here only reads: files are
//! opened read-only and mapped `PROT_READ` ([`ReadOnlyMap`]), one file at a time where possible, so memory stays
//! bounded by the page cache whatever the store's size, and bad bytes become [`Fault`]s, never panics.
//!
//! Layout:
//! - [`files`]: numbered files (`commitlog/`, `consumequeue/<topic>/<queue>/`) listed and checked for gaps.
//! - [`log`]: the commit log mapped read-only, and reading one record by offset with Java's acceptance rules.
//! - [`verify_log`], [`verify_cq`], [`verify_index`], [`verify_checkpoint`]: the passes of [`verify`].
//! - [`dump`]: messages by commit-log offset, by queue offset range, or by key through the index files.
//! - [`fault`]: what a pass reports.

mod dump;
mod fault;
mod files;
mod log;
mod verify;
mod verify_checkpoint;
mod verify_cq;
mod verify_index;
mod verify_log;

#[cfg(test)]
mod tests;

pub use dump::{dump, DumpItem, Selection};
pub use fault::{Fault, FaultKind, Report, Summary};
pub use log::CommitLogFiles;
pub use verify::{verify, Progress, VerifyOptions};

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::mapped_file::{lock_holder, ReadOnlyMap};

/// Why an inspection could not run at all (faults in the data are [`Fault`]s instead).
#[derive(Debug, Error)]
pub enum InspectError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0} is not a store directory (no commitlog/ in it)")]
    NotAStore(PathBuf),
    #[error("invalid selection: {0}")]
    InvalidSelection(String),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> InspectError + '_ {
    move |source| InspectError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Index file dimensions (`maxHashSlotNum`, `maxIndexNum`): the files do not record them, and the file size
/// alone is ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDims {
    pub slots: u32,
    pub entries: u32,
}

impl Default for IndexDims {
    /// Java's defaults (`MessageStoreConfig`): 5,000,000 slots, 20,000,000 entries.
    fn default() -> Self {
        IndexDims {
            slots: 5_000_000,
            entries: 20_000_000,
        }
    }
}

/// The process holding `<root>/lock` (a running Java broker or rmqd: both take `fcntl` `F_SETLK` on byte 0 of it,
/// Java through `FileChannel.tryLock(0, 1, false)`), `None` when the file is missing or unlocked.
pub fn lock_holder_pid(root: &Path) -> Result<Option<i32>, InspectError> {
    let path = root.join("lock");
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path)(e)),
    };
    lock_holder(&file).map_err(io_error(&path))
}

/// `<root>/abort` exists: the broker that wrote the store did not shut down cleanly (or is running).
pub fn abort_file_present(root: &Path) -> bool {
    root.join("abort").exists()
}

pub(crate) fn map(path: &Path) -> Result<ReadOnlyMap, InspectError> {
    ReadOnlyMap::open(path).map_err(io_error(path))
}
