//! Work a request handler must do that can block for milliseconds (a file write, a mkdir, a stalled lock),
//! kept from stalling the tokio workers that serve every other connection. On a 2-core machine there are two
//! workers, so one such wait inline would stall half of all connections.

/// Runs `work` so that it does not hold up the worker's other tasks.
///
/// On a worker of the multi-thread runtime, `block_in_place` hands the worker's other tasks (the other
/// connections it serves) to another thread before `work` blocks. The request itself stays on its
/// connection's task, which reads no further frame until the handler returns, so a connection's requests
/// keep their order. `spawn_blocking` with a later answer would not: the handler is synchronous, and the
/// connection's next request (a pipelining producer's next send to the same queue) could be served first.
/// On a current-thread runtime, where `block_in_place` panics, or outside a runtime, `work` runs inline.
pub fn run_off_worker(work: &mut dyn FnMut()) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::run_off_worker;

    /// On a one-worker runtime, a task spawned before the blocking work can only run while that work
    /// blocks if the worker was handed to another thread: inline, this would wait out its deadline.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn other_tasks_run_while_the_work_blocks() {
        // Inside a task, so the work runs on the runtime's only worker (the test body itself does not).
        let on_worker = tokio::spawn(async {
            let ran = Arc::new(AtomicBool::new(false));
            let flag = ran.clone();
            tokio::spawn(async move { flag.store(true, Ordering::Release) });
            let mut seen = false;
            run_off_worker(&mut || {
                let deadline = Instant::now() + Duration::from_secs(5);
                while !ran.load(Ordering::Acquire) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                seen = ran.load(Ordering::Acquire);
            });
            seen
        });
        assert!(
            on_worker.await.unwrap(),
            "the spawned task did not run while the worker blocked"
        );
    }

    #[tokio::test]
    async fn on_a_current_thread_runtime_the_work_runs_inline() {
        let mut ran = false;
        run_off_worker(&mut || ran = true);
        assert!(ran);
    }
}
