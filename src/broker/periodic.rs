//! The broker's periodic tasks (consumer-offset persistence, client expiry, delayed delivery, pop revive,
//! transaction check, runtime samples, ACL reload) all run through [`PeriodicTasks::every`]: a tick every
//! period until the broker shuts down, which cancels them and waits for the ticks in progress.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for ticks in progress before it abandons them.
const STOP_WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct PeriodicTasks {
    shutdown: CancellationToken,
    tasks: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl PeriodicTasks {
    /// Runs `tick` on `owner` every `period`, the first time one period from now, until [`stop`](Self::stop)
    /// or until `owner` is dropped. Ticks never overlap: one that overruns delays the next. Call it within a
    /// tokio runtime.
    pub fn every<T, F, Fut>(&self, name: &'static str, owner: &Arc<T>, period: Duration, tick: F)
    where
        T: Send + Sync + 'static,
        F: FnMut(Arc<T>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.every_after(name, owner, period, period, tick);
    }

    /// [`every`](Self::every) with the first tick `first` from now (Java's `scheduleAtFixedRate` initial
    /// delay).
    pub fn every_after<T, F, Fut>(
        &self,
        name: &'static str,
        owner: &Arc<T>,
        first: Duration,
        period: Duration,
        mut tick: F,
    ) where
        T: Send + Sync + 'static,
        F: FnMut(Arc<T>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let owner = Arc::downgrade(owner);
        let shutdown = self.shutdown.clone();
        let handle = tokio::spawn(async move {
            let mut interval = tokio::time::interval_at(Instant::now() + first, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    // A due tick must not win over a shutdown that came during the previous tick.
                    biased;
                    () = shutdown.cancelled() => return,
                    _ = interval.tick() => {}
                }
                let Some(owner) = owner.upgrade() else { return };
                tick(owner).await;
            }
        });
        self.tasks.lock().push((name, handle));
    }

    /// The names of the tasks started so far.
    #[cfg(test)]
    pub fn names(&self) -> Vec<&'static str> {
        self.tasks.lock().iter().map(|(name, _)| *name).collect()
    }

    /// Cancels every task and waits (at most [`STOP_WAIT`] in all) for the ticks in progress to end.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        let tasks = std::mem::take(&mut *self.tasks.lock());
        let deadline = Instant::now() + STOP_WAIT;
        for (name, mut handle) in tasks {
            match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(task = name, error = %e, "periodic task failed"),
                Err(_) => {
                    tracing::warn!(
                        task = name,
                        "periodic task still running at shutdown; abandoned"
                    );
                    handle.abort();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ticks_every_period_until_stopped() {
        let tasks = PeriodicTasks::default();
        let count = Arc::new(AtomicUsize::new(0));
        tasks.every(
            "count",
            &count,
            Duration::from_secs(1),
            |count| async move {
                count.fetch_add(1, Ordering::SeqCst);
            },
        );
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        assert_eq!(count.load(Ordering::SeqCst), 3, "first tick one period in");
        tasks.stop().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(count.load(Ordering::SeqCst), 3, "no tick after stop");
    }

    #[tokio::test(start_paused = true)]
    async fn stop_waits_for_the_tick_in_progress() {
        let tasks = PeriodicTasks::default();
        let done = Arc::new(AtomicUsize::new(0));
        tasks.every("slow", &done, Duration::from_secs(1), |done| async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            done.fetch_add(1, Ordering::SeqCst);
        });
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        tasks.stop().await;
        assert_eq!(done.load(Ordering::SeqCst), 1, "the started tick finished");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_ends_with_its_owner() {
        let tasks = PeriodicTasks::default();
        let owner = Arc::new(AtomicUsize::new(0));
        tasks.every("owned", &owner, Duration::from_secs(1), |_| async {});
        drop(owner);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (_, handle) = tasks.tasks.lock().pop().expect("spawned");
        assert!(handle.is_finished());
    }
}
