//! Recovery: torn tails are cut, corruption in the middle of the log refuses to open, acknowledged records survive.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use rmq_codec::message::{layout, tags_code, StoredMessage};

use crate::message_store::{FlushDiskType, GetStatus, MessageStore, PutResult, StoreConfig};
use crate::StoreError;

/// 4 KiB commit-log files hold about ten of the ~380-byte records below.
fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 4096,
        mapped_file_size_consume_queue: 200,
        flush_disk_type: FlushDiskType::Sync,
        ..StoreConfig::default()
    }
}

fn put_n(store: &MessageStore, n: usize) -> Vec<PutResult> {
    (0..n)
        .map(|i| {
            let mut m = StoredMessage {
                queue_id: 0,
                born_timestamp: 1_000,
                born_host: "10.0.0.9:40000".parse().unwrap(),
                store_host: "127.0.0.1:10911".parse().unwrap(),
                body: Bytes::from(format!("body-{i}-{}", "x".repeat(300))),
                topic: "T".to_owned(),
                properties: "TAGS\u{1}TagA\u{2}".to_owned(),
                ..StoredMessage::default()
            };
            store.put(&mut m, tags_code(Some("TagA"))).unwrap()
        })
        .collect()
}

/// Queue offsets and bodies of every message in T/0.
fn bodies(store: &MessageStore) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = store.min_offset_in_queue("T", 0);
    loop {
        let r = store.get_messages("T", 0, offset, 1000, usize::MAX, &|_| true);
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

fn file_holding(dir: &Path, offset: i64) -> (PathBuf, usize) {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let start = |p: &PathBuf| -> i64 { p.file_name().unwrap().to_str().unwrap().parse().unwrap() };
    let file = files.into_iter().rfind(|p| start(p) <= offset).unwrap();
    let pos = (offset - start(&file)) as usize;
    (file, pos)
}

/// Start of the third-last commit-log file: where an abnormal start begins its scan.
fn third_last_file_start(dir: &Path) -> i64 {
    let n = std::fs::read_dir(dir.join("commitlog")).unwrap().count() as i64;
    assert!(n >= 4, "the test needs a file before the scanned ones");
    (n - 3) * 4096
}

/// Rewrites `len` bytes at commit-log `offset` with `byte`.
fn clobber(dir: &Path, offset: i64, len: usize, byte: u8) {
    let (file, pos) = file_holding(dir, offset);
    let mut raw = std::fs::read(&file).unwrap();
    raw[pos..pos + len].fill(byte);
    std::fs::write(&file, &raw).unwrap();
}

/// Flips one byte of the body of the record at `result` (its CRC no longer matches).
fn flip_body_byte(dir: &Path, result: &PutResult) {
    let (file, pos) = file_holding(dir, result.commit_log_offset);
    let mut raw = std::fs::read(&file).unwrap();
    // The body sits well inside the record: 40 bytes before its end are body bytes ("xxx...") followed by the
    // property block (2-byte length + 16 bytes) and nothing else.
    raw[pos + result.wrote_bytes - 40] ^= 0x01;
    std::fs::write(&file, &raw).unwrap();
}

fn open_err(dir: &Path) -> String {
    match MessageStore::open(config(dir)) {
        Err(e @ StoreError::Corrupt { .. }) => e.to_string(),
        Err(e) => panic!("expected Corrupt, got {e}"),
        Ok(_) => panic!("expected the open to fail"),
    }
}

#[test]
fn acknowledged_records_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, 35);
    let want = bodies(&store);
    drop(store); // a crash: the abort file stays
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(bodies(&store), want);
    let end = results
        .last()
        .map(|r| r.commit_log_offset + r.wrote_bytes as i64);
    assert_eq!(Some(store.max_commit_log_offset()), end);
}

#[test]
fn torn_tail_with_a_zeroed_half_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, 25);
    drop(store);
    // Power loss: the last record's header page made it to disk, its second half did not.
    let last = results.last().unwrap();
    clobber(
        dir.path(),
        last.commit_log_offset + 100,
        last.wrote_bytes - 100,
        0,
    );
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.max_commit_log_offset(), last.commit_log_offset);
    assert_eq!(bodies(&store).len(), 24);
    let again = put_n(&store, 1);
    assert_eq!(again[0].queue_offset, 24, "queue offsets stay dense");
}

#[test]
fn corrupt_record_followed_by_valid_ones_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, 25);
    drop(store);
    let bad = &results[22];
    flip_body_byte(dir.path(), bad);
    let err = open_err(dir.path());
    let (file, pos) = file_holding(dir.path(), bad.commit_log_offset);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(
        err.contains(&format!("offset {}", bad.commit_log_offset)),
        "{err}"
    );
    assert!(err.contains(&format!("position {pos}")), "{err}");
    assert!(err.contains("CRC"), "{err}");
    assert!(
        err.contains(&format!(
            "valid record at offset {}",
            results[23].commit_log_offset
        )),
        "{err}"
    );
    // Nothing was cut: the file still holds the records after the bad one.
    let raw = std::fs::read(&file).unwrap();
    let after = results[24].commit_log_offset - bad.commit_log_offset;
    assert!(raw[pos + after as usize..].iter().any(|b| *b != 0));
}

#[test]
fn the_flag_allows_truncating_at_the_corrupt_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, 25);
    drop(store);
    flip_body_byte(dir.path(), &results[22]);
    let store = MessageStore::open(StoreConfig {
        truncate_corrupt_commit_log: true,
        ..config(dir.path())
    })
    .unwrap();
    assert_eq!(store.max_commit_log_offset(), results[22].commit_log_offset);
    assert_eq!(bodies(&store).len(), 22);
    drop(store);
    // The cut is durable: a plain open now succeeds.
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(bodies(&store).len(), 22);
}

#[test]
fn hole_before_records_in_a_later_file_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, 30);
    drop(store);
    // Zero the last record of the third-last file: without the check the two later files would be deleted.
    let next_file = third_last_file_start(dir.path()) + 4096;
    let first_file_last = results
        .iter()
        .take_while(|r| r.commit_log_offset + (r.wrote_bytes as i64) < next_file)
        .last()
        .unwrap();
    clobber(
        dir.path(),
        first_file_last.commit_log_offset,
        first_file_last.wrote_bytes,
        0,
    );
    let err = open_err(dir.path());
    assert!(err.contains("illegal magic"), "{err}");
    assert!(
        err.contains(&format!("valid record at offset {next_file}")),
        "{err}"
    );
    assert!(err.contains("does not confirm"), "{err}");
}

#[test]
fn corrupt_magic_after_a_clean_shutdown_is_reported_with_flushed_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, 8);
    store.shutdown().unwrap();
    drop(store);
    clobber(dir.path(), results[3].commit_log_offset + 4, 4, 0x55);
    let err = open_err(dir.path());
    assert!(err.contains("illegal magic"), "{err}");
    assert!(
        err.contains("checkpoint confirms"),
        "the checkpoint covers records flushed at shutdown: {err}"
    );
}

#[test]
fn clean_start_scans_only_the_last_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let results = put_n(&store, 50); // five files
    store.shutdown().unwrap();
    drop(store);
    // Damage a record in the third-last file: a clean start does not read it (the consume queues say it was
    // dispatched and the shutdown flushed it), an abnormal start does and refuses.
    let third_last = third_last_file_start(dir.path());
    let victim = results
        .iter()
        .find(|r| r.commit_log_offset >= third_last)
        .unwrap();
    clobber(
        dir.path(),
        victim.commit_log_offset + layout::BODY_CRC as i64,
        4,
        0x11,
    );
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(bodies(&store).len(), 50);
    drop(store); // leaves the abort file: the next start scans the last three files
    let err = open_err(dir.path());
    assert!(err.contains("CRC"), "{err}");
}
