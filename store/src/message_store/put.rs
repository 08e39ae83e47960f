//! The put entry points: checks, encoding, and the wait for durability that follows the append
//! (`append_locked` in the parent module does the append itself).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::MutexGuard;
use rmq_codec::message::{crc32_masked, magic_for_topic, StoredMessage};

use super::{now_ms, FlushDiskType, FlushWaiter, MessageStore, PutResult};
use crate::commit_log::CommitLog;
use crate::consume_queue::ConsumeQueue;
use crate::error::StoreError;

/// Java ignores a lock "held" for longer than this (`isOSPageCacheBusy`: a stale or unset start time).
const MAX_PLAUSIBLE_LOCK_MS: i64 = 10_000_000;

/// How long a put waits for a contended append lock on its own thread before the rest of the wait goes
/// through the blocking hook. Another put holds the lock for microseconds (a copy and a unit); only a stalled
/// one (a slow page fault, a new commit-log file) makes a put wait longer than this.
const ON_THREAD_LOCK_WAIT: Duration = Duration::from_micros(100);

/// The append lock, with its start time published for the page-cache-busy check while it is held.
pub(super) struct PutGuard<'a> {
    _lock: MutexGuard<'a, ()>,
    log: &'a CommitLog,
}

impl Drop for PutGuard<'_> {
    fn drop(&mut self) {
        self.log.mark_locked(0);
    }
}

impl MessageStore {
    pub(super) fn check_writable(&self) -> Result<(), StoreError> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(StoreError::ShutDown);
        }
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        Ok(())
    }

    /// Java's `isOSPageCacheBusy`: a put has held the append lock longer than `osPageCacheBusyTimeOutMills`.
    pub fn is_page_cache_busy(&self) -> bool {
        let limit = self.inner.config.os_page_cache_busy_timeout_ms as i64;
        self.inner
            .commit_log
            .lock_held_ms(now_ms())
            .is_some_and(|held| held > limit && held < MAX_PLAUSIBLE_LOCK_MS)
    }

    /// Takes the append lock. Uncontended this is one atomic swap. When another put holds it, the put fails
    /// at once if that one has been stuck past `osPageCacheBusyTimeOutMills` (PC_SYNCHRONIZED), and otherwise
    /// waits at most `put_lock_wait_limit_ms` (TIMEOUT_CLEAN_QUEUE): the puts waiting here are rmqd's
    /// equivalent of Java's send thread-pool queue, since sends run on the connection's task. Only the
    /// first [`ON_THREAD_LOCK_WAIT`] of that wait is spent on the calling thread; the rest runs through
    /// the blocking hook, so a stalled holder does not also stall the callers' async worker threads.
    pub(super) fn lock_for_put(&self) -> Result<PutGuard<'_>, StoreError> {
        let inner = &*self.inner;
        let log = &inner.commit_log;
        let lock = match inner.put_lock.try_lock() {
            Some(lock) => lock,
            None => {
                if self.is_page_cache_busy() {
                    return Err(StoreError::PageCacheBusy);
                }
                let limit = inner
                    .config
                    .put_lock_wait_limit_ms
                    .map(Duration::from_millis);
                let started = Instant::now();
                log.count_waiter(true);
                let lock = match inner
                    .put_lock
                    .try_lock_for(ON_THREAD_LOCK_WAIT.min(limit.unwrap_or(Duration::MAX)))
                {
                    Some(lock) => Some(lock),
                    None => {
                        let mut lock = None;
                        self.hooks.run_blocking(&mut || {
                            lock = match limit {
                                None => Some(inner.put_lock.lock()),
                                Some(limit) => inner
                                    .put_lock
                                    .try_lock_for(limit.saturating_sub(started.elapsed())),
                            };
                        });
                        lock
                    }
                };
                let others = log.count_waiter(false).saturating_sub(1);
                let waited_us = started.elapsed().as_micros() as u64;
                self.stats.put_lock_wait_us.record(waited_us);
                lock.ok_or_else(|| StoreError::PutQueueTimeout {
                    waited_ms: started.elapsed().as_millis() as u64,
                    queue_len: others,
                })?
            }
        };
        log.mark_locked(now_ms().max(1));
        #[cfg(test)]
        {
            // Cloned out so a test can remove the hook while a put is stalled in it.
            let hook = log.put_hook.lock().clone();
            if let Some(hook) = hook {
                hook();
            }
        }
        Ok(PutGuard { _lock: lock, log })
    }

    /// The consume queue `topic`/`queue_id` with the file its next unit goes into. The usual case is one
    /// lookup; creating the queue or its next file touches the file system, so that runs through the
    /// blocking hook. Called before the append lock, which then never waits for a file to be created.
    pub(super) fn writable_queue(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(cq) = self.inner.queue(topic, queue_id) {
            if cq.next_file_ready() {
                return Ok(cq);
            }
        }
        let mut made = None;
        self.hooks
            .run_blocking(&mut || made = Some(self.create_queue_files(topic, queue_id)));
        made.unwrap_or_else(|| self.create_queue_files(topic, queue_id))
    }

    fn create_queue_files(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        let cq = self.inner.queue_or_create(topic, queue_id)?;
        cq.prepare_next_file()?;
        Ok(cq)
    }

    /// Creates the consume queue `topic`/`queue_id` and its first file now, exactly as the first put to it
    /// would, so that put finds them (e.g. right after a topic is created). Blocks; call it off async threads.
    /// Nothing on a slave store: its queues start where the replicated records say (a queue first seen at a
    /// non-zero offset is pre-blanked), which an empty file made here would prevent.
    pub fn prepare_queue(&self, topic: &str, queue_id: i32) -> Result<(), StoreError> {
        self.check_writable()?;
        if self.inner.config.slave {
            return Ok(());
        }
        self.create_queue_files(topic, queue_id).map(drop)
    }

    /// Fills what the broker owns (magic, host v6 bits, body CRC) and checks the size limits.
    fn prepare(&self, msg: &mut StoredMessage) -> Result<(), StoreError> {
        let max = self.max_message_size();
        if msg.body.len() > max {
            return Err(StoreError::MessageTooLarge {
                size: msg.body.len(),
                limit: max,
            });
        }
        if msg.properties.len() > i16::MAX as usize {
            return Err(StoreError::PropertiesTooLarge(msg.properties.len()));
        }
        msg.magic = magic_for_topic(&msg.topic);
        msg.sys_flag = msg.sys_flag_for_hosts();
        msg.body_crc = crc32_masked(&msg.body);
        let record_limit = max.saturating_add(64 * 1024);
        if msg.encoded_len() > record_limit {
            return Err(StoreError::MessageTooLarge {
                size: msg.encoded_len(),
                limit: record_limit,
            });
        }
        Ok(())
    }

    /// Appends one message: assigns the queue offset (dense per topic/queue), commit-log offset, store
    /// timestamp and body CRC, writes the record and its consume-queue unit (`tags_code` as given).
    /// PREPARED and ROLLBACK records get queue offset 0 and no unit. On success `msg` holds the stored values.
    /// With SYNC_FLUSH this blocks the calling thread until the record is on disk or `syncFlushTimeout`
    /// passes (`status` says which); [`put_deferred`](Self::put_deferred) does not block.
    pub fn put(&self, msg: &mut StoredMessage, tags_code: i64) -> Result<PutResult, StoreError> {
        let mut results = self.put_batch(std::slice::from_mut(msg), &[tags_code])?;
        results
            .pop()
            .ok_or_else(|| StoreError::InvalidArgument("empty put".into()))
    }

    /// Appends messages of one topic and queue as consecutive records in one commit-log file, with consecutive
    /// queue offsets and one store timestamp. `tags_codes[i]` belongs to `msgs[i]`. Waits like [`put`](Self::put).
    pub fn put_batch(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
    ) -> Result<Vec<PutResult>, StoreError> {
        let (mut results, waiter) = self.put_batch_deferred(msgs, tags_codes, true)?;
        if let Some(waiter) = waiter {
            let status = waiter.wait().put_status()?;
            for result in &mut results {
                result.status = status;
            }
        }
        Ok(results)
    }

    /// [`put`](Self::put) without blocking for durability. With SYNC_FLUSH and `wait` (the message's WAIT
    /// property, default true) it returns a [`FlushWaiter`] that decides the put's status; the put lock is
    /// already released, so other senders append while this one waits. Otherwise (ASYNC_FLUSH, or WAIT=false)
    /// it only wakes the flusher and returns `None`: the put is answered PUT_OK as soon as it is written.
    pub fn put_deferred(
        &self,
        msg: &mut StoredMessage,
        tags_code: i64,
        wait: bool,
    ) -> Result<(PutResult, Option<FlushWaiter>), StoreError> {
        let (mut results, waiter) =
            self.put_batch_deferred(std::slice::from_mut(msg), &[tags_code], wait)?;
        let result = results
            .pop()
            .ok_or_else(|| StoreError::InvalidArgument("empty put".into()))?;
        Ok((result, waiter))
    }

    /// [`put_batch`](Self::put_batch) without blocking for durability; see [`put_deferred`](Self::put_deferred).
    /// One waiter covers the whole batch.
    pub fn put_batch_deferred(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
        wait: bool,
    ) -> Result<(Vec<PutResult>, Option<FlushWaiter>), StoreError> {
        // Java times the put up to its future completing, which with SYNC_FLUSH includes the flush wait: a
        // put that waits is recorded when its waiter settles, the others now.
        let started = Instant::now();
        let outcome = self.append_batch(msgs, tags_codes, wait);
        let appended = outcome.as_ref().ok().map(|(results, _)| {
            let bytes: usize = results.iter().map(|r| r.wrote_bytes).sum();
            (results.len() as i64, bytes as i64)
        });
        let record = {
            let stats = Arc::clone(&self.stats);
            move || stats.record_put(started.elapsed().as_millis() as i64, appended)
        };
        match &outcome {
            Ok((_, Some(waiter))) => waiter.when_settled(record),
            _ => record(),
        }
        outcome
    }

    fn append_batch(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
        wait: bool,
    ) -> Result<(Vec<PutResult>, Option<FlushWaiter>), StoreError> {
        self.check_writable()?;
        if self.inner.config.slave {
            return Err(self.put_on_slave());
        }
        validate_batch(msgs, tags_codes)?;
        let total_body: usize = msgs.iter().map(|m| m.body.len()).sum();
        let max = self.max_message_size();
        if total_body > max {
            return Err(StoreError::MessageTooLarge {
                size: total_body,
                limit: max,
            });
        }
        let mut buf = BytesMut::new();
        let mut lens = Vec::with_capacity(msgs.len());
        for msg in msgs.iter_mut() {
            self.prepare(msg)?;
            let before = buf.len();
            msg.encode(&mut buf)?;
            lens.push(buf.len() - before);
        }
        let results = self.append_locked(msgs, tags_codes, &mut buf, &lens)?;
        let end = results
            .last()
            .map_or(0, |r| r.commit_log_offset as u64 + r.wrote_bytes as u64);
        if let Some(appended) = &self.hooks.appended {
            appended(end);
        }
        let waiter = if self.inner.config.flush_disk_type == FlushDiskType::Sync && wait {
            // `None`: the flusher stopped under us (shutdown racing this put), so flush here.
            Some(
                self.flusher
                    .register(end)
                    .unwrap_or_else(|| self.inner.flush_inline(end)),
            )
        } else {
            self.flusher.wake();
            None
        };
        Ok((results, waiter))
    }
}

fn validate_batch(msgs: &[StoredMessage], tags_codes: &[i64]) -> Result<(), StoreError> {
    let Some(first) = msgs.first() else {
        return Err(StoreError::InvalidArgument("empty batch".into()));
    };
    if msgs.len() != tags_codes.len() {
        return Err(StoreError::InvalidArgument(format!(
            "{} messages but {} tags codes",
            msgs.len(),
            tags_codes.len()
        )));
    }
    if msgs
        .iter()
        .any(|m| m.topic != first.topic || m.queue_id != first.queue_id)
    {
        return Err(StoreError::InvalidArgument(
            "batch mixes topics or queues".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod flow_control_tests {
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use rmq_codec::message::StoredMessage;

    use super::super::{MessageStore, StoreConfig, StoreHooks};
    use crate::error::StoreError;

    fn open(dir: &std::path::Path, wait_limit_ms: Option<u64>, busy_ms: u64) -> Arc<MessageStore> {
        open_with(dir, wait_limit_ms, busy_ms, StoreHooks::default())
    }

    fn open_with(
        dir: &std::path::Path,
        wait_limit_ms: Option<u64>,
        busy_ms: u64,
        hooks: StoreHooks,
    ) -> Arc<MessageStore> {
        let config = StoreConfig {
            root_dir: dir.to_path_buf(),
            mapped_file_size_commit_log: 1 << 20,
            os_page_cache_busy_timeout_ms: busy_ms,
            put_lock_wait_limit_ms: wait_limit_ms,
            ..StoreConfig::default()
        };
        Arc::new(MessageStore::open_with(config, hooks).unwrap())
    }

    fn msg() -> StoredMessage {
        StoredMessage {
            born_host: "10.0.0.9:40000".parse().unwrap(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            body: Bytes::from_static(b"hello"),
            topic: "T".to_owned(),
            ..StoredMessage::default()
        }
    }

    /// Makes every put hold the append lock for `stall` (the first put to arrive blocks the others).
    fn stall_puts(store: &MessageStore, stall: Duration) {
        *store.inner.commit_log.put_hook.lock() = Some(Arc::new(move || std::thread::sleep(stall)));
    }

    /// Starts a put in a thread and returns once it holds the append lock.
    fn stuck_put(store: &Arc<MessageStore>) -> std::thread::JoinHandle<()> {
        let (tx, rx) = mpsc::channel();
        let s = store.clone();
        let handle = std::thread::spawn(move || {
            tx.send(()).unwrap();
            s.put(&mut msg(), 0).unwrap();
        });
        rx.recv().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock_is_free(store) {
            assert!(
                Instant::now() < deadline,
                "the stalled put never took the lock"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        handle
    }

    fn lock_is_free(store: &MessageStore) -> bool {
        store.inner.commit_log.lock_held_ms(i64::MAX).is_none()
    }

    #[test]
    fn a_put_stuck_past_the_busy_timeout_makes_new_puts_fail_fast() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), None, 200);
        stall_puts(&store, Duration::from_millis(700));
        let stuck = stuck_put(&store);
        assert!(!store.is_page_cache_busy(), "not busy before the timeout");
        std::thread::sleep(Duration::from_millis(350));
        assert!(store.is_page_cache_busy());
        *store.inner.commit_log.put_hook.lock() = None;
        let started = Instant::now();
        let err = store.put(&mut msg(), 0).unwrap_err();
        assert!(matches!(err, StoreError::PageCacheBusy), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "refused without waiting"
        );
        assert_eq!(
            err.to_string(),
            "[PC_SYNCHRONIZED]broker busy, start flow control for a while"
        );
        stuck.join().unwrap();
        assert!(!store.is_page_cache_busy());
        store
            .put(&mut msg(), 0)
            .expect("puts work again once the lock is free");
    }

    #[test]
    fn a_put_waiting_too_long_for_the_lock_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), Some(100), 60_000);
        stall_puts(&store, Duration::from_millis(600));
        let stuck = stuck_put(&store);
        *store.inner.commit_log.put_hook.lock() = None;
        let started = Instant::now();
        let err = store.put(&mut msg(), 0).unwrap_err();
        let waited = started.elapsed();
        match err {
            StoreError::PutQueueTimeout {
                waited_ms,
                queue_len,
            } => {
                assert!((100..600).contains(&waited_ms), "waited {waited_ms} ms");
                assert_eq!(queue_len, 0);
            }
            other => panic!("expected a queue timeout, got {other:?}"),
        }
        assert!(
            waited < Duration::from_millis(550),
            "gave up before the stalled put ended"
        );
        stuck.join().unwrap();
        store.put(&mut msg(), 0).unwrap();
        assert_eq!(
            store.max_offset_in_queue("T", 0),
            2,
            "the refused put stored nothing"
        );
    }

    /// A hook that runs the work inline and counts how often the store asked for it, per thread (the
    /// stalled put of `stuck_put` runs on another thread).
    fn counting_hook() -> (StoreHooks, Arc<dyn Fn() -> usize>) {
        let calls = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let hook = {
            let calls = Arc::clone(&calls);
            move |work: &mut dyn FnMut()| {
                calls.lock().push(std::thread::current().id());
                work();
            }
        };
        let here = std::thread::current().id();
        let count = move || calls.lock().iter().filter(|id| **id == here).count();
        let hooks = StoreHooks {
            blocking: Some(Arc::new(hook)),
            ..StoreHooks::default()
        };
        (hooks, Arc::new(count))
    }

    #[test]
    fn only_slow_put_work_goes_through_the_blocking_hook() {
        let (hooks, calls) = counting_hook();
        let dir = tempfile::tempdir().unwrap();
        let store = open_with(dir.path(), Some(5_000), 60_000, hooks);
        store.put(&mut msg(), 0).unwrap();
        assert_eq!(calls(), 1, "a new queue is made through the hook");
        store.put(&mut msg(), 0).unwrap();
        assert_eq!(calls(), 1, "an existing queue and a free lock are not");
        stall_puts(&store, Duration::from_millis(300));
        let stuck = stuck_put(&store);
        *store.inner.commit_log.put_hook.lock() = None;
        store.put(&mut msg(), 0).unwrap();
        assert_eq!(calls(), 2, "a wait for a stalled put goes through the hook");
        stuck.join().unwrap();
        assert_eq!(store.max_offset_in_queue("T", 0), 4);

        // The hook belongs to its store: another store in the process runs the same work inline.
        let other_dir = tempfile::tempdir().unwrap();
        let other = open(other_dir.path(), Some(5_000), 60_000);
        other.put(&mut msg(), 0).unwrap();
        assert_eq!(calls(), 2, "another store's new queue");
    }

    #[test]
    fn without_a_limit_a_put_waits_for_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), None, 60_000);
        stall_puts(&store, Duration::from_millis(300));
        let stuck = stuck_put(&store);
        *store.inner.commit_log.put_hook.lock() = None;
        store.put(&mut msg(), 0).unwrap();
        stuck.join().unwrap();
        assert_eq!(store.max_offset_in_queue("T", 0), 2);
    }
}
