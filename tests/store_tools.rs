//! `rmqd store verify|dump` as a process: exit codes, the fault line, JSON lines, and the refusal of a store
//! whose lock another process (this test, through `MessageStore`) holds.

use std::path::Path;
use std::process::{Command, Output};

use bytes::Bytes;
use rmq_codec::message::{tags_code, StoredMessage};
use rmq_store::{FlushDiskType, MessageStore, StoreConfig};

fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 4096,
        mapped_file_size_consume_queue: 200,
        flush_disk_type: FlushDiskType::Sync,
        max_hash_slot_num: 64,
        max_index_num: 400,
        ..StoreConfig::default()
    }
}

/// Puts 10 messages of topic T queue 0 with keys `k<i>`; returns the open store and the record offsets.
fn store_with_messages(dir: &Path) -> (MessageStore, Vec<i64>) {
    let store = MessageStore::open(config(dir)).unwrap();
    let offsets = (0..10)
        .map(|i| {
            let mut msg = StoredMessage {
                born_host: "10.0.0.9:40000".parse().unwrap(),
                store_host: "127.0.0.1:10911".parse().unwrap(),
                body: Bytes::from(format!("hello-{i}-{}", "y".repeat(500))),
                topic: "T".into(),
                properties: format!("KEYS\u{1}k{i}\u{2}TAGS\u{1}A\u{2}"),
                ..StoredMessage::default()
            };
            store
                .put(&mut msg, tags_code(Some("A")))
                .unwrap()
                .commit_log_offset
        })
        .collect();
    (store, offsets)
}

fn rmqd(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rmqd"))
        .args(["store"])
        .args(args)
        .arg(dir)
        .args(["--index-slots", "64", "--index-entries", "400"])
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn locked_store_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_messages(dir.path());
    let out = rmqd(&["verify"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let holder = format!("is locked by process {}", std::process::id());
    assert!(text(&out.stderr).contains(&holder), "{}", text(&out.stderr));
    let out = rmqd(&["verify", "--force"], dir.path());
    assert!(
        text(&out.stderr).contains("reading it anyway"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    store.shutdown().unwrap();
    drop(store); // the lock is held until the store is dropped
    let out = rmqd(&["verify"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("10 records"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn verify_names_a_flipped_body_byte_and_dump_prints_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (store, offsets) = store_with_messages(dir.path());
    store.shutdown().unwrap();
    drop(store); // the lock is held until the store is dropped
    let out = rmqd(
        &["dump", "--json", "--topic", "T", "--key", "k3"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let m = &lines[0];
    assert_eq!(m["commitLogOffset"], offsets[3]);
    assert_eq!(
        (m["topic"].as_str(), m["queueOffset"].as_i64()),
        (Some("T"), Some(3))
    );
    assert_eq!(m["keys"], serde_json::json!(["k3"]));
    assert!(m["body"].as_str().unwrap().starts_with("hello-3-"));
    assert_eq!(
        (m["bodyEncoding"].as_str(), m["bodyCrcOk"].as_bool()),
        (Some("utf8"), Some(true))
    );

    let offset = offsets[5] as u64;
    let (start, pos) = (offset / 4096 * 4096, offset % 4096);
    let path = dir.path().join("commitlog").join(format!("{start:020}"));
    let mut data = std::fs::read(&path).unwrap();
    data[pos as usize + 88] ^= 0x01;
    std::fs::write(&path, data).unwrap();
    let out = rmqd(&["verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let line = format!(
        "FAULT: {} at byte {pos} (commit-log offset {offset}): body CRC mismatch",
        path.display()
    );
    assert!(text(&out.stdout).contains(&line), "{}", text(&out.stdout));
}
