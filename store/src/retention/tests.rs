use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rmq_codec::message::{tags_code, StoredMessage};

use super::*;
use crate::message_store::{GetStatus, MessageStore};

/// Disk usage the test controls, in percent.
fn probe(percent: &Arc<AtomicU32>) -> DiskUsageProbe {
    let percent = Arc::clone(percent);
    DiskUsageProbe::new(move |_| Ok(f64::from(percent.load(Ordering::SeqCst)) / 100.0))
}

fn config(dir: &Path, percent: &Arc<AtomicU32>) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 4096,
        // 5 units per consume-queue file.
        mapped_file_size_consume_queue: 100,
        max_hash_slot_num: 4,
        max_index_num: 8,
        delete_commit_log_files_interval_ms: 0,
        disk_usage: probe(percent),
        ..StoreConfig::default()
    }
}

fn put(store: &MessageStore, topic: &str, i: usize) -> crate::PutResult {
    let mut m = StoredMessage {
        born_timestamp: 1_000,
        born_host: "10.0.0.9:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: Bytes::from(format!("body-{i}-{}", "x".repeat(300))),
        topic: topic.to_owned(),
        properties: format!("TAGS\u{1}TagA\u{2}KEYS\u{1}k{i}\u{2}"),
        ..StoredMessage::default()
    };
    store.put(&mut m, tags_code(Some("TagA"))).unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Sets the mtime of `path` to `hours` ago.
fn age(path: &Path, hours: u64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(hours * 3600))
        .unwrap();
}

fn all(_: i64) -> bool {
    true
}

/// A store with 3 messages of `U` then 40 of `T` (~400-byte records, ~10 per 4 KiB commit-log file), flushed so
/// that later mtime changes stick.
fn filled_store(
    dir: &Path,
    percent: &Arc<AtomicU32>,
    cfg: impl FnOnce(&mut StoreConfig),
) -> MessageStore {
    let mut config = config(dir, percent);
    cfg(&mut config);
    let store = MessageStore::open(config).unwrap();
    for i in 0..3 {
        put(&store, "U", i);
    }
    for i in 0..40 {
        put(&store, "T", i);
    }
    store.flush().unwrap();
    store
}

#[test]
fn expired_files_go_with_their_queues_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(10));
    let store = filled_store(dir.path(), &percent, |_| {});
    let clog = files(&dir.path().join("commitlog"));
    assert!(clog.len() >= 4, "{clog:?}");
    let index_before = files(&dir.path().join("index")).len();
    assert!(index_before > 3, "tiny index files roll");
    let old = store.get_messages("T", 0, 0, 1, usize::MAX, &all).messages[0].clone();
    for f in &clog {
        age(f, 100);
    }

    let report = store.clean_expired_now(false);

    assert_eq!(
        report.commit_log_files,
        clog.len() - 1,
        "all but the file being written"
    );
    assert_eq!(files(&dir.path().join("commitlog")), clog[clog.len() - 1..]);
    let clog_min = store.min_commit_log_offset();
    assert_eq!(clog_min, 4096 * (clog.len() as i64 - 1));
    // `T`: the queue's minimum is its first unit in the live file; consumers below it are told to move.
    let min = store.min_offset_in_queue("T", 0);
    assert!(min > 0);
    let unit = store.queue_unit("T", 0, min).unwrap();
    assert!(unit.commit_log_offset >= clog_min);
    assert!(store
        .queue_unit("T", 0, min - 1)
        .is_none_or(|u| u.commit_log_offset < clog_min));
    let r = store.get_messages("T", 0, 0, 32, usize::MAX, &all);
    assert_eq!(r.status, GetStatus::OffsetTooSmall);
    assert_eq!(
        (r.next_begin_offset, r.min_offset, r.max_offset),
        (min, min, 40)
    );
    let r = store.get_messages("T", 0, min, 32, usize::MAX, &all);
    assert_eq!(r.status, GetStatus::Found);
    assert_eq!(
        StoredMessage::decode(&r.messages[0]).unwrap().queue_offset,
        min
    );
    // Whole consume-queue files below the minimum are gone; the file holding `min` stays.
    let cq_files = files(&dir.path().join("consumequeue/T/0"));
    let first_cq = cq_files[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(first_cq, min * 20 - (min * 20) % 100);
    assert_eq!(report.consume_queue_files as i64, first_cq / 100);
    // `U` lived only in deleted files; its single (last) queue file stays, with min = max.
    assert_eq!(store.min_offset_in_queue("U", 0), 3);
    let r = store.get_messages("U", 0, 0, 32, usize::MAX, &all);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetTooSmall, 3)
    );
    // Index files whose entries all point below the minimum are gone; old keys no longer resolve.
    assert!(report.index_files > 0);
    assert_eq!(
        files(&dir.path().join("index")).len(),
        index_before - report.index_files
    );
    assert!(store
        .query_message("T", "k0", 32, 0, i64::MAX)
        .messages
        .is_empty());
    assert_eq!(
        store
            .query_message("T", "k39", 32, 0, i64::MAX)
            .messages
            .len(),
        1
    );
    // A view taken before the deletion still reads the unlinked file.
    let decoded = StoredMessage::decode(&old).unwrap();
    assert!(decoded.body.starts_with(b"body-0-"));

    // The store keeps working: puts, flushes, a second pass with nothing to do, and a reopen.
    put(&store, "T", 40);
    store.flush().unwrap();
    assert_eq!(
        store.flushed_commit_log_offset(),
        store.max_commit_log_offset()
    );
    assert_eq!(store.clean_expired_now(false).commit_log_files, 0);
    store.shutdown().unwrap();
    drop(store);
    let store = MessageStore::open(config(dir.path(), &percent)).unwrap();
    assert_eq!(store.min_commit_log_offset(), clog_min);
    assert_eq!(store.min_offset_in_queue("T", 0), min);
    assert_eq!(store.max_offset_in_queue("T", 0), 41);
    assert_eq!(store.min_offset_in_queue("U", 0), 3);
}

#[test]
fn young_files_stay_unless_forced_and_batches_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(10));
    let store = filled_store(dir.path(), &percent, |c| c.delete_file_batch_max = 2);
    let clog = files(&dir.path().join("commitlog"));
    age(&clog[0], 71);
    assert_eq!(
        store.clean_expired_now(false).commit_log_files,
        0,
        "71 h < 72 h"
    );
    assert_eq!(store.min_commit_log_offset(), 0);
    let report = store.clean_expired_now(true);
    assert_eq!(report.commit_log_files, 2, "deleteFileBatchMax");
    assert_eq!(store.min_commit_log_offset(), 2 * 4096);
    assert_eq!(files(&dir.path().join("commitlog")), clog[2..]);
    while store.clean_expired_now(true).commit_log_files > 0 {}
    assert_eq!(
        files(&dir.path().join("commitlog")),
        clog[clog.len() - 1..],
        "never the last file"
    );
}

#[test]
fn deletion_stops_at_the_first_young_file() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(10));
    let store = filled_store(dir.path(), &percent, |_| {});
    let clog = files(&dir.path().join("commitlog"));
    age(&clog[0], 100);
    age(&clog[2], 100);
    assert_eq!(store.clean_expired_now(false).commit_log_files, 1);
    assert_eq!(files(&dir.path().join("commitlog")), clog[1..]);
}

#[test]
fn full_disk_refuses_puts_but_not_reads_until_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(10));
    let store = filled_store(dir.path(), &percent, |_| {});
    let clog = files(&dir.path().join("commitlog"));
    percent.store(95, Ordering::SeqCst);
    let report = store.clean_expired_now(false);
    assert_eq!(report.disk_used_ratio, Some(0.95));
    assert_eq!(
        report.commit_log_files,
        clog.len() - 1,
        "above 85 % age does not matter"
    );
    assert!(store.is_disk_full());
    let mut m = StoredMessage {
        topic: "T".into(),
        body: Bytes::from_static(b"x"),
        born_host: "10.0.0.9:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        ..StoredMessage::default()
    };
    let err = store.put(&mut m, 0).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::DiskFull {
                used_percent: 95,
                limit_percent: 90
            }
        ),
        "{err:?}"
    );
    let max = store.max_offset_in_queue("T", 0);
    assert_eq!(max, 40, "nothing written");
    let r = store.get_messages("T", 0, max - 1, 1, usize::MAX, &all);
    assert_eq!(r.status, GetStatus::Found, "reads go on");
    percent.store(90, Ordering::SeqCst);
    store.clean_expired_now(false);
    assert!(!store.is_disk_full(), "at the limit is not above it");
    assert_eq!(store.put(&mut m, 0).unwrap().queue_offset, 40);
}

#[test]
fn a_store_opened_on_a_full_disk_refuses_puts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(99));
    let store = MessageStore::open(config(dir.path(), &percent)).unwrap();
    assert!(store.is_disk_full());
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_thread_cleans_above_the_max_ratio_outside_delete_hours() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(50));
    let hour = local_time(now_ms() / 1000).unwrap().hour;
    let store = filled_store(dir.path(), &percent, |c| {
        c.clean_resource_interval_ms = 10;
        // An hour that is not now (the test may straddle one hour boundary, not twelve).
        c.delete_when = format!("{:02}", (hour + 12) % 24);
    });
    let clog = files(&dir.path().join("commitlog"));
    age(&clog[0], 100);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        store.min_commit_log_offset(),
        0,
        "not the hour, disk not above 75 %"
    );
    percent.store(80, Ordering::SeqCst);
    wait_for("the expired file to go", || {
        store.min_commit_log_offset() == 4096
    });
    assert_eq!(
        files(&dir.path().join("commitlog")),
        clog[1..],
        "only the expired one at 80 %"
    );
    wait_for("the queue minimum", || {
        store.min_offset_in_queue("U", 0) == 3
    });
    percent.store(91, Ordering::SeqCst);
    wait_for("disk full", || store.is_disk_full());
    percent.store(20, Ordering::SeqCst);
    wait_for("disk ok", || !store.is_disk_full());
    store.shutdown().unwrap();
}

#[test]
fn the_thread_cleans_at_the_delete_hour() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(10));
    let hour = local_time(now_ms() / 1000).unwrap().hour;
    let store = filled_store(dir.path(), &percent, |c| {
        c.clean_resource_interval_ms = 10;
        // Now and the next hour, in case the test straddles the boundary.
        c.delete_when = format!("{:02};{:02}", hour, (hour + 1) % 24);
    });
    let clog = files(&dir.path().join("commitlog"));
    age(&clog[0], 100);
    age(&clog[1], 100);
    wait_for("the expired files to go", || {
        store.min_commit_log_offset() == 2 * 4096
    });
}

#[test]
fn plan_follows_the_java_thresholds() {
    let cfg = StoreConfig::default();
    let timer = |hour| Trigger::Timer { hour: Some(hour) };
    let p = plan(&cfg, Some(0.5), timer(3));
    assert_eq!(
        p,
        Plan {
            delete_commit_log: false,
            ignore_age: false,
            disk_full: false
        }
    );
    assert!(
        plan(&cfg, Some(0.5), timer(4)).delete_commit_log,
        "deleteWhen 04"
    );
    assert!(!plan(&cfg, Some(0.5), Trigger::Timer { hour: None }).delete_commit_log);
    let p = plan(&cfg, Some(0.76), timer(3));
    assert!(p.delete_commit_log && !p.ignore_age && !p.disk_full);
    let p = plan(&cfg, Some(0.86), timer(3));
    assert!(p.delete_commit_log && p.ignore_age && !p.disk_full);
    let p = plan(&cfg, Some(0.91), timer(3));
    assert!(p.delete_commit_log && p.ignore_age && p.disk_full);
    let p = plan(&cfg, None, timer(3));
    assert!(
        p.delete_commit_log && !p.ignore_age && !p.disk_full,
        "a failed probe"
    );
    let p = plan(&cfg, Some(0.1), Trigger::Manual { force: false });
    assert!(p.delete_commit_log && !p.ignore_age);
    assert!(plan(&cfg, Some(0.1), Trigger::Manual { force: true }).ignore_age);
    let low = StoreConfig {
        disk_max_used_space_ratio: 5,
        ..StoreConfig::default()
    };
    assert!(
        !plan(&low, Some(0.09), timer(3)).delete_commit_log,
        "clamped to 10 %"
    );
    assert!(plan(&low, Some(0.11), timer(3)).delete_commit_log);
}

#[test]
fn delete_when_is_a_list_of_hours() {
    assert!(is_delete_hour("04", 4));
    assert!(!is_delete_hour("04", 5));
    assert!(is_delete_hour("01;13; 23", 23));
    assert!(is_delete_hour("x;7", 7));
    assert!(!is_delete_hour("", 0));
}

#[test]
fn statvfs_reports_a_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let used = DiskUsageProbe::statvfs().used_ratio(dir.path()).unwrap();
    assert!((0.0..=1.0).contains(&used), "{used}");
    assert!(DiskUsageProbe::statvfs()
        .used_ratio(&dir.path().join("missing"))
        .is_err());
}

#[test]
fn clean_expired_queues_drops_queues_whose_messages_left_the_commit_log() {
    let dir = tempfile::tempdir().unwrap();
    let percent = Arc::new(AtomicU32::new(10));
    let store = filled_store(dir.path(), &percent, |_| {});
    assert_eq!(
        store.clean_expired_queues(&|_| false).unwrap(),
        0,
        "nothing expired yet"
    );
    // The first commit-log file holds all of U and the start of T.
    assert!(store.clean_expired_now(true).commit_log_files >= 1);
    assert!(store.min_commit_log_offset() > 0);
    assert_eq!(
        store.clean_expired_queues(&|t| t == "U").unwrap(),
        0,
        "protected"
    );
    assert_eq!(store.clean_expired_queues(&|_| false).unwrap(), 1);
    assert!(store.queue_ids("U").is_empty());
    assert!(!dir.path().join("consumequeue/U/0").exists());
    assert_eq!(
        store.max_offset_in_queue("T", 0),
        40,
        "T still has live messages"
    );
}
