//! Background catch-up after open: open does not wait for it, puts during it are indexed once, in order, and a
//! shutdown during it is resumed by the next open.

use std::path::Path;
use std::sync::Arc;

use rmq_codec::message::{properties, StoredMessage};

use super::catch_up::Pause;
use super::store_tests::{config, index_files, put, query, wait_caught_up};
use crate::message_store::{MessageStore, StoreHooks};

/// Opens the store with catch-up held at `pause`.
fn open_paused(dir: &Path, pause: &Arc<Pause>) -> MessageStore {
    let hooks = StoreHooks {
        index_pause: Some(Arc::clone(pause)),
        ..StoreHooks::default()
    };
    MessageStore::open_with(config(dir, 1_000_000), hooks).unwrap()
}

const TOPIC: &str = "T";

fn uniq(i: usize) -> String {
    format!("U{i}")
}

/// A store holding records `U0..n` (keys `K<i>` and `all`) whose index must be rebuilt: the process "crashed"
/// (dropped without shutdown) while the only index file was not yet vouched for by the checkpoint.
fn crashed_store(dir: &Path, n: usize) {
    let store = MessageStore::open(config(dir, 1_000_000)).unwrap();
    for i in 0..n {
        put(&store, TOPIC, &uniq(i), Some(&format!("K{i} all")));
    }
    drop(store);
}

/// Offsets the index holds for `key`, duplicates kept, restricted to records that really carry it.
fn indexed_offsets(store: &MessageStore, key: &str) -> Vec<i64> {
    store
        .index()
        .query_offsets(TOPIC, key, 64, 0, i64::MAX)
        .offsets
        .into_iter()
        .filter(|&offset| {
            let raw = store.message_at(offset).unwrap();
            let msg = StoredMessage::decode(&raw).unwrap();
            properties::get(&msg.properties, properties::UNIQ_KEY) == Some(key)
        })
        .collect()
}

/// Every entry of every file, in file order, must point at non-decreasing commit-log offsets; returns how many.
fn entries_in_log_order(store: &MessageStore) -> usize {
    let mut last = -1;
    let mut count = 0;
    for file in store.index().files() {
        for n in 1..file.index_count() {
            let e = file.entry_at(n).unwrap();
            assert!(
                e.phy_offset >= last,
                "entry goes back: {} < {last}",
                e.phy_offset
            );
            last = e.phy_offset;
            count += 1;
        }
    }
    count
}

/// Each of `keys` is indexed exactly once (`U<i>` has one key of its own; the test records add `K<i>`, `all`).
fn assert_indexed_once(store: &MessageStore, keys: &[String]) {
    for key in keys {
        assert_eq!(indexed_offsets(store, key).len(), 1, "key {key}");
        assert_eq!(query(store, TOPIC, key).len(), 1, "key {key}");
    }
}

#[test]
fn open_does_not_wait_and_puts_during_catch_up_are_indexed_once() {
    let dir = tempfile::tempdir().unwrap();
    let old = 1500;
    crashed_store(dir.path(), old);
    let pause = Pause::new(100);
    let store = open_paused(dir.path(), &pause);
    assert!(store.index().is_catching_up());
    assert!(
        query(&store, TOPIC, &uniq(0)).is_empty(),
        "nothing indexed yet"
    );

    pause.allow(3);
    pause.wait_held();
    assert_eq!(
        query(&store, TOPIC, &uniq(299)).len(),
        1,
        "three batches in"
    );
    assert!(query(&store, TOPIC, &uniq(300)).is_empty());

    // Puts while catch-up holds the tail: stored, left for catch-up to index.
    let mut keys: Vec<String> = (0..old).map(uniq).collect();
    for i in old..old + 50 {
        put(&store, TOPIC, &uniq(i), None);
        keys.push(uniq(i));
    }
    assert!(query(&store, TOPIC, &uniq(old)).is_empty());

    // Release catch-up while puts keep coming, so the hand-over races them.
    let racing: Vec<String> = (0..4)
        .flat_map(|t| (0..300).map(move |i| format!("R{t}-{i}")))
        .collect();
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                for i in 0..300 {
                    put(store, TOPIC, &format!("R{t}-{i}"), None);
                }
            });
        }
        pause.allow(u64::MAX / 2);
        wait_caught_up(&store);
    });
    keys.extend(racing);
    for i in 0..10 {
        put(&store, TOPIC, &format!("A{i}"), None);
        keys.push(format!("A{i}"));
    }
    assert!(!store.index().is_catching_up());
    assert_indexed_once(&store, &keys);
    // Exactly one entry per key: no record indexed twice, none skipped (old records have 3 keys).
    assert_eq!(entries_in_log_order(&store), 3 * old + (keys.len() - old));
}

#[test]
fn a_put_racing_the_hand_over_waits_for_it_and_is_indexed_once() {
    let dir = tempfile::tempdir().unwrap();
    let old = 300;
    crashed_store(dir.path(), old);
    let pause = Pause::new(100);
    pause.hold_handover_until_released();
    let store = open_paused(dir.path(), &pause);
    pause.allow(u64::MAX / 2);
    pause.wait_at_handover();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            put(&store, TOPIC, "H", None);
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        // The hand-over has read the log end: a put appending now would be missed by it and, seeing the flag
        // still set, skip indexing too. It must wait for the append lock instead.
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            !done.load(std::sync::atomic::Ordering::Acquire),
            "put ran during the hand-over"
        );
        pause.release_handover();
    });
    wait_caught_up(&store);
    let mut keys: Vec<String> = (0..old).map(uniq).collect();
    keys.push("H".into());
    assert_indexed_once(&store, &keys);
    assert_eq!(entries_in_log_order(&store), 3 * old + 1);
}

#[test]
fn shutdown_during_catch_up_is_resumed_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let old = 1000;
    crashed_store(dir.path(), old);
    let pause = Pause::new(100);
    let store = open_paused(dir.path(), &pause);
    pause.allow(2);
    pause.wait_held();
    let mut keys: Vec<String> = (0..old).map(uniq).collect();
    for i in old..old + 20 {
        put(&store, TOPIC, &uniq(i), None);
        keys.push(uniq(i));
    }
    // The thread is held at the pause: shutdown must stop it rather than wait for it.
    store.shutdown().unwrap();
    drop(store);
    assert!(!dir.path().join("abort").exists(), "a clean shutdown");
    let files = index_files(dir.path());
    assert_eq!(files.len(), 1);

    let pause = Pause::new(100);
    let store = open_paused(dir.path(), &pause);
    assert!(store.index().is_catching_up());
    // The files claim exactly the 200 records indexed before the stop.
    let indexed = store.index().files();
    assert_eq!(indexed.len(), 1);
    assert_eq!(
        indexed[0].end_phy_offset(),
        indexed_offsets(&store, &uniq(199))[0]
    );
    assert!(indexed_offsets(&store, &uniq(200)).is_empty());
    pause.allow(u64::MAX / 2);
    wait_caught_up(&store);
    assert_eq!(index_files(dir.path()), files, "continued in the same file");
    assert_indexed_once(&store, &keys);
    assert_eq!(entries_in_log_order(&store), 3 * old + 20);
}

#[test]
fn a_crash_during_catch_up_rebuilds_again() {
    let dir = tempfile::tempdir().unwrap();
    let old = 600;
    crashed_store(dir.path(), old);
    let pause = Pause::new(100);
    let store = open_paused(dir.path(), &pause);
    pause.allow(1);
    pause.wait_held();
    put(&store, TOPIC, "late", None);
    drop(store); // crash again, mid catch-up

    let store = MessageStore::open(config(dir.path(), 1_000_000)).unwrap();
    wait_caught_up(&store);
    let mut keys: Vec<String> = (0..old).map(uniq).collect();
    keys.push("late".into());
    assert_indexed_once(&store, &keys);
    assert_eq!(entries_in_log_order(&store), 3 * old + 1);
}

#[test]
fn a_clean_open_with_a_complete_index_starts_no_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), 1_000_000)).unwrap();
    for i in 0..10 {
        put(&store, TOPIC, &uniq(i), None);
    }
    store.shutdown().unwrap();
    drop(store);
    let pause = Pause::new(1);
    let store = open_paused(dir.path(), &pause);
    assert!(!store.index().is_catching_up());
    // Puts index their own records at once (the pause would hold a catch-up forever).
    put(&store, TOPIC, "new", None);
    assert_eq!(query(&store, TOPIC, "new").len(), 1);
    drop(pause);
}
