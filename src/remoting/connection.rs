//! One accepted client connection: a handle that lets any task queue frames for the writer task.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rmq_codec::code::RequestCode;
use rmq_codec::command::{ExtFields, RemotingCommand, RPC_ONEWAY};
use tokio::sync::mpsc;

/// Frames waiting for the writer task, per connection. A peer that stops reading fills this queue and is
/// disconnected instead of growing the broker's memory.
pub const OUTBOUND_QUEUE_LEN: usize = 4096;

/// A frame on its way to the socket.
pub enum Outbound {
    /// A command whose body (if any) is in `cmd.body`.
    Command(RemotingCommand),
    /// A command whose body is the concatenation of `records` (pull responses: slices of the mapped
    /// commit log, written without copying them into one buffer first).
    Records {
        cmd: RemotingCommand,
        records: Vec<Bytes>,
    },
}

/// A cheap, clonable handle to a live connection.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnectionInner>,
}

struct ConnectionInner {
    id: u64,
    peer: SocketAddr,
    tx: mpsc::Sender<Outbound>,
    next_opaque: AtomicI32,
    last_read_ms: AtomicU64,
}

impl Connection {
    pub fn new(id: u64, peer: SocketAddr, tx: mpsc::Sender<Outbound>) -> Self {
        Connection {
            inner: Arc::new(ConnectionInner {
                id,
                peer,
                tx,
                next_opaque: AtomicI32::new(1),
                last_read_ms: AtomicU64::new(now_ms()),
            }),
        }
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn peer(&self) -> SocketAddr {
        self.inner.peer
    }

    pub fn is_closed(&self) -> bool {
        self.inner.tx.is_closed()
    }

    pub fn touch(&self) {
        self.inner.last_read_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Queues a frame without waiting. Returns false (and the frame is dropped) when the peer is gone or
    /// its queue is full; a full queue means the peer is not reading, so the writer closes it.
    pub fn send(&self, frame: Outbound) -> bool {
        match self.inner.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(peer = %self.peer(), "outbound queue full, closing connection");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Sends a broker-initiated oneway request (e.g. NOTIFY_CONSUMER_IDS_CHANGED) with our own opaque.
    pub fn send_oneway(&self, code: RequestCode, ext_fields: ExtFields) -> bool {
        let mut cmd = RemotingCommand::new_request(code, ext_fields);
        cmd.flag |= RPC_ONEWAY;
        cmd.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        self.send(Outbound::Command(cmd))
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
