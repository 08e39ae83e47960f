//! `rmqd store verify`: the passes in order (commit log, consume queues, index files, checkpoint), each reading
//! one file at a time, and the report.

use std::path::Path;

use super::fault::Report;
use super::log::CommitLogFiles;
use super::{abort_file_present, verify_checkpoint, verify_cq, verify_index, verify_log};
use super::{IndexDims, InspectError};
use crate::message_store::DEFAULT_DELAY_LEVELS_MS;

/// Progress of a pass: `(pass, done, total)` in the pass's unit (bytes for the commit log, files otherwise).
pub type Progress<'a> = dyn FnMut(&'static str, u64, u64) + 'a;

/// Settings the store's files do not record.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub index: IndexDims,
    /// `messageDelayLevel` in ms (tags codes of the delay queues are delivery times).
    pub delay_levels_ms: Vec<i64>,
    /// Faults kept in the report; the rest are only counted.
    pub max_faults: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            index: IndexDims::default(),
            delay_levels_ms: DEFAULT_DELAY_LEVELS_MS.to_vec(),
            max_faults: 1000,
        }
    }
}

/// Checks the store at `root`. Errors only when it cannot be read at all; everything wrong with the data is in
/// the report.
pub fn verify(
    root: &Path,
    options: &VerifyOptions,
    progress: &mut Progress<'_>,
) -> Result<Report, InspectError> {
    let mut report = Report::new(options.max_faults);
    if abort_file_present(root) {
        report.note(
            "abort file present: the broker that wrote this store did not shut down cleanly \
             (its next start recovers the tail of the commit log and rebuilds the queues)",
        );
    }
    let (log, faults) = CommitLogFiles::open(root)?;
    faults.into_iter().for_each(|f| report.fault(f));
    let facts = verify_log::walk(&log, &mut report, progress);
    report.summary.topics = facts.queues.len() as u64;
    report.summary.queues = facts.queues.values().map(|q| q.len() as u64).sum();
    verify_cq::walk(
        root,
        &log,
        &facts,
        &options.delay_levels_ms,
        &mut report,
        progress,
    )?;
    let newest_index = verify_index::walk(root, &log, options.index, &mut report, progress)?;
    verify_checkpoint::check(
        root,
        facts.newest_store_timestamp,
        newest_index,
        &mut report,
    )?;
    Ok(report)
}
