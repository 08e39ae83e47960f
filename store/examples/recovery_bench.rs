//! Recovery benchmark: `cargo run --release -p rmq-store --example recovery_bench -- [GiB] [DIR]
//! [--single-queue N]`.
//!
//! Writes GiB (default 2) of 1 KiB messages over four queues with ASYNC_FLUSH and 1 GiB commit-log files into a
//! fresh directory under DIR (default: the current directory), then prints:
//! - the put throughput;
//! - the open time after a clean shutdown (no abort file: the scan starts at the file holding the end of the
//!   last dispatched record);
//! - the open time after a crash (abort file present: the last three files are scanned, every record's CRC
//!   checked) and that time per GiB scanned.
//!
//! With `--single-queue N` it then writes N messages (128-byte bodies) to one queue and reads them back in order
//! through `get_messages`, timing both. The directory is deleted at the end. Page-cache-warm numbers: nothing
//! drops the cache between the write and the opens. Numbers are printed, not asserted.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use rmq_codec::message::StoredMessage;
use rmq_store::{FlushDiskType, GetStatus, MessageStore, StoreConfig};

const GIB: u64 = 1 << 30;

fn message(queue_id: i32, body: &Bytes) -> StoredMessage {
    StoredMessage {
        queue_id,
        born_host: "127.0.0.1:40000".parse().expect("literal address"),
        store_host: "127.0.0.1:10911".parse().expect("literal address"),
        body: body.clone(),
        topic: "RecoveryBench".to_owned(),
        properties: "TAGS\u{1}bench\u{2}".to_owned(),
        ..StoredMessage::default()
    }
}

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        root_dir: root.to_path_buf(),
        flush_disk_type: FlushDiskType::Async,
        ..StoreConfig::default()
    }
}

fn timed_open(root: &Path) -> (MessageStore, f64) {
    let started = Instant::now();
    let store = MessageStore::open(config(root)).expect("open store");
    (store, started.elapsed().as_secs_f64())
}

fn write_log(root: &Path, bytes: u64) {
    let store = MessageStore::open(config(root)).expect("open store");
    let body = Bytes::from(vec![b'r'; 1024]);
    let started = Instant::now();
    let mut puts = 0u64;
    while (store.max_commit_log_offset() as u64) < bytes {
        let mut m = message((puts % 4) as i32, &body);
        store.put(&mut m, 0).expect("put");
        puts += 1;
    }
    store.shutdown().expect("shutdown");
    let secs = started.elapsed().as_secs_f64();
    let written = store.max_commit_log_offset() as f64;
    println!(
        "put: {puts} messages, {:.2} GiB in {secs:.2} s: {:.0} msg/s, {:.0} MiB/s (ASYNC_FLUSH, shutdown flush included)",
        written / GIB as f64,
        puts as f64 / secs,
        written / secs / (1 << 20) as f64
    );
}

fn recovery(root: &Path) {
    let (store, normal) = timed_open(root);
    let end = store.max_commit_log_offset() as u64;
    let files = end.div_ceil(GIB);
    println!(
        "normal open (clean shutdown): {:.3} s for a {:.2} GiB log in {files} file(s)",
        normal,
        end as f64 / GIB as f64
    );
    drop(store); // a crash: the abort file stays
    let (store, abnormal) = timed_open(root);
    assert_eq!(
        store.max_commit_log_offset() as u64,
        end,
        "recovery lost data"
    );
    // The abnormal scan covers the last three files.
    let scanned = end - end.saturating_sub(3 * GIB) / GIB * GIB;
    let scanned_gib = scanned as f64 / GIB as f64;
    println!(
        "abnormal open (abort file): {abnormal:.3} s, {scanned_gib:.2} GiB scanned: {:.3} s per GiB",
        abnormal / scanned_gib.max(f64::EPSILON)
    );
    store.shutdown().expect("shutdown");
}

fn single_queue(root: &Path, count: u64) {
    let store = MessageStore::open(config(root)).expect("open store");
    let body = Bytes::from(vec![b's'; 128]);
    let started = Instant::now();
    for _ in 0..count {
        let mut m = message(0, &body);
        m.topic = "SingleQueue".to_owned();
        store.put(&mut m, 0).expect("put");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "single queue write: {count} messages in {secs:.2} s: {:.0} msg/s",
        count as f64 / secs
    );
    let started = Instant::now();
    let (mut offset, mut read, mut bytes) = (0i64, 0u64, 0usize);
    loop {
        let r = store.get_messages("SingleQueue", 0, offset, 32, 256 << 10, &|_| true);
        if r.status != GetStatus::Found {
            break;
        }
        read += r.messages.len() as u64;
        bytes += r.total_bytes();
        offset = r.next_begin_offset;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "single queue read (get_messages, 32 per call): {read} messages, {:.0} MiB in {secs:.2} s: {:.0} msg/s",
        bytes as f64 / (1 << 20) as f64,
        read as f64 / secs
    );
    if read != count {
        println!("WARNING: read {read} of {count} messages");
    }
    store.shutdown().expect("shutdown");
}

fn main() {
    let mut positional = Vec::new();
    let mut single: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--single-queue" {
            single = args.next().and_then(|n| n.parse().ok());
            if single.is_none() {
                eprintln!("--single-queue needs a message count");
                std::process::exit(2);
            }
        } else {
            positional.push(arg);
        }
    }
    let gib: f64 = positional.first().map_or(2.0, |g| g.parse().unwrap_or(2.0));
    let base = positional
        .get(1)
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let root = base.join(format!("recovery-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("create bench dir");
    println!("store: {}", root.display());
    write_log(&root, (gib * GIB as f64) as u64);
    recovery(&root);
    if let Some(count) = single {
        let sq_root = root.join("single-queue");
        single_queue(&sq_root, count);
    }
    std::fs::remove_dir_all(&root).expect("remove bench dir");
}
