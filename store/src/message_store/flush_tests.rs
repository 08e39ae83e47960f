//! Group commit, flush timeouts, poisoning and the async flusher, with faults injected into the commit-log
//! flush (`CommitLog::inject_flush_fault`).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_codec::message::StoredMessage;

use super::{FlushOutcome, PutStatus};
use crate::error::StoreError;
use crate::message_store::{FlushDiskType, MessageStore, StoreConfig};

fn config(dir: &std::path::Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 1 << 20,
        mapped_file_size_consume_queue: 2000,
        flush_disk_type: mode,
        ..StoreConfig::default()
    }
}

fn msg(body_len: usize) -> StoredMessage {
    StoredMessage {
        queue_id: 0,
        born_timestamp: 1_000,
        born_host: "10.0.0.9:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: Bytes::from(vec![b'x'; body_len]),
        topic: "T".to_owned(),
        ..StoredMessage::default()
    }
}

fn slow_flush(store: &MessageStore, delay: Duration) {
    store
        .inner
        .commit_log
        .inject_flush_fault(Some(Box::new(move || {
            std::thread::sleep(delay);
            Ok(())
        })));
}

/// Polls `cond` for up to 5 s.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sync_put_is_answered_only_after_the_flush_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::Sync)).unwrap();
    let first = store.put(&mut msg(100), 0).unwrap();
    let end = first.commit_log_offset + first.wrote_bytes as i64;
    assert_eq!(first.status, PutStatus::PutOk);
    assert!(store.flushed_commit_log_offset() >= end);

    slow_flush(&store, Duration::from_millis(200));
    let (put, waiter) = store.put_deferred(&mut msg(100), 0, true).unwrap();
    let waiter = waiter.expect("SYNC_FLUSH with WAIT gives a waiter");
    let end = put.commit_log_offset + put.wrote_bytes as i64;
    assert_eq!(waiter.target_offset(), end);
    assert_eq!(waiter.wait_timeout(Duration::from_millis(50)), None);
    assert!(
        store.flushed_commit_log_offset() < end,
        "flush still running"
    );
    let (tx, rx) = mpsc::channel();
    let flushed = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&flushed);
    let inner = Arc::clone(&store.inner);
    waiter.on_complete(move |outcome| {
        seen.store(inner.commit_log.flushed_offset() as usize, Ordering::SeqCst);
        tx.send(outcome).unwrap();
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        FlushOutcome::Flushed
    );
    assert!(flushed.load(Ordering::SeqCst) as i64 >= end);

    // The blocking form waits through the slow flush as well.
    let started = Instant::now();
    let r = store.put(&mut msg(10), 0).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(store.flushed_commit_log_offset() >= r.commit_log_offset + r.wrote_bytes as i64);
}

#[test]
fn one_flush_serves_many_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MessageStore::open(config(dir.path(), FlushDiskType::Sync)).unwrap());
    // A 2 ms "disk" lets writers pile up behind each flush, whatever the real disk does.
    slow_flush(&store, Duration::from_millis(2));
    let before = store.commit_log_flush_count();
    let (threads, per_thread) = (16, 20);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..per_thread {
                    let r = store.put(&mut msg(64), 0).unwrap();
                    assert_eq!(r.status, PutStatus::PutOk);
                    let end = r.commit_log_offset + r.wrote_bytes as i64;
                    assert!(store.flushed_commit_log_offset() >= end);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let flushes = store.commit_log_flush_count() - before;
    let puts = (threads * per_thread) as u64;
    assert!(flushes > 0);
    assert!(
        flushes * 3 < puts,
        "{flushes} flushes for {puts} puts: no group commit"
    );
    assert_eq!(store.max_offset_in_queue("T", 0), puts as i64);
}

#[test]
fn slow_flush_answers_flush_disk_timeout_and_keeps_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), FlushDiskType::Sync);
    cfg.sync_flush_timeout_ms = 50;
    let store = MessageStore::open(cfg).unwrap();
    slow_flush(&store, Duration::from_millis(600));
    let started = Instant::now();
    let r = store.put(&mut msg(100), 0).unwrap();
    let took = started.elapsed();
    assert_eq!(r.status, PutStatus::FlushDiskTimeout);
    assert!(
        took < Duration::from_millis(450),
        "answered at the deadline, not after the stuck msync ({took:?})"
    );
    assert!(store.message_at(r.commit_log_offset).is_some());
    assert_eq!(store.max_offset_in_queue("T", 0), 1);
    // The deferred form reports the same through its waiter.
    let (_, waiter) = store.put_deferred(&mut msg(100), 0, true).unwrap();
    assert_eq!(waiter.unwrap().wait(), FlushOutcome::TimedOut);
    store.inner.commit_log.inject_flush_fault(None);
    let end = store.max_commit_log_offset();
    eventually("the late flush", || {
        store.flushed_commit_log_offset() >= end
    });
}

#[test]
fn failed_flush_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::Sync)).unwrap();
    store.put(&mut msg(10), 0).unwrap();
    store
        .inner
        .commit_log
        .inject_flush_fault(Some(Box::new(|| Err(io::Error::other("EIO")))));
    let (_, waiter) = store.put_deferred(&mut msg(10), 0, true).unwrap();
    assert_eq!(waiter.unwrap().wait(), FlushOutcome::Failed);
    // The disk "recovers", but the store must not: the failed range may never have reached it.
    store.inner.commit_log.inject_flush_fault(None);
    assert!(matches!(
        store.put(&mut msg(10), 0),
        Err(StoreError::Poisoned)
    ));
    assert!(matches!(store.flush(), Err(StoreError::Poisoned)));
    assert!(store.shutdown().is_err());
}

#[test]
fn async_flush_error_poisons_later_puts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), FlushDiskType::Async);
    cfg.flush_interval_commit_log_ms = 5;
    cfg.flush_commit_log_least_pages = 0;
    let store = MessageStore::open(cfg).unwrap();
    store
        .inner
        .commit_log
        .inject_flush_fault(Some(Box::new(|| Err(io::Error::other("EIO")))));
    let (_, waiter) = store.put_deferred(&mut msg(10), 0, true).unwrap();
    assert!(waiter.is_none(), "ASYNC_FLUSH never waits");
    eventually("the flusher to poison the store", || {
        matches!(store.put(&mut msg(10), 0), Err(StoreError::Poisoned))
    });
}

#[test]
fn async_flush_waits_for_pages_then_flushes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), FlushDiskType::Async);
    cfg.mapped_file_size_commit_log = 4 << 20;
    cfg.flush_interval_commit_log_ms = 5;
    cfg.flush_commit_log_thorough_interval_ms = 60_000;
    let store = MessageStore::open(cfg).unwrap();
    let small = store.put(&mut msg(100), 0).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        store.flushed_commit_log_offset() < small.commit_log_offset + small.wrote_bytes as i64,
        "one record is less than flushCommitLogLeastPages"
    );
    // Timed flushes stop at the last 2 MiB (largest folio) boundary below the write position.
    let folio = crate::mapped_file::LARGEST_FOLIO as i64;
    while store.max_commit_log_offset() < folio + 64 * 1024 {
        store.put(&mut msg(4096), 0).unwrap();
    }
    eventually("the flush up to the folio boundary", || {
        store.flushed_commit_log_offset() == folio
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        store.flushed_commit_log_offset(),
        folio,
        "the folio being appended to is left for the thorough flush"
    );
    drop(store);

    let mut cfg = config(dir.path(), FlushDiskType::Async);
    cfg.mapped_file_size_commit_log = 4 << 20;
    cfg.flush_interval_commit_log_ms = 5;
    cfg.flush_commit_log_thorough_interval_ms = 20;
    let store = MessageStore::open(cfg).unwrap();
    let r = store.put(&mut msg(100), 0).unwrap();
    let end = r.commit_log_offset + r.wrote_bytes as i64;
    eventually("the thorough flush", || {
        store.flushed_commit_log_offset() >= end
    });
}

#[test]
fn wait_false_only_wakes_the_flusher() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::Sync)).unwrap();
    slow_flush(&store, Duration::from_millis(500));
    let started = Instant::now();
    let (r, waiter) = store.put_deferred(&mut msg(10), 0, false).unwrap();
    assert!(waiter.is_none());
    assert_eq!(r.status, PutStatus::PutOk);
    assert!(started.elapsed() < Duration::from_millis(400));
    let end = r.commit_log_offset + r.wrote_bytes as i64;
    eventually("the woken flush", || {
        store.flushed_commit_log_offset() >= end
    });
}

#[test]
fn shutdown_completes_pending_waiters_and_reopen_is_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::Sync)).unwrap();
    slow_flush(&store, Duration::from_millis(50));
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            store
                .put_deferred(&mut msg(10), 0, true)
                .unwrap()
                .1
                .unwrap()
        })
        .collect();
    store.shutdown().unwrap();
    for w in waiters {
        assert_eq!(w.outcome(), Some(FlushOutcome::Flushed));
    }
    let end = store.max_commit_log_offset();
    drop(store);
    let store = MessageStore::open(config(dir.path(), FlushDiskType::Sync)).unwrap();
    assert_eq!(store.flushed_commit_log_offset(), end);
}

#[test]
fn queue_flush_waits_for_least_pages_and_only_a_full_flush_moves_the_logics_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(StoreConfig {
        // Keep the background loop out of the way: the test drives the flushes itself.
        flush_interval_consume_queue_ms: 3_600_000,
        flush_consume_queue_thorough_interval_ms: 3_600_000,
        ..config(dir.path(), FlushDiskType::Async)
    })
    .unwrap();
    store.put(&mut msg(100), 0).unwrap();
    let queue = store.inner.queue("T", 0).unwrap();
    let logics_ts = || store.inner.checkpoint.lock().logics_msg_timestamp;

    store.inner.flush_queues_and_checkpoint(2).unwrap();
    assert_eq!(
        queue.flushed_offset(),
        0,
        "one unit is less than two dirty pages"
    );
    assert_eq!(logics_ts(), 0, "a partial flush vouches for nothing");

    store.inner.flush_queues_and_checkpoint(0).unwrap();
    assert_eq!(queue.flushed_offset(), 20);
    assert!(logics_ts() > 0);
}

/// Java times a put up to its future completing, so with SYNC_FLUSH the flush wait is part of the put's
/// time (`putMessageEntireTimeMax`, the latency histograms): the put is recorded when its waiter settles.
#[test]
fn a_waiting_put_is_timed_up_to_its_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), FlushDiskType::Sync)).unwrap();
    slow_flush(&store, Duration::from_millis(200));
    let (_, waiter) = store.put_deferred(&mut msg(100), 0, true).unwrap();
    let waiter = waiter.expect("SYNC_FLUSH with WAIT gives a waiter");
    assert_eq!(
        store.stats().totals().put_messages,
        0,
        "not recorded before the flush"
    );
    assert_eq!(waiter.wait(), FlushOutcome::Flushed);
    let totals = store.stats().totals();
    assert_eq!(totals.put_messages, 1);
    assert!(
        totals.put_time_max_ms >= 200,
        "the injected 200 ms flush is in the put's time: {} ms",
        totals.put_time_max_ms
    );
    // WAIT=false is answered at once and timed without the flush.
    store.inner.commit_log.inject_flush_fault(None);
    let (_, none) = store.put_deferred(&mut msg(100), 0, false).unwrap();
    assert!(none.is_none());
    assert_eq!(store.stats().totals().put_messages, 2);
}
