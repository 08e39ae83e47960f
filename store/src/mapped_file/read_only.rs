//! Read-only access for the offline store tools: who holds a store's lock, and whole files mapped read-only.
//! A submodule of `mapped_file` so that every `unsafe` block of the store stays in that module.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapOptions;

/// The process holding the POSIX record lock on byte 0 of `file` (the lock a Java broker or rmqd takes on
/// `<root>/lock`, see [`try_lock_exclusive`]), found with `fcntl(F_GETLK)`, which needs only a read-only
/// descriptor and takes nothing. `None` when the byte is free (or locked by this process).
pub fn lock_holder(file: &File) -> io::Result<Option<i32>> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: `flock` is a plain C struct for which all-zero bytes are a valid value.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as _;
    lock.l_whence = libc::SEEK_SET as _;
    lock.l_start = 0;
    lock.l_len = 1;
    // SAFETY: the descriptor is open for the duration of the call and `lock` is a valid flock the kernel fills.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lock) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((i32::from(lock.l_type) != libc::F_UNLCK).then_some(lock.l_pid))
}

/// A whole file mapped read-only (`PROT_READ` on a descriptor opened read-only), for the offline store tools:
/// nothing can be written through it. Reading a store while a broker runs on it is only sound as long as nobody
/// truncates the file (invariant 4); the tools check `<root>/lock` first.
pub struct ReadOnlyMap {
    path: PathBuf,
    /// `None` for an empty file (a zero-length mapping is an error).
    map: Option<memmap2::Mmap>,
}

impl std::fmt::Debug for ReadOnlyMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnlyMap")
            .field("path", &self.path)
            .field("len", &self.bytes().len())
            .finish()
    }
}

impl ReadOnlyMap {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: read-only mapping of a file opened read-only; the bytes are only ever read as `&[u8]`.
            // The file must not shrink while mapped (invariant 4), which the caller's lock check ensures.
            let map = unsafe { MmapOptions::new().map(&file)? };
            // Sequential read-ahead; the tools walk files front to back. Advice only, so a failure is ignored.
            let _ = map.advise(memmap2::Advice::Sequential);
            Some(map)
        };
        Ok(ReadOnlyMap {
            path: path.to_path_buf(),
            map,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }
}
