//! `rmqd store verify|dump DIR`: offline tools on a store directory of the Java broker or rmqd. They open
//! every file read-only, bind nothing, and refuse a store whose `lock` a running broker holds (unless
//! `--force`). The walking and checking is `rmq_store::inspect`; this module parses options and prints.
//!
//! Exit status: 0 clean (verify) or dumped (dump), 1 faults found (verify) or a selected record unreadable
//! (dump), 2 usage error, refused (locked store) or unreadable store.

mod print;
mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Subcommand};
use rmq_store::inspect::{self, DumpItem, IndexDims, Report, Selection, VerifyOptions};

/// `rmqd store ...`.
#[derive(Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Check every commit-log record (layout, PHYSICALOFFSET, body CRC, queue offsets), every consume-queue
    /// unit and index entry against the records they point at, and the checkpoint. Exit 0 when clean, 1 with
    /// the faults (file and byte offset of each), 2 when the store cannot be read or a broker holds its lock.
    Verify(VerifyArgs),
    /// Print messages by commit-log offset, by queue offset range, or by key (through the index files).
    Dump(DumpArgs),
}

/// Options every store tool takes.
#[derive(Args)]
struct Common {
    /// The store root (storePathRootDir): holds commitlog/, consumequeue/, index/, checkpoint, lock
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Read the store even though a running broker holds its lock (results may be inconsistent)
    #[arg(long)]
    force: bool,
    /// maxHashSlotNum the index files were written with
    #[arg(long, value_name = "N", default_value_t = IndexDims::default().slots)]
    index_slots: u32,
    /// maxIndexNum the index files were written with
    #[arg(long, value_name = "N", default_value_t = IndexDims::default().entries)]
    index_entries: u32,
}

impl Common {
    fn index(&self) -> IndexDims {
        IndexDims {
            slots: self.index_slots,
            entries: self.index_entries,
        }
    }
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    common: Common,
    /// Faults listed in full; further ones are only counted
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_faults: usize,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("by").required(true).args(["offset", "queue", "key"])))]
struct DumpArgs {
    #[command(flatten)]
    common: Common,
    /// Commit-log offset of the first record (a record boundary)
    #[arg(long, value_name = "N")]
    offset: Option<u64>,
    /// Records to print from --offset (BLANK end-of-file fillers are stepped over), or at most this many
    /// records for --key
    #[arg(long, value_name = "K")]
    count: Option<u64>,
    /// Topic of --queue or --key
    #[arg(long, value_name = "T", required_unless_present = "offset")]
    topic: Option<String>,
    /// Queue id: print queue offsets --from..--to of TOPIC/QUEUE
    #[arg(long, value_name = "Q", requires = "topic")]
    queue: Option<i32>,
    /// First queue offset (with --queue)
    #[arg(long, value_name = "A", default_value_t = 0, requires = "queue")]
    from: i64,
    /// Queue offset to stop before (with --queue; default: the end of the queue)
    #[arg(long, value_name = "B", requires = "queue")]
    to: Option<i64>,
    /// Message key (a KEYS token or the UNIQ_KEY) of TOPIC, looked up in the index files
    #[arg(long, value_name = "K", requires = "topic")]
    key: Option<String>,
    /// One JSON object per line instead of text
    #[arg(long)]
    json: bool,
}

/// Runs a store tool; returns the exit status.
pub fn main(args: StoreArgs) -> i32 {
    let result = match args.command {
        StoreCommand::Verify(a) => verify(a),
        StoreCommand::Dump(a) => dump(a),
    };
    result.unwrap_or_else(|e| {
        eprintln!("rmqd store: {e:#}");
        2
    })
}

/// Refuses a store a running broker holds (both kinds lock byte 0 of `DIR/lock` with fcntl), unless forced.
fn check_lock(dir: &Path, force: bool) -> anyhow::Result<()> {
    if let Some(pid) = inspect::lock_holder_pid(dir)? {
        if !force {
            bail!(
                "{} is locked by process {pid}: a broker is running on this store; stop it first (or pass \
                 --force to read it anyway)",
                dir.join("lock").display()
            );
        }
        eprintln!("rmqd store: warning: process {pid} holds the store's lock; reading it anyway (--force)");
    }
    Ok(())
}

fn verify(args: VerifyArgs) -> anyhow::Result<i32> {
    check_lock(&args.common.dir, args.common.force)?;
    let options = VerifyOptions {
        index: args.common.index(),
        max_faults: args.max_faults,
        ..VerifyOptions::default()
    };
    let mut bar = progress::Bar::for_stderr();
    let report = inspect::verify(&args.common.dir, &options, &mut |phase, done, total| {
        bar.update(phase, done, total)
    });
    bar.finish();
    let report = report?;
    print_report(&args.common.dir, &report);
    Ok(if report.is_clean() { 0 } else { 1 })
}

fn print_report(dir: &Path, report: &Report) {
    let mut out = std::io::stdout().lock();
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for fault in &report.faults {
        let _ = writeln!(out, "FAULT: {fault}");
    }
    if report.faults_not_kept > 0 {
        let _ = writeln!(out, "... and {} more faults", report.faults_not_kept);
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{}: {} commit-log files, {} records ({} bytes, offsets {}..{}), {} topics, {} queues; \
         {} consume-queue files, {} units ({} expired); {} index files, {} entries ({} expired)",
        dir.display(),
        s.commit_log_files,
        s.records,
        s.record_bytes,
        s.log_min_offset,
        s.log_end_offset,
        s.topics,
        s.queues,
        s.cq_files,
        s.cq_units,
        s.cq_units_expired,
        s.index_files,
        s.index_entries,
        s.index_entries_expired
    );
    let _ = if report.is_clean() {
        writeln!(out, "clean: no fault found")
    } else {
        writeln!(out, "{} faults found", report.fault_count())
    };
}

fn selection(args: &DumpArgs) -> Selection {
    let topic = args.topic.clone().unwrap_or_default();
    if let Some(offset) = args.offset {
        Selection::Offset {
            offset,
            count: args.count.unwrap_or(1),
        }
    } else if let Some(queue_id) = args.queue {
        Selection::Queue {
            topic,
            queue_id,
            from: args.from,
            to: args.to,
        }
    } else {
        Selection::Key {
            topic,
            key: args.key.clone().unwrap_or_default(),
            max: usize::try_from(args.count.unwrap_or(64)).unwrap_or(usize::MAX),
        }
    }
}

fn dump(args: DumpArgs) -> anyhow::Result<i32> {
    check_lock(&args.common.dir, args.common.force)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut status = 0;
    let mut printed = 0u64;
    let mut failed: Option<std::io::Error> = None;
    inspect::dump(
        &args.common.dir,
        &selection(&args),
        args.common.index(),
        &mut |item| match item {
            DumpItem::Message {
                message,
                store_size,
                crc_ok,
            } => {
                let json = print::MessageJson::new(&message, store_size, crc_ok);
                let line = if args.json {
                    serde_json::to_string(&json)
                        .map(|s| s + "\n")
                        .unwrap_or_default()
                } else {
                    json.text()
                };
                if let Err(e) = out.write_all(line.as_bytes()) {
                    failed.get_or_insert(e);
                }
                printed += 1;
            }
            DumpItem::Fault(fault) => {
                eprintln!("FAULT: {fault}");
                status = 1;
            }
        },
    )?;
    out.flush()?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if printed == 0 && status == 0 {
        eprintln!("rmqd store: no message matches");
    }
    Ok(status)
}
