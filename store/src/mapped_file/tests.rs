//! MappedFile and MappedFileQueue unit tests.

use super::*;

#[test]
fn append_read_flush_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let f = MappedFile::create(dir.path(), 4096, 64).unwrap();
    assert_eq!(f.path().file_name().unwrap(), "00000000000000004096");
    assert_eq!(f.append(b"hello"), Some(0));
    assert_eq!(f.append(b"world"), Some(5));
    assert_eq!(f.append(&[1; 60]), None);
    let view = f.read(0, 10).unwrap();
    assert_eq!(&view[..], b"helloworld");
    assert!(f.read(5, 6).is_none());
    assert_eq!(f.flush().unwrap(), 10);
    drop(f);
    assert_eq!(&view[..], b"helloworld", "views outlive the file handle");
    drop(view);
    let mut g = MappedFile::open(&dir.path().join("00000000000000004096"), 4096, 64).unwrap();
    assert_eq!(g.wrote_position(), 64);
    let view = g.read(0, 5).unwrap();
    assert!(g.truncate(5).is_err(), "a view still shares the mapping");
    drop(view);
    g.truncate(5).unwrap();
    assert_eq!(g.wrote_position(), 5);
    assert_eq!(g.append(b"!"), Some(5));
    assert_eq!(g.slice(0, 6).unwrap(), b"hello!");
    drop(g);
    let raw = std::fs::read(dir.path().join("00000000000000004096")).unwrap();
    assert_eq!(&raw[..10], b"hello!\0\0\0\0");
}

#[test]
fn prefault_changes_no_byte() {
    let dir = tempfile::tempdir().unwrap();
    let f = MappedFile::create(dir.path(), 0, 8 * OS_PAGE_SIZE).unwrap();
    f.append(&[7; 5000]).unwrap();
    // Unaligned start, end past the file: clipped, and the written bytes stay as they are.
    f.prefault(100, 100 * OS_PAGE_SIZE).unwrap();
    f.prefault(8 * OS_PAGE_SIZE, 10).unwrap();
    assert!(f.slice(0, 5000).unwrap().iter().all(|&b| b == 7));
    f.append(&[9; 3]).unwrap();
    assert_eq!(f.slice(4999, 4).unwrap(), [7, 9, 9, 9]);
    f.fill_to_end();
    assert!(f
        .slice(5003, 8 * OS_PAGE_SIZE - 5003)
        .unwrap()
        .iter()
        .all(|&b| b == 0));
}

#[test]
fn open_rejects_wrong_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name(0));
    std::fs::write(&path, [0u8; 10]).unwrap();
    assert!(MappedFile::open(&path, 0, 64).is_err());
}

#[test]
fn flush_least_waits_for_dirty_pages_or_a_full_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = MappedFile::create(dir.path(), 0, 3 * LARGEST_FOLIO).unwrap();
    f.append(&[1; 100]).unwrap();
    assert_eq!(f.flush_least(2).unwrap(), 0, "no whole page dirty yet");
    f.append(&vec![2; LARGEST_FOLIO]).unwrap();
    assert_eq!(
        f.flush_least(2).unwrap(),
        LARGEST_FOLIO,
        "up to the folio boundary below the write position, never the folio being appended to"
    );
    f.append(&[3; 10]).unwrap();
    assert_eq!(
        f.flush_least(1).unwrap(),
        LARGEST_FOLIO,
        "no boundary passed since the last flush"
    );
    assert_eq!(f.flushed_position(), LARGEST_FOLIO);
    assert_eq!(
        f.flush_least(0).unwrap(),
        f.wrote_position(),
        "a full flush takes everything"
    );
    f.fill_to_end();
    assert_eq!(
        f.flush_least(4).unwrap(),
        f.size(),
        "a full file always flushes"
    );
}

#[test]
fn truncate_zeroes_stray_bytes_in_every_data_extent_of_a_sparse_file() {
    let dir = tempfile::tempdir().unwrap();
    let size = 64 << 20;
    let f = MappedFile::create(dir.path(), 0, size).unwrap();
    f.append(&[1; 100]).unwrap();
    f.fill_to_end();
    drop(f);
    // Torn writes left behind the valid end, one near it and one far away in an otherwise sparse file.
    let path = dir.path().join(file_name(0));
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut raw = OpenOptions::new().write(true).open(&path).unwrap();
        raw.seek(SeekFrom::Start(100)).unwrap();
        raw.write_all(&[2; 50]).unwrap();
        raw.seek(SeekFrom::Start(40 << 20)).unwrap();
        raw.write_all(&[3; 10]).unwrap();
        raw.sync_all().unwrap();
    }
    let mut g = MappedFile::open(&path, 0, size).unwrap();
    g.truncate(100).unwrap();
    assert_eq!(g.wrote_position(), 100);
    drop(g);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes[..100].iter().all(|&b| b == 1));
    assert!(bytes[100..].iter().all(|&b| b == 0), "stray bytes survived");
}
