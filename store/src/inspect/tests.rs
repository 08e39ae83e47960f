//! `verify` and `dump` on stores written by rmqd's `MessageStore`, then deliberately corrupted.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use rmq_codec::message::{layout, tags_code, StoredMessage};

use super::*;
use crate::{FlushDiskType, MessageStore, StoreConfig};

const SLOTS: u32 = 64;
const ENTRIES: u32 = 400;

fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 4096,
        mapped_file_size_consume_queue: 200,
        flush_disk_type: FlushDiskType::Sync,
        max_hash_slot_num: SLOTS,
        max_index_num: ENTRIES,
        ..StoreConfig::default()
    }
}

fn options() -> VerifyOptions {
    VerifyOptions {
        index: IndexDims {
            slots: SLOTS,
            entries: ENTRIES,
        },
        ..VerifyOptions::default()
    }
}

/// A store with 12 records of topic A (queues 0 and 1) and 5 of topic B, each with a key `k-<topic>-<i>`,
/// over several 4 KiB commit-log files; closed cleanly. Returns the commit-log offset of every record.
fn written_store(dir: &Path) -> Vec<(String, i32, u64)> {
    let store = MessageStore::open(config(dir)).unwrap();
    let mut out = Vec::new();
    let plan = [("A", 0, 6), ("A", 1, 6), ("B", 0, 5)];
    for i in 0..6 {
        for (topic, queue_id, n) in plan {
            if i >= n {
                continue;
            }
            let mut msg = StoredMessage {
                queue_id,
                born_timestamp: 1_000,
                born_host: "10.0.0.9:40000".parse().unwrap(),
                store_host: "127.0.0.1:10911".parse().unwrap(),
                body: Bytes::from(format!("body-{topic}-{queue_id}-{i}-{}", "x".repeat(600))),
                topic: topic.to_owned(),
                properties: format!("KEYS\u{1}k-{topic}-{queue_id}-{i}\u{2}TAGS\u{1}TagA\u{2}"),
                ..StoredMessage::default()
            };
            // Distinct store timestamps (milliseconds), so that a record hidden by a corruption always leaves
            // the checkpoint's timestamps ahead of the log's last readable record.
            std::thread::sleep(std::time::Duration::from_millis(2));
            let put = store.put(&mut msg, tags_code(Some("TagA"))).unwrap();
            out.push((topic.to_owned(), queue_id, put.commit_log_offset as u64));
        }
    }
    store.shutdown().unwrap();
    out
}

fn run(dir: &Path) -> Report {
    verify(dir, &options(), &mut |_, _, _| {}).unwrap()
}

fn log_file(dir: &Path, offset: u64) -> (PathBuf, u64) {
    let start = offset / 4096 * 4096;
    (
        dir.join("commitlog").join(format!("{start:020}")),
        offset - start,
    )
}

fn patch(path: &Path, pos: u64, bytes: &[u8]) {
    let mut data = std::fs::read(path).unwrap();
    data[pos as usize..pos as usize + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, data).unwrap();
}

fn index_entry_pos(n: u64) -> u64 {
    (crate::index::HEADER_SIZE as u64) + u64::from(SLOTS) * 4 + n * 20
}

/// The one index file and the entry number of the record at `offset` (one key per record, in put order).
fn index_entry_of(dir: &Path, records: &[(String, i32, u64)], offset: u64) -> (PathBuf, u32, u64) {
    let path = std::fs::read_dir(dir.join("index"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let n = records.iter().position(|r| r.2 == offset).unwrap() as u32 + 1;
    (path, n, index_entry_pos(u64::from(n)))
}

#[test]
fn clean_store_has_no_fault_and_counts_everything() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let report = run(dir.path());
    assert!(report.is_clean(), "{:#?}", report.faults);
    let s = &report.summary;
    assert_eq!(s.records, records.len() as u64);
    assert_eq!((s.topics, s.queues), (2, 3));
    assert_eq!(s.cq_units, records.len() as u64);
    assert_eq!(s.index_entries, records.len() as u64);
    assert!(s.commit_log_files >= 3, "{s:?}");
    assert_eq!(s.log_min_offset, 0);
    let last = records.last().unwrap().2;
    let (path, pos) = log_file(dir.path(), last);
    let size = u32::from_be_bytes(
        std::fs::read(path).unwrap()[pos as usize..][..4]
            .try_into()
            .unwrap(),
    );
    assert_eq!(s.log_end_offset, last + u64::from(size));
    assert!(report.notes.is_empty(), "{:?}", report.notes);
}

#[test]
fn flipped_body_byte_is_a_crc_fault_at_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let offset = records[7].2;
    let (path, pos) = log_file(dir.path(), offset);
    let record = std::fs::read(&path).unwrap();
    let body_pos = pos as usize + layout::body_len_pos(0) + 4;
    patch(&path, body_pos as u64, &[record[body_pos] ^ 0x01]);
    let stored = i32::from_be_bytes(record[pos as usize + 8..][..4].try_into().unwrap());
    let report = run(dir.path());
    assert_eq!(report.faults.len(), 1, "{:#?}", report.faults);
    let fault = &report.faults[0];
    assert_eq!(
        (&fault.path, fault.pos, fault.log_offset),
        (&path, pos, Some(offset))
    );
    assert!(
        matches!(fault.kind, FaultKind::BodyCrc { stored: s, computed } if s == stored && computed != stored),
        "{fault}"
    );
}

#[test]
fn wrong_physical_offset_is_reported_by_the_log_queue_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let (topic, queue_id, offset) = records[4].clone();
    let (path, pos) = log_file(dir.path(), offset);
    patch(
        &path,
        pos + layout::PHYSICAL_OFFSET as u64,
        &(offset as i64 + 1).to_be_bytes(),
    );
    let report = run(dir.path());
    let wrong = FaultKind::PhysicalOffset {
        stored: offset as i64 + 1,
    };
    let queue_offset = records[..4]
        .iter()
        .filter(|r| r.0 == topic && r.1 == queue_id)
        .count() as i64;
    let cq = dir
        .path()
        .join(format!("consumequeue/{topic}/{queue_id}/{:020}", 0));
    let (index, entry, entry_pos) = index_entry_of(dir.path(), &records, offset);
    let expected = vec![
        Fault {
            path: path.clone(),
            pos,
            log_offset: Some(offset),
            kind: wrong.clone(),
        },
        Fault {
            path: cq,
            pos: queue_offset as u64 * 20,
            log_offset: None,
            kind: FaultKind::CqUnit {
                unit_offset: queue_offset,
                reason: format!("points at commit-log offset {offset}: {wrong}"),
            },
        },
        Fault {
            path: index,
            pos: entry_pos,
            log_offset: None,
            kind: FaultKind::IndexEntry {
                entry,
                reason: format!("points at commit-log offset {offset}: {wrong}"),
            },
        },
    ];
    assert_eq!(report.faults, expected);
}

#[test]
fn bad_magic_stops_the_file_walk_and_is_reported_once_per_reference() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let (_, _, offset) = records[1].clone();
    let (path, pos) = log_file(dir.path(), offset);
    patch(&path, pos + 4, &0x1234_5678_i32.to_be_bytes());
    let report = run(dir.path());
    let kinds: Vec<_> = report
        .faults
        .iter()
        .map(|f| (f.path.clone(), f.pos, f.kind.clone()))
        .collect();
    let (index, entry, entry_pos) = index_entry_of(dir.path(), &records, offset);
    let cq = dir.path().join(format!("consumequeue/A/1/{:020}", 0));
    let unreadable = FaultKind::BadMagic(0x1234_5678);
    assert_eq!(
        kinds,
        vec![
            (path, pos, unreadable.clone()),
            (
                cq,
                0,
                FaultKind::CqUnit {
                    unit_offset: 0,
                    reason: format!("points at commit-log offset {offset}: {unreadable}")
                }
            ),
            (
                index,
                entry_pos,
                FaultKind::IndexEntry {
                    entry,
                    reason: format!("points at commit-log offset {offset}: {unreadable}")
                }
            ),
        ]
    );
    // The records after it in its file were not walked.
    assert!(report.summary.records < records.len() as u64);
}

#[test]
fn truncated_consume_queue_unit_is_a_file_layout_fault() {
    let dir = tempfile::tempdir().unwrap();
    written_store(dir.path());
    let cq = dir.path().join(format!("consumequeue/B/0/{:020}", 0));
    let len = std::fs::metadata(&cq).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cq)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let report = run(dir.path());
    assert_eq!(
        report.faults,
        vec![Fault {
            path: cq,
            pos: 0,
            log_offset: None,
            kind: FaultKind::FileLayout(format!(
                "size {} is not a positive multiple of 20",
                len - 10
            )),
        }]
    );
}

#[test]
fn zeroed_unit_in_the_middle_is_a_hole() {
    let dir = tempfile::tempdir().unwrap();
    written_store(dir.path());
    let cq = dir.path().join(format!("consumequeue/B/0/{:020}", 0));
    patch(&cq, 2 * 20, &[0u8; 20]);
    let report = run(dir.path());
    let faults: Vec<_> = report
        .faults
        .iter()
        .map(|f| (f.pos, f.kind.to_string()))
        .collect();
    assert_eq!(
        faults,
        (3..5)
            .map(|n| (
                n * 20,
                format!("consume-queue unit {n}: written unit after the queue ended at unit 2")
            ))
            .collect::<Vec<_>>()
    );
}

#[test]
fn unit_with_a_wrong_size_names_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let cq = dir.path().join(format!("consumequeue/A/0/{:020}", 0));
    patch(&cq, 20 + 8, &7_i32.to_be_bytes());
    let report = run(dir.path());
    let offset = records
        .iter()
        .filter(|r| r.0 == "A" && r.1 == 0)
        .nth(1)
        .unwrap()
        .2;
    assert_eq!(report.faults.len(), 1, "{:#?}", report.faults);
    let (path, pos) = log_file(dir.path(), offset);
    let size = u32::from_be_bytes(
        std::fs::read(path).unwrap()[pos as usize..][..4]
            .try_into()
            .unwrap(),
    );
    assert_eq!(
        report.faults[0].kind,
        FaultKind::CqUnit {
            unit_offset: 1,
            reason: format!(
                "commit-log offset {offset}: size 7 but the record's TOTALSIZE is {size}"
            )
        }
    );
}

#[test]
fn checkpoint_ahead_of_the_log_is_a_fault_and_abort_a_note() {
    let dir = tempfile::tempdir().unwrap();
    written_store(dir.path());
    let checkpoint = dir.path().join("checkpoint");
    let far = i64::MAX / 2;
    patch(&checkpoint, 0, &far.to_be_bytes());
    std::fs::write(dir.path().join("abort"), b"").unwrap();
    let report = run(dir.path());
    assert_eq!(report.faults.len(), 1, "{:#?}", report.faults);
    assert_eq!(
        (&report.faults[0].path, report.faults[0].pos),
        (&checkpoint, 0)
    );
    assert!(report.faults[0].to_string().contains("physicMsgTimestamp"));
    assert!(
        report.notes[0].starts_with("abort file present"),
        "{:?}",
        report.notes
    );
}

#[test]
fn truncated_last_commit_log_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let (path, pos) = log_file(dir.path(), records.last().unwrap().2);
    // Cut the last record in half: the file is now shorter than its siblings and the record crosses its end.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(pos + 20)
        .unwrap();
    let report = run(dir.path());
    let kinds: Vec<_> = report
        .faults
        .iter()
        .map(|f| (f.pos, f.kind.to_string()))
        .collect();
    assert_eq!(
        kinds[0],
        (
            0,
            "file layout: size ".to_owned()
                + &format!("{} differs from the first file's 4096", pos + 20)
        )
    );
    assert!(kinds[1].1.starts_with("record of TOTALSIZE"), "{kinds:?}");
    assert_eq!(kinds[1].0, pos);
}

fn dumped(dir: &Path, selection: Selection) -> Vec<(String, u64, i64, bool)> {
    let mut out = Vec::new();
    let dims = options().index;
    dump(dir, &selection, dims, &mut |item| match item {
        DumpItem::Message {
            message, crc_ok, ..
        } => out.push((
            String::from_utf8(message.body.to_vec()).unwrap()[..12].to_owned(),
            message.commit_log_offset as u64,
            message.queue_offset,
            crc_ok,
        )),
        DumpItem::Fault(f) => panic!("{f}"),
    })
    .unwrap();
    out
}

#[test]
fn dump_by_offset_queue_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    // By offset: three records in commit-log order, across a BLANK filler.
    let got = dumped(
        dir.path(),
        Selection::Offset {
            offset: records[3].2,
            count: 6,
        },
    );
    assert_eq!(
        got.iter().map(|g| g.1).collect::<Vec<_>>(),
        records[3..9].iter().map(|r| r.2).collect::<Vec<_>>()
    );
    // By queue: A/1 offsets 2..5.
    let got = dumped(
        dir.path(),
        Selection::Queue {
            topic: "A".into(),
            queue_id: 1,
            from: 2,
            to: Some(5),
        },
    );
    assert_eq!(
        got.iter().map(|g| (g.0.as_str(), g.2)).collect::<Vec<_>>(),
        vec![
            ("body-A-1-2-x", 2),
            ("body-A-1-3-x", 3),
            ("body-A-1-4-x", 4)
        ]
    );
    // To the end of the queue.
    let got = dumped(
        dir.path(),
        Selection::Queue {
            topic: "B".into(),
            queue_id: 0,
            from: 3,
            to: None,
        },
    );
    assert_eq!(got.iter().map(|g| g.2).collect::<Vec<_>>(), vec![3, 4]);
    // By key through the index.
    let got = dumped(
        dir.path(),
        Selection::Key {
            topic: "B".into(),
            key: "k-B-0-4".into(),
            max: 10,
        },
    );
    assert_eq!(
        got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
        vec!["body-B-0-4-x"]
    );
    let none = dumped(
        dir.path(),
        Selection::Key {
            topic: "A".into(),
            key: "k-B-0-4".into(),
            max: 10,
        },
    );
    assert!(none.is_empty());
}

#[test]
fn dump_marks_a_bad_crc_and_rejects_an_offset_outside_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let (path, pos) = log_file(dir.path(), records[0].2);
    let body_pos = pos + layout::body_len_pos(0) as u64 + 4;
    patch(&path, body_pos, b"B");
    let got = dumped(
        dir.path(),
        Selection::Offset {
            offset: records[0].2,
            count: 2,
        },
    );
    assert_eq!(
        got.iter().map(|g| g.3).collect::<Vec<_>>(),
        vec![false, true]
    );
    let err = dump(
        dir.path(),
        &Selection::Offset {
            offset: 1 << 40,
            count: 1,
        },
        options().index,
        &mut |_| {},
    );
    assert!(
        matches!(err, Err(InspectError::InvalidSelection(_))),
        "{err:?}"
    );
}

#[test]
fn garbage_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    written_store(dir.path());
    // Random-looking bytes over every file of the store, at several positions.
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for sub in ["commitlog", "consumequeue/A/0", "index"] {
        for entry in std::fs::read_dir(dir.path().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let mut data = std::fs::read(&path).unwrap();
            for _ in 0..64 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % data.len() as u64) as usize;
                data[at] = (seed >> 32) as u8;
            }
            std::fs::write(&path, data).unwrap();
        }
    }
    let report = run(dir.path());
    assert!(!report.is_clean());
    for selection in [
        Selection::Offset {
            offset: 0,
            count: 100,
        },
        Selection::Queue {
            topic: "A".into(),
            queue_id: 0,
            from: 0,
            to: None,
        },
        Selection::Key {
            topic: "A".into(),
            key: "k-A-0-1".into(),
            max: 10,
        },
    ] {
        dump(dir.path(), &selection, options().index, &mut |_| {}).unwrap();
    }
}

#[test]
fn zeroed_record_in_the_last_file_hides_the_records_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let records = written_store(dir.path());
    let (zeroed, last) = (records[records.len() - 2].2, records[records.len() - 1].2);
    let (path, pos) = log_file(dir.path(), zeroed);
    assert_eq!(log_file(dir.path(), last).0, path, "both in the last file");
    patch(&path, pos, &[0u8; 8]);
    let report = run(dir.path());
    assert_eq!(report.summary.log_end_offset, zeroed);
    assert_eq!(
        report.notes,
        vec![format!(
            "{}: non-zero bytes at byte {}, after the end of the log's data at byte {pos}",
            path.display(),
            pos + 8
        )]
    );
    let faults: Vec<String> = report.faults.iter().map(|f| f.kind.to_string()).collect();
    let unreadable = format!("points at commit-log offset {zeroed}: illegal magic code 0x00000000");
    // The checkpoint counts the hidden record as flushed: both of its record timestamps are ahead of the log.
    assert_eq!(faults.len(), 5, "{faults:#?}");
    assert!(
        faults[3].starts_with("checkpoint: physicMsgTimestamp"),
        "{faults:#?}"
    );
    assert!(
        faults[4].starts_with("checkpoint: logicsMsgTimestamp"),
        "{faults:#?}"
    );
    assert!(faults
        .iter()
        .any(|f| f.starts_with("consume-queue unit") && f.ends_with(&unreadable)));
    assert!(faults
        .iter()
        .any(|f| f.starts_with("index entry") && f.ends_with(&unreadable)));
    let past = format!(
        "points at commit-log offset {last}, after the end of the log's valid data at {zeroed}"
    );
    assert!(faults.iter().any(|f| f.ends_with(&past)), "{faults:#?}");
}

#[test]
fn queue_without_consume_queue_files_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    written_store(dir.path());
    std::fs::remove_dir_all(dir.path().join("consumequeue/A/1")).unwrap();
    let report = run(dir.path());
    assert!(report.is_clean(), "{:#?}", report.faults);
    assert_eq!(
        report.notes,
        vec!["A/1: records in the commit log but no consume queue".to_owned()]
    );
}
