//! Replaying a master store into a slave store through `commit_log_chunk` / `append_replicated`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use rmq_codec::message::{properties, sys_flag, tags_code, StoredMessage};

use super::ReplicaAppend;
use crate::message_store::{FlushDiskType, MessageStore, StoreConfig, SCHEDULE_TOPIC};
use crate::StoreError;

const FILE_SIZE: u64 = 4096;

fn config(dir: &Path, slave: bool) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: FILE_SIZE,
        mapped_file_size_consume_queue: 200,
        flush_disk_type: FlushDiskType::Async,
        max_hash_slot_num: 16,
        max_index_num: 40,
        slave,
        ..StoreConfig::default()
    }
}

fn open(dir: &Path, slave: bool) -> MessageStore {
    MessageStore::open(config(dir, slave)).unwrap()
}

/// The `n`th test message: body sizes vary so records end at odd positions, keys are indexed.
fn msg(topic: &str, queue_id: i32, n: usize) -> StoredMessage {
    let props = format!(
        "{}\u{1}Tag{}\u{2}{}\u{1}k{n} shared\u{2}{}\u{1}U{n:08}\u{2}",
        properties::TAGS,
        n % 3,
        properties::KEYS,
        properties::UNIQ_KEY
    );
    StoredMessage {
        queue_id,
        born_timestamp: 1_000 + n as i64,
        born_host: "10.0.0.9:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: Bytes::from(format!("{n}:{}", "b".repeat(n * 37 % 500))),
        topic: topic.to_owned(),
        properties: props,
        ..StoredMessage::default()
    }
}

/// Puts messages `from..to` spread over two topics and three queues, with a delayed message (its unit's
/// tags code is a delivery time), a PREPARED one (no unit) and a batch every so often.
fn put_range(store: &MessageStore, from: usize, to: usize) {
    for n in from..to {
        let (topic, queue_id) = [("A", 0), ("A", 1), ("B", 3)][n % 3];
        let mut m = msg(topic, queue_id, n);
        match n % 11 {
            4 => {
                m.topic = SCHEDULE_TOPIC.into();
                m.queue_id = 2;
                m.properties
                    .push_str(&format!("{}\u{1}3\u{2}", properties::DELAY));
            }
            7 => m.sys_flag |= sys_flag::TRANSACTION_PREPARED,
            9 => {
                let mut batch = [m, msg(topic, queue_id, n + 10_000)];
                let codes = batch.each_ref().map(tags_of);
                store.put_batch(&mut batch, &codes).unwrap();
                continue;
            }
            _ => {}
        }
        let code = tags_of(&m);
        store.put(&mut m, code).unwrap();
    }
}

/// The tags code the broker passes with a put (the hash of TAGS).
fn tags_of(m: &StoredMessage) -> i64 {
    tags_code(properties::get(&m.properties, properties::TAGS))
}

/// The master's whole commit log from `from`, read as the HA connection reads it.
fn master_bytes(master: &MessageStore, from: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = from;
    while let Some(chunk) = master.commit_log_chunk(pos, 700) {
        assert!(
            pos / FILE_SIZE == (pos + chunk.len() as u64 - 1) / FILE_SIZE,
            "a chunk never crosses a file end"
        );
        out.extend_from_slice(&chunk);
        pos += chunk.len() as u64;
    }
    assert_eq!(pos, master.max_commit_log_offset() as u64);
    out
}

/// Piece lengths from a small linear congruential generator (1..=600 bytes).
fn piece_lens(seed: u64) -> impl FnMut() -> usize {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % 600 + 1
    }
}

/// Appends `bytes` (the log from `at`) to the slave in pieces; with `cut_at_file_ends` no piece crosses a
/// file end, as the master sends them. Returns every queue reported as arrived.
fn replay(
    slave: &MessageStore,
    at: u64,
    bytes: &[u8],
    seed: u64,
    cut_at_file_ends: bool,
) -> Vec<(String, i32)> {
    let mut next_len = piece_lens(seed);
    let (mut done, mut arrived) = (0usize, Vec::new());
    while done < bytes.len() {
        let pos = at + done as u64;
        let mut len = next_len().min(bytes.len() - done);
        if cut_at_file_ends {
            len = len.min((FILE_SIZE - pos % FILE_SIZE) as usize);
        }
        let ReplicaAppend { end, arrived: got } = slave
            .append_replicated(pos, &bytes[done..done + len])
            .unwrap();
        done += len;
        assert_eq!(end, at + done as u64);
        arrived.extend(got);
    }
    arrived
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Asserts that the files under `<root>/<sub>` of both stores have the same names and bytes; with `from`, only
/// the master's files that do not end at or below it.
fn assert_same_files(master: &Path, slave: &Path, sub: &str, from: u64) {
    let (m_root, s_root) = (master.join(sub), slave.join(sub));
    let names = |root: &Path, files: Vec<PathBuf>| -> Vec<PathBuf> {
        files
            .into_iter()
            .map(|f| f.strip_prefix(root).unwrap().to_path_buf())
            .collect()
    };
    let m_files = names(&m_root, files_in(&m_root));
    let m_files: Vec<PathBuf> = m_files
        .into_iter()
        .filter(|f| {
            let start: u64 = f.file_name().unwrap().to_str().unwrap().parse().unwrap();
            start + FILE_SIZE > from || sub != "commitlog"
        })
        .collect();
    assert_eq!(m_files, names(&s_root, files_in(&s_root)), "{sub} files");
    for f in &m_files {
        let (m, s) = (
            std::fs::read(m_root.join(f)).unwrap(),
            std::fs::read(s_root.join(f)).unwrap(),
        );
        assert!(m == s, "{sub}/{} differs", f.display());
    }
}

const QUEUES: [(&str, i32); 4] = [("A", 0), ("A", 1), ("B", 3), (SCHEDULE_TOPIC, 2)];

/// Every unit of every queue from the slave's minimum offset on equals the master's.
fn assert_same_queues(master: &MessageStore, slave: &MessageStore) {
    for (topic, queue_id) in QUEUES {
        let max = master.max_offset_in_queue(topic, queue_id);
        assert!(max > 0, "{topic}/{queue_id} has messages");
        assert_eq!(slave.max_offset_in_queue(topic, queue_id), max);
        let min = slave.min_offset_in_queue(topic, queue_id);
        assert!(min >= master.min_offset_in_queue(topic, queue_id));
        for offset in min..max {
            let unit = slave.queue_unit(topic, queue_id, offset);
            assert_eq!(unit, master.queue_unit(topic, queue_id, offset));
            assert!(!unit.unwrap().is_blank(), "{topic}/{queue_id}@{offset}");
        }
    }
}

/// The offsets the index finds for each key, on both stores, for the records at or after `from`.
fn assert_same_index(master: &MessageStore, slave: &MessageStore, messages: usize, from: i64) {
    let found = |store: &MessageStore, topic: &str, key: &str| -> Vec<i64> {
        let mut offsets: Vec<i64> = store
            .query_message(topic, key, 64, 0, i64::MAX)
            .messages
            .iter()
            .map(|raw| StoredMessage::decode(raw).unwrap().commit_log_offset)
            .filter(|o| *o >= from)
            .collect();
        offsets.sort_unstable();
        offsets
    };
    let mut hits = 0;
    for n in 0..messages {
        for topic in ["A", "B", SCHEDULE_TOPIC] {
            for key in [format!("U{n:08}"), format!("k{n}")] {
                let on_master = found(master, topic, &key);
                assert_eq!(found(slave, topic, &key), on_master, "{topic}#{key}");
                hits += on_master.len();
            }
        }
    }
    assert!(hits > 0, "the index finds records");
}

fn last_store_timestamp(store: &MessageStore) -> i64 {
    store
        .inner
        .last_store_timestamp
        .load(std::sync::atomic::Ordering::Acquire)
}

#[test]
fn a_replayed_log_is_byte_identical_with_the_same_queues_and_index() {
    let master_dir = tempfile::tempdir().unwrap();
    let master = open(master_dir.path(), false);
    put_range(&master, 0, 120);
    let bytes = master_bytes(&master, 0);
    assert!(
        bytes.len() as u64 > 5 * FILE_SIZE,
        "several files, BLANK ends"
    );
    let records = master.stats().totals().put_messages;
    master.flush().unwrap();
    for (seed, cut_at_file_ends) in [(1, true), (2, false), (3, true)] {
        let slave_dir = tempfile::tempdir().unwrap();
        let slave = open(slave_dir.path(), true);
        let mut arrived = replay(&slave, 0, &bytes, seed, cut_at_file_ends);
        arrived.sort();
        arrived.dedup();
        let mut queues: Vec<(String, i32)> =
            QUEUES.iter().map(|(t, q)| (t.to_string(), *q)).collect();
        queues.sort();
        assert_eq!(arrived, queues);
        assert_eq!(
            slave.max_commit_log_offset(),
            master.max_commit_log_offset()
        );
        slave.flush().unwrap();
        assert_same_files(master_dir.path(), slave_dir.path(), "commitlog", 0);
        assert_same_files(master_dir.path(), slave_dir.path(), "consumequeue", 0);
        assert_same_queues(&master, &slave);
        assert_same_index(&master, &slave, 120, 0);
        assert_eq!(last_store_timestamp(&slave), last_store_timestamp(&master));
        assert_eq!(slave.stats().totals().put_messages, records);
        slave.shutdown().unwrap();
        assert_verifies(slave_dir.path());
    }
}

#[test]
fn the_master_reads_one_file_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let master = open(dir.path(), false);
    assert_eq!(master.commit_log_chunk(0, 100), None, "nothing written");
    put_range(&master, 0, 30);
    let end = master.max_commit_log_offset() as u64;
    assert!(end > 2 * FILE_SIZE);
    let first = master.commit_log_chunk(0, usize::MAX).unwrap();
    assert_eq!(first.len() as u64, FILE_SIZE, "stops at the file end");
    let at_file_end = master.commit_log_chunk(FILE_SIZE, 10).unwrap();
    assert_eq!(
        at_file_end,
        master.commit_log_chunk(FILE_SIZE, 20).unwrap()[..10]
    );
    assert_eq!(
        at_file_end[..],
        master.message_at(FILE_SIZE as i64).unwrap()[..10],
        "a full file's end reads the next file"
    );
    let tail = master.commit_log_chunk(end - 5, 100).unwrap();
    assert_eq!(tail.len(), 5, "never past what is written");
    assert_eq!(master.commit_log_chunk(end, 100), None);
}

/// Copies the master's files from `from` on into a slave that starts there, then checks it.
fn start_at_last_file(master: &MessageStore, slave: &MessageStore) -> u64 {
    let max = master.max_commit_log_offset() as u64;
    let start = max - max % FILE_SIZE;
    replay(slave, start, &master_bytes(master, start), 7, true);
    start
}

#[test]
fn a_replica_started_at_the_last_file_reopens_as_slave_and_as_master() {
    let master_dir = tempfile::tempdir().unwrap();
    let slave_dir = tempfile::tempdir().unwrap();
    let master = open(master_dir.path(), false);
    put_range(&master, 0, 60);
    let slave = open(slave_dir.path(), true);
    let start = start_at_last_file(&master, &slave);
    assert!(start >= 2 * FILE_SIZE);
    assert_eq!(slave.first_commit_log_file_offset(), Some(start as i64));
    for (topic, queue_id) in QUEUES.into_iter().take(3) {
        let min = slave.min_offset_in_queue(topic, queue_id);
        assert!(
            min > 0,
            "{topic}/{queue_id} starts where the file's first record says"
        );
        let unit = slave.queue_unit(topic, queue_id, min).unwrap();
        assert!(unit.commit_log_offset as u64 >= start);
        let before = slave.queue_unit(topic, queue_id, min - 1);
        assert!(
            before.is_none_or(|u| u.is_blank()),
            "pre-blanked: {before:?}"
        );
    }

    // Reopened as a slave after a clean shutdown, it continues the replication.
    slave.shutdown().unwrap();
    drop(slave);
    let slave = open(slave_dir.path(), true);
    assert_eq!(
        slave.max_commit_log_offset(),
        master.max_commit_log_offset()
    );
    put_range(&master, 60, 90);
    let at = slave.max_commit_log_offset() as u64;
    replay(&slave, at, &master_bytes(&master, at), 8, true);

    // A crash with a record cut in half: recovery cuts it, the master sends it again.
    put_range(&master, 90, 95);
    let at = slave.max_commit_log_offset() as u64;
    let rest = master_bytes(&master, at);
    let cut = master.message_at(at as i64).map_or(3, |r| r.len() / 2);
    slave.append_replicated(at, &rest[..cut]).unwrap();
    drop(slave);
    let slave = open(slave_dir.path(), true);
    assert_eq!(
        slave.max_commit_log_offset() as u64,
        at,
        "the cut record is gone"
    );
    replay(&slave, at, &rest, 9, true);
    slave.flush().unwrap();
    master.flush().unwrap();
    assert_same_files(master_dir.path(), slave_dir.path(), "commitlog", start);
    assert_same_queues(&master, &slave);
    assert_same_index(&master, &slave, 95, start as i64);

    // Opened as a master, it goes on where the replica ended.
    slave.shutdown().unwrap();
    drop(slave);
    assert_verifies(slave_dir.path());
    let promoted = open(slave_dir.path(), false);
    assert_same_queues(&master, &promoted);
    let end = promoted.max_commit_log_offset();
    assert_eq!(end, master.max_commit_log_offset());
    for (topic, queue_id) in QUEUES.into_iter().take(3) {
        let next = master.max_offset_in_queue(topic, queue_id);
        let put = promoted.put(&mut msg(topic, queue_id, 500), 0).unwrap();
        assert_eq!(put.queue_offset, next, "{topic}/{queue_id}");
        assert!(put.commit_log_offset >= end);
    }
}

/// `rmqd store verify` finds nothing wrong with the store at `root`.
fn assert_verifies(root: &Path) {
    use crate::inspect::{verify, IndexDims, VerifyOptions};
    let options = VerifyOptions {
        index: IndexDims {
            slots: 16,
            entries: 40,
        },
        ..VerifyOptions::default()
    };
    let report = verify(root, &options, &mut |_, _, _| {}).unwrap();
    assert!(report.is_clean(), "{:#?}", report.faults);
}

#[test]
fn data_that_does_not_continue_the_log_is_refused_and_nothing_is_written() {
    let master_dir = tempfile::tempdir().unwrap();
    let slave_dir = tempfile::tempdir().unwrap();
    let master = open(master_dir.path(), false);
    put_range(&master, 0, 20);
    let bytes = master_bytes(&master, 0);
    let slave = open(slave_dir.path(), true);
    let refused = slave.append_replicated(100, &bytes[..50]).unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::ReplicaOffset {
                expected: 0,
                got: 100
            }
        ),
        "{refused:?}"
    );
    assert!(files_in(&slave_dir.path().join("commitlog")).is_empty());
    slave.append_replicated(0, &bytes[..500]).unwrap();
    for at in [0, 499, 501, FILE_SIZE] {
        let refused = slave
            .append_replicated(at, &bytes[at as usize..])
            .unwrap_err();
        assert!(
            matches!(refused, StoreError::ReplicaOffset { expected: 500, got } if got == at),
            "{refused:?}"
        );
    }
    // Bytes at the right offset that are not records where one must start.
    let first_len = master.message_at(0).unwrap().len();
    let mut wrong_offset = bytes[..first_len].to_vec();
    wrong_offset[layout_physical_offset()] ^= 1;
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = open(fresh_dir.path(), true);
    let refused = fresh.append_replicated(0, &wrong_offset).unwrap_err();
    assert!(
        matches!(refused, StoreError::ReplicaData { offset: 0, .. }),
        "{refused:?}"
    );
    assert_eq!(fresh.max_commit_log_offset(), 0);
    let garbage = [0x55u8; 64];
    let refused = fresh.append_replicated(0, &garbage).unwrap_err();
    assert!(
        matches!(refused, StoreError::ReplicaData { offset: 0, .. }),
        "{refused:?}"
    );
    assert!(files_in(&fresh_dir.path().join("commitlog")).is_empty());
    let before = slave.max_commit_log_offset();
    let refused = slave.append_replicated(500, &garbage).unwrap_err();
    assert!(
        matches!(refused, StoreError::ReplicaData { .. }),
        "{refused:?}"
    );
    assert_eq!(slave.max_commit_log_offset(), before);
    // The slave still takes the right bytes after refusals.
    replay(&slave, 500, &bytes[500..], 4, false);
    assert_same_queues_prefix(&master, &slave);

    // A master store takes no replicated data.
    let refused = master
        .append_replicated(master.max_commit_log_offset() as u64, &bytes[..10])
        .unwrap_err();
    assert!(matches!(refused, StoreError::NotSlave), "{refused:?}");
}

fn layout_physical_offset() -> usize {
    rmq_codec::message::layout::PHYSICAL_OFFSET
}

/// Units of the three plain queues after `put_range(0, 20)`.
fn assert_same_queues_prefix(master: &MessageStore, slave: &MessageStore) {
    for (topic, queue_id) in QUEUES.into_iter().take(3) {
        let max = master.max_offset_in_queue(topic, queue_id);
        assert_eq!(slave.max_offset_in_queue(topic, queue_id), max);
        for offset in 0..max {
            assert_eq!(
                slave.queue_unit(topic, queue_id, offset),
                master.queue_unit(topic, queue_id, offset)
            );
        }
    }
}

#[test]
fn puts_on_a_slave_store_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let slave = open(dir.path(), true);
    let remark = |e: StoreError| {
        assert!(matches!(e, StoreError::PutOnSlave { .. }), "{e:?}");
        e.to_string()
    };
    let text = remark(slave.put(&mut msg("A", 0, 1), 0).unwrap_err());
    assert!(
        text.starts_with(
            "service not available now. It may be caused by one of the following reasons: the broker's disk \
             is full [CL: "
        ),
        "{text}"
    );
    assert!(
        text.ends_with("], messages are put to the slave, message store has been shut down, etc."),
        "{text}"
    );
    remark(slave.put_batch(&mut [msg("A", 0, 1)], &[0]).unwrap_err());
    remark(
        slave
            .put_deferred(&mut msg("A", 0, 1), 0, true)
            .unwrap_err(),
    );
    remark(
        slave
            .put_batch_deferred(&mut [msg("A", 0, 1)], &[0], false)
            .unwrap_err(),
    );
    slave.prepare_queue("A", 0).unwrap();
    assert!(slave.queue_ids("A").is_empty(), "no queue made on a slave");
    assert_eq!(slave.max_commit_log_offset(), 0);
    assert_eq!(slave.stats().totals().put_messages, 0);
}

#[test]
fn the_remark_formats_disk_usage_as_java() {
    let e = StoreError::PutOnSlave {
        commit_log: 0.42,
        consume_queue: -1.0,
        index: 1.0,
    };
    assert!(
        e.to_string().contains("[CL:  0.42 CQ: -1.00 INDEX:  1.00]"),
        "{e}"
    );
}

#[path = "replica_threads_tests.rs"]
mod threads;
