//! Reading request frames off a socket within a process-wide memory budget (issue 6).
//!
//! A frame is `[int32 length][int32 (serializeType << 24) | headerLength][header][body]`, at most
//! [`MAX_FRAME_LENGTH`] with its length word (Java: Netty's `LengthFieldBasedFrameDecoder(16 MiB, 0, 4, 0,
//! 4)`). Every connection may legally send a 16 MiB frame, so 10,000 connections could make the process
//! buffer 160 GB at once. Two bounds keep that in check:
//!
//! * A frame longer than [`SMALL_FRAME_BYTES`] first takes permits for its length from the shared
//!   [`FrameBudget`] and gives them back when its last byte is dropped: the permit travels inside the
//!   frame's `Bytes`, so a body still referenced after the handler returned stays counted. While the budget
//!   is spent the reader waits before reading the frame, so it stops reading its socket and TCP flow
//!   control pushes back on the client. A budget is never smaller than one maximal frame, so every
//!   frame can eventually be read.
//! * A header longer than [`MAX_HEADER_BYTES`] closes the connection before it is read: decoding a JSON
//!   header costs ~25 bytes of memory per header byte, and Java clients send a few KiB.

use std::sync::{Arc, OnceLock};

use bytes::{Buf, Bytes, BytesMut};
use rmq_codec::command::MAX_FRAME_LENGTH;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Frames up to this length are read without touching the budget: a connection's read buffer holds
/// about this much anyway, and every request of a well-behaved client but large sends fits.
pub const SMALL_FRAME_BYTES: usize = 64 << 10;

/// Default budget for bytes of large frames being read or processed (`maxInflightFrameBytes`).
pub const DEFAULT_INFLIGHT_FRAME_BYTES: usize = 512 << 20;

/// Longest header accepted. The largest legitimate header is a send's: message properties are capped at
/// 32 KiB by the store (a signed-short length), which JSON escaping of their `\u0001`/`\u0002`
/// separators can at most multiply by six; the name server's REGISTER_BROKER carries its topics in the body.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// Low 24 bits of the word after the length: the header length (the high byte is the serialize type).
const HEADER_LENGTH_MASK: u32 = 0x00FF_FFFF;

/// Read-buffer size a connection starts with; small frames never need more than one frame's worth.
const INITIAL_BUFFER_BYTES: usize = 8 << 10;

/// A shared pool of bytes that large incoming frames draw from (one permit per byte).
#[derive(Clone, Debug)]
pub struct FrameBudget {
    permits: Arc<Semaphore>,
    total_bytes: usize,
}

impl FrameBudget {
    /// A budget of `total_bytes`, raised to one maximal frame so that any legal frame fits in it.
    pub fn new(total_bytes: usize) -> Self {
        let total_bytes = total_bytes.clamp(MAX_FRAME_LENGTH, Semaphore::MAX_PERMITS);
        FrameBudget {
            permits: Arc::new(Semaphore::new(total_bytes)),
            total_bytes,
        }
    }

    #[cfg(test)]
    pub fn total_bytes(&self) -> usize {
        self.total_bytes
    }

    /// Bytes not held by any frame right now.
    #[cfg(test)]
    pub fn available_bytes(&self) -> usize {
        self.permits.available_permits()
    }

    /// Waits until `bytes` (at most one frame) are free and takes them.
    async fn acquire(&self, bytes: usize) -> std::io::Result<OwnedSemaphorePermit> {
        // A frame is at most 16 MiB, far below u32::MAX; min() keeps the cast honest regardless.
        let wanted = bytes.min(self.total_bytes) as u32;
        self.permits
            .clone()
            .acquire_many_owned(wanted)
            .await
            .map_err(|_| std::io::Error::other("frame budget closed"))
    }
}

impl Default for FrameBudget {
    fn default() -> Self {
        FrameBudget::new(DEFAULT_INFLIGHT_FRAME_BYTES)
    }
}

static PROCESS_BUDGET: OnceLock<FrameBudget> = OnceLock::new();

/// Sets the budget every listener of this process shares. Call once, before serving; returns false when
/// the budget was already fixed (by an earlier call or by the first connection, which takes the default).
pub fn init_process_budget(total_bytes: usize) -> bool {
    let mut fresh = false;
    PROCESS_BUDGET.get_or_init(|| {
        fresh = true;
        FrameBudget::new(total_bytes)
    });
    fresh
}

/// The process-wide budget (the default when [`init_process_budget`] was not called).
pub fn process_budget() -> FrameBudget {
    PROCESS_BUDGET.get_or_init(FrameBudget::default).clone()
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {0} outside 4..={max}", max = MAX_FRAME_LENGTH - 4)]
    BadLength(u32),
    #[error("header length {0} over the {MAX_HEADER_BYTES}-byte limit")]
    HeaderTooLong(usize),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A large frame's bytes together with the budget they hold; dropped with the frame's last `Bytes`.
struct BudgetedFrame {
    data: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for BudgetedFrame {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// Splits a byte stream into frames.
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
    budget: FrameBudget,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(io: R, budget: FrameBudget) -> Self {
        FrameReader {
            io,
            buf: BytesMut::with_capacity(INITIAL_BUFFER_BYTES),
            budget,
        }
    }

    /// The next frame (the bytes after its length word), or `None` when the peer closed between frames.
    /// A peer closing inside a frame is an `UnexpectedEof` error.
    ///
    /// Not cancel-safe: after a cancelled call the stream position is lost, so the caller must close.
    pub async fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if !self.fill(4).await? {
            return Ok(None);
        }
        let word = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        let len = word as usize;
        if !(4..=MAX_FRAME_LENGTH - 4).contains(&len) {
            return Err(FrameError::BadLength(word));
        }
        self.fill_or_eof(8).await?;
        let type_word = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]);
        let header_len = (type_word & HEADER_LENGTH_MASK) as usize;
        if header_len > MAX_HEADER_BYTES {
            return Err(FrameError::HeaderTooLong(header_len));
        }
        if len <= SMALL_FRAME_BYTES {
            self.fill_or_eof(4 + len).await?;
            self.buf.advance(4);
            return Ok(Some(self.buf.split_to(len).freeze()));
        }
        let permit = self.budget.acquire(len).await?;
        self.buf.advance(4);
        // Exactly one frame's memory, owned by this frame alone (a slice of a shared read buffer would
        // keep the whole buffer alive after the budget was returned).
        let mut data = Vec::with_capacity(len);
        let buffered = self.buf.len().min(len);
        data.extend_from_slice(&self.buf[..buffered]);
        self.buf.advance(buffered);
        while data.len() < len {
            let missing = (len - data.len()) as u64;
            if (&mut self.io).take(missing).read_buf(&mut data).await? == 0 {
                return Err(unexpected_eof().into());
            }
        }
        Ok(Some(Bytes::from_owner(BudgetedFrame {
            data,
            _permit: permit,
        })))
    }

    /// Reads until `n` bytes are buffered. False when the stream ended with nothing buffered.
    async fn fill(&mut self, n: usize) -> std::io::Result<bool> {
        while self.buf.len() < n {
            self.buf.reserve(n - self.buf.len());
            if self.io.read_buf(&mut self.buf).await? == 0 {
                if self.buf.is_empty() {
                    return Ok(false);
                }
                return Err(unexpected_eof());
            }
        }
        Ok(true)
    }

    async fn fill_or_eof(&mut self, n: usize) -> std::io::Result<()> {
        if self.fill(n).await? {
            Ok(())
        } else {
            Err(unexpected_eof())
        }
    }
}

fn unexpected_eof() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "peer closed inside a frame",
    )
}

#[cfg(test)]
mod tests;
