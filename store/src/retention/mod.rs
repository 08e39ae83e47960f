//! Retention: deleting old commit-log files, then the consume-queue and index files that only point into them,
//! and refusing puts while the disk is full (Java `CleanCommitLogService` / `CleanConsumeQueueService`).
//!
//! Every `cleanResourceInterval` (10 s) the `rmq-store-clean` thread runs one pass:
//! 1. **Disk usage** of the store's filesystem is probed ([`DiskUsageProbe`]). Above
//!    `diskSpaceWarningLevelRatio` (90 %) puts fail with [`StoreError::DiskFull`] until a later pass sees usage
//!    back at or below it.
//! 2. **Commit log.** At the local hours in `deleteWhen` ("04"), or at any hour when usage is above
//!    `diskMaxUsedSpaceRatio` (75 %), the oldest files whose mtime is more than `fileReservedTime` (72 h) ago are
//!    deleted, oldest first, stopping at the first younger one. Above `diskSpaceCleanForciblyRatio` (85 %) age is
//!    ignored. At most `deleteFileBatchMax` (10) files per pass, and never the file being written.
//! 3. **Consume queues and index.** When the commit log's minimum offset moved, each queue deletes its full files
//!    whose last unit points below it and moves its minimum offset to its first live unit (`correctMinOffset`),
//!    so a pull below it answers OFFSET_TOO_SMALL / PULL_OFFSET_MOVED with the new minimum; index files whose
//!    entries all point below it go too.
//!
//! Readers are never broken by a deletion: a file leaves its queue's list first (lookups below the new minimum
//! then find nothing), and every reader that already holds the file or a zero-copy view of it owns an `Arc` of
//! the mapping, which stays valid after the unlink until the last view drops (the disk space is freed then).
//! Files are unlinked oldest first, each followed by a directory fsync, so a crash midway leaves a contiguous
//! queue that the next open loads and the next pass deletes again. A file whose unlink fails is logged and left
//! on disk for the next start; its data is already out of reach.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::background::{BackgroundThread, StopSignal};
use crate::error::StoreError;
use crate::mapped_file::{disk_used_ratio, local_time, MappedFile};
use crate::message_store::{Inner, StoreConfig};

/// Puts refused for a full disk log a line at most this often.
const DISK_FULL_LOG_INTERVAL_MS: i64 = 10_000;

type ProbeFn = dyn Fn(&Path) -> io::Result<f64> + Send + Sync;

/// Measures the used fraction (0.0..=1.0) of the filesystem holding a path. The default asks the kernel
/// (`statvfs`); tests inject a closure so they need no full disk.
#[derive(Clone)]
pub struct DiskUsageProbe(Arc<ProbeFn>);

impl DiskUsageProbe {
    pub fn new(probe: impl Fn(&Path) -> io::Result<f64> + Send + Sync + 'static) -> Self {
        DiskUsageProbe(Arc::new(probe))
    }

    /// The kernel's numbers, rounded up to a whole percent like Java.
    pub fn statvfs() -> Self {
        Self::new(disk_used_ratio)
    }

    pub fn used_ratio(&self, path: &Path) -> io::Result<f64> {
        (self.0)(path)
    }
}

impl Default for DiskUsageProbe {
    fn default() -> Self {
        Self::statvfs()
    }
}

impl fmt::Debug for DiskUsageProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DiskUsageProbe")
    }
}

/// What one cleaning pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanReport {
    /// Used fraction of the store's filesystem, `None` if the probe failed.
    pub disk_used_ratio: Option<f64>,
    pub commit_log_files: usize,
    pub consume_queue_files: usize,
    pub index_files: usize,
}

/// Why a pass runs.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// The periodic thread, at this local hour (`None` if the clock is unreadable).
    Timer { hour: Option<u32> },
    /// `MessageStore::clean_expired_now`.
    Manual { force: bool },
}

/// The decision of one pass, a pure function of configuration, disk usage and trigger ([`plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    delete_commit_log: bool,
    /// Delete the oldest files whatever their age (Java `cleanImmediately`).
    ignore_age: bool,
    disk_full: bool,
}

/// Java `diskMaxUsedSpaceRatio` is clamped to 10..=95 by its getter.
fn max_used_ratio(config: &StoreConfig) -> f64 {
    f64::from(config.disk_max_used_space_ratio.clamp(10, 95)) / 100.0
}

/// `UtilAll.isItTimeToDo`: whether `hour` is one of the `;`-separated hours of `delete_when`. Tokens that are
/// not numbers never match (Java throws and skips the pass).
fn is_delete_hour(delete_when: &str, hour: u32) -> bool {
    delete_when
        .split(';')
        .filter_map(|w| w.trim().parse::<u32>().ok())
        .any(|h| h == hour)
}

fn plan(config: &StoreConfig, used: Option<f64>, trigger: Trigger) -> Plan {
    let pct = |p: u32| f64::from(p) / 100.0;
    let warn = pct(config.disk_space_warning_level_ratio);
    let forcibly = pct(config.disk_space_clean_forcibly_ratio);
    // A failed probe counts as "maybe full" for cleaning (Java's -1 ratio), but does not stop puts.
    let space_to_delete = used.is_none_or(|u| u > max_used_ratio(config));
    let over = |limit: f64| used.is_some_and(|u| u > limit);
    let (time_up, forced) = match trigger {
        Trigger::Timer { hour } => (
            hour.is_some_and(|h| is_delete_hour(&config.delete_when, h)),
            false,
        ),
        Trigger::Manual { force } => (true, force),
    };
    Plan {
        delete_commit_log: time_up || space_to_delete,
        ignore_age: forced || over(forcibly) || over(warn),
        disk_full: over(warn),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn mtime_ms(file: &MappedFile) -> Option<i64> {
    let modified = std::fs::metadata(file.path()).ok()?.modified().ok()?;
    Some(modified.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// Unlinks files taken off a queue, oldest first, pausing `pause` between two (Java
/// `deleteCommitLogFilesInterval`: freeing a 1 GiB file's blocks is real I/O). Returns how many are gone.
fn unlink_all(files: &[Arc<MappedFile>], pause: Duration) -> usize {
    let mut gone = 0;
    for (i, file) in files.iter().enumerate() {
        if i > 0 && !pause.is_zero() {
            std::thread::sleep(pause);
        }
        match unlink(file.path()) {
            Ok(()) => gone += 1,
            Err(e) => {
                tracing::error!(path = %file.path().display(), error = %e, "deleting an expired store file failed; it stays until the next start");
            }
        }
    }
    gone
}

/// Removes `path` and fsyncs its directory, so an older file never outlives a newer one's removal on disk.
fn unlink(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Retention state shared by the store (put check, manual trigger) and the cleaner thread.
#[derive(Debug, Default)]
pub(crate) struct Retention {
    /// Set while usage is above `diskSpaceWarningLevelRatio`; puts fail meanwhile.
    disk_full: AtomicBool,
    /// Usage seen by the last probe, in whole percent (for the error and the log).
    used_percent: AtomicU32,
    /// When a refused put last logged, to log at most every [`DISK_FULL_LOG_INTERVAL_MS`].
    last_refusal_log_ms: AtomicI64,
    /// Serializes passes (the thread and manual triggers); holds the commit-log minimum offset the queues and
    /// the index were last cleaned to (Java `lastPhysicalMinOffset`).
    pass: Mutex<u64>,
}

impl Retention {
    /// `Err(DiskFull)` while the disk is full; logs the refusal, rate-limited.
    pub(crate) fn check_writable(&self, config: &StoreConfig) -> Result<(), StoreError> {
        if !self.disk_full.load(Ordering::Acquire) {
            return Ok(());
        }
        let used_percent = self.used_percent.load(Ordering::Relaxed);
        let limit_percent = config.disk_space_warning_level_ratio;
        let now = now_ms();
        let last = self.last_refusal_log_ms.load(Ordering::Relaxed);
        if now - last >= DISK_FULL_LOG_INTERVAL_MS
            && self
                .last_refusal_log_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                used_percent,
                limit_percent,
                root = %config.root_dir.display(),
                "disk full: refusing puts (SERVICE_NOT_AVAILABLE) until usage is back under the limit"
            );
        }
        Err(StoreError::DiskFull {
            used_percent,
            limit_percent,
        })
    }

    pub(crate) fn is_disk_full(&self) -> bool {
        self.disk_full.load(Ordering::Acquire)
    }

    /// Probes the disk and sets or clears the disk-full state. Returns the used fraction.
    fn probe(&self, config: &StoreConfig) -> Option<f64> {
        // Java's `diskMaxUsedSpaceRatio` applies to the commit log's disk (`storePathCommitLog`).
        let used = match config.disk_usage.used_ratio(&config.commit_log_dir()) {
            Ok(used) => Some(used),
            Err(e) => {
                tracing::warn!(root = %config.root_dir.display(), error = %e, "measuring disk usage failed");
                None
            }
        };
        let full = plan(config, used, Trigger::Manual { force: false }).disk_full;
        let used_percent = used.map_or(0, |u| (u * 100.0).ceil().clamp(0.0, 100.0) as u32);
        self.used_percent.store(used_percent, Ordering::Relaxed);
        let was_full = self.disk_full.swap(full, Ordering::AcqRel);
        match (was_full, full) {
            (false, true) => tracing::error!(
                used_percent,
                limit_percent = config.disk_space_warning_level_ratio,
                root = %config.root_dir.display(),
                "disk almost full: puts are refused until usage drops"
            ),
            (true, false) => tracing::info!(
                used_percent,
                "disk usage back under the limit: puts accepted again"
            ),
            _ => {}
        }
        used
    }

    fn pass(&self, inner: &Inner, trigger: Trigger) -> CleanReport {
        let mut cleaned_to = self.pass.lock();
        let config = inner.config();
        let used = self.probe(config);
        let plan = plan(config, used, trigger);
        let mut report = CleanReport {
            disk_used_ratio: used,
            ..CleanReport::default()
        };
        if plan.delete_commit_log {
            report.commit_log_files = delete_commit_log_files(inner, plan, used);
        }
        let min = inner.commit_log().min_offset();
        if min > *cleaned_to {
            report.consume_queue_files = inner
                .queues_snapshot()
                .iter()
                .map(|q| unlink_all(&q.remove_expired(min), Duration::ZERO))
                .sum();
            report.index_files = match inner.index().delete_expired(min as i64) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "deleting expired index files failed");
                    0
                }
            };
            *cleaned_to = min;
            tracing::info!(
                commit_log_min_offset = min,
                consume_queue_files = report.consume_queue_files,
                index_files = report.index_files,
                "cleaned consume queues and index below the commit log"
            );
        }
        report
    }
}

fn delete_commit_log_files(inner: &Inner, plan: Plan, used: Option<f64>) -> usize {
    let config = inner.config();
    let reserved_ms = i64::try_from(config.file_reserved_time_hours)
        .unwrap_or(i64::MAX / 3_600_000)
        .saturating_mul(3_600_000);
    let now = now_ms();
    let removed = inner
        .commit_log()
        .remove_expired(config.delete_file_batch_max, |f| {
            plan.ignore_age || mtime_ms(f).is_some_and(|m| now >= m.saturating_add(reserved_ms))
        });
    if removed.is_empty() {
        if used.is_none_or(|u| u > max_used_ratio(config)) {
            tracing::warn!(
                ?used,
                "disk space will be full soon, but no commit log file could be deleted"
            );
        }
        return 0;
    }
    tracing::info!(
        files = removed.len(),
        ignore_age = plan.ignore_age,
        file_reserved_time_hours = config.file_reserved_time_hours,
        new_min_offset = inner.commit_log().min_offset(),
        "deleting expired commit log files"
    );
    unlink_all(
        &removed,
        Duration::from_millis(config.delete_commit_log_files_interval_ms),
    )
}

/// The `rmq-store-clean` thread and the state it shares with the store.
pub(crate) struct Cleaner {
    pub(crate) retention: Arc<Retention>,
    thread: BackgroundThread,
}

impl Cleaner {
    /// Probes the disk once (a store opened on a full disk refuses puts at once) and starts the thread.
    pub(crate) fn start(inner: &Arc<Inner>) -> Result<Self, StoreError> {
        let retention = Arc::new(Retention::default());
        retention.probe(inner.config());
        let thread = {
            let (inner, retention) = (Arc::clone(inner), Arc::clone(&retention));
            BackgroundThread::spawn("rmq-store-clean", move |stop| {
                clean_loop(&inner, &retention, stop)
            })?
        };
        Ok(Cleaner { retention, thread })
    }

    /// One pass now, outside the `deleteWhen` hours; `force` also ignores file age.
    pub(crate) fn clean_now(&self, inner: &Inner, force: bool) -> CleanReport {
        self.retention.pass(inner, Trigger::Manual { force })
    }

    /// Stops and joins the thread (waits for a pass in progress). Idempotent; dropping does the same.
    pub(crate) fn stop(&self) {
        self.thread.stop();
    }

    #[cfg(test)]
    pub(crate) fn thread(&self) -> &BackgroundThread {
        &self.thread
    }
}

fn clean_loop(inner: &Inner, retention: &Retention, stop: &StopSignal) {
    let interval = Duration::from_millis(inner.config().clean_resource_interval_ms.max(1));
    while !stop.sleep(interval) {
        let secs = now_ms().div_euclid(1000);
        let hour = local_time(secs).map(|t| t.hour);
        retention.pass(inner, Trigger::Timer { hour });
    }
}

#[cfg(test)]
mod tests;
