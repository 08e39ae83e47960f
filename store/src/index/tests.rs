use super::*;

const SLOTS: u32 = 4;
const ENTRIES: u32 = 8;

fn be_i32(raw: &[u8], pos: usize) -> i32 {
    i32::from_be_bytes(raw[pos..pos + 4].try_into().unwrap())
}

fn be_i64(raw: &[u8], pos: usize) -> i64 {
    i64::from_be_bytes(raw[pos..pos + 8].try_into().unwrap())
}

fn entry_pos(n: usize) -> usize {
    HEADER_SIZE + SLOTS as usize * SLOT_SIZE + n * ENTRY_SIZE
}

#[test]
fn key_hash_matches_java() {
    // Values printed by Java's String.hashCode / Math.abs.
    assert_eq!(key_hash("TopicTest#KEY1"), 1_656_969_516);
    assert_eq!(key_hash("TopicA#order-1"), 12_101_377);
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE, whose abs stays negative: Java maps it to 0.
    assert_eq!(key_hash("polygenelubricants"), 0);
    assert_eq!(index_key("T", "k"), "T#k");
}

#[test]
fn record_keys_follow_build_index() {
    let props = "KEYS\u{1}a  b \u{2}UNIQ_KEY\u{1}U1\u{2}";
    let keys: Vec<&str> = record_keys(props, 0).collect();
    assert_eq!(keys, ["U1", "a", "b"]);
    assert_eq!(
        record_keys(props, sys_flag::TRANSACTION_PREPARED).count(),
        3
    );
    assert_eq!(
        record_keys(props, sys_flag::TRANSACTION_ROLLBACK).count(),
        0
    );
    assert_eq!(record_keys("TAGS\u{1}x\u{2}", 0).count(), 0);
}

#[test]
fn file_layout_is_javas_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20240101000000000");
    let file = IndexFile::create(&path, SLOTS, ENTRIES, 0, 0).unwrap();
    // Three keys; the first and third share a slot (hash % 4), the second has its own.
    let (h1, h2, h3) = (5, 6, 9);
    assert!(file.put(h1, 1000, 1_700_000_000_000));
    assert!(file.put(h2, 2000, 1_700_000_001_500));
    assert!(file.put(h3, 3000, 1_700_000_010_999));
    file.flush().unwrap();
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(raw.len() as u64, file::file_size(SLOTS, ENTRIES));
    assert_eq!(raw.len(), 40 + 4 * 4 + 8 * 20);
    // Header.
    assert_eq!(be_i64(&raw, 0), 1_700_000_000_000, "beginTimestamp");
    assert_eq!(be_i64(&raw, 8), 1_700_000_010_999, "endTimestamp");
    assert_eq!(be_i64(&raw, 16), 1000, "beginPhyOffset");
    assert_eq!(be_i64(&raw, 24), 3000, "endPhyOffset");
    assert_eq!(be_i32(&raw, 32), 2, "hashSlotCount: slots 1 and 2");
    assert_eq!(
        be_i32(&raw, 36),
        4,
        "indexCount: entries 1..=3 used, next is 4"
    );
    // Slots: slot 1 (5 % 4 and 9 % 4) points at entry 3, slot 2 at entry 2.
    let slots: Vec<i32> = (0..4).map(|i| be_i32(&raw, 40 + i * 4)).collect();
    assert_eq!(slots, [0, 3, 2, 0]);
    // Entry 0 stays unused; entry 3 chains back to entry 1.
    assert!(raw[entry_pos(0)..entry_pos(1)].iter().all(|b| *b == 0));
    let e3 = entry_pos(3);
    assert_eq!(be_i32(&raw, e3), 9, "keyHash");
    assert_eq!(be_i64(&raw, e3 + 4), 3000, "phyOffset");
    assert_eq!(be_i32(&raw, e3 + 12), 10, "timeDiff: 10.999 s truncated");
    assert_eq!(be_i32(&raw, e3 + 16), 1, "prevIndex");
    assert_eq!(be_i32(&raw, entry_pos(2) + 12), 1, "1.5 s → 1");
    assert_eq!(be_i32(&raw, entry_pos(1) + 16), 0);
    assert!(raw[entry_pos(4)..].iter().all(|b| *b == 0));
}

#[test]
fn continuation_file_is_seeded_like_java() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20240101000000001");
    let file = IndexFile::create(&path, SLOTS, ENTRIES, 777, 1_700_000_000_000).unwrap();
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(be_i64(&raw, 0), 1_700_000_000_000);
    assert_eq!(be_i64(&raw, 8), 1_700_000_000_000);
    assert_eq!(be_i64(&raw, 16), 777);
    assert_eq!(be_i64(&raw, 24), 777);
    assert_eq!(be_i32(&raw, 32), 0);
    assert_eq!(
        be_i32(&raw, 36),
        0,
        "indexCount stays 0 on disk until the first put"
    );
    assert_eq!(file.index_count(), 1);
    // Java's first-entry quirk: the diff is taken against the seeded begin time, then begin is reset.
    assert!(file.put(1, 900, 1_700_000_003_000));
    let e = file.entry_at(1).unwrap();
    assert_eq!(e.time_diff_s, 3);
    assert_eq!(file.begin_timestamp(), 1_700_000_003_000);
    assert_eq!(file.begin_phy_offset(), 900);
}

#[test]
fn select_walks_the_chain_with_time_and_hash_filters() {
    let dir = tempfile::tempdir().unwrap();
    let file = IndexFile::create(&dir.path().join("a"), SLOTS, ENTRIES, 0, 0).unwrap();
    let t0 = 1_700_000_000_000;
    // Hash 1 three times and hash 5 (same slot) once, one second apart.
    for (i, hash) in [1, 5, 1, 1].into_iter().enumerate() {
        assert!(file.put(hash, 100 * (i as i64 + 1), t0 + 1000 * i as i64));
    }
    let select = |hash, max, begin, end| {
        let mut out = Vec::new();
        file.select(hash, max, begin, end, &mut out);
        out
    };
    assert_eq!(
        select(1, 10, 0, i64::MAX),
        [400, 300, 100],
        "newest first, hash 5 skipped"
    );
    assert_eq!(select(5, 10, 0, i64::MAX), [200]);
    assert_eq!(select(1, 2, 0, i64::MAX), [400, 300], "max");
    assert_eq!(select(1, 10, t0 + 2000, t0 + 2000), [300], "time window");
    assert_eq!(select(1, 10, t0 + 5000, i64::MAX), Vec::<i64>::new());
    assert_eq!(select(2, 10, 0, i64::MAX), Vec::<i64>::new(), "empty slot");
    assert!(file.time_matches(t0 - 10, t0 + 10));
    assert!(file.time_matches(0, i64::MAX));
    assert!(!file.time_matches(t0 + 3001, t0 + 9000));
}

#[test]
fn a_full_file_refuses_puts_and_corrupt_chains_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a");
    let file = IndexFile::create(&path, SLOTS, ENTRIES, 0, 0).unwrap();
    for i in 1..ENTRIES {
        assert!(file.put(3, i64::from(i), 1000), "entry {i}");
    }
    assert!(file.is_full());
    assert!(!file.put(3, 99, 1000));
    assert_eq!(file.index_count(), ENTRIES as i32);
    // Point entry 2's prev at itself+later (a loop Java would follow forever): the walk stops.
    file.flush().unwrap();
    drop(file);
    let mut raw = std::fs::read(&path).unwrap();
    raw[entry_pos(2) + 16..entry_pos(2) + 20].copy_from_slice(&5i32.to_be_bytes());
    std::fs::write(&path, &raw).unwrap();
    let file = IndexFile::open(&path, SLOTS, ENTRIES).unwrap();
    let mut out = Vec::new();
    file.select(3, 100, 0, i64::MAX, &mut out);
    assert_eq!(out, [7, 6, 5, 4, 3, 2]);
    assert!(
        IndexFile::open(&path, SLOTS, ENTRIES + 1).is_err(),
        "wrong size"
    );
}

#[test]
fn file_names_are_local_time_and_increase() {
    let name = file_name_for(1_700_000_000_123);
    assert_eq!(name.len(), 17);
    assert!(name.ends_with("123"), "{name}");
    let t = local_time(1_700_000_000).unwrap();
    assert_eq!(name[..4], format!("{:04}", t.year));
    assert!(is_index_file_name(&name));
    assert!(file_name_for(1_700_000_001_000) > name);
    assert_eq!(next_name("20240101000000999"), "20240101000001000");
}

fn load(dir: &Path, clean: bool, checkpoint: i64, log_end: u64) -> Index {
    Index::load(dir, SLOTS, ENTRIES, true, clean, checkpoint, log_end).unwrap()
}

#[test]
fn writer_rolls_files_and_load_applies_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let index = load(dir.path(), true, 0, u64::MAX);
    {
        let mut w = index.writer();
        for i in 0..10i64 {
            let props = format!("UNIQ_KEY\u{1}U{i}\u{2}");
            assert!(w.add("T", &props, 0, 100 * i + 1, 1_000_000 + i).unwrap());
        }
    }
    let files = index.files();
    assert_eq!(files.len(), 2, "7 entries per file");
    assert!(files[0].name() < files[1].name());
    assert_eq!(
        files[1].begin_phy_offset(),
        701,
        "entry 8 reset the seeded begin"
    );
    let found = index.query_offsets("T", "U3", 10, 0, i64::MAX);
    assert_eq!(found.offsets, [301]);
    assert_eq!(
        index.query_offsets("T", "U9", 10, 0, i64::MAX).offsets,
        [901]
    );
    assert_eq!(found.last_update_phy_offset, 901);
    assert_eq!(found.last_update_timestamp, 1_000_009);
    let first_end = files[0].end_timestamp();
    // The checkpoint stamp covers only the full file, as in Java.
    assert_eq!(index.flush().unwrap(), Some(first_end));
    drop((files, index));

    // Clean exit: everything stays. Unclean: the file newer than the checkpoint goes.
    assert_eq!(load(dir.path(), true, 0, u64::MAX).files().len(), 2);
    let index = load(dir.path(), false, first_end, u64::MAX);
    assert_eq!(index.files().len(), 1);
    assert_eq!(
        index.query_offsets("T", "U9", 10, 0, i64::MAX).offsets,
        Vec::<i64>::new()
    );
    drop(index);
    // A file indexing records at or past the recovered log end goes too.
    let index = load(dir.path(), true, 0, 601);
    assert!(index.files().is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn delete_expired_keeps_the_newest_file() {
    let dir = tempfile::tempdir().unwrap();
    let index = load(dir.path(), true, 0, u64::MAX);
    {
        let mut w = index.writer();
        for i in 0..20i64 {
            w.add("T", &format!("KEYS\u{1}k{i}\u{2}"), 0, i, 1000)
                .unwrap();
        }
    }
    assert_eq!(index.files().len(), 3);
    assert_eq!(
        index.delete_expired(7).unwrap(),
        1,
        "file 1 ends at offset 6"
    );
    assert_eq!(index.delete_expired(i64::MAX).unwrap(), 1, "never the last");
    assert_eq!(index.files().len(), 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn disabled_index_writes_nothing_and_bad_dimensions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::load(dir.path(), SLOTS, ENTRIES, false, true, 0, 0).unwrap();
    assert!(!index.writer().add("T", "KEYS\u{1}k\u{2}", 0, 1, 1).unwrap());
    assert!(index.files().is_empty());
    assert!(Index::load(dir.path(), 0, ENTRIES, true, true, 0, 0).is_err());
    assert!(Index::load(dir.path(), SLOTS, 200_000_000, true, true, 0, 0).is_err());
}

/// Files written by Java 4.9.8's own `IndexFile` (generator: compat-tests/golden-gen/.../IndexFileGolden.java):
/// 4 slots, 8 entries; eight puts into the first (the last refused: full), two into a continuation file.
#[test]
fn identical_to_files_written_by_java_4_9_8() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("20240101000000000");
    let f = IndexFile::create(&first, SLOTS, ENTRIES, 0, 0).unwrap();
    let keys = [
        "TopicA#U1",
        "TopicA#order-1",
        "TopicA#U2",
        "TopicA#order-1",
        "T#xAa",
        "T#xBB",
        "polygenelubricants",
        "TopicA#U3",
    ];
    let t0 = 1_700_000_000_000i64;
    for (i, key) in keys.iter().enumerate() {
        let i = i as i64;
        let ok = f.put(key_hash(key), 1000 * (i + 1) + (1 << 33), t0 + 1500 * i);
        assert_eq!(ok, i < 7, "{key}");
    }
    f.flush().unwrap();
    let second = dir.path().join("20240101000000001");
    let g = IndexFile::create(
        &second,
        SLOTS,
        ENTRIES,
        f.end_phy_offset(),
        f.end_timestamp(),
    )
    .unwrap();
    assert!(g.put(key_hash("TopicA#U9"), 99_999, f.end_timestamp() + 2500));
    assert!(g.put(key_hash("TopicA#U10"), 100_000, f.end_timestamp() + 4000));
    g.flush().unwrap();
    assert!(std::fs::read(&first).unwrap() == include_bytes!("testdata/java-4.9.8-full.idx"));
    assert!(std::fs::read(&second).unwrap() == include_bytes!("testdata/java-4.9.8-continued.idx"));
    // And the Java file reads back through our query path (a copy: files are mapped read-write).
    let java_path = dir.path().join("20240101000000002");
    std::fs::write(&java_path, include_bytes!("testdata/java-4.9.8-full.idx")).unwrap();
    let java = IndexFile::open(&java_path, SLOTS, ENTRIES).unwrap();
    let mut out = Vec::new();
    java.select(key_hash("TopicA#order-1"), 10, 0, i64::MAX, &mut out);
    assert_eq!(out, [4000 + (1 << 33), 2000 + (1 << 33)]);
}
