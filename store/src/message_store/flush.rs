//! The flusher threads and the waiter a synchronous put gets back.
//!
//! - `rmq-store-flush`: SYNC_FLUSH group commit (Java `GroupCommitService`) or the ASYNC_FLUSH timer (Java
//!   `FlushRealTimeService`). It alone msyncs the commit log while the store runs; it never holds the put lock.
//! - `rmq-store-flush-timeout` (SYNC_FLUSH only): completes waiters whose `syncFlushTimeout` passed. It is a
//!   thread of its own so that a sender is answered FLUSH_DISK_TIMEOUT on time even while the flusher is stuck
//!   in an msync on a sick disk.
//! - `rmq-store-flush-cq`: consume queues and checkpoint every `flushIntervalConsumeQueue`.
//!
//! The pending list holds one entry per put that waits, so it is bounded by the number of concurrent senders.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{FlushDiskType, Inner};
use crate::background::BackgroundThread;
use crate::error::StoreError;

/// How a put's wait for durability ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOutcome {
    /// A flush covering the put's records finished: PUT_OK.
    Flushed,
    /// `syncFlushTimeout` passed first: FLUSH_DISK_TIMEOUT (response code 10); the message is stored.
    TimedOut,
    /// A flush failed and poisoned the store: the records may not be on disk, answer an error.
    Failed,
}

/// Java's `PutMessageStatus`, for the outcomes a stored message can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PutStatus {
    #[default]
    PutOk,
    /// Stored, but not known to be on disk within `syncFlushTimeout` (response code 10).
    FlushDiskTimeout,
}

impl FlushOutcome {
    /// The put status for this outcome; `Failed` is [`StoreError::Poisoned`].
    pub fn put_status(self) -> Result<PutStatus, StoreError> {
        match self {
            FlushOutcome::Flushed => Ok(PutStatus::PutOk),
            FlushOutcome::TimedOut => Ok(PutStatus::FlushDiskTimeout),
            FlushOutcome::Failed => Err(StoreError::Poisoned),
        }
    }
}

type Callback = Box<dyn FnOnce(FlushOutcome) + Send>;

enum SlotState {
    Pending(Option<Callback>),
    Done(FlushOutcome),
}

/// One put waiting for the flushed offset to reach `target`.
struct Slot {
    target: u64,
    deadline: Instant,
    state: Mutex<SlotState>,
    done: Condvar,
    /// Runs when the outcome is set, before the callback: the put's timing (Java times a put up to its
    /// future completing, flush wait included).
    settled: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Slot {
    fn new(target: u64, deadline: Instant, state: SlotState) -> Arc<Self> {
        Arc::new(Slot {
            target,
            deadline,
            state: Mutex::new(state),
            done: Condvar::new(),
            settled: Mutex::new(None),
        })
    }

    /// Sets the outcome unless one is set already (first of flusher, timer and waiter wins) and runs the
    /// callback, outside the lock.
    fn complete(&self, outcome: FlushOutcome) {
        let mut state = self.state.lock();
        let SlotState::Pending(callback) = &mut *state else {
            return;
        };
        let callback = callback.take();
        *state = SlotState::Done(outcome);
        // Under the state lock, so whoever sees the outcome also sees the put timed.
        if let Some(settled) = self.settled.lock().take() {
            settled();
        }
        self.done.notify_all();
        drop(state);
        if let Some(callback) = callback {
            callback(outcome);
        }
    }
}

/// The durability of one `put_deferred` / `put_batch_deferred` (SYNC_FLUSH with WAIT). Dropping it does not
/// cancel anything: the message is stored either way.
pub struct FlushWaiter {
    slot: Arc<Slot>,
}

impl std::fmt::Debug for FlushWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushWaiter")
            .field("target_offset", &self.slot.target)
            .field("outcome", &self.outcome())
            .finish()
    }
}

impl FlushWaiter {
    fn done(target: u64, outcome: FlushOutcome) -> Self {
        FlushWaiter {
            slot: Slot::new(target, Instant::now(), SlotState::Done(outcome)),
        }
    }

    /// The commit-log offset the flushed offset must reach: the end of the put's last record.
    pub fn target_offset(&self) -> i64 {
        self.slot.target as i64
    }

    /// The outcome, if known yet.
    pub fn outcome(&self) -> Option<FlushOutcome> {
        match &*self.slot.state.lock() {
            SlotState::Done(outcome) => Some(*outcome),
            SlotState::Pending(_) => None,
        }
    }

    /// Blocks up to `timeout` for the outcome; `None` if it is still pending.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<FlushOutcome> {
        let deadline = Instant::now() + timeout;
        let mut state = self.slot.state.lock();
        loop {
            if let SlotState::Done(outcome) = &*state {
                return Some(*outcome);
            }
            if self.slot.done.wait_until(&mut state, deadline).timed_out() {
                return None;
            }
        }
    }

    /// Blocks until the outcome is known: at most about `syncFlushTimeout` after the put.
    pub fn wait(self) -> FlushOutcome {
        // The timeout thread completes the slot at its deadline; the margin only matters if it is gone.
        let margin = self.slot.deadline + Duration::from_secs(1);
        let left = margin.saturating_duration_since(Instant::now());
        if let Some(outcome) = self.wait_timeout(left) {
            return outcome;
        }
        self.slot.complete(FlushOutcome::TimedOut);
        self.outcome().unwrap_or(FlushOutcome::TimedOut)
    }

    /// Runs `work` once the outcome is set (at once if it is set already), on whichever thread sets it, under
    /// the slot's lock and before the [`on_complete`](Self::on_complete) callback: it must be a few atomic
    /// operations, never a wait.
    pub(super) fn when_settled(&self, work: impl FnOnce() + Send + 'static) {
        let state = self.slot.state.lock();
        if matches!(&*state, SlotState::Done(_)) {
            drop(state);
            work();
        } else {
            // Under the state lock: `complete` takes `settled` under it too, so `work` cannot be missed.
            *self.slot.settled.lock() = Some(Box::new(work));
        }
    }

    /// Calls `callback` once with the outcome: on a flusher thread when a flush covers the put or
    /// `syncFlushTimeout` passes, or here and now if the outcome is already known. It must not block (send on
    /// a channel, wake a task): it delays every other waiter of the same flush.
    pub fn on_complete(self, callback: impl FnOnce(FlushOutcome) + Send + 'static) {
        let mut state = self.slot.state.lock();
        match &mut *state {
            SlotState::Pending(slot) => *slot = Some(Box::new(callback)),
            SlotState::Done(outcome) => {
                let outcome = *outcome;
                drop(state);
                callback(outcome);
            }
        }
    }
}

#[derive(Default)]
struct State {
    pending: Vec<Arc<Slot>>,
    /// A put asked for a flush without waiting (WAIT=false, or any ASYNC_FLUSH put).
    wakeup: bool,
    stopped: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the commit-log flusher.
    work: Condvar,
    /// Wakes the timeout thread.
    expiry: Condvar,
    /// Wakes the consume-queue flusher (only to stop it).
    cq: Condvar,
}

impl Shared {
    /// Stops every flusher thread: they sleep on the condvars here, and `register` refuses new waiters
    /// once `stopped` is set under the same lock as the pending list.
    fn stop(&self) {
        let mut state = self.state.lock();
        state.stopped = true;
        self.work.notify_all();
        self.expiry.notify_all();
        self.cq.notify_all();
    }
}

/// The running flusher threads of one store.
pub(super) struct Flusher {
    shared: Arc<Shared>,
    threads: Vec<BackgroundThread>,
    sync_flush_timeout: Duration,
}

impl Flusher {
    pub(super) fn start(inner: &Arc<Inner>) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared::default());
        let spawn = |name: &'static str, body: fn(Arc<Inner>, Arc<Shared>)| {
            let (inner, shared) = (Arc::clone(inner), Arc::clone(&shared));
            let nudge = {
                let shared = Arc::clone(&shared);
                move || shared.stop()
            };
            BackgroundThread::spawn_nudged(name, nudge, move |_| body(inner, shared))
        };
        let mut threads = Vec::with_capacity(3);
        if inner.config.flush_disk_type == FlushDiskType::Sync {
            threads.push(spawn("rmq-store-flush", group_commit_loop)?);
            threads.push(spawn("rmq-store-flush-timeout", timeout_loop)?);
        } else {
            threads.push(spawn("rmq-store-flush", timed_flush_loop)?);
        }
        threads.push(spawn("rmq-store-flush-cq", queue_flush_loop)?);
        Ok(Flusher {
            shared,
            threads,
            sync_flush_timeout: Duration::from_millis(inner.config.sync_flush_timeout_ms),
        })
    }

    /// Asks for a flush without waiting for it (Java `wakeup()`).
    pub(super) fn wake(&self) {
        let mut state = self.shared.state.lock();
        if !state.wakeup {
            state.wakeup = true;
            self.shared.work.notify_one();
        }
    }

    /// Queues a wait for the flushed offset to reach `target`; `None` once the flusher has stopped.
    pub(super) fn register(&self, target: u64) -> Option<FlushWaiter> {
        let mut state = self.shared.state.lock();
        if state.stopped {
            return None;
        }
        // Deadlines taken under the lock are in list order, so the timeout thread only needs the first.
        let deadline = Instant::now() + self.sync_flush_timeout;
        let slot = Slot::new(target, deadline, SlotState::Pending(None));
        if state.pending.is_empty() {
            self.shared.expiry.notify_one();
        }
        state.pending.push(Arc::clone(&slot));
        self.shared.work.notify_one();
        Some(FlushWaiter { slot })
    }

    #[cfg(test)]
    pub(super) fn threads(&self) -> &[BackgroundThread] {
        &self.threads
    }

    /// Stops and joins the threads; the commit-log flusher completes what is pending first. Idempotent.
    /// (Dropping the flusher does the same, also for a store whose `open` failed after some threads started.)
    pub(super) fn stop(&self) {
        self.shared.stop();
        for thread in &self.threads {
            thread.stop();
        }
    }
}

impl Inner {
    /// A waiter for `target` that is already decided, for puts made after the flusher stopped.
    pub(super) fn flush_inline(&self, target: u64) -> FlushWaiter {
        let outcome = match self.flush_commit_log(0) {
            Ok(flushed) if flushed >= target => FlushOutcome::Flushed,
            Ok(_) => FlushOutcome::TimedOut,
            Err(_) => FlushOutcome::Failed,
        };
        FlushWaiter::done(target, outcome)
    }
}

fn log_flush_error(what: &str, e: &StoreError) {
    // After the first failure every flush returns `Poisoned`: that one was already logged.
    if !matches!(e, StoreError::Poisoned) {
        tracing::error!(error = %e, "{what} flush failed; store poisoned");
    }
}

/// SYNC_FLUSH: whenever puts wait, one msync of everything written so far, then every waiter it covers is
/// completed. Waiters that arrived during the msync are served by the next round.
fn group_commit_loop(inner: Arc<Inner>, shared: Arc<Shared>) {
    let mut last_flushed = None;
    loop {
        let stopped = {
            let mut state = shared.state.lock();
            while state.pending.is_empty() && !state.wakeup && !state.stopped {
                shared.work.wait(&mut state);
            }
            state.wakeup = false;
            state.stopped
        };
        let result = inner.flush_commit_log(0);
        if let Err(e) = &result {
            log_flush_error("commit log", e);
        }
        let progressed = result.as_ref().ok() != last_flushed.as_ref();
        last_flushed = result.as_ref().ok().copied();
        let ready: Vec<(Arc<Slot>, FlushOutcome)> = {
            let mut state = shared.state.lock();
            let pending = std::mem::take(&mut state.pending);
            let (ready, waiting) = match result {
                Ok(flushed) => pending.into_iter().partition(|s| s.target <= flushed),
                Err(_) => (pending, Vec::new()),
            };
            state.pending = waiting;
            let outcome = if result.is_ok() {
                FlushOutcome::Flushed
            } else {
                FlushOutcome::Failed
            };
            ready.into_iter().map(|s| (s, outcome)).collect()
        };
        for (slot, outcome) in ready {
            slot.complete(outcome);
        }
        if stopped {
            // Registration refuses new waiters now; anything left was not covered by the final flush.
            for slot in std::mem::take(&mut shared.state.lock().pending) {
                slot.complete(FlushOutcome::TimedOut);
            }
            return;
        }
        if !progressed {
            // Nothing new reached the disk: do not spin on waiters a flush cannot cover.
            let mut state = shared.state.lock();
            if !state.stopped {
                shared.work.wait_for(&mut state, Duration::from_millis(1));
            }
        }
    }
}

/// Completes waiters whose deadline passed, independently of the flusher.
fn timeout_loop(_inner: Arc<Inner>, shared: Arc<Shared>) {
    let mut state = shared.state.lock();
    while !state.stopped {
        let now = Instant::now();
        let expired = state
            .pending
            .iter()
            .take_while(|s| s.deadline <= now)
            .count();
        if expired > 0 {
            let slots: Vec<Arc<Slot>> = state.pending.drain(..expired).collect();
            drop(state);
            for slot in slots {
                slot.complete(FlushOutcome::TimedOut);
            }
            state = shared.state.lock();
            continue;
        }
        match state.pending.first().map(|s| s.deadline) {
            Some(deadline) => {
                shared.expiry.wait_until(&mut state, deadline);
            }
            None => shared.expiry.wait(&mut state),
        }
    }
}

/// ASYNC_FLUSH: every `flushIntervalCommitLog` (or when a put wakes it) msync if at least
/// `flushCommitLogLeastPages` pages are dirty; every `flushCommitLogThoroughInterval` msync whatever is dirty.
fn timed_flush_loop(inner: Arc<Inner>, shared: Arc<Shared>) {
    let config = &inner.config;
    let interval = Duration::from_millis(config.flush_interval_commit_log_ms.max(1));
    let thorough = Duration::from_millis(config.flush_commit_log_thorough_interval_ms);
    let mut last_thorough = Instant::now();
    loop {
        let least_pages = if last_thorough.elapsed() >= thorough {
            last_thorough = Instant::now();
            0
        } else {
            config.flush_commit_log_least_pages
        };
        let stopped = {
            let mut state = shared.state.lock();
            if !state.wakeup && !state.stopped {
                shared.work.wait_for(&mut state, interval);
            }
            state.wakeup = false;
            state.stopped
        };
        // On stop `shutdown` flushes everything itself; a dropped store behaves like a crash.
        if stopped {
            return;
        }
        if let Err(e) = inner.flush_commit_log(least_pages) {
            log_flush_error("commit log", &e);
        }
    }
}

/// Consume queues and checkpoint, in both modes. They are rebuilt from the commit log on open, so they never
/// hold up a send.
fn queue_flush_loop(inner: Arc<Inner>, shared: Arc<Shared>) {
    let interval = Duration::from_millis(inner.config.flush_interval_consume_queue_ms.max(1));
    let thorough = Duration::from_millis(inner.config.flush_consume_queue_thorough_interval_ms);
    let mut last_thorough = Instant::now();
    loop {
        {
            let mut state = shared.state.lock();
            if !state.stopped {
                shared.cq.wait_for(&mut state, interval);
            }
            if state.stopped {
                return;
            }
        }
        let least_pages = if last_thorough.elapsed() >= thorough {
            last_thorough = Instant::now();
            0
        } else {
            inner.config.flush_consume_queue_least_pages
        };
        if let Err(e) = inner.flush_queues_and_checkpoint(least_pages) {
            log_flush_error("consume queue", &e);
        }
    }
}

#[cfg(test)]
#[path = "flush_tests.rs"]
mod tests;
