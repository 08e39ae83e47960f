//! Stores written by the Java 4.9.7 and 5.3.3 brokers (`golden/store-<version>`): each commit log, replayed through rmqd's
//! slave path (`MessageStore::append_replicated`) into an empty store, must give the consume queues the Java
//! broker wrote, byte for byte (unit offsets, sizes, TAGS hash codes, delivery times of delayed messages).

use std::path::{Path, PathBuf};

use rmq_codec::message::{peek_record, RecordPeek};
use rmq_store::{MessageStore, StoreConfig};

/// The fixture's `mappedFileSizeCommitLog` and `mappedFileSizeConsumeQueue`.
const COMMIT_LOG_FILE: u64 = 8192;
const CONSUME_QUEUE_FILE: u64 = 600;

const VERSIONS: [&str; 2] = ["4.9.7", "5.3.3"];

fn fixture(version: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("golden/store-{version}"))
}

/// Files under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The Java commit log as one byte string from offset 0, cut where its records end.
fn java_commit_log(version: &str) -> Vec<u8> {
    let dir = fixture(version).join("commitlog");
    let files = files_under(&dir);
    assert_eq!(files[0].to_str(), Some("00000000000000000000"));
    let mut log = Vec::new();
    for file in &files {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(bytes.len() as u64, COMMIT_LOG_FILE, "{}", file.display());
        log.extend_from_slice(&bytes);
    }
    let mut end = 0usize;
    let mut blanks = 0;
    loop {
        match peek_record(&log[end..]) {
            Ok(RecordPeek::Message(view)) => end += view.total_size,
            Ok(RecordPeek::Blank { .. }) => {
                blanks += 1;
                end += COMMIT_LOG_FILE as usize - end % COMMIT_LOG_FILE as usize;
            }
            Err(_) => break,
        }
    }
    assert!(blanks >= 3, "the fixture ends several files with a BLANK");
    log.truncate(end);
    log
}

#[test]
fn a_java_commit_log_replayed_as_a_slave_gives_javas_consume_queues() {
    for version in VERSIONS {
        replay_and_compare(version);
    }
}

fn replay_and_compare(version: &str) {
    let log = java_commit_log(version);
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(StoreConfig {
        root_dir: dir.path().to_path_buf(),
        mapped_file_size_commit_log: COMMIT_LOG_FILE,
        mapped_file_size_consume_queue: CONSUME_QUEUE_FILE,
        slave: true,
        ..StoreConfig::default()
    })
    .unwrap();
    // Pieces of varying size, cut mid-record, never crossing a file end (as a master sends them).
    let mut at = 0usize;
    let mut piece = 0usize;
    while at < log.len() {
        piece += 1;
        let room = COMMIT_LOG_FILE as usize - at % COMMIT_LOG_FILE as usize;
        let len = (piece * 397 % 1500 + 1).min(room).min(log.len() - at);
        let appended = store
            .append_replicated(at as u64, &log[at..at + len])
            .unwrap();
        at += len;
        assert_eq!(appended.end, at as u64);
    }
    store.shutdown().unwrap();

    let java_cq = fixture(version).join("consumequeue");
    let rmqd_cq = dir.path().join("consumequeue");
    let java_files = files_under(&java_cq);
    assert!(java_files.len() >= 3, "{java_files:?}");
    assert_eq!(files_under(&rmqd_cq), java_files);
    for file in &java_files {
        let java = std::fs::read(java_cq.join(file)).unwrap();
        let rmqd = std::fs::read(rmqd_cq.join(file)).unwrap();
        assert!(java.iter().any(|b| *b != 0), "{}", file.display());
        assert!(
            rmqd == java,
            "{version}: consumequeue/{} differs",
            file.display()
        );
    }
    let java_log_dir = fixture(version).join("commitlog");
    let rmqd_log_dir = dir.path().join("commitlog");
    assert_eq!(files_under(&rmqd_log_dir), files_under(&java_log_dir));
    for file in files_under(&java_log_dir) {
        let java = std::fs::read(java_log_dir.join(&file)).unwrap();
        let rmqd = std::fs::read(rmqd_log_dir.join(&file)).unwrap();
        assert!(
            rmqd == java,
            "{version}: commitlog/{} differs",
            file.display()
        );
    }
}
