//! Accept loop and the per-connection reader/writer tasks.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rmq_codec::command::RemotingCommand;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{Connection, Outbound, MAX_OUTBOUND_BYTES, OUTBOUND_QUEUE_LEN};
use super::frame::{self, FrameError, FrameReader};
use super::responder::{finish_response, Answer};
use super::tls::{Accepted, TlsServer};

/// Java closes a channel after 120 s without traffic (`serverChannelMaxIdleTimeSeconds`); clients
/// heartbeat every 30 s, so live clients never hit this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound on concurrently open connections per listener.
const MAX_CONNECTIONS: usize = 10_000;
/// Bytes the writer gathers before issuing one write, so bursts of small responses share a syscall.
const WRITE_COALESCE_BYTES: usize = 64 * 1024;
/// How long a closing connection's writer may spend sending what was queued before the close (the
/// answers to a client's last requests before its EOF, or a shutdown's final answers).
const CLOSING_DRAIN: Duration = Duration::from_secs(1);

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// A role (broker or name server) that answers requests. `handle` runs on the connection's reader task
/// and must not block for long: work that waits takes a [`super::Responder`] and returns
/// [`Answer::Later`].
pub trait RequestHandler: Send + Sync + 'static {
    fn handle(&self, conn: &Connection, request: RemotingCommand) -> Answer;

    /// Called once when the connection is gone, so per-connection registrations can be dropped.
    fn on_disconnect(&self, _conn: &Connection) {}

    /// Called for response frames from peers (answers to broker-initiated requests). Ignored by default.
    fn on_response(&self, _conn: &Connection, _response: RemotingCommand) {}

    /// Bytes of responses one connection may have queued before it is closed (`maxOutboundBytesPerConnection`).
    fn max_outbound_bytes(&self) -> usize {
        MAX_OUTBOUND_BYTES
    }
}

/// How listeners are stopped: first they stop accepting, then their connections are closed (each
/// writer still sends what was queued, for at most [`CLOSING_DRAIN`]); `closed` tells when every
/// connection task has ended.
#[derive(Clone, Default)]
pub struct Shutdown {
    accepting: CancellationToken,
    connections: CancellationToken,
    tasks: TaskTracker,
}

impl Shutdown {
    pub fn stop_accepting(&self) {
        self.accepting.cancel();
    }

    pub fn close_connections(&self) {
        self.accepting.cancel();
        self.connections.cancel();
    }

    /// Waits until every connection task of the listeners served with this handle has ended.
    pub async fn closed(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Connection tasks still running.
    pub fn open_connections(&self) -> usize {
        self.tasks.len()
    }
}

/// Serves `listener` until `shutdown` stops it; `tls` is `None` when `tls.server.mode` is disabled.
pub async fn serve<H: RequestHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    tls: Option<Arc<TlsServer>>,
    shutdown: Shutdown,
) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut refused_since_log = 0u64;
    let mut last_refusal_log = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.accepting.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // At the cap a newcomer is closed at once rather than left waiting in the backlog for an idle
        // connection to time out: its client fails fast and tries another broker or retries.
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            drop(stream);
            refused_since_log += 1;
            if last_refusal_log.elapsed() >= Duration::from_secs(10) {
                tracing::warn!(%peer, refused = refused_since_log, max = MAX_CONNECTIONS, "connection limit reached, closing new connections");
                refused_since_log = 0;
                last_refusal_log = std::time::Instant::now();
            }
            continue;
        };
        let handler = handler.clone();
        let tls = tls.clone();
        let stop = shutdown.connections.clone();
        shutdown.tasks.spawn(async move {
            open_connection(stream, peer, handler, tls, stop).await;
            drop(permit);
        });
    }
}

/// Plain TCP keeps its lock-free owned halves; a TLS stream is split with `tokio::io::split`.
async fn open_connection<H: RequestHandler>(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    handler: Arc<H>,
    tls: Option<Arc<TlsServer>>,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let stream = match tls {
        None => Accepted::Plain(stream),
        Some(tls) => match tls.accept(stream, peer).await {
            Some(accepted) => accepted,
            None => return,
        },
    };
    match stream {
        Accepted::Plain(stream) => {
            let (read_half, write_half) = stream.into_split();
            run_connection(read_half, write_half, peer, handler, stop).await
        }
        Accepted::Tls(stream) => {
            let (read_half, write_half) = tokio::io::split(*stream);
            run_connection(read_half, write_half, peer, handler, stop).await
        }
    }
}

async fn run_connection<H, R, W>(
    read_half: R,
    write_half: W,
    peer: std::net::SocketAddr,
    handler: Arc<H>,
    stop: CancellationToken,
) where
    H: RequestHandler,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE_LEN);
    let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let conn = Connection::with_outbound_limit(id, peer, tx, handler.max_outbound_bytes());
    tracing::debug!(%peer, id, "connection opened");
    let queued_bytes = conn.queued_bytes_counter();
    let (closed, overflow) = (conn.closed_token(), conn.overflow_token());
    // The writer ends when the connection is closed, whoever still holds a `Connection` handle (client
    // tables, broker-initiated calls); on overflow it is dropped mid-write, since a peer that never reads
    // would otherwise keep it (and every queued frame) alive forever.
    let writer = tokio::spawn(async move {
        tokio::select! {
            _ = write_loop(write_half, rx, queued_bytes, closed) => {}
            _ = overflow.cancelled() => {}
        }
    });
    read_loop(read_half, &conn, &*handler, stop).await;
    conn.close();
    handler.on_disconnect(&conn);
    drop(conn);
    let _ = writer.await;
    tracing::debug!(%peer, id, "connection closed");
}

/// Reads and handles requests until EOF, a bad frame, the idle timeout, the connection's close
/// (overflow) or the listeners' shutdown.
async fn read_loop<H, R>(read_half: R, conn: &Connection, handler: &H, stop: CancellationToken)
where
    H: RequestHandler,
    R: AsyncRead + Unpin + Send + 'static,
{
    let peer = conn.peer();
    let mut frames = FrameReader::new(read_half, frame::process_budget());
    // Created once: a fresh waiter per frame would lock the token's waiter list on every request.
    let closed_token = conn.closed_token();
    let closed = closed_token.cancelled();
    let stopped = stop.cancelled();
    tokio::pin!(closed, stopped);
    loop {
        // Cancelling `next_frame` (idle timeout, close) loses the stream position: all of them close.
        let next = tokio::select! {
            next = tokio::time::timeout(IDLE_TIMEOUT, frames.next_frame()) => next,
            _ = &mut closed => return,
            _ = &mut stopped => return,
        };
        let frame = match next {
            Ok(Ok(Some(frame))) => frame,
            // TLS peers (Java's Netty among them) often close without close_notify: a plain close.
            Ok(Err(FrameError::Io(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => return,
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "bad frame, closing connection");
                return;
            }
            Ok(Ok(None)) => return,
            Err(_) => {
                tracing::info!(%peer, "idle for 120 s, closing connection");
                return;
            }
        };
        conn.touch();
        let command = match RemotingCommand::decode(frame) {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(%peer, error = %e, "undecodable frame, closing connection");
                return;
            }
        };
        if command.is_response() {
            handler.on_response(conn, command);
            continue;
        }
        let (oneway, opaque, serialize_type) =
            (command.is_oneway(), command.opaque, command.serialize_type);
        if let Answer::Now(mut out) = handler.handle(conn, command) {
            if oneway {
                continue;
            }
            finish_response(out.command_mut(), opaque, serialize_type);
            if !conn.send(out) {
                return;
            }
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut socket: W,
    mut rx: mpsc::Receiver<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    closed: CancellationToken,
) {
    let mut buf = BytesMut::with_capacity(WRITE_COALESCE_BYTES);
    {
        let closing = closed.cancelled();
        tokio::pin!(closing);
        loop {
            let first = tokio::select! {
                biased;
                frame = rx.recv() => match frame {
                    Some(frame) => frame,
                    None => break,
                },
                _ = &mut closing => break,
            };
            if write_batch(&mut socket, &mut buf, &mut rx, &queued_bytes, first)
                .await
                .is_err()
            {
                return;
            }
        }
    }
    // Closed: what was queued before the close still goes out (a client's last answers before its EOF,
    // a shutdown's final answers), but a peer that does not take it cannot hold the connection open.
    rx.close();
    let drain = async {
        while let Some(first) = rx.recv().await {
            write_batch(&mut socket, &mut buf, &mut rx, &queued_bytes, first).await?;
        }
        socket.shutdown().await
    };
    let _ = tokio::time::timeout(CLOSING_DRAIN, drain).await;
}

/// Writes `first` and whatever else is queued, gathered into writes of up to [`WRITE_COALESCE_BYTES`].
async fn write_batch<W: AsyncWrite + Unpin>(
    socket: &mut W,
    buf: &mut BytesMut,
    rx: &mut mpsc::Receiver<Outbound>,
    queued_bytes: &AtomicUsize,
    first: Outbound,
) -> std::io::Result<()> {
    let mut next = Some(first);
    while let Some(frame) = next.take() {
        // Off the queue: what it still holds is this one frame and the coalescing buffer.
        queued_bytes.fetch_sub(frame.accounted_bytes(), Ordering::AcqRel);
        if let Err(e) = write_frame(socket, buf, frame).await {
            tracing::debug!(error = %e, "write failed");
            return Err(e);
        }
        if buf.len() < WRITE_COALESCE_BYTES {
            next = rx.try_recv().ok();
        }
    }
    if !buf.is_empty() {
        socket.write_all(buf).await?;
    }
    buf.clear();
    // A no-op on TCP; TLS may still hold encrypted bytes the socket did not take yet.
    socket.flush().await
}

async fn write_frame<W: AsyncWrite + Unpin>(
    socket: &mut W,
    buf: &mut BytesMut,
    frame: Outbound,
) -> std::io::Result<()> {
    match frame {
        Outbound::Command(cmd) => cmd.encode(buf),
        Outbound::Records { cmd, records } => {
            let body_len = records.iter().map(|r| r.len()).sum();
            cmd.encode_header(body_len, buf);
            for record in records {
                if buf.len() + record.len() > WRITE_COALESCE_BYTES {
                    socket.write_all(buf).await?;
                    buf.clear();
                    socket.write_all(&record).await?;
                } else {
                    buf.extend_from_slice(&record);
                }
            }
        }
    }
    if buf.len() >= WRITE_COALESCE_BYTES {
        socket.write_all(buf).await?;
        buf.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    use bytes::Bytes;
    use rmq_codec::code::{RequestCode, ResponseCode};
    use rmq_codec::command::ExtFields;
    use tokio::io::AsyncWriteExt;

    use super::*;

    const LIMIT_BYTES: usize = 4 << 20;
    const RESPONSE_BYTES: usize = 256 << 10;

    /// Answers every request with a 256 KiB pull-like response (one shared buffer, like mapped records).
    struct BigAnswers {
        body: Bytes,
        peak_queued: AtomicUsize,
        disconnected: AtomicBool,
    }

    impl RequestHandler for BigAnswers {
        fn handle(&self, conn: &Connection, _request: RemotingCommand) -> Answer {
            self.peak_queued
                .fetch_max(conn.queued_bytes(), Ordering::Relaxed);
            Answer::Now(Outbound::Records {
                cmd: RemotingCommand::new_response(ResponseCode::Success, None),
                records: vec![self.body.clone()],
            })
        }

        fn on_disconnect(&self, _conn: &Connection) {
            self.disconnected.store(true, Ordering::Release);
        }

        fn max_outbound_bytes(&self) -> usize {
            LIMIT_BYTES
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_never_reads_is_cut_off_at_the_byte_limit() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = Arc::new(BigAnswers {
            body: Bytes::from(vec![7u8; RESPONSE_BYTES]),
            peak_queued: AtomicUsize::new(0),
            disconnected: AtomicBool::new(false),
        });
        tokio::spawn(serve(listener, handler.clone(), None, Shutdown::default()));
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut frame = BytesMut::new();
        RemotingCommand::new_request(RequestCode::PullMessage, ExtFields::new()).encode(&mut frame);
        // 400 requests ask for 100 MiB of answers: far past the limit plus what the kernel buffers hold.
        let deadline = Instant::now() + Duration::from_secs(20);
        for _ in 0..400 {
            if client.write_all(&frame).await.is_err()
                || handler.disconnected.load(Ordering::Acquire)
            {
                break;
            }
        }
        while !handler.disconnected.load(Ordering::Acquire) {
            assert!(
                Instant::now() < deadline,
                "the broker kept the silent client"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let peak = handler.peak_queued.load(Ordering::Relaxed);
        assert!(peak > 0, "responses did queue up");
        assert!(
            peak <= LIMIT_BYTES,
            "queued {peak} bytes, limit {LIMIT_BYTES}"
        );
    }
}
