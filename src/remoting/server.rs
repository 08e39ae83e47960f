//! Accept loop and the per-connection reader/writer tasks.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rmq_codec::code::{LanguageCode, RMQD_VERSION};
use rmq_codec::command::{RemotingCommand, RPC_TYPE_RESPONSE};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

use super::connection::{Connection, Outbound, MAX_OUTBOUND_BYTES, OUTBOUND_QUEUE_LEN};
use super::frame::{self, FrameError, FrameReader};
use super::tls::{Accepted, TlsServer};

/// Java closes a channel after 120 s without traffic (`serverChannelMaxIdleTimeSeconds`); clients
/// heartbeat every 30 s, so live clients never hit this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound on concurrently open connections per listener.
const MAX_CONNECTIONS: usize = 10_000;
/// Bytes the writer gathers before issuing one write, so bursts of small responses share a syscall.
const WRITE_COALESCE_BYTES: usize = 64 * 1024;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// A role (broker or name server) that answers requests. `handle` runs on the connection's reader task
/// and must not block for long; work that waits (long polling) is spawned and answered later through
/// `Connection::send`, in which case `handle` returns `None`.
pub trait RequestHandler: Send + Sync + 'static {
    fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<Outbound>;

    /// Called once when the connection is gone, so per-connection registrations can be dropped.
    fn on_disconnect(&self, _conn: &Connection) {}

    /// Called for response frames from peers (answers to broker-initiated requests). Ignored by default.
    fn on_response(&self, _conn: &Connection, _response: RemotingCommand) {}

    /// Bytes of responses one connection may have queued before it is closed (`maxOutboundBytesPerConnection`).
    fn max_outbound_bytes(&self) -> usize {
        MAX_OUTBOUND_BYTES
    }
}

/// Serves `listener` until the process exits; `tls` is `None` when `tls.server.mode` is disabled.
pub async fn serve<H: RequestHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    tls: Option<Arc<TlsServer>>,
) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut refused_since_log = 0u64;
    let mut last_refusal_log = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        let (stream, peer) = match listener.accept().await {
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
        tokio::spawn(async move {
            open_connection(stream, peer, handler, tls).await;
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
            run_connection(read_half, write_half, peer, handler).await
        }
        Accepted::Tls(stream) => {
            let (read_half, write_half) = tokio::io::split(*stream);
            run_connection(read_half, write_half, peer, handler).await
        }
    }
}

async fn run_connection<H, R, W>(
    read_half: R,
    write_half: W,
    peer: std::net::SocketAddr,
    handler: Arc<H>,
) where
    H: RequestHandler,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE_LEN);
    let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let conn = Connection::with_outbound_limit(id, peer, tx, handler.max_outbound_bytes());
    tracing::debug!(%peer, id, "connection opened");
    let (queued_bytes, overflow) = (conn.queued_bytes_counter(), conn.overflow_token());
    // On overflow the writer is dropped mid-write: a peer that never reads would otherwise keep it (and
    // every queued frame) alive forever.
    let writer = tokio::spawn(async move {
        tokio::select! {
            _ = write_loop(write_half, rx, queued_bytes) => {}
            _ = overflow.cancelled() => {}
        }
    });

    let mut frames = FrameReader::new(read_half, frame::process_budget());
    // Created once: a fresh waiter per frame would lock the token's waiter list on every request.
    let overflow_token = conn.overflow_token();
    let overflowed = overflow_token.cancelled();
    tokio::pin!(overflowed);
    loop {
        // Cancelling `next_frame` (idle timeout, overflow) loses the stream position: both close.
        let next = tokio::select! {
            next = tokio::time::timeout(IDLE_TIMEOUT, frames.next_frame()) => next,
            _ = &mut overflowed => break,
        };
        let frame = match next {
            Ok(Ok(Some(frame))) => frame,
            // TLS peers (Java's Netty among them) often close without close_notify: a plain close.
            Ok(Err(FrameError::Io(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "bad frame, closing connection");
                break;
            }
            Ok(Ok(None)) => break,
            Err(_) => {
                tracing::info!(%peer, "idle for 120 s, closing connection");
                break;
            }
        };
        conn.touch();
        let command = match RemotingCommand::decode(frame) {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(%peer, error = %e, "undecodable frame, closing connection");
                break;
            }
        };
        if command.is_response() {
            handler.on_response(&conn, command);
            continue;
        }
        let oneway = command.is_oneway();
        let opaque = command.opaque;
        let serialize_type = command.serialize_type;
        if let Some(mut out) = handler.handle(&conn, command) {
            if oneway {
                continue;
            }
            let cmd = match &mut out {
                Outbound::Command(c) => c,
                Outbound::Records { cmd, .. } => cmd,
            };
            finish_response(cmd, opaque, serialize_type);
            if !conn.send(out) {
                break;
            }
        }
    }
    drop(frames);
    handler.on_disconnect(&conn);
    drop(conn);
    let _ = writer.await;
    tracing::debug!(%peer, id, "connection closed");
}

/// Stamps what every response carries: the request's opaque, the response flag, our version.
pub fn finish_response(
    cmd: &mut RemotingCommand,
    opaque: i32,
    serialize_type: rmq_codec::command::SerializeType,
) {
    cmd.opaque = opaque;
    cmd.flag |= RPC_TYPE_RESPONSE;
    cmd.version = RMQD_VERSION;
    cmd.language = LanguageCode::Java;
    cmd.serialize_type = serialize_type;
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut socket: W,
    mut rx: mpsc::Receiver<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
) {
    let mut buf = BytesMut::with_capacity(WRITE_COALESCE_BYTES);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            // Off the queue: what it still holds is this one frame and the coalescing buffer.
            queued_bytes.fetch_sub(frame.accounted_bytes(), Ordering::AcqRel);
            if let Err(e) = write_frame(&mut socket, &mut buf, frame).await {
                tracing::debug!(error = %e, "write failed");
                return;
            }
            if buf.len() < WRITE_COALESCE_BYTES {
                next = rx.try_recv().ok();
            }
        }
        if !buf.is_empty() && socket.write_all(&buf).await.is_err() {
            return;
        }
        buf.clear();
        // A no-op on TCP; TLS may still hold encrypted bytes the socket did not take yet.
        if socket.flush().await.is_err() {
            return;
        }
    }
    let _ = socket.shutdown().await;
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
        fn handle(&self, conn: &Connection, _request: RemotingCommand) -> Option<Outbound> {
            self.peak_queued
                .fetch_max(conn.queued_bytes(), Ordering::Relaxed);
            Some(Outbound::Records {
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
        tokio::spawn(serve(listener, handler.clone(), None));
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
