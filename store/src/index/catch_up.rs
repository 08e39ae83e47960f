//! Re-indexing the commit-log records the index files miss, on a background thread after open.
//!
//! After an abnormal exit the newest index file is deleted at load (the checkpoint never vouches for it), so
//! the records it held, millions with the default 20M-entry files, must be indexed again. Doing that inside
//! store open delayed the first accepted send by seconds; instead open only computes where catch-up starts
//! ([`Index::begin_catch_up`]) and a thread walks the log ([`Index::run_catch_up`]) while puts are accepted.
//!
//! Entries must stay in commit-log order (each file's begin/end offsets and timestamps assume it), so while
//! catch-up runs, puts do not index ([`Index::writer_for_append`] returns `None`). The thread chases the log end
//! without blocking puts, then hands over under the store's append lock: no record can be appended between
//! its last read of the log end and the moment puts index again, so every record is indexed exactly once.
//!
//! Stopping (shutdown, or a store dropped as in a crash) leaves the files ending at the last record indexed;
//! the next open starts from there, after a clean exit without indexing that record again.

use std::sync::atomic::Ordering;
use std::time::Instant;

use parking_lot::Mutex;
use rmq_codec::message::{peek_record, RecordPeek};

use super::{Index, IndexWriter};
use crate::background::StopSignal;
use crate::commit_log::CommitLog;
use crate::error::StoreError;

/// Records indexed per hold of the index lock, so flushes and queries never wait long behind catch-up.
pub(super) const BATCH_RECORDS: usize = 4096;
/// The hand-over (under the append lock) starts once at most this many bytes remain to index: a few thousand
/// records, a few milliseconds of stalled puts.
pub(super) const HANDOVER_BYTES: u64 = 1 << 20;

/// Where catch-up starts, computed at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUpPlan {
    /// First commit-log offset to index.
    pub from: u64,
    /// The log end at open (for the log line; puts extend the walk beyond it).
    pub to: u64,
    /// A record already fully indexed (the newest entry's, after a clean exit), not indexed again.
    pub skip: Option<u64>,
}

/// How a catch-up run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUpEnd {
    /// Every record is indexed and puts index their own records again.
    Done { records: u64 },
    /// Stopped at `at` (the next record to index); puts keep skipping the index until the next open.
    Stopped { at: u64, records: u64 },
}

/// A position in the commit log and what was indexed so far.
struct Walk {
    pos: u64,
    skip: Option<u64>,
    records: u64,
}

impl Walk {
    /// Indexes the record at `pos` and moves past it (or past a BLANK to the next file). The records were
    /// validated by recovery or written by this store, so the body CRC is not checked again. Returns false,
    /// without moving, at a record not yet whole: a slave's log may end inside one (`append_replicated`), and
    /// the append that completes it indexes it once catch-up has handed over.
    fn step(&mut self, writer: &mut IndexWriter<'_>, log: &CommitLog) -> Result<bool, StoreError> {
        let min = log.min_offset();
        if self.pos < min {
            // Retention deleted the files ahead of us: their records are gone, nothing to index.
            self.pos = min;
            return Ok(true);
        }
        let file_size = log.file_size() as u64;
        let next_file = min + ((self.pos - min) / file_size + 1) * file_size;
        let Some(raw) = log.record_at(self.pos) else {
            if log.max_offset() < next_file && !log.is_blank_at(self.pos) {
                return Ok(false);
            }
            self.pos = next_file;
            return Ok(true);
        };
        match peek_record(&raw) {
            Ok(RecordPeek::Message(view)) if view.commit_log_offset == self.pos as i64 => {
                let offset = self.pos;
                if self.skip != Some(offset)
                    && writer.add(
                        &view.topic,
                        &view.properties,
                        view.sys_flag,
                        offset as i64,
                        view.store_timestamp,
                    )?
                {
                    self.records += 1;
                }
                self.pos += view.total_size as u64;
                Ok(true)
            }
            Ok(RecordPeek::Blank { .. }) => {
                self.pos = next_file;
                Ok(true)
            }
            Ok(RecordPeek::Message(view)) => Err(unreadable(
                writer.index,
                self.pos,
                &format!("PHYSICALOFFSET {}", view.commit_log_offset),
            )),
            Err(e) => Err(unreadable(writer.index, self.pos, &e.to_string())),
        }
    }
}

fn unreadable(index: &Index, offset: u64, why: &str) -> StoreError {
    StoreError::Corrupt {
        path: index.dir.clone(),
        reason: format!("commit-log record at offset {offset} cannot be indexed: {why}"),
    }
}

impl Index {
    /// Where catch-up must start, or `None` when the files cover the whole log (or the index is disabled).
    /// When there is work, puts stop indexing from now until [`run_catch_up`](Self::run_catch_up) hands over,
    /// so call this before the store accepts puts.
    pub fn begin_catch_up(&self, log: &CommitLog) -> Option<CatchUpPlan> {
        if !self.enabled {
            return None;
        }
        let _writer = self.writer.lock();
        let newest = self.files.read().last().cloned();
        let indexed_to = newest.as_ref().map_or(0, |f| f.end_phy_offset());
        // After a clean exit the newest entry's record was indexed whole; after a crash it may have been cut
        // between two keys, so it is indexed again (as Java's re-dispatch does; queries drop the duplicate).
        let newest_is_complete = self.clean_exit
            && newest.is_some_and(|f| f.index_count() > 1 || f.end_phy_offset() > 0);
        let from = u64::try_from(indexed_to).unwrap_or(0).max(log.min_offset());
        let skip = (newest_is_complete && from as i64 == indexed_to).then_some(from);
        let to = log.max_offset();
        let first_unindexed = match skip {
            Some(at) => log.record_at(at).map_or(at, |r| at + r.len() as u64),
            None => from,
        };
        if first_unindexed >= to {
            return None;
        }
        self.catching_up.store(true, Ordering::Release);
        Some(CatchUpPlan { from, to, skip })
    }

    /// Whether puts are leaving their records to a running (or stopped, unfinished) catch-up.
    pub fn is_catching_up(&self) -> bool {
        self.catching_up.load(Ordering::Acquire)
    }

    /// Indexes every record from `plan.from` to the end of the log, including records put meanwhile, then lets
    /// puts index again. `append_lock` is the store's append lock: held for the final stretch so no record is
    /// appended between the last read of the log end and the hand-over. Returns early once `stop` is set.
    pub(crate) fn run_catch_up(
        &self,
        log: &CommitLog,
        append_lock: &Mutex<()>,
        plan: CatchUpPlan,
        stop: &StopSignal,
    ) -> Result<CatchUpEnd, StoreError> {
        let started = Instant::now();
        tracing::info!(
            from = plan.from,
            to = plan.to,
            "index catch-up started: re-indexing commit log records in the background"
        );
        let mut walk = Walk {
            pos: plan.from,
            skip: plan.skip,
            records: 0,
        };
        loop {
            let end = log.max_offset();
            if end.saturating_sub(walk.pos) <= self.handover_bytes {
                break;
            }
            let stalled = self.index_batches(log, &mut walk, end, stop)?;
            if stalled {
                break;
            }
            if stop.is_stopped() {
                return Ok(self.stopped(&walk, started));
            }
        }
        self.pause_point(stop);
        if stop.is_stopped() {
            return Ok(self.stopped(&walk, started));
        }
        {
            // Puts index under the append lock's order (see `writer_for_append`): with it held, every record
            // below `end` was appended by a put that saw the flag set, and every later one will see it clear.
            let _appends = append_lock.lock();
            let mut writer = self.writer();
            let end = log.max_offset();
            self.handover_point(stop);
            while walk.pos < end && walk.step(&mut writer, log)? {}
            self.catching_up.store(false, Ordering::Release);
        }
        tracing::info!(
            to = walk.pos,
            records = walk.records,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "index catch-up finished"
        );
        Ok(CatchUpEnd::Done {
            records: walk.records,
        })
    }

    /// Indexes up to `end` in batches, taking the index lock per batch, until done or `stop` is set. Returns
    /// true when it stopped at a record not yet whole (see [`Walk::step`]).
    fn index_batches(
        &self,
        log: &CommitLog,
        walk: &mut Walk,
        end: u64,
        stop: &StopSignal,
    ) -> Result<bool, StoreError> {
        while walk.pos < end {
            self.pause_point(stop);
            if stop.is_stopped() {
                return Ok(false);
            }
            let mut writer = self.writer();
            for _ in 0..self.batch_records {
                if walk.pos >= end {
                    break;
                }
                if !walk.step(&mut writer, log)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn stopped(&self, walk: &Walk, started: Instant) -> CatchUpEnd {
        tracing::info!(
            at = walk.pos,
            records = walk.records,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "index catch-up stopped; the next open continues it"
        );
        CatchUpEnd::Stopped {
            at: walk.pos,
            records: walk.records,
        }
    }

    #[cfg(test)]
    fn pause_point(&self, stop: &StopSignal) {
        if let Some(pause) = &self.pause {
            pause.gate(stop);
        }
    }

    #[cfg(not(test))]
    fn pause_point(&self, _stop: &StopSignal) {}

    #[cfg(test)]
    fn handover_point(&self, stop: &StopSignal) {
        if let Some(pause) = &self.pause {
            pause.hold_handover(stop);
        }
    }

    #[cfg(not(test))]
    fn handover_point(&self, _stop: &StopSignal) {}
}

#[cfg(test)]
pub(crate) use pause::Pause;

#[cfg(test)]
mod pause {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use parking_lot::{Condvar, Mutex};

    use crate::background::StopSignal;

    /// Test hook: holds the catch-up thread before each batch (and before the hand-over) until the test
    /// allows it through. Given to the store at open (`StoreHooks::index_pause`).
    #[derive(Debug, Default)]
    pub(crate) struct Pause {
        state: Mutex<PauseState>,
        changed: Condvar,
        /// Records per batch while paused this way (small, so a test can stop catch-up halfway). The
        /// hand-over then starts 4 KiB before the end.
        pub(crate) batch_records: usize,
    }

    #[derive(Debug, Default)]
    struct PauseState {
        permits: u64,
        waiting: bool,
        /// Whether the hand-over stops (locks held) until `release_handover`.
        hold_handover: bool,
        at_handover: bool,
    }

    impl Pause {
        /// A pause for a store to open with (`StoreHooks::index_pause`); its catch-up starts held.
        pub(crate) fn new(batch_records: usize) -> Arc<Pause> {
            Arc::new(Pause {
                batch_records,
                ..Pause::default()
            })
        }

        /// Makes the hand-over stop with the append and index locks held, until `release_handover`.
        pub(crate) fn hold_handover_until_released(&self) {
            self.state.lock().hold_handover = true;
        }

        /// Waits until the thread is stopped inside the hand-over.
        pub(crate) fn wait_at_handover(&self) {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut state = self.state.lock();
            while !state.at_handover {
                assert!(
                    Instant::now() < deadline,
                    "catch-up never reached the hand-over"
                );
                self.changed.wait_for(&mut state, Duration::from_millis(10));
            }
        }

        pub(crate) fn release_handover(&self) {
            self.state.lock().hold_handover = false;
            self.changed.notify_all();
        }

        pub(super) fn hold_handover(&self, stop: &StopSignal) {
            let mut state = self.state.lock();
            state.at_handover = true;
            self.changed.notify_all();
            while state.hold_handover && !stop.is_stopped() {
                self.changed.wait_for(&mut state, Duration::from_millis(5));
            }
        }

        /// Lets `n` more batches through.
        pub(crate) fn allow(&self, n: u64) {
            self.state.lock().permits += n;
            self.changed.notify_all();
        }

        /// Waits until the thread is held with no permits left, i.e. every allowed batch is done.
        pub(crate) fn wait_held(&self) {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut state = self.state.lock();
            while !(state.waiting && state.permits == 0) {
                assert!(
                    Instant::now() < deadline,
                    "catch-up never reached the pause"
                );
                self.changed.wait_for(&mut state, Duration::from_millis(10));
            }
        }

        pub(super) fn gate(&self, stop: &StopSignal) {
            let mut state = self.state.lock();
            state.waiting = true;
            self.changed.notify_all();
            while state.permits == 0 && !stop.is_stopped() {
                // `stop` is not signalled through the condvar: poll it.
                self.changed.wait_for(&mut state, Duration::from_millis(5));
            }
            state.permits = state.permits.saturating_sub(1);
            state.waiting = false;
        }
    }
}
