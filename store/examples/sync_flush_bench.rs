//! Group-commit benchmark: `cargo run --release -p rmq-store --example sync_flush_bench [DIR] [SECONDS]`.
//!
//! Prints the single-thread `write + fdatasync` rate of the disk holding DIR (default: a temporary directory
//! under the current one), then the SYNC_FLUSH put rate with 1, 16 and 64 writer threads. With group commit
//! one msync answers every writer waiting on it, so many writers should go far beyond the fdatasync rate.
//! Numbers are printed, not asserted.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_codec::message::StoredMessage;
use rmq_store::message_store::PutStatus;
use rmq_store::{FlushDiskType, MessageStore, StoreConfig};

const BODY_BYTES: usize = 256;

fn fdatasync_rate(dir: &Path, run: Duration) -> std::io::Result<f64> {
    let path = dir.join("fdatasync.bin");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    let record = [0x5Au8; BODY_BYTES];
    let (started, mut count, mut offset) = (Instant::now(), 0u64, 0u64);
    while started.elapsed() < run {
        file.write_all_at(&record, offset)?;
        file.sync_data()?;
        offset += record.len() as u64;
        count += 1;
    }
    std::fs::remove_file(&path)?;
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

fn message() -> StoredMessage {
    StoredMessage {
        born_host: "127.0.0.1:40000".parse().expect("literal address"),
        store_host: "127.0.0.1:10911".parse().expect("literal address"),
        body: Bytes::from(vec![b'x'; BODY_BYTES]),
        topic: "BenchTopic".to_owned(),
        ..StoredMessage::default()
    }
}

struct Run {
    puts: u64,
    timeouts: u64,
    flushes: u64,
    secs: f64,
}

fn put_rate(root: PathBuf, mode: FlushDiskType, writers: usize, run: Duration) -> Run {
    let config = StoreConfig {
        root_dir: root,
        mapped_file_size_commit_log: 256 << 20,
        flush_disk_type: mode,
        ..StoreConfig::default()
    };
    let store = Arc::new(MessageStore::open(config).expect("open store"));
    let (stop, puts, timeouts) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let flushes_before = store.commit_log_flush_count();
    let started = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|i| {
            let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
            let (puts, timeouts) = (Arc::clone(&puts), Arc::clone(&timeouts));
            std::thread::spawn(move || {
                let queue_id = (i % 8) as i32;
                while !stop.load(Ordering::Relaxed) {
                    let mut msg = message();
                    msg.queue_id = queue_id;
                    let r = store.put(&mut msg, 0).expect("put");
                    if r.status == PutStatus::FlushDiskTimeout {
                        timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    puts.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(run);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("writer thread");
    }
    let secs = started.elapsed().as_secs_f64();
    let flushes = store.commit_log_flush_count() - flushes_before;
    store.shutdown().expect("shutdown");
    Run {
        puts: puts.load(Ordering::Relaxed),
        timeouts: timeouts.load(Ordering::Relaxed),
        flushes,
        secs,
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let run = Duration::from_secs(secs);
    let dir = tempfile::tempdir_in(&base)?;
    println!(
        "store disk: {} ({secs} s per run, {BODY_BYTES}-byte bodies)",
        dir.path().display()
    );
    let rate = fdatasync_rate(dir.path(), run)?;
    println!("single thread write+fdatasync: {rate:>10.0} /s");
    let cases = [
        (FlushDiskType::Sync, 1),
        (FlushDiskType::Sync, 16),
        (FlushDiskType::Sync, 64),
        (FlushDiskType::Async, 16),
    ];
    for (i, (mode, writers)) in cases.into_iter().enumerate() {
        let r = put_rate(dir.path().join(format!("store{i}")), mode, writers, run);
        let per_flush = r.puts as f64 / r.flushes.max(1) as f64;
        println!(
            "{:<11} {writers:>2} writers: {:>10.0} puts/s, {:>7} flushes, {per_flush:>6.1} puts/flush, {} timeouts ({:.1}x fdatasync rate)",
            match mode {
                FlushDiskType::Sync => "SYNC_FLUSH",
                FlushDiskType::Async => "ASYNC_FLUSH",
            },
            r.puts as f64 / r.secs,
            r.flushes,
            r.timeouts,
            r.puts as f64 / r.secs / rate,
        );
    }
    Ok(())
}
