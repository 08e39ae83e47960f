use super::*;
use rmq_codec::message::{tags_code, StoredMessage};

fn config(dir: &std::path::Path) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 4096,
        mapped_file_size_consume_queue: 200,
        flush_disk_type: FlushDiskType::Sync,
        ..StoreConfig::default()
    }
}

fn msg(topic: &str, queue_id: i32, body: &str) -> StoredMessage {
    StoredMessage {
        queue_id,
        born_timestamp: 1_000,
        born_host: "10.0.0.9:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: Bytes::copy_from_slice(body.as_bytes()),
        topic: topic.to_owned(),
        properties: "TAGS\u{1}TagA\u{2}".to_owned(),
        ..StoredMessage::default()
    }
}

fn put_n(store: &MessageStore, topic: &str, queue_id: i32, n: usize) -> Vec<PutResult> {
    (0..n)
        .map(|i| {
            let mut m = msg(topic, queue_id, &format!("body-{i}-{}", "x".repeat(300)));
            store.put(&mut m, tags_code(Some("TagA"))).unwrap()
        })
        .collect()
}

fn all(_: i64) -> bool {
    true
}

fn bodies(store: &MessageStore, topic: &str, queue_id: i32) -> Vec<(i64, String)> {
    // Like Java, one pull reads units from one consume-queue file only: page with next_begin_offset.
    let mut out = Vec::new();
    let mut offset = store.min_offset_in_queue(topic, queue_id);
    loop {
        let r = store.get_messages(topic, queue_id, offset, 1000, usize::MAX, &all);
        if r.status != GetStatus::Found {
            return out;
        }
        for raw in &r.messages {
            let m = StoredMessage::decode(raw).unwrap();
            out.push((m.queue_offset, String::from_utf8(m.body.to_vec()).unwrap()));
        }
        offset = r.next_begin_offset;
    }
}

fn commit_log_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn put_and_get_across_file_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, "T", 0, 30);
    assert_eq!(
        results.iter().map(|r| r.queue_offset).collect::<Vec<_>>(),
        (0..30).collect::<Vec<_>>()
    );
    // ~400-byte records in 4096-byte files: several rolls, each file closed by a BLANK record.
    let files = commit_log_files(dir.path());
    assert!(files.len() >= 3, "{files:?}");
    assert_eq!(files[1].file_name().unwrap(), "00000000000000004096");
    let first = std::fs::read(&files[0]).unwrap();
    let blank_at = results
        .iter()
        .filter(|r| r.commit_log_offset < 4096)
        .map(|r| r.commit_log_offset as usize + r.wrote_bytes)
        .max()
        .unwrap();
    assert_eq!(
        i32::from_be_bytes(first[blank_at + 4..blank_at + 8].try_into().unwrap()),
        rmq_codec::message::BLANK_MAGIC
    );
    assert_eq!(
        i32::from_be_bytes(first[blank_at..blank_at + 4].try_into().unwrap()) as usize,
        4096 - blank_at
    );
    let got = bodies(&store, "T", 0);
    assert_eq!(got.len(), 30);
    for (i, (qo, body)) in got.iter().enumerate() {
        assert_eq!(*qo, i as i64);
        assert!(body.starts_with(&format!("body-{i}-")));
    }
    // Records are byte-identical to what was returned in the put.
    let rec = store.message_at(results[7].commit_log_offset).unwrap();
    let decoded = StoredMessage::decode(&rec).unwrap();
    assert_eq!(decoded.commit_log_offset, results[7].commit_log_offset);
    assert_eq!(decoded.store_timestamp, results[7].store_timestamp);
    assert_eq!(decoded.offset_msg_id(), results[7].msg_id);
    assert_eq!(
        store.store_time_at("T", 0, 7),
        Some(results[7].store_timestamp)
    );
    assert_eq!(store.max_offset_in_queue("T", 0), 30);
    assert_eq!(store.min_offset_in_queue("T", 0), 0);
    // Consume queue files roll every 10 units (200 bytes).
    assert!(dir
        .path()
        .join("consumequeue/T/0/00000000000000000200")
        .exists());
}

#[test]
fn reads_honour_limits_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, "T", 1, 6);
    let r = store.get_messages("T", 1, 2, 3, usize::MAX, &all);
    assert_eq!(
        (r.status, r.messages.len(), r.next_begin_offset),
        (GetStatus::Found, 3, 5)
    );
    let size = results[0].wrote_bytes;
    let r = store.get_messages("T", 1, 0, 32, size * 2, &all);
    assert_eq!((r.messages.len(), r.next_begin_offset), (2, 2));
    let r = store.get_messages("T", 1, 0, 32, 1, &all);
    assert_eq!(r.messages.len(), 1, "the first message always fits");
    let r = store.get_messages("T", 1, 0, 32, usize::MAX, &|code| code == 0);
    assert_eq!(
        (r.status, r.messages.len(), r.next_begin_offset),
        (GetStatus::NoMatchedMessage, 0, 6)
    );
    assert_eq!((r.min_offset, r.max_offset), (0, 6));
}

#[test]
fn read_status_edges() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let r = store.get_messages("none", 0, 5, 32, usize::MAX, &all);
    assert_eq!(
        (r.status, r.next_begin_offset, r.max_offset),
        (GetStatus::NoMessageInQueue, 0, 0)
    );
    put_n(&store, "T", 0, 3);
    let r = store.get_messages("T", 0, 3, 32, usize::MAX, &all);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetOverflowOne, 3)
    );
    let r = store.get_messages("T", 0, 9, 32, usize::MAX, &all);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetOverflowBadly, 3)
    );
    let r = store.get_messages("T", 0, -1, 32, usize::MAX, &all);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetTooSmall, 0)
    );
}

#[test]
fn offset_below_min_after_queue_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_n(&store, "T", 0, 25);
    drop(store);
    // Drop the first consume-queue file, as retention would.
    std::fs::remove_file(dir.path().join("consumequeue/T/0/00000000000000000000")).unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.min_offset_in_queue("T", 0), 10);
    let r = store.get_messages("T", 0, 3, 32, usize::MAX, &all);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetTooSmall, 10)
    );
}

#[test]
fn reopen_after_drop_and_after_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_n(&store, "T", 0, 12);
    put_n(&store, "U", 3, 5);
    let before = (
        bodies(&store, "T", 0),
        bodies(&store, "U", 3),
        store.max_commit_log_offset(),
    );
    drop(store);
    assert!(dir.path().join("abort").exists(), "drop is a crash");
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(
        (
            bodies(&store, "T", 0),
            bodies(&store, "U", 3),
            store.max_commit_log_offset()
        ),
        before
    );
    store.shutdown().unwrap();
    assert!(!dir.path().join("abort").exists());
    assert!(store.put(&mut msg("T", 0, "late"), 0).is_err());
    let checkpoint = std::fs::read(dir.path().join("checkpoint")).unwrap();
    assert_eq!(checkpoint.len(), 4096);
    assert!(i64::from_be_bytes(checkpoint[0..8].try_into().unwrap()) > 0);
    assert!(i64::from_be_bytes(checkpoint[8..16].try_into().unwrap()) > 0);
    drop(store);
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(
        (
            bodies(&store, "T", 0),
            bodies(&store, "U", 3),
            store.max_commit_log_offset()
        ),
        before
    );
    let next = put_n(&store, "T", 0, 1);
    assert_eq!(next[0].queue_offset, 12);
    assert_eq!(next[0].commit_log_offset, before.2);
}

#[test]
fn torn_tail_is_cut_and_earlier_messages_survive() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, "T", 0, 5);
    drop(store);
    let last = results.last().unwrap();
    let file = commit_log_files(dir.path()).pop().unwrap();
    let file_start: u64 = file.file_name().unwrap().to_str().unwrap().parse().unwrap();
    let cut = (last.commit_log_offset as u64 - file_start) as usize + 50;
    // Tear the last record: keep its first 50 bytes, then garbage.
    let mut raw = std::fs::read(&file).unwrap();
    raw[cut..cut + 100].fill(0xAB);
    std::fs::write(&file, &raw).unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.max_commit_log_offset(), last.commit_log_offset);
    assert_eq!(
        store.max_offset_in_queue("T", 0),
        4,
        "the unit of the torn record is dropped"
    );
    assert_eq!(bodies(&store, "T", 0).len(), 4);
    let again = put_n(&store, "T", 0, 1);
    assert_eq!(
        (again[0].queue_offset, again[0].commit_log_offset),
        (4, last.commit_log_offset)
    );
    drop(store);
    let raw = std::fs::read(&file).unwrap();
    let end = (last.commit_log_offset as u64 - file_start) as usize + again[0].wrote_bytes;
    assert!(
        raw[end..].iter().all(|b| *b == 0),
        "garbage after the new tail was zeroed"
    );
}

#[test]
fn garbage_appended_after_the_end_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_n(&store, "T", 0, 2);
    let end = store.max_commit_log_offset() as usize;
    drop(store);
    let file = commit_log_files(dir.path()).pop().unwrap();
    let mut raw = std::fs::read(&file).unwrap();
    raw[end..end + 16].copy_from_slice(&[0x7F; 16]);
    std::fs::write(&file, &raw).unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.max_commit_log_offset() as usize, end);
    assert_eq!(bodies(&store, "T", 0).len(), 2);
}

#[test]
fn deleted_consume_queue_is_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_n(&store, "T", 0, 15);
    let mut m = msg("T", 2, "tagged");
    m.properties = "TAGS\u{1}TagB\u{2}".into();
    store.put(&mut m, tags_code(Some("TagB"))).unwrap();
    let before = bodies(&store, "T", 0);
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(bodies(&store, "T", 0), before);
    assert_eq!(
        store.queue_unit("T", 2, 0).unwrap().tags_code,
        tags_code(Some("TagB"))
    );
    assert_eq!(store.queue_ids("T"), vec![0, 2]);
}

#[test]
fn lost_tail_units_are_redispatched() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_n(&store, "T", 0, 8);
    drop(store);
    // Simulate a crash after the commit-log append but before the last three unit writes.
    let cq = dir.path().join("consumequeue/T/0/00000000000000000000");
    let mut raw = std::fs::read(&cq).unwrap();
    raw[5 * 20..].fill(0);
    std::fs::write(&cq, &raw).unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.max_offset_in_queue("T", 0), 8);
    assert_eq!(bodies(&store, "T", 0).len(), 8);
}

#[test]
fn batch_gets_consecutive_offsets_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_n(&store, "T", 0, 2);
    let mut batch: Vec<StoredMessage> = (0..5)
        .map(|i| msg("T", 0, &format!("b{i}-{}", "y".repeat(300))))
        .collect();
    let results = store.put_batch(&mut batch, &[7; 5]).unwrap();
    assert_eq!(
        results.iter().map(|r| r.queue_offset).collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6]
    );
    let files: std::collections::HashSet<i64> =
        results.iter().map(|r| r.commit_log_offset / 4096).collect();
    assert_eq!(files.len(), 1, "a batch never spans files");
    for pair in results.windows(2) {
        assert_eq!(
            pair[0].commit_log_offset + pair[0].wrote_bytes as i64,
            pair[1].commit_log_offset
        );
        assert_eq!(pair[0].store_timestamp, pair[1].store_timestamp);
    }
    assert_eq!(batch[4].queue_offset, 6);
    let mut mixed = vec![msg("T", 0, "a"), msg("T", 1, "b")];
    assert!(matches!(
        store.put_batch(&mut mixed, &[0, 0]),
        Err(StoreError::InvalidArgument(_))
    ));
}

#[test]
fn prepared_and_rollback_get_no_unit() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    put_n(&store, "T", 0, 1);
    let mut half = msg("T", 0, "half");
    half.sys_flag = sys_flag::TRANSACTION_PREPARED;
    let r = store.put(&mut half, 0).unwrap();
    assert_eq!(r.queue_offset, 0);
    assert_eq!(store.max_offset_in_queue("T", 0), 1);
    let mut commit = msg("T", 0, "commit");
    commit.sys_flag = sys_flag::TRANSACTION_COMMIT;
    assert_eq!(store.put(&mut commit, 0).unwrap().queue_offset, 1);
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.max_offset_in_queue("T", 0), 2);
    assert!(store.message_at(r.commit_log_offset).is_some());
}

#[test]
fn lock_prevents_a_second_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert!(matches!(
        MessageStore::open(config(dir.path())),
        Err(StoreError::Locked(_))
    ));
    assert_eq!(std::fs::read(dir.path().join("lock")).unwrap(), b"lock");
    drop(store);
    MessageStore::open(config(dir.path())).unwrap();
}

#[test]
fn oversized_message_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_message_size = 100;
    let store = MessageStore::open(cfg).unwrap();
    let mut m = msg("T", 0, &"z".repeat(101));
    assert!(matches!(
        store.put(&mut m, 0),
        Err(StoreError::MessageTooLarge { .. })
    ));
    drop(store);
    let store = MessageStore::open(config(dir.path())).unwrap();
    // Larger than a 4096-byte commit-log file can hold.
    let mut m = msg("T", 0, &"z".repeat(4096));
    assert!(matches!(
        store.put(&mut m, 0),
        Err(StoreError::MessageTooLarge { .. })
    ));
    assert_eq!(store.max_commit_log_offset(), 0);
}

#[test]
fn async_flush_and_concurrent_readers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.flush_disk_type = FlushDiskType::Async;
    cfg.flush_interval_commit_log_ms = 10;
    let store = Arc::new(MessageStore::open(cfg).unwrap());
    let reader = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            let mut seen = 0;
            while seen < 40 {
                let r = store.get_messages("T", 0, seen, 32, usize::MAX, &all);
                for raw in &r.messages {
                    assert_eq!(StoredMessage::decode(raw).unwrap().queue_offset, seen);
                    seen += 1;
                }
            }
        })
    };
    put_n(&store, "T", 0, 40);
    reader.join().unwrap();
    store.shutdown().unwrap();
}

#[test]
fn delayed_and_timer_units_carry_the_delivery_time_on_put_and_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let mut delayed = msg(SCHEDULE_TOPIC, 1, "delayed");
    delayed.properties = "TAGS\u{1}TagA\u{2}DELAY\u{1}2\u{2}".into();
    let put = store.put(&mut delayed, tags_code(Some("TagA"))).unwrap();
    let mut timer = msg(TIMER_TOPIC, 0, "timer");
    timer.properties = "TAGS\u{1}TagA\u{2}TIMER_OUT_MS\u{1}1700000000000\u{2}".into();
    store.put(&mut timer, tags_code(Some("TagA"))).unwrap();
    let expected = [put.store_timestamp + 5_000, 1_700_000_000_000];
    let units = |store: &MessageStore| {
        [
            store.queue_unit(SCHEDULE_TOPIC, 1, 0).unwrap().tags_code,
            store.queue_unit(TIMER_TOPIC, 0, 0).unwrap().tags_code,
        ]
    };
    assert_eq!(units(&store), expected);
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(
        units(&store),
        expected,
        "recovery recomputes the same codes"
    );
}

#[test]
fn shutdown_stops_and_joins_every_store_thread() {
    for flush_disk_type in [FlushDiskType::Sync, FlushDiskType::Async] {
        let dir = tempfile::tempdir().unwrap();
        let store = MessageStore::open(StoreConfig {
            flush_disk_type,
            ..config(dir.path())
        })
        .unwrap();
        put_n(&store, "T", 0, 20);
        store.shutdown().unwrap();
        let mut threads: Vec<&BackgroundThread> = store.flusher.threads().iter().collect();
        threads.push(store.cleaner.thread());
        threads.extend(store.inner.commit_log.prefault_thread());
        threads.extend(store.index_catch_up.as_ref());
        assert!(threads.len() >= 4, "{flush_disk_type:?}: {threads:?}");
        for thread in threads {
            assert!(thread.is_joined(), "{flush_disk_type:?}: {thread:?}");
        }
    }
}

#[test]
fn store_path_commit_log_puts_the_commit_log_elsewhere_and_recovers_from_there() {
    let root = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        commit_log_path: Some(elsewhere.path().join("clog")),
        ..config(root.path())
    };
    let store = MessageStore::open(config.clone()).unwrap();
    put_n(&store, "T", 0, 20);
    store.shutdown().unwrap();
    drop(store);
    assert!(!root.path().join("commitlog").exists());
    assert!(
        std::fs::read_dir(elsewhere.path().join("clog"))
            .unwrap()
            .count()
            > 1
    );
    let store = MessageStore::open(config).unwrap();
    assert_eq!(bodies(&store, "T", 0).len(), 20);
}
