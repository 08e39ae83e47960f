//! The index through `MessageStore`: put, query, roll, reopen, crash.

use std::path::Path;

use bytes::Bytes;
use rmq_codec::message::{properties, sys_flag, StoredMessage};

use super::{file, key_hash, ENTRY_SIZE, HEADER_SIZE};
use crate::message_store::{FlushDiskType, MessageStore, StoreConfig};

pub(super) const SLOTS: u32 = 16;

pub(super) fn config(dir: &Path, max_index_num: u32) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 2000,
        flush_disk_type: FlushDiskType::Async,
        max_hash_slot_num: SLOTS,
        max_index_num,
        ..StoreConfig::default()
    }
}

fn msg(topic: &str, uniq: &str, keys: Option<&str>) -> StoredMessage {
    let mut props = format!("{}\u{1}{uniq}\u{2}", properties::UNIQ_KEY);
    if let Some(keys) = keys {
        props.push_str(&format!("{}\u{1}{keys}\u{2}", properties::KEYS));
    }
    StoredMessage {
        born_timestamp: 1_000,
        born_host: "10.0.0.9:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: Bytes::from(format!("body of {uniq}")),
        topic: topic.to_owned(),
        properties: props,
        ..StoredMessage::default()
    }
}

pub(super) fn put(store: &MessageStore, topic: &str, uniq: &str, keys: Option<&str>) -> i64 {
    store
        .put(&mut msg(topic, uniq, keys), 0)
        .unwrap()
        .commit_log_offset
}

/// Body texts of the records a query returns.
pub(super) fn query(store: &MessageStore, topic: &str, key: &str) -> Vec<String> {
    query_range(store, topic, key, 0, i64::MAX)
}

fn query_range(store: &MessageStore, topic: &str, key: &str, begin: i64, end: i64) -> Vec<String> {
    store
        .query_message(topic, key, 32, begin, end)
        .messages
        .iter()
        .map(|raw| String::from_utf8(StoredMessage::decode(raw).unwrap().body.to_vec()).unwrap())
        .collect()
}

pub(super) fn index_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Waits for the open's background re-indexing to hand over to puts.
pub(super) fn wait_caught_up(store: &MessageStore) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.index().is_catching_up() {
        assert!(
            std::time::Instant::now() < deadline,
            "catch-up never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn query_by_unique_key_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 1000)).unwrap();
    put(&store, "TopicA", "U1", Some("order-1 shared"));
    put(&store, "TopicA", "U2", Some("order-2 shared"));
    put(&store, "TopicA", "U3", None);
    put(&store, "TopicB", "U4", Some("shared"));
    assert_eq!(query(&store, "TopicA", "U2"), ["body of U2"]);
    assert_eq!(query(&store, "TopicA", "order-1"), ["body of U1"]);
    assert_eq!(
        query(&store, "TopicA", "shared"),
        ["body of U1", "body of U2"]
    );
    assert_eq!(query(&store, "TopicB", "shared"), ["body of U4"]);
    assert!(query(&store, "TopicB", "order-1").is_empty());
    assert!(query(&store, "TopicA", "nope").is_empty());
    let r = store.query_message("TopicA", "shared", 1, 0, i64::MAX);
    assert_eq!(r.messages.len(), 1, "max_num");
    assert_eq!(
        r.index_last_update_phy_offset,
        store.index().files()[0].end_phy_offset()
    );
    assert!(r.index_last_update_timestamp > 0);
    let none = store.query_message("TopicA", "nope", 32, 0, i64::MAX);
    assert_eq!(
        (
            none.index_last_update_timestamp,
            none.index_last_update_phy_offset
        ),
        (0, 0)
    );
}

#[test]
fn hash_collisions_are_filtered_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 1000)).unwrap();
    // Java's "Aa" and "BB" hash alike, so "T#xAa" and "T#xBB" share a chain with the same hash.
    assert_eq!(key_hash("T#xAa"), key_hash("T#xBB"));
    put(&store, "T", "U1", Some("xAa"));
    put(&store, "T", "U2", Some("xBB"));
    assert_eq!(
        store
            .index()
            .query_offsets("T", "xAa", 32, 0, i64::MAX)
            .offsets
            .len(),
        2
    );
    assert_eq!(query(&store, "T", "xAa"), ["body of U1"]);
    assert_eq!(query(&store, "T", "xBB"), ["body of U2"]);
}

#[test]
fn time_range_filters_at_second_granularity() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 1000)).unwrap();
    let mut first = msg("T", "U1", Some("k"));
    let t1 = store.put(&mut first, 0).unwrap().store_timestamp;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut second = msg("T", "U2", Some("k"));
    let t2 = store.put(&mut second, 0).unwrap().store_timestamp;
    assert!(t2 - t1 >= 1000);
    assert_eq!(query_range(&store, "T", "k", 0, t1), ["body of U1"]);
    // Entry times are the file's begin time plus whole seconds, so a window must allow for the truncation.
    assert_eq!(
        query_range(&store, "T", "k", t2 - 999, i64::MAX),
        ["body of U2"]
    );
    assert!(query_range(&store, "T", "k", t2 + 1000, i64::MAX).is_empty());
    assert!(query_range(&store, "T", "k", 0, t1 - 1).is_empty());
}

#[test]
fn full_index_files_roll_and_reopen_after_shutdown_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 6)).unwrap();
    for i in 0..12 {
        // Three keys each (UNIQ_KEY and two KEYS tokens): 36 entries, 5 per file.
        put(&store, "T", &format!("U{i}"), Some(&format!("K{i} common")));
    }
    let files = index_files(dir.path());
    assert_eq!(files.len(), 8, "{files:?}");
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 17);
        assert!(name.bytes().all(|b| b.is_ascii_digit()));
    }
    for i in 0..12 {
        assert_eq!(
            query(&store, "T", &format!("U{i}")),
            [format!("body of U{i}")]
        );
        assert_eq!(
            query(&store, "T", &format!("K{i}")),
            [format!("body of U{i}")]
        );
    }
    assert_eq!(query(&store, "T", "common").len(), 12, "across all files");
    store.shutdown().unwrap();
    drop(store);
    let raw_before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    let store = MessageStore::open(config(dir.path(), 6)).unwrap();
    assert_eq!(
        index_files(dir.path()),
        files,
        "a clean reopen neither deletes nor adds files"
    );
    let raw_after: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(raw_before == raw_after, "nothing re-indexed");
    assert_eq!(query(&store, "T", "U11"), ["body of U11"]);
    put(&store, "T", "U12", Some("K12 common"));
    assert_eq!(query(&store, "T", "common").len(), 12 + 1);
}

#[test]
fn header_and_entry_bytes_follow_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 1000)).unwrap();
    let mut m1 = msg("TopicA", "U1", None);
    let r1 = store.put(&mut m1, 0).unwrap();
    let mut m2 = msg("TopicA", "U2", Some("order-1"));
    let r2 = store.put(&mut m2, 0).unwrap();
    store.flush().unwrap();
    let files = index_files(dir.path());
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    assert_eq!(raw.len() as u64, file::file_size(SLOTS, 1000));
    let i64_at = |p: usize| i64::from_be_bytes(raw[p..p + 8].try_into().unwrap());
    let i32_at = |p: usize| i32::from_be_bytes(raw[p..p + 4].try_into().unwrap());
    assert_eq!(i64_at(0), r1.store_timestamp);
    assert_eq!(i64_at(8), r2.store_timestamp);
    assert_eq!(i64_at(16), r1.commit_log_offset);
    assert_eq!(i64_at(24), r2.commit_log_offset);
    assert_eq!(i32_at(36), 4, "three entries: U1, U2, order-1");
    // Entry 3 is "TopicA#order-1" (hash 12101377 in Java), in slot 12101377 % 16 = 1.
    let entries = HEADER_SIZE + SLOTS as usize * 4;
    let e3 = entries + 3 * ENTRY_SIZE;
    assert_eq!(i32_at(e3), 12_101_377);
    assert_eq!(i64_at(e3 + 4), r2.commit_log_offset);
    assert_eq!(
        i32_at(e3 + 12) as i64,
        (r2.store_timestamp - r1.store_timestamp) / 1000
    );
    assert_eq!(i32_at(HEADER_SIZE + 4), 3, "slot 1 heads at entry 3");
    // The checkpoint's indexMsgTimestamp (offset 16) only vouches for full index files, as in Java:
    // with the first file still being written it stays 0.
    let cp = std::fs::read(dir.path().join("checkpoint")).unwrap();
    assert_eq!(i64::from_be_bytes(cp[16..24].try_into().unwrap()), 0);
}

#[test]
fn crash_deletes_unflushed_files_and_rebuilds_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 6)).unwrap();
    for i in 0..4 {
        put(&store, "T", &format!("U{i}"), Some("k"));
    }
    store.flush().unwrap();
    let flushed = index_files(dir.path());
    // Later puts must carry later timestamps than the checkpoint.
    std::thread::sleep(std::time::Duration::from_millis(5));
    for i in 4..10 {
        put(&store, "T", &format!("U{i}"), Some("k"));
    }
    let before = index_files(dir.path());
    assert!(before.len() > flushed.len());
    drop(store); // a crash: abort file kept, the newest files are newer than the checkpoint

    let store = MessageStore::open(config(dir.path(), 6)).unwrap();
    wait_caught_up(&store);
    let after = index_files(dir.path());
    // Files up to the flushed ones survive (the last flushed one may be newer than the checkpoint when later
    // puts went into it); the rest were deleted and rebuilt under new names.
    assert!(
        after.starts_with(&flushed[..flushed.len() - 1]),
        "{flushed:?} {after:?}"
    );
    assert_ne!(after, before);
    for i in 0..10 {
        assert_eq!(
            query(&store, "T", &format!("U{i}")),
            [format!("body of U{i}")]
        );
    }
    assert_eq!(
        query(&store, "T", "k").len(),
        10,
        "no duplicates from the rebuild"
    );
}

#[test]
fn a_deleted_index_is_rebuilt_from_the_commit_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 1000)).unwrap();
    for i in 0..5 {
        put(&store, "T", &format!("U{i}"), Some("k"));
    }
    store.shutdown().unwrap();
    drop(store);
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let store = MessageStore::open(config(dir.path(), 1000)).unwrap();
    wait_caught_up(&store);
    assert_eq!(index_files(dir.path()).len(), 1);
    assert_eq!(query(&store, "T", "k").len(), 5);
    assert_eq!(query(&store, "T", "U3"), ["body of U3"]);
}

#[test]
fn rollback_is_not_indexed_and_the_index_can_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 1000)).unwrap();
    let mut prepared = msg("T", "P", None);
    prepared.sys_flag = sys_flag::TRANSACTION_PREPARED;
    store.put(&mut prepared, 0).unwrap();
    let mut rollback = msg("T", "R", None);
    rollback.sys_flag = sys_flag::TRANSACTION_ROLLBACK;
    store.put(&mut rollback, 0).unwrap();
    assert_eq!(query(&store, "T", "P"), ["body of P"]);
    assert!(query(&store, "T", "R").is_empty());
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let disabled = StoreConfig {
        message_index_enable: false,
        ..config(dir.path(), 1000)
    };
    let store = MessageStore::open(disabled).unwrap();
    put(&store, "T", "U1", Some("k"));
    assert!(query(&store, "T", "U1").is_empty());
    assert!(index_files(dir.path()).is_empty());
}

#[test]
fn concurrent_puts_index_in_commit_log_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 100_000)).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                for i in 0..200 {
                    put(store, "T", &format!("U{t}-{i}"), Some("all"));
                }
            });
        }
    });
    let file = &store.index().files()[0];
    let mut last = -1;
    for n in 1..file.index_count() {
        let e = file.entry_at(n).unwrap();
        assert!(
            e.phy_offset >= last,
            "entry {n} goes back: {} < {last}",
            e.phy_offset
        );
        last = e.phy_offset;
    }
    assert_eq!(file.index_count(), 1 + 2 * 800);
    assert_eq!(query(&store, "T", "U3-199").len(), 1);
}
