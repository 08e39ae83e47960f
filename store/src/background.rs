//! [`BackgroundThread`]: how every thread of the store (flushers, prefault, index catch-up, retention, config
//! persister) is started, asked to stop and joined.
//!
//! A thread gets a [`StopSignal`]: a flag it checks between units of work and a condvar its timed sleeps
//! wake on. A thread that sleeps on a condition of its own (its work queue's condvar, a channel) is started
//! with a *nudge*, run once when it is stopped, that sets that condition and wakes it. Stopping joins the
//! thread; dropping a `BackgroundThread` stops it, so a store whose `open` failed halfway leaves no thread.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// The stop request of one background thread.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    stopped: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl StopSignal {
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Sleeps up to `timeout`, less if stopped meanwhile. Returns whether the thread is stopped.
    pub(crate) fn sleep(&self, timeout: Duration) -> bool {
        let mut guard = self.lock.lock();
        if !self.is_stopped() {
            self.wake.wait_for(&mut guard, timeout);
        }
        self.is_stopped()
    }

    /// Sets the flag; false if it was set already.
    fn set(&self) -> bool {
        let first = !self.stopped.swap(true, Ordering::AcqRel);
        // Under the lock, so a sleeper between its check and its wait cannot miss the wake-up.
        let _guard = self.lock.lock();
        self.wake.notify_all();
        first
    }
}

type Nudge = Box<dyn Fn() + Send + Sync>;

/// A named thread that runs until [`stop`](Self::stop) (or drop) asks it to and then joins it.
pub(crate) struct BackgroundThread {
    name: &'static str,
    signal: Arc<StopSignal>,
    nudge: Option<Nudge>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for BackgroundThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundThread")
            .field("name", &self.name)
            .field("stopped", &self.signal.is_stopped())
            .finish()
    }
}

impl BackgroundThread {
    /// Runs `body` on a thread named `name`; `body` must return soon after its signal is stopped.
    pub(crate) fn spawn(
        name: &'static str,
        body: impl FnOnce(&StopSignal) + Send + 'static,
    ) -> io::Result<Self> {
        Self::start(name, None, body)
    }

    /// Like [`spawn`](Self::spawn), for a thread that sleeps on a condition of its own: `nudge` runs once,
    /// after the signal is set, and must wake the thread.
    pub(crate) fn spawn_nudged(
        name: &'static str,
        nudge: impl Fn() + Send + Sync + 'static,
        body: impl FnOnce(&StopSignal) + Send + 'static,
    ) -> io::Result<Self> {
        Self::start(name, Some(Box::new(nudge)), body)
    }

    fn start(
        name: &'static str,
        nudge: Option<Nudge>,
        body: impl FnOnce(&StopSignal) + Send + 'static,
    ) -> io::Result<Self> {
        let signal = Arc::new(StopSignal::default());
        let handle = {
            let signal = Arc::clone(&signal);
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || body(&signal))?
        };
        Ok(BackgroundThread {
            name,
            signal,
            nudge,
            handle: Mutex::new(Some(handle)),
        })
    }

    /// Asks the thread to stop and waits for it. Idempotent; from the thread itself it only asks.
    pub(crate) fn stop(&self) {
        if self.signal.set() {
            if let Some(nudge) = &self.nudge {
                nudge();
            }
        }
        let mut handle = self.handle.lock();
        if handle
            .as_ref()
            .is_some_and(|h| h.thread().id() == std::thread::current().id())
        {
            return;
        }
        if let Some(handle) = handle.take() {
            if handle.join().is_err() {
                tracing::error!(thread = self.name, "store thread panicked");
            }
        }
    }
}

#[cfg(test)]
impl BackgroundThread {
    /// Whether the thread was joined.
    pub(crate) fn is_joined(&self) -> bool {
        self.handle.lock().is_none()
    }
}

impl Drop for BackgroundThread {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    use super::*;

    #[test]
    fn a_sleeping_thread_stops_at_once_and_is_joined() {
        let ticks = Arc::new(AtomicUsize::new(0));
        let thread = {
            let ticks = Arc::clone(&ticks);
            BackgroundThread::spawn("test-sleeper", move |stop| {
                while !stop.sleep(Duration::from_secs(60)) {
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            })
            .expect("spawns")
        };
        let started = Instant::now();
        thread.stop();
        assert!(started.elapsed() < Duration::from_secs(5), "not woken");
        assert_eq!(ticks.load(Ordering::SeqCst), 0);
        assert!(thread.is_joined());
        thread.stop(); // idempotent
    }

    #[test]
    fn a_nudge_wakes_a_thread_waiting_on_its_own_condition_once() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let nudges = Arc::new(AtomicUsize::new(0));
        let thread = {
            let nudges = Arc::clone(&nudges);
            let tx = Mutex::new(tx);
            BackgroundThread::spawn_nudged(
                "test-channel",
                move || {
                    nudges.fetch_add(1, Ordering::SeqCst);
                    let _ = tx.lock().send(());
                },
                move |stop| {
                    while rx.recv().is_ok() && !stop.is_stopped() {}
                },
            )
            .expect("spawns")
        };
        drop(thread);
        assert_eq!(nudges.load(Ordering::SeqCst), 1);
    }
}
