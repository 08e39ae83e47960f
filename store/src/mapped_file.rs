//! Fixed-size memory-mapped files named by their 20-digit start offset (`MappedFile` / `MappedFileQueue`).
//!
//! This is the only module with `unsafe`. The invariants that make it sound:
//! 1. **Single writer, disjoint ranges.** Bytes are written only at or beyond the published write position
//!    (`wrote`), under `write_lock`, and `wrote` is advanced with `Release` only after the copy. Readers only
//!    look at `[0, wrote)` loaded with `Acquire`. So no byte is ever read and written concurrently.
//! 2. **Rewriting readable bytes needs exclusive access.** [`MappedFile::truncate`] zeroes bytes that readers may
//!    have seen; it takes `&mut self` and refuses to run while any zero-copy [`Bytes`] still shares the mapping.
//! 3. **The mapping outlives every view.** Views handed out as [`Bytes`] own an `Arc` of the mapping.
//!    Views made from an *earlier* mapping of the same file (a store dropped and reopened in one process) only
//!    cover records that were valid when published, and recovery zeroes only bytes after the last valid record.
//! 4. **Nobody else changes the file size.** `<root>/lock` keeps other brokers out; truncating a mapped file from
//!    outside would turn reads into SIGBUS, as with any mmap-based store (Java's included).
//! 5. **[`WordMap`] is only touched through atomics.** Index files rewrite words that readers may be loading at
//!    the same moment, so they never hand out byte slices; every access is one aligned atomic word.

mod queue;
mod read_only;

pub use read_only::{lock_holder, ReadOnlyMap};

pub use queue::MappedFileQueue;

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapOptions, MmapRaw};
use parking_lot::Mutex;

/// The page size Java assumes for `flushLeastPages` (`MappedFile.OS_PAGE_SIZE`).
pub const OS_PAGE_SIZE: usize = 4096;
/// The largest page-cache folio (a PMD, 2 MiB on x86-64): folios are aligned to their size, so none spans a
/// multiple of this. Writeback write-protects a whole folio, pages past the write position included.
pub const LARGEST_FOLIO: usize = 2 << 20;

/// `UtilAll.offset2FileName`: the start offset as 20 zero-padded decimal digits.
pub fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// One fixed-size mapped file.
pub struct MappedFile {
    path: PathBuf,
    from_offset: u64,
    map: Arc<MmapRaw>,
    /// Published write position: bytes below it are immutable and readable.
    wrote: AtomicUsize,
    /// Serializes writers (invariant 1) even if a caller forgets its own lock.
    write_lock: Mutex<()>,
    /// Bytes below this position are known to be on disk.
    flushed: Mutex<usize>,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("wrote", &self.wrote_position())
            .finish()
    }
}

/// Owner of a zero-copy view: keeps the mapping alive for as long as the `Bytes` lives.
struct MapSlice {
    map: Arc<MmapRaw>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for MapSlice {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `start + len <= wrote <= map.len()` was checked when the view was made, the mapping is alive
        // (we own an Arc), and bytes below `wrote` are never written while a view exists (invariants 1 and 2).
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(self.start), self.len) }
    }
}

fn map_file(file: &File, size: usize) -> io::Result<MmapRaw> {
    MmapOptions::new().len(size).map_raw(file)
}

impl MappedFile {
    /// Creates `<dir>/<20-digit from_offset>` at its full size (sparse) and maps it. Fails if it exists. The
    /// caller decides whether the new name must be made durable with a directory fsync.
    pub fn create(dir: &Path, from_offset: u64, size: usize) -> io::Result<Self> {
        let path = dir.join(file_name(from_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        file.set_len(size as u64)?;
        let map = map_file(&file, size)?;
        Ok(Self::new(path, from_offset, map, 0))
    }

    /// Maps an existing file, which must be exactly `size` bytes. The write position starts at `size`
    /// (everything readable) until recovery sets it with [`truncate`](Self::truncate).
    pub fn open(path: &Path, from_offset: u64, size: usize) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        if len != size as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is {len} bytes, expected {size}", path.display()),
            ));
        }
        let map = map_file(&file, size)?;
        Ok(Self::new(path.to_path_buf(), from_offset, map, size))
    }

    fn new(path: PathBuf, from_offset: u64, map: MmapRaw, wrote: usize) -> Self {
        MappedFile {
            path,
            from_offset,
            map: Arc::new(map),
            wrote: AtomicUsize::new(wrote),
            write_lock: Mutex::new(()),
            flushed: Mutex::new(wrote),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Global offset of the file's first byte (its name).
    pub fn from_offset(&self) -> u64 {
        self.from_offset
    }

    pub fn size(&self) -> usize {
        self.map.len()
    }

    pub fn wrote_position(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    pub fn remaining(&self) -> usize {
        self.size() - self.wrote_position()
    }

    pub fn is_full(&self) -> bool {
        self.remaining() == 0
    }

    /// Appends `data` at the write position and publishes it. Returns the position it was written at, or `None`
    /// (nothing written) when it does not fit.
    pub fn append(&self, data: &[u8]) -> Option<usize> {
        let _guard = self.write_lock.lock();
        let pos = self.wrote.load(Ordering::Acquire);
        if data.len() > self.size() - pos {
            return None;
        }
        // SAFETY: `[pos, pos + len)` lies inside the mapping and at or beyond `wrote`, so no reader can see it
        // (invariant 1), and `write_lock` excludes other writers. The source is a separate Rust slice.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(pos),
                data.len(),
            );
        }
        self.wrote.store(pos + data.len(), Ordering::Release);
        Some(pos)
    }

    /// Faults the pages of `[from, from + len)` (clipped to the file) into the page tables, writable, without
    /// changing a byte (`MADV_POPULATE_WRITE`, Linux 5.14+). Done ahead of the write position from a background
    /// thread, so the append that later copies into those pages does not take the faults (a read-in of the
    /// sparse page plus `page_mkwrite`) while it holds the put lock.
    pub fn prefault(&self, from: usize, len: usize) -> io::Result<()> {
        let start = from / OS_PAGE_SIZE * OS_PAGE_SIZE;
        let end = from.saturating_add(len).min(self.size());
        if start >= end {
            return Ok(());
        }
        // SAFETY: `[start, end)` lies inside the mapping, which `self.map` keeps alive for the call. The advice
        // only populates page tables as a write fault would; it reads or writes no byte, so it cannot race
        // with the writer or readers (invariant 1 still holds).
        let rc = unsafe {
            libc::madvise(
                self.map.as_mut_ptr().add(start).cast(),
                end - start,
                libc::MADV_POPULATE_WRITE,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Turns the kernel's read-around for this mapping on (`MADV_NORMAL`) or off (`MADV_RANDOM`). A fault on a
    /// sparse file with read-around on zero-fills and maps the whole read-ahead window around the page; for
    /// a file that is written a few bytes at a time (a new consume queue) that is wasted work.
    pub fn advise_read_around(&self, enabled: bool) -> io::Result<()> {
        let advice = if enabled {
            libc::MADV_NORMAL
        } else {
            libc::MADV_RANDOM
        };
        // SAFETY: the whole mapping, kept alive by `self.map`; the advice changes no byte.
        let rc = unsafe { libc::madvise(self.map.as_mut_ptr().cast(), self.size(), advice) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Marks the rest of the file as used without writing (after the 8-byte BLANK record, Java leaves the rest
    /// of the file as it is).
    pub fn fill_to_end(&self) {
        let _guard = self.write_lock.lock();
        self.wrote.store(self.size(), Ordering::Release);
    }

    /// Borrows published bytes `[pos, pos + len)`; `None` if they are not all below the write position.
    pub fn slice(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        // SAFETY: the range is published (below `wrote`) and so immutable while `&self` lives: only
        // `truncate(&mut self)` rewrites published bytes (invariants 1 and 2).
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// A zero-copy view of published bytes that keeps the mapping alive.
    pub fn read(&self, pos: usize, len: usize) -> Option<Bytes> {
        self.slice(pos, len)?;
        Some(Bytes::from_owner(MapSlice {
            map: Arc::clone(&self.map),
            start: pos,
            len,
        }))
    }

    /// Flushes (msync) everything written since the last flush. Returns the flushed position.
    pub fn flush(&self) -> io::Result<usize> {
        self.flush_least(0)
    }

    /// Like [`flush`](Self::flush), but only when at least `least_pages` whole [`OS_PAGE_SIZE`] pages are dirty
    /// or the file is full (Java `isAbleToFlush`), so a busy async store does not msync every few bytes.
    /// `least_pages == 0` flushes any dirty byte. Returns the flushed position either way.
    ///
    /// With `least_pages > 0` the flush stops at the last [`LARGEST_FOLIO`] boundary below the write position;
    /// the rest waits for a `least_pages == 0` flush (Java's thorough flush) or for the position to move on.
    /// Java flushes up to the write position. Writeback locks and write-protects whole folios (up to 2 MiB on
    /// current kernels), so that write-protected the pages being appended to and those the prefault thread had
    /// mapped ahead: appends took write faults under the put lock and waited behind the flush thread's `msync`
    /// (perf: ~1,300 blocking faults in 8 s and 15-25 ms send latency spikes every few seconds at 25k msg/s;
    /// after: no commit-log faults, 5 blocking events, all in other files). No folio spans the boundary, so
    /// the flush never touches a page that is still written to.
    pub fn flush_least(&self, least_pages: usize) -> io::Result<usize> {
        let mut flushed = self.flushed.lock();
        let wrote = self.wrote_position();
        let target = if least_pages == 0 || wrote == self.size() {
            wrote
        } else if (wrote / LARGEST_FOLIO * LARGEST_FOLIO).saturating_sub(*flushed) / OS_PAGE_SIZE
            >= least_pages
        {
            wrote / LARGEST_FOLIO * LARGEST_FOLIO
        } else {
            *flushed
        };
        if target > *flushed {
            // Holding `flushed` (not `write_lock`) keeps appends running during the msync.
            self.map.flush_range(*flushed, target - *flushed)?;
            *flushed = target;
        }
        Ok(*flushed)
    }

    /// Position below which bytes are known to be on disk.
    pub fn flushed_position(&self) -> usize {
        *self.flushed.lock()
    }

    /// Msyncs every written byte, including bytes an earlier process left dirty in the page cache: after a
    /// crash of the process (not the OS) recovery reads records that may not be on disk yet, and a later
    /// synchronous put must not be acknowledged on top of them.
    pub fn sync_written(&self) -> io::Result<()> {
        let mut flushed = self.flushed.lock();
        let wrote = self.wrote_position();
        if wrote > 0 {
            self.map.flush_range(0, wrote)?;
        }
        *flushed = wrote;
        Ok(())
    }

    /// Recovery: sets the write position to `pos` and zeroes every non-zero byte after it, so garbage left by a
    /// torn write can never be mistaken for records appended later. Fails if zero-copy views are outstanding.
    pub fn truncate(&mut self, pos: usize) -> io::Result<()> {
        let size = self.size();
        let map = Arc::get_mut(&mut self.map).ok_or_else(|| {
            io::Error::new(io::ErrorKind::WouldBlock, "mapped file still has readers")
        })?;
        let pos = pos.min(size);
        // Only the file's data extents can hold non-zero bytes; reading the never-written, sparse rest of a
        // 1 GiB file would fault in a quarter of a million zero pages on every start.
        let scan_end = match data_extents(&self.path, pos as u64, size as u64) {
            Ok(extents) => extents.last().map_or(pos, |&(_, end)| end as usize),
            Err(_) => size,
        };
        // SAFETY: `&mut self` plus a unique Arc means no other reference to the mapping exists (invariant 2);
        // the range is inside the mapping.
        let tail =
            unsafe { std::slice::from_raw_parts_mut(map.as_mut_ptr().add(pos), scan_end - pos) };
        // Zero up to the last non-zero byte instead of the whole tail: writing zeros into the sparse rest of
        // the file would allocate it all.
        if let Some(last) = tail.iter().rposition(|b| *b != 0) {
            tail[..=last].fill(0);
            map.flush_range(pos, last + 1)?;
        }
        *self.wrote.get_mut() = pos;
        let flushed = self.flushed.get_mut();
        *flushed = (*flushed).min(pos);
        Ok(())
    }

    /// Deletes the file. The mapping stays valid for outstanding views until they drop.
    pub fn delete(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Takes the exclusive POSIX record lock on byte 0 of `file` without waiting, the lock Java's
/// `FileChannel.tryLock(0, 1, false)` takes on Linux (`fcntl(F_SETLK)`), so a Java broker and rmqd exclude each
/// other. Returns `Ok(false)` when another process holds it. POSIX locks do not exclude the same process, and
/// closing any descriptor of the file releases them: the caller must keep its own in-process registry and keep
/// `file` open for as long as it holds the lock. Lives here to keep every `unsafe` block in one module.
pub(crate) fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: `flock` is a plain C struct for which all-zero bytes are a valid value.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as _;
    lock.l_whence = libc::SEEK_SET as _;
    lock.l_start = 0;
    lock.l_len = 1;
    // SAFETY: the descriptor is open for the duration of the call and `lock` is a valid, initialized flock.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(err),
    }
}

// recovery: start
/// The data extents of `path` within `[from, to)` as `(start, end)` pairs, found with `lseek(SEEK_DATA /
/// SEEK_HOLE)`. Recovery searches the tail after the last valid record for stray records; reading the never-written
/// (sparse) rest of a 1 GiB file through the mapping would fault in and zero a page cache page per 4 KiB.
/// Filesystems that do not report holes report one extent covering everything. Lives here to keep every
/// `unsafe` block in one module.
pub(crate) fn data_extents(path: &Path, from: u64, to: u64) -> io::Result<Vec<(u64, u64)>> {
    use std::os::unix::io::AsRawFd;
    let file = File::open(path)?;
    let seek = |offset: u64, whence: libc::c_int| -> io::Result<Option<u64>> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset beyond off_t"))?;
        // SAFETY: lseek on a descriptor that stays open for the call; no memory is passed.
        let r = unsafe { libc::lseek(file.as_raw_fd(), offset, whence) };
        if r >= 0 {
            return Ok(Some(r as u64));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENXIO) => Ok(None), // no data at or after `offset`
            _ => Err(err),
        }
    };
    let mut extents = Vec::new();
    let mut pos = from;
    while pos < to {
        let start = match seek(pos, libc::SEEK_DATA) {
            Ok(Some(start)) if start < to => start,
            Ok(_) => break,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(vec![(from, to)]),
            Err(e) => return Err(e),
        };
        let end = seek(start, libc::SEEK_HOLE)?.unwrap_or(to).min(to);
        extents.push((start, end));
        pos = end;
    }
    Ok(extents)
}
// recovery: end

// retention: start
/// Used fraction (0.0..=1.0) of the filesystem holding `path`, computed like Java's
/// `UtilAll.getDiskPartitionSpaceUsedPercent`: blocks in use over blocks in use plus blocks available to
/// unprivileged users (so the root-reserved blocks count as full), rounded up to a whole percent.
/// Lives here to keep every `unsafe` block in one module.
pub fn disk_used_ratio(path: &Path) -> io::Result<f64> {
    let st = statvfs(path)?;
    // The field types differ between targets (u32 on some 32-bit ones).
    #[allow(clippy::unnecessary_cast)]
    let (block, total, free, avail) = (
        st.f_frsize as u128,
        st.f_blocks as u128,
        st.f_bfree as u128,
        st.f_bavail as u128,
    );
    let used = total.saturating_sub(free) * block;
    let entire = used + avail * block;
    if entire == 0 {
        return Err(io::Error::other("filesystem reports no blocks"));
    }
    Ok((used * 100).div_ceil(entire) as f64 / 100.0)
}

/// Java's `File.getTotalSpace` and `File.getFreeSpace` of the file system holding `path`, in bytes.
pub fn disk_space(path: &Path) -> io::Result<(u64, u64)> {
    let st = statvfs(path)?;
    #[allow(clippy::unnecessary_cast)]
    let block = st.f_frsize as u64;
    #[allow(clippy::unnecessary_cast)]
    Ok((
        (st.f_blocks as u64).saturating_mul(block),
        (st.f_bfree as u64).saturating_mul(block),
    ))
}

fn statvfs(path: &Path) -> io::Result<libc::statvfs> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    // SAFETY: `statvfs` is a plain C struct for which all-zero bytes are a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and both pointers are valid for the duration of the call.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}
// retention: end

/// A file mapped for random-access big-endian words, for files that are not append-only (index files: hash
/// slots are rewritten, header counters move). Every access is an atomic load or store of an aligned `u32` or
/// `u64`, so a reader walking the file while the single writer fills it sees each word either old or new, never
/// torn, and never races in the Rust sense. Stores are `Release` and loads `Acquire`: a reader that sees a word
/// sees everything the writer stored before it (the index publishes an entry by storing its slot last).
pub struct WordMap {
    path: PathBuf,
    map: MmapRaw,
}

impl std::fmt::Debug for WordMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordMap").field("path", &self.path).finish()
    }
}

impl WordMap {
    /// Creates `path` at `size` bytes (sparse: nothing is written) and maps it; fails if it exists.
    pub fn create(path: &Path, size: usize) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        file.set_len(size as u64)?;
        let map = map_file(&file, size)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(WordMap {
            path: path.to_path_buf(),
            map,
        })
    }

    /// Maps an existing file, which must be exactly `size` bytes.
    pub fn open(path: &Path, size: usize) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        if len != size as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is {len} bytes, expected {size}", path.display()),
            ));
        }
        Ok(WordMap {
            path: path.to_path_buf(),
            map: map_file(&file, size)?,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn size(&self) -> usize {
        self.map.len()
    }

    /// The word at `pos`. Panics if `pos` is not 4-aligned or the word is outside the file: positions are
    /// computed by the caller from bounds-checked indexes, so this is a bug, never bad disk data.
    fn word32(&self, pos: usize) -> &AtomicU32 {
        assert!(
            pos.is_multiple_of(4) && pos + 4 <= self.size(),
            "word at {pos}"
        );
        // SAFETY: in bounds (checked above) and 4-aligned (the mapping is page-aligned, `pos` a multiple of 4).
        // The mapping lives as long as `&self`. All accesses to mapped words go through atomics (invariant in the
        // type doc), and no `&[u8]` of this mapping is ever handed out.
        unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(pos).cast()) }
    }

    fn word64(&self, pos: usize) -> &AtomicU64 {
        assert!(
            pos.is_multiple_of(8) && pos + 8 <= self.size(),
            "word at {pos}"
        );
        // SAFETY: as in `word32`, with 8-byte alignment.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(pos).cast()) }
    }

    /// Big-endian `u32` at a 4-aligned `pos`.
    pub fn load_u32(&self, pos: usize) -> u32 {
        u32::from_be(self.word32(pos).load(Ordering::Acquire))
    }

    pub fn store_u32(&self, pos: usize, value: u32) {
        self.word32(pos).store(value.to_be(), Ordering::Release);
    }

    /// Big-endian `u64` at an 8-aligned `pos`, loaded in one piece.
    pub fn load_u64(&self, pos: usize) -> u64 {
        u64::from_be(self.word64(pos).load(Ordering::Acquire))
    }

    pub fn store_u64(&self, pos: usize, value: u64) {
        self.word64(pos).store(value.to_be(), Ordering::Release);
    }

    /// Flushes (msync) the whole mapping; only dirty pages cost anything.
    pub fn flush(&self) -> io::Result<()> {
        self.map.flush()
    }
}

/// Local wall-clock time, broken down (for Java's `UtilAll.timeMillisToHumanString`, which names index files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1..=12
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// `localtime_r` of `unix_seconds` in the process's time zone (`TZ`), as the JVM's default zone would give it.
/// Lives here to keep every `unsafe` block in one module.
pub fn local_time(unix_seconds: i64) -> Option<LocalTime> {
    // `time_t` is 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    let t: libc::time_t = unix_seconds.try_into().ok()?;
    // SAFETY: `tm` is a plain C struct for which all-zero bytes are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call; `localtime_r` is the thread-safe variant.
    let out = unsafe { libc::localtime_r(&t, &mut tm) };
    if out.is_null() {
        return None;
    }
    Some(LocalTime {
        year: tm.tm_year + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
    })
}

#[cfg(test)]
mod tests;
