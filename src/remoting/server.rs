//! Accept loop and the per-connection reader/writer tasks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use rmq_codec::code::{LanguageCode, RMQD_VERSION};
use rmq_codec::command::{RemotingCommand, MAX_FRAME_LENGTH, RPC_TYPE_RESPONSE};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use super::connection::{Connection, Outbound, OUTBOUND_QUEUE_LEN};

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
}

/// Serves `listener` until the process exits.
pub async fn serve<H: RequestHandler>(listener: TcpListener, handler: Arc<H>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = match limit.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => return,
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            run_connection(stream, peer, handler).await;
            drop(permit);
        });
    }
}

async fn run_connection<H: RequestHandler>(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    handler: Arc<H>,
) {
    let _ = stream.set_nodelay(true);
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE_LEN);
    let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let conn = Connection::new(id, peer, tx);
    tracing::debug!(%peer, id, "connection opened");
    let writer = tokio::spawn(write_loop(write_half, rx));

    let codec = LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(MAX_FRAME_LENGTH - 4)
        .new_codec();
    let mut frames = FramedRead::new(read_half, codec);
    loop {
        let frame = match tokio::time::timeout(IDLE_TIMEOUT, frames.next()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => {
                tracing::info!(%peer, error = %e, "bad frame, closing connection");
                break;
            }
            Ok(None) => break,
            Err(_) => {
                tracing::info!(%peer, "idle for 120 s, closing connection");
                break;
            }
        };
        conn.touch();
        let command = match RemotingCommand::decode(frame.freeze()) {
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

async fn write_loop(mut socket: OwnedWriteHalf, mut rx: mpsc::Receiver<Outbound>) {
    let mut buf = BytesMut::with_capacity(WRITE_COALESCE_BYTES);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(frame) = next.take() {
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
    }
    let _ = socket.shutdown().await;
}

async fn write_frame(
    socket: &mut OwnedWriteHalf,
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
