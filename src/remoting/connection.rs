//! One accepted client connection: a handle that lets any task queue frames for the writer task.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::Mutex;
use rmq_codec::code::RequestCode;
use rmq_codec::command::{ExtFields, RemotingCommand, RPC_ONEWAY, RPC_TYPE_RESPONSE};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::responder::Responder;

/// Frames waiting for the writer task, per connection. A peer that stops reading fills this queue and is
/// disconnected instead of growing the broker's memory.
pub const OUTBOUND_QUEUE_LEN: usize = 4096;

/// Default bound on the bytes queued for one connection's writer (`maxOutboundBytesPerConnection`). Pull
/// responses are up to 256 KiB each, so the frame count alone would let a client that never reads pin about
/// 1 GiB; past this many bytes the connection is closed instead, as for a full queue.
pub const MAX_OUTBOUND_BYTES: usize = 64 << 20;

/// What a frame counts for besides its body: the header is small next to the bodies that matter here.
const FRAME_OVERHEAD_BYTES: usize = 256;

/// Broker-initiated requests awaiting an answer on one connection (GET_CONSUMER_RUNNING_INFO and
/// CONSUME_MESSAGE_DIRECTLY forwarded to a client). Admin calls are rare; this only bounds a flood.
pub const MAX_PENDING_CALLS: usize = 256;

/// Why a broker-initiated request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("connection to {0} closed")]
    Closed(SocketAddr),
    #[error("wait response on the channel <{0}> timeout, {1}(ms)")]
    Timeout(SocketAddr, u64),
    #[error("too many outstanding requests to {0}")]
    TooMany(SocketAddr),
    #[error("send request to <{0}> failed")]
    SendFailed(SocketAddr),
}

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

impl Outbound {
    pub fn command(&self) -> &RemotingCommand {
        match self {
            Outbound::Command(cmd) | Outbound::Records { cmd, .. } => cmd,
        }
    }

    /// The command of the frame (the header and, for `Command`, the body).
    pub fn command_mut(&mut self) -> &mut RemotingCommand {
        match self {
            Outbound::Command(cmd) | Outbound::Records { cmd, .. } => cmd,
        }
    }

    /// The bytes this frame is counted as while it waits for the writer.
    pub fn accounted_bytes(&self) -> usize {
        FRAME_OVERHEAD_BYTES
            + match self {
                Outbound::Command(cmd) => cmd.body.len(),
                Outbound::Records { records, .. } => records.iter().map(Bytes::len).sum(),
            }
    }
}

/// A cheap, clonable handle to a live connection.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnectionInner>,
}

pub(super) struct ConnectionInner {
    id: u64,
    peer: SocketAddr,
    tx: mpsc::Sender<Outbound>,
    /// Bytes in frames queued for the writer and not yet taken by it ([`Outbound::accounted_bytes`]).
    queued_bytes: Arc<AtomicUsize>,
    max_queued_bytes: usize,
    /// Cancelled once the connection is done: its reader ended (EOF, error, idle timeout, shutdown) or its
    /// peer stopped reading. Everything parked on the connection ([`Responder::closed`]) ends with it, and
    /// the writer sends what is already queued (for a bounded time) and closes the socket.
    closed: CancellationToken,
    /// Cancelled (with `closed`) when the peer stopped reading (queue or byte bound hit): the writer stops
    /// at once, even stuck in a write the peer never drains.
    overflow: CancellationToken,
    /// Requests parked on this connection (long polling), bounded per connection.
    pub(super) parked: Arc<AtomicUsize>,
    next_opaque: AtomicI32,
    last_read_ms: AtomicU64,
    /// Opaque of each outstanding broker-initiated request -> where its response goes. Entries leave
    /// when answered, timed out, or the waiting task is dropped (`PendingCall`).
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
}

/// Removes a pending call's entry however `call` ends.
struct PendingCall<'a> {
    conn: &'a Connection,
    opaque: i32,
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        self.conn.inner.pending.lock().remove(&self.opaque);
    }
}

impl Connection {
    /// A connection with the default [`MAX_OUTBOUND_BYTES`] (tests; the server asks its handler).
    #[cfg(test)]
    pub fn new(id: u64, peer: SocketAddr, tx: mpsc::Sender<Outbound>) -> Self {
        Self::with_outbound_limit(id, peer, tx, MAX_OUTBOUND_BYTES)
    }

    /// A connection from `127.0.0.1:40000 + id` whose frames land in the returned receiver (tests).
    #[cfg(test)]
    pub fn with_receiver(id: u64) -> (Self, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(64);
        let peer = SocketAddr::from(([127, 0, 0, 1], 40_000 + id as u16));
        (Self::new(id, peer, tx), rx)
    }

    /// A connection whose queued frames may hold at most `max_queued_bytes` (a single larger frame still
    /// goes out when nothing else is queued).
    pub fn with_outbound_limit(
        id: u64,
        peer: SocketAddr,
        tx: mpsc::Sender<Outbound>,
        max_queued_bytes: usize,
    ) -> Self {
        Connection {
            inner: Arc::new(ConnectionInner {
                id,
                peer,
                tx,
                queued_bytes: Arc::new(AtomicUsize::new(0)),
                max_queued_bytes,
                closed: CancellationToken::new(),
                overflow: CancellationToken::new(),
                parked: Arc::new(AtomicUsize::new(0)),
                next_opaque: AtomicI32::new(1),
                last_read_ms: AtomicU64::new(now_ms()),
                pending: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub(super) fn from_inner(inner: Arc<ConnectionInner>) -> Self {
        Connection { inner }
    }

    /// The way to answer `request` after the handler returned ([`super::Answer::Later`]).
    pub fn responder(&self, request: &RemotingCommand) -> Responder {
        Responder::new(&self.inner, self.inner.closed.clone(), self.peer(), request)
    }

    /// Marks the connection done: parked requests end, the writer drains and closes the socket.
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// A token cancelled when the connection is done (for the writer task, which must not hold it).
    pub fn closed_token(&self) -> CancellationToken {
        self.inner.closed.clone()
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn peer(&self) -> SocketAddr {
        self.inner.peer
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled() || self.inner.tx.is_closed()
    }

    /// Requests parked on this connection right now.
    #[cfg(test)]
    pub fn parked(&self) -> usize {
        self.inner.parked.load(Ordering::Acquire)
    }

    pub fn touch(&self) {
        self.inner.last_read_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Queues a frame without waiting. Returns false (and the frame is dropped) when the peer is gone or
    /// its queue is full, in frames or in bytes; a full queue means the peer is not reading, so the
    /// connection is closed ([`Connection::overflowed`]).
    pub fn send(&self, frame: Outbound) -> bool {
        let inner = &*self.inner;
        if inner.closed.is_cancelled() {
            return false;
        }
        let size = frame.accounted_bytes();
        let before = inner.queued_bytes.fetch_add(size, Ordering::AcqRel);
        if before > 0 && before + size > inner.max_queued_bytes {
            inner.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            tracing::warn!(
                peer = %self.peer(),
                queued_bytes = before,
                "outbound bytes over the limit, closing connection"
            );
            inner.overflow.cancel();
            inner.closed.cancel();
            return false;
        }
        match inner.tx.try_send(frame) {
            Ok(()) => true,
            Err(e) => {
                inner.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                if matches!(e, mpsc::error::TrySendError::Full(_)) {
                    tracing::warn!(peer = %self.peer(), "outbound queue full, closing connection");
                    inner.overflow.cancel();
                    inner.closed.cancel();
                }
                false
            }
        }
    }

    /// Bytes queued for the writer right now.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.inner.queued_bytes.load(Ordering::Acquire)
    }

    /// The counter the writer task decrements as it takes frames off the queue.
    pub fn queued_bytes_counter(&self) -> Arc<AtomicUsize> {
        self.inner.queued_bytes.clone()
    }

    /// Resolves once the connection is being closed because its peer stopped reading.
    #[cfg(test)]
    pub fn overflowed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.inner.overflow.cancelled()
    }

    /// A token cancelled on overflow, for tasks that must not hold the connection (the writer).
    pub fn overflow_token(&self) -> CancellationToken {
        self.inner.overflow.clone()
    }

    /// Sends a broker-initiated oneway request (e.g. NOTIFY_CONSUMER_IDS_CHANGED) with our own opaque.
    pub fn send_oneway(&self, code: RequestCode, ext_fields: ExtFields) -> bool {
        self.send_oneway_command(RemotingCommand::new_request(code, ext_fields))
    }

    /// [`Connection::send_oneway`] for a request that also has a body (RESET_CONSUMER_CLIENT_OFFSET).
    pub fn send_oneway_command(&self, mut cmd: RemotingCommand) -> bool {
        cmd.flag |= RPC_ONEWAY;
        cmd.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        self.send(Outbound::Command(cmd))
    }

    /// Sends a broker-initiated request and waits for the peer's response (Java `invokeSync`), at most
    /// `timeout`. The response arrives through [`Connection::complete`], called by the reader task.
    pub async fn call(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, CallError> {
        let peer = self.peer();
        cmd.flag &= !(RPC_ONEWAY | RPC_TYPE_RESPONSE);
        cmd.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.inner.pending.lock();
            if pending.len() >= MAX_PENDING_CALLS {
                return Err(CallError::TooMany(peer));
            }
            pending.insert(cmd.opaque, tx);
        }
        let _entry = PendingCall {
            conn: self,
            opaque: cmd.opaque,
        };
        if !self.send(Outbound::Command(cmd)) {
            return Err(CallError::SendFailed(peer));
        }
        tokio::select! {
            answer = rx => answer.map_err(|_| CallError::Closed(peer)),
            _ = self.inner.closed.cancelled() => Err(CallError::Closed(peer)),
            _ = tokio::time::sleep(timeout) => {
                Err(CallError::Timeout(peer, timeout.as_millis() as u64))
            }
        }
    }

    /// Hands a response frame to the `call` waiting for its opaque. False when nobody waits (late
    /// answers after a timeout, or a response we never asked for).
    pub fn complete(&self, response: RemotingCommand) -> bool {
        let waiter = self.inner.pending.lock().remove(&response.opaque);
        waiter.is_some_and(|tx| tx.send(response).is_ok())
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_codec::code::ResponseCode;

    fn connection() -> (Connection, mpsc::Receiver<Outbound>) {
        Connection::with_receiver(1)
    }

    fn sent_request(rx: &mut mpsc::Receiver<Outbound>) -> RemotingCommand {
        match rx.try_recv() {
            Ok(Outbound::Command(cmd)) => cmd,
            _ => panic!("no request was queued"),
        }
    }

    #[tokio::test]
    async fn a_call_gets_the_response_with_its_opaque() {
        let (conn, mut rx) = connection();
        let caller = conn.clone();
        let call = tokio::spawn(async move {
            let req =
                RemotingCommand::new_request(RequestCode::GetConsumerRunningInfo, ExtFields::new());
            caller.call(req, Duration::from_secs(5)).await
        });
        tokio::task::yield_now().await;
        while rx.is_empty() {
            tokio::task::yield_now().await;
        }
        let req = sent_request(&mut rx);
        assert!(!req.is_response() && !req.is_oneway());
        let mut other = RemotingCommand::new_response(ResponseCode::SystemError, None);
        other.opaque = req.opaque + 1;
        assert!(
            !conn.complete(other),
            "a response with another opaque is not ours"
        );
        let mut resp = RemotingCommand::new_response(ResponseCode::Success, Some("x".into()));
        resp.opaque = req.opaque;
        assert!(conn.complete(resp));
        let answer = call.await.unwrap().unwrap();
        assert_eq!(answer.remark.as_deref(), Some("x"));
        assert!(conn.inner.pending.lock().is_empty());
    }

    #[tokio::test]
    async fn an_unanswered_call_times_out_and_forgets_its_opaque() {
        let (conn, mut rx) = connection();
        let req =
            RemotingCommand::new_request(RequestCode::GetConsumerRunningInfo, ExtFields::new());
        let outcome = conn.call(req, Duration::from_millis(20)).await;
        assert!(matches!(outcome, Err(CallError::Timeout(..))));
        let late = sent_request(&mut rx);
        assert!(!conn.complete(late), "late answers are dropped");
        assert!(conn.inner.pending.lock().is_empty());
    }

    fn records(len: usize) -> Outbound {
        Outbound::Records {
            cmd: RemotingCommand::new_response(ResponseCode::Success, None),
            records: vec![Bytes::from(vec![0u8; len])],
        }
    }

    #[tokio::test]
    async fn queued_bytes_past_the_limit_close_the_connection() {
        let (tx, mut rx) = mpsc::channel(64);
        let peer = SocketAddr::from(([127, 0, 0, 1], 1234));
        let conn = Connection::with_outbound_limit(1, peer, tx, 1 << 20);
        // A frame bigger than the limit still goes out when nothing else is queued.
        assert!(conn.send(records(2 << 20)));
        assert!(!conn.send(records(10)), "nothing more fits behind it");
        conn.overflowed().await;
        let Ok(first) = rx.try_recv() else {
            panic!("the first frame was not queued");
        };
        assert_eq!(conn.queued_bytes(), first.accounted_bytes());
        assert!(rx.try_recv().is_err(), "the refused frame was dropped");
    }

    #[tokio::test]
    async fn the_byte_count_follows_what_the_writer_takes() {
        let (tx, mut rx) = mpsc::channel(64);
        let peer = SocketAddr::from(([127, 0, 0, 1], 1234));
        let conn = Connection::with_outbound_limit(1, peer, tx, 1 << 20);
        let counter = conn.queued_bytes_counter();
        for _ in 0..3 {
            assert!(conn.send(records(300 << 10)));
        }
        assert!(!conn.send(records(300 << 10)), "a fourth would pass 1 MiB");
        let Ok(taken) = rx.try_recv() else {
            panic!("nothing was queued");
        };
        counter.fetch_sub(taken.accounted_bytes(), Ordering::AcqRel);
        assert_eq!(
            conn.queued_bytes(),
            2 * ((300 << 10) + FRAME_OVERHEAD_BYTES)
        );
    }

    #[tokio::test]
    async fn a_full_frame_queue_also_closes_the_connection() {
        let (tx, _rx) = mpsc::channel(2);
        let peer = SocketAddr::from(([127, 0, 0, 1], 1234));
        let conn = Connection::new(1, peer, tx);
        assert!(conn.send(records(1)) && conn.send(records(1)));
        assert!(!conn.send(records(1)));
        conn.overflowed().await;
        assert_eq!(conn.queued_bytes(), 2 * (1 + FRAME_OVERHEAD_BYTES));
    }

    #[tokio::test]
    async fn a_closed_connection_ends_the_call() {
        let (conn, rx) = connection();
        drop(rx);
        let req =
            RemotingCommand::new_request(RequestCode::GetConsumerRunningInfo, ExtFields::new());
        let outcome = conn.call(req, Duration::from_secs(5)).await;
        assert!(matches!(outcome, Err(CallError::SendFailed(_))));
    }
}
