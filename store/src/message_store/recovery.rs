//! Opening a store: lock, load, recover, re-dispatch.
//!
//! 1. Consume queues are loaded and their unwritten tail units dropped; the highest commit-log offset they
//!    cover tells a clean start where to begin (`log_scan::scan_start`).
//! 2. The commit log is scanned from the start of its third-last file (after a clean exit: from the file
//!    holding the end of the last dispatched record). The first record that fails the magic, TOTALSIZE
//!    formula, CRC or PHYSICALOFFSET check ends the valid log.
//! 3. What follows that end decides between two cases, as iggy's journal does (`truncate_or_fail`):
//!    - nothing valid follows (zeros, or the garbage of a torn write): a **torn tail**, cut it (zeroed in its
//!      file, later files deleted). Records there were never acknowledged under SYNC_FLUSH: a send is answered
//!      only after a flush covering it, and writes are sequential, so a torn record is the newest one.
//!    - a valid record follows, in the same file or a later one: records in the *middle* of the log are
//!      damaged, and cutting would silently drop everything after them, acknowledged messages included.
//!      Opening fails with [`StoreError::Corrupt`] naming the file, position and reason, unless
//!      `truncate_corrupt_commit_log` is set. Java truncates here without a word.
//!
//!      One benign cause exists: after an OS crash or power loss (not a process crash, where the page cache
//!      survives), the kernel may have written pages of the *unflushed* tail out of order, leaving a hole
//!      followed by an intact, never-acknowledged record. The error says whether the checkpoint proves the
//!      later record was flushed (then it is real corruption) so the operator can decide to set the flag.
//! 4. Each consume queue drops units that point at or beyond the end.
//! 5. Every valid record beyond the highest commit-log offset the queues cover is dispatched again, so a crash
//!    between a commit-log append and its unit write loses nothing. Queue offsets continue from the queues.
//! 6. The index drops files newer than the checkpoint after an abnormal exit (as Java does) and re-indexes the
//!    records after its newest entry (`Index::load`, then [`start_index_catch_up`] once the store is built: a
//!    background thread, so a large rebuild does not delay the first put).

mod log_scan;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use rmq_codec::message::{properties, sys_flag, tags_code, RecordView};

use super::durability::{self, Checkpoint, DirLock};
use super::{Inner, QueueTable, StoreConfig};
use crate::background::BackgroundThread;
use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueue, CqUnit, UNIT_SIZE};
use crate::error::StoreError;
use crate::index::Index;

/// Topic of delayed messages; its tags code is the delivery time.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Topic of 5.x timer messages (`TimerMessageStore.TIMER_TOPIC`); rmqd's tags code is the due time.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Property with a timer message's delivery time, rounded down to the timer precision.
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";

fn check_config(config: &StoreConfig) -> Result<(), StoreError> {
    let clog = config.mapped_file_size_commit_log;
    let cq = config.mapped_file_size_consume_queue;
    if clog < 1024 || clog > i32::MAX as u64 {
        return Err(StoreError::InvalidArgument(format!(
            "commit log file size {clog}"
        )));
    }
    if cq == 0 || !cq.is_multiple_of(UNIT_SIZE as u64) || cq > i32::MAX as u64 {
        return Err(StoreError::InvalidArgument(format!(
            "consume queue file size {cq}"
        )));
    }
    Ok(())
}

pub(super) fn open(config: StoreConfig) -> Result<Inner, StoreError> {
    check_config(&config)?;
    let root = config.root_dir.clone();
    std::fs::create_dir_all(&root)?;
    let lock = DirLock::acquire(&root)?;
    let clean_exit = !durability::abort_path(&root).exists();
    if !clean_exit {
        tracing::warn!(root = %root.display(), "abort file found: the last shutdown was not clean");
    }
    let checkpoint = Checkpoint::open(&root)?;
    let mut commit_log = CommitLog::open(
        &root.join("commitlog"),
        config.mapped_file_size_commit_log as usize,
    )?;
    let min = commit_log.min_offset();
    let mut queues = load_queues(&root.join("consumequeue"), &config, min)?;
    let covered = queues
        .iter()
        .map(|q| q.max_physical_end())
        .max()
        .unwrap_or(0);
    let (end, last_store_timestamp) =
        recover_commit_log(&mut commit_log, &config, &checkpoint, clean_exit, covered)?;
    let mut table: QueueTable = HashMap::new();
    for mut cq in queues.drain(..) {
        if cq.max_physical_end() > end {
            cq.recover(min, end)?;
        }
        table
            .entry(cq.topic().to_owned())
            .or_default()
            .insert(cq.queue_id(), Arc::new(cq));
    }
    let index = Index::load(
        &root.join("index"),
        config.max_hash_slot_num,
        config.max_index_num,
        config.message_index_enable,
        clean_exit,
        checkpoint.index_msg_timestamp,
        end,
    )?;
    let inner = Inner {
        config,
        commit_log,
        queues: RwLock::new(table),
        put_lock: Mutex::new(()),
        poisoned: AtomicBool::new(false),
        shut_down: AtomicBool::new(false),
        last_store_timestamp: AtomicI64::new(last_store_timestamp),
        checkpoint: Mutex::new(checkpoint),
        index,
        flush_latency_us: crate::histogram::Histogram::new(super::TIME_BOUNDS_US),
        reput_from: AtomicU64::new(end),
        _lock: lock,
    };
    redispatch(&inner)?;
    durability::create_abort(&root)?;
    Ok(inner)
}

/// Starts re-indexing the records the index files miss, if any, on its own thread (`index/catch_up.rs`).
/// Call before the store accepts puts: from here until the thread hands over, puts leave indexing to it.
/// `None` when the index files cover the whole log.
pub(super) fn start_index_catch_up(
    inner: &Arc<Inner>,
) -> Result<Option<BackgroundThread>, StoreError> {
    let Some(plan) = inner.index.begin_catch_up(&inner.commit_log) else {
        return Ok(None);
    };
    let inner = Arc::clone(inner);
    let thread = BackgroundThread::spawn("rmq-store-index-catch-up", move |stop| {
        let run = inner
            .index
            .run_catch_up(&inner.commit_log, &inner.put_lock, plan, stop);
        if let Err(e) = run {
            // Puts keep leaving the index to catch-up, so the files stay a prefix of the log; the next open
            // resumes from their end.
            tracing::error!(error = %e, "index catch-up failed; records from here are indexed at the next open");
        }
    })?;
    Ok(Some(thread))
}

/// Finds the end of the valid log, refuses to cut anything but a torn tail (module doc, step 3), truncates
/// and syncs. Returns the end and the store timestamp of the last record scanned.
fn recover_commit_log(
    commit_log: &mut CommitLog,
    config: &StoreConfig,
    checkpoint: &Checkpoint,
    clean_exit: bool,
    covered_end: u64,
) -> Result<(u64, i64), StoreError> {
    let started = Instant::now();
    let from = log_scan::scan_start(commit_log, clean_exit, covered_end);
    let scan = log_scan::scan(commit_log, from);
    if let Some(stray) = log_scan::find_record_after(commit_log, scan.end) {
        let (path, pos, reason) = log_scan::describe_invalid(commit_log, scan.end);
        let flushed = stray.store_timestamp <= checkpoint.physic_msg_timestamp;
        let detail = format!(
            "invalid record at commit-log offset {} (position {pos}: {reason}) is followed by a valid record at \
             offset {} in {} (store timestamp {}, which the checkpoint {} as flushed); cutting the log here would \
             drop it and everything after it. Inspect the file; to cut the log at {} anyway set \
             truncateCorruptCommitLog=true",
            scan.end,
            stray.offset,
            stray.path.display(),
            stray.store_timestamp,
            if flushed { "confirms" } else { "does not confirm" },
            scan.end,
        );
        if !config.truncate_corrupt_commit_log {
            return Err(StoreError::Corrupt {
                path,
                reason: detail,
            });
        }
        tracing::error!(path = %path.display(), "{detail}: truncating as configured");
    }
    commit_log.truncate_recovered(scan.end, scan.scanned_from)?;
    tracing::info!(
        clean_exit,
        from = scan.scanned_from,
        end = scan.end,
        records = scan.records,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "commit log recovered"
    );
    Ok((scan.end, scan.last_store_timestamp))
}

/// Loads `consumequeue/<topic>/<queueId>/` and drops unwritten units at each tail (the commit-log end is not
/// known yet; units beyond it are dropped once it is). Directories whose name is not a queue id are skipped.
fn load_queues(
    cq_root: &Path,
    config: &StoreConfig,
    clog_min: u64,
) -> Result<Vec<ConsumeQueue>, StoreError> {
    let mut queues = Vec::new();
    std::fs::create_dir_all(cq_root)?;
    for topic_entry in std::fs::read_dir(cq_root)? {
        let topic_entry = topic_entry?;
        if !topic_entry.file_type()?.is_dir() {
            continue;
        }
        let Some(topic) = topic_entry.file_name().to_str().map(str::to_owned) else {
            tracing::warn!(dir = ?topic_entry.path(), "skipping consume queue dir with a non-UTF-8 name");
            continue;
        };
        for queue_entry in std::fs::read_dir(topic_entry.path())? {
            let queue_entry = queue_entry?;
            let Some(queue_id) = queue_entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                tracing::warn!(dir = ?queue_entry.path(), "skipping non-numeric consume queue dir");
                continue;
            };
            let mut cq = ConsumeQueue::load(
                cq_root,
                &topic,
                queue_id,
                config.mapped_file_size_consume_queue as usize,
            )?;
            cq.recover(clog_min, u64::MAX)?;
            queues.push(cq);
        }
    }
    Ok(queues)
}

/// Writes the units the queues miss for records beyond the highest offset any queue covers.
fn redispatch(inner: &Inner) -> Result<(), StoreError> {
    let covered = inner
        .queues
        .read()
        .values()
        .flat_map(|m| m.values())
        .map(|q| q.max_physical_end())
        .max()
        .unwrap_or(0);
    let start = covered.max(inner.commit_log.min_offset());
    let mut first_error = None;
    let mut count = 0u64;
    inner.commit_log.walk(start, &mut |offset, view| {
        if first_error.is_some() || !sys_flag::is_dispatched(view.sys_flag) {
            return;
        }
        let unit = CqUnit {
            commit_log_offset: offset as i64,
            size: view.total_size as i32,
            tags_code: dispatch_tags_code(view, &inner.config.message_delay_levels_ms),
        };
        let result = inner
            .queue_or_create(&view.topic, view.queue_id)
            .and_then(|q| q.append(view.queue_offset, unit));
        match result {
            Ok(()) => count += 1,
            Err(e) => first_error = Some(e),
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    if count > 0 {
        tracing::info!(
            from = start,
            units = count,
            "re-dispatched commit log records to consume queues"
        );
    }
    Ok(())
}

/// The tags code Java's dispatcher computes from a record (`checkMessageAndReturnSize`): the hash of TAGS,
/// or for `SCHEDULE_TOPIC_XXXX` with a DELAY level, the delivery time `storeTimestamp + delay(level)`,
/// the level clamped to the highest configured one. See [`delivery_tags_code`].
pub fn dispatch_tags_code(view: &RecordView<'_>, delay_levels_ms: &[i64]) -> i64 {
    let props: &str = &view.properties;
    delivery_tags_code(&view.topic, props, view.store_timestamp, delay_levels_ms)
        .unwrap_or_else(|| tags_code(properties::get(props, properties::TAGS)))
}

/// The tags code of a record whose consume queue orders deliveries rather than tags, or `None` for every
/// other record. Used on put (with the store timestamp just assigned) and when consume queues are rebuilt,
/// so both give the same unit:
/// - `SCHEDULE_TOPIC_XXXX` with a DELAY level: `storeTimestamp + delay(level)` (Java's rule);
/// - `rmq_sys_wheel_timer` (rmqd's store of 5.x timer messages): the record's `TIMER_OUT_MS`. Java keeps
///   the TAGS hash there and schedules from its own timerlog, which reads the property instead.
pub fn delivery_tags_code(
    topic: &str,
    props: &str,
    store_timestamp: i64,
    delay_levels_ms: &[i64],
) -> Option<i64> {
    if topic == SCHEDULE_TOPIC {
        let level = properties::get(props, properties::DELAY)?
            .trim()
            .parse::<i64>()
            .ok()?;
        let level = level.min(delay_levels_ms.len() as i64);
        if level > 0 {
            return Some(store_timestamp + delay_levels_ms[level as usize - 1]);
        }
    } else if topic == TIMER_TOPIC {
        return properties::get(props, TIMER_OUT_MS)?
            .trim()
            .parse::<i64>()
            .ok();
    }
    None
}

#[cfg(test)]
mod tests;
