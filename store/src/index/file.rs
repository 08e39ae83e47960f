//! One index file: a hash table of `topic#key` → commit-log offsets in Java's `IndexFile` layout.
//!
//! ```text
//! header  40 bytes: 0 i64 beginTimestamp | 8 i64 endTimestamp | 16 i64 beginPhyOffset | 24 i64 endPhyOffset
//!                   | 32 i32 hashSlotCount | 36 i32 indexCount
//! slots   slot_num × i32: number of the newest entry whose key hash falls in the slot (0 = empty)
//! entries index_num × 20 bytes, entry n at 40 + slot_num*4 + n*20 (entry 0 is never used):
//!         i32 keyHash | i64 phyOffset | i32 timeDiff seconds from beginTimestamp | i32 prevIndex (chain)
//! ```
//!
//! One writer (the index lock holder) fills the file while readers walk chains: every word goes through
//! [`WordMap`]'s atomics, and a new entry is written before the slot that points at it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::StoreError;
use crate::mapped_file::WordMap;

pub const HEADER_SIZE: usize = 40;
pub const SLOT_SIZE: usize = 4;
pub const ENTRY_SIZE: usize = 20;

const BEGIN_TIMESTAMP: usize = 0;
const END_TIMESTAMP: usize = 8;
const BEGIN_PHY_OFFSET: usize = 16;
const END_PHY_OFFSET: usize = 24;
const HASH_SLOT_COUNT: usize = 32;
const INDEX_COUNT: usize = 36;

/// `IndexFile.indexKeyHashMethod`: `abs(String.hashCode())`, with `Integer.MIN_VALUE` (whose abs overflows) as 0.
pub fn key_hash(key: &str) -> i32 {
    rmq_codec::message::java_string_hash(key)
        .checked_abs()
        .unwrap_or(0)
}

/// Bytes of an index file with these dimensions.
pub fn file_size(slot_num: u32, index_num: u32) -> u64 {
    HEADER_SIZE as u64
        + u64::from(slot_num) * SLOT_SIZE as u64
        + u64::from(index_num) * ENTRY_SIZE as u64
}

/// One mapped index file.
#[derive(Debug)]
pub struct IndexFile {
    map: WordMap,
    slot_num: u32,
    index_num: u32,
    /// Written since the last flush.
    dirty: AtomicBool,
}

/// One decoded entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub key_hash: i32,
    pub phy_offset: i64,
    pub time_diff_s: i32,
    pub prev_index: i32,
}

impl IndexFile {
    /// Creates the file at full size. Like Java, a file that continues another one starts with that file's end
    /// offset and timestamp as its begin and end (when positive); the counters stay 0 on disk (read as 1).
    pub fn create(
        path: &Path,
        slot_num: u32,
        index_num: u32,
        end_phy_offset: i64,
        end_timestamp: i64,
    ) -> Result<Self, StoreError> {
        let size = usize::try_from(file_size(slot_num, index_num))
            .map_err(|_| StoreError::InvalidArgument("index file too large".into()))?;
        let file = IndexFile {
            map: WordMap::create(path, size)?,
            slot_num,
            index_num,
            dirty: AtomicBool::new(true),
        };
        if end_phy_offset > 0 {
            file.store_i64(BEGIN_PHY_OFFSET, end_phy_offset);
            file.store_i64(END_PHY_OFFSET, end_phy_offset);
        }
        if end_timestamp > 0 {
            file.store_i64(BEGIN_TIMESTAMP, end_timestamp);
            file.store_i64(END_TIMESTAMP, end_timestamp);
        }
        Ok(file)
    }

    /// Maps an existing file, which must have exactly the size these dimensions give.
    pub fn open(path: &Path, slot_num: u32, index_num: u32) -> Result<Self, StoreError> {
        let size = usize::try_from(file_size(slot_num, index_num))
            .map_err(|_| StoreError::InvalidArgument("index file too large".into()))?;
        let map = WordMap::open(path, size).map_err(|e| StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(IndexFile {
            map,
            slot_num,
            index_num,
            dirty: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        self.map.path()
    }

    /// The file name (`yyyyMMddHHmmssSSS`).
    pub fn name(&self) -> String {
        self.path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn load_i64(&self, pos: usize) -> i64 {
        self.map.load_u64(pos) as i64
    }

    fn store_i64(&self, pos: usize, value: i64) {
        self.map.store_u64(pos, value as u64);
    }

    fn load_i32(&self, pos: usize) -> i32 {
        self.map.load_u32(pos) as i32
    }

    fn store_i32(&self, pos: usize, value: i32) {
        self.map.store_u32(pos, value as u32);
    }

    pub fn begin_timestamp(&self) -> i64 {
        self.load_i64(BEGIN_TIMESTAMP)
    }

    pub fn end_timestamp(&self) -> i64 {
        self.load_i64(END_TIMESTAMP)
    }

    pub fn begin_phy_offset(&self) -> i64 {
        self.load_i64(BEGIN_PHY_OFFSET)
    }

    pub fn end_phy_offset(&self) -> i64 {
        self.load_i64(END_PHY_OFFSET)
    }

    pub fn hash_slot_count(&self) -> i32 {
        self.load_i32(HASH_SLOT_COUNT)
    }

    /// The next entry number to write; `IndexHeader.load` reads a value ≤ 0 as 1.
    pub fn index_count(&self) -> i32 {
        self.load_i32(INDEX_COUNT).max(1)
    }

    /// `isWriteFull`.
    pub fn is_full(&self) -> bool {
        i64::from(self.index_count()) >= i64::from(self.index_num)
    }

    fn slot_pos(&self, hash: i32) -> usize {
        // `hash` is non-negative (see `key_hash`) and `slot_num` ≥ 1, so the remainder is a valid slot.
        HEADER_SIZE + (hash.unsigned_abs() % self.slot_num) as usize * SLOT_SIZE
    }

    fn entry_pos(&self, n: i32) -> usize {
        HEADER_SIZE + self.slot_num as usize * SLOT_SIZE + n as usize * ENTRY_SIZE
    }

    /// Whether `n` can name a written entry: `1..=indexCount` like Java, and inside the file whatever the header
    /// says (Java relies on an exception for that).
    fn valid_entry(&self, n: i32, index_count: i32) -> bool {
        n > 0 && n <= index_count && (n as u32) < self.index_num
    }

    /// Decodes entry `n`; the caller has checked it with `valid_entry`.
    fn entry(&self, n: i32) -> Entry {
        let pos = self.entry_pos(n);
        // Entries are only 4-aligned, so the offset is two words; an entry is immutable once its slot is
        // published, so the halves cannot come from different writes.
        let high = u64::from(self.map.load_u32(pos + 4));
        let low = u64::from(self.map.load_u32(pos + 8));
        Entry {
            key_hash: self.load_i32(pos),
            phy_offset: ((high << 32) | low) as i64,
            time_diff_s: self.load_i32(pos + 12),
            prev_index: self.load_i32(pos + 16),
        }
    }

    /// Entry `n` if it is within the written range (for tests and tools).
    pub fn entry_at(&self, n: i32) -> Option<Entry> {
        self.valid_entry(n, self.index_count())
            .then(|| self.entry(n))
    }

    /// `IndexFile.putKey`: appends an entry for `hash` at the next entry number and makes it the head of its
    /// slot's chain. Returns false (nothing written) when the file is full. Only the index writer may call this.
    pub fn put(&self, hash: i32, phy_offset: i64, store_timestamp: i64) -> bool {
        let count = self.index_count();
        if i64::from(count) >= i64::from(self.index_num) {
            return false;
        }
        let slot_pos = self.slot_pos(hash);
        let mut prev = self.load_i32(slot_pos);
        if prev <= 0 || prev > count {
            prev = 0;
        }
        let begin = self.begin_timestamp();
        // Java computes the diff against the begin timestamp *before* the first entry resets it, so the first
        // entry of a file continuing another can carry a non-zero diff; kept for byte compatibility.
        let time_diff_s = if begin <= 0 {
            0
        } else {
            ((store_timestamp - begin) / 1000).clamp(0, i64::from(i32::MAX)) as i32
        };
        let pos = self.entry_pos(count);
        self.store_i32(pos, hash);
        self.map
            .store_u32(pos + 4, ((phy_offset as u64) >> 32) as u32);
        self.map.store_u32(pos + 8, phy_offset as u64 as u32);
        self.store_i32(pos + 12, time_diff_s);
        self.store_i32(pos + 16, prev);
        if count <= 1 {
            // Before the slot publishes the entry, so a reader never pairs it with the seeded begin time.
            self.store_i64(BEGIN_PHY_OFFSET, phy_offset);
            self.store_i64(BEGIN_TIMESTAMP, store_timestamp);
        }
        self.store_i32(slot_pos, count);
        if prev == 0 {
            self.store_i32(HASH_SLOT_COUNT, self.hash_slot_count().wrapping_add(1));
        }
        self.store_i32(INDEX_COUNT, count + 1);
        self.store_i64(END_PHY_OFFSET, phy_offset);
        self.store_i64(END_TIMESTAMP, store_timestamp);
        self.dirty.store(true, Ordering::Release);
        true
    }

    /// `isTimeMatched`: whether `[begin, end]` overlaps the file's time range.
    pub fn time_matches(&self, begin: i64, end: i64) -> bool {
        let (first, last) = (self.begin_timestamp(), self.end_timestamp());
        (begin < first && end > last)
            || (begin >= first && begin <= last)
            || (end >= first && end <= last)
    }

    /// `selectPhyOffset`: walks the chain of `hash`'s slot from the newest entry and appends the offsets of
    /// entries with the same hash stored within `[begin, end]` until `out` holds `max` offsets. Like Java it stops
    /// at an entry older than `begin`; unlike Java it also stops unless the chain strictly descends, which valid
    /// files always do, so a corrupt file cannot make it loop.
    pub fn select(&self, hash: i32, max: usize, begin: i64, end: i64, out: &mut Vec<i64>) {
        let count = self.index_count();
        let mut n = self.load_i32(self.slot_pos(hash));
        if count <= 1 || !self.valid_entry(n, count) {
            return;
        }
        let begin_timestamp = self.begin_timestamp();
        while out.len() < max {
            let entry = self.entry(n);
            if entry.time_diff_s < 0 {
                break;
            }
            let time = begin_timestamp + i64::from(entry.time_diff_s) * 1000;
            if entry.key_hash == hash && time >= begin && time <= end {
                out.push(entry.phy_offset);
            }
            let prev = entry.prev_index;
            if !self.valid_entry(prev, count) || prev >= n || time < begin {
                break;
            }
            n = prev;
        }
    }

    /// Flushes the mapping if anything was written since the last flush.
    pub fn flush(&self) -> Result<(), StoreError> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.map.flush() {
                self.dirty.store(true, Ordering::Release);
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Deletes the file; readers holding it keep a valid mapping until they drop it.
    pub fn delete(&self) -> Result<(), StoreError> {
        match std::fs::remove_file(self.path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}
