//! Outbound remoting client: one persistent connection per address, requests matched to responses by opaque.
//!
//! The broker registers with name servers through this. The connection must stay open between
//! registrations: a Java name server forgets a broker as soon as the channel it registered on closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use bytes::BytesMut;
use futures::StreamExt;
use parking_lot::Mutex;
use rmq_codec::command::{RemotingCommand, MAX_FRAME_LENGTH};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use super::tls::TlsClient;

type Pending = Arc<Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>>;

struct Link {
    tx: mpsc::Sender<RemotingCommand>,
    pending: Pending,
    /// Cleared by the reader task when the socket is gone.
    alive: Arc<AtomicBool>,
}

/// A client that keeps one connection per remote address and reconnects on demand.
#[derive(Default)]
pub struct RemotingClient {
    links: Mutex<HashMap<String, Arc<Link>>>,
    next_opaque: AtomicI32,
    /// Set when `tls.enable=true`: every connection runs a TLS handshake first.
    tls: Option<Arc<TlsClient>>,
}

impl RemotingClient {
    pub fn new() -> Self {
        Self::default()
    }

    /// A client whose connections use TLS when `tls` is set.
    pub fn with_tls(tls: Option<Arc<TlsClient>>) -> Self {
        RemotingClient {
            tls,
            ..Self::default()
        }
    }

    /// Sends `request` to `addr` and waits for the matching response.
    pub async fn invoke(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> anyhow::Result<RemotingCommand> {
        let link = self.link(addr).await?;
        let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        let (done_tx, done_rx) = oneshot::channel();
        link.pending.lock().insert(opaque, done_tx);
        if link.tx.send(request).await.is_err() {
            link.pending.lock().remove(&opaque);
            self.links.lock().remove(addr);
            return Err(anyhow!("connection to {addr} closed"));
        }
        match tokio::time::timeout(timeout, done_rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => {
                self.links.lock().remove(addr);
                Err(anyhow!("connection to {addr} closed before the response"))
            }
            Err(_) => {
                link.pending.lock().remove(&opaque);
                Err(anyhow!("request to {addr} timed out after {timeout:?}"))
            }
        }
    }

    async fn link(&self, addr: &str) -> anyhow::Result<Arc<Link>> {
        if let Some(link) = self.links.lock().get(addr) {
            if !link.tx.is_closed() && link.alive.load(Ordering::Relaxed) {
                return Ok(link.clone());
            }
        }
        let stream = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("connect to {addr} timed out"))?
            .with_context(|| format!("connect to {addr}"))?;
        let _ = stream.set_nodelay(true);
        let link = Arc::new(match &self.tls {
            None => {
                let (read_half, write_half) = stream.into_split();
                spawn_link(read_half, write_half)
            }
            Some(tls) => {
                let stream = tls
                    .connect(addr, stream)
                    .await
                    .with_context(|| format!("TLS handshake with {addr}"))?;
                let (read_half, write_half) = tokio::io::split(stream);
                spawn_link(read_half, write_half)
            }
        });
        self.links.lock().insert(addr.to_string(), link.clone());
        Ok(link)
    }
}

fn spawn_link<R, W>(read_half: R, mut write_half: W) -> Link
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<RemotingCommand>(256);
    let pending: Pending = Arc::default();
    tokio::spawn(async move {
        let mut buf = BytesMut::new();
        while let Some(cmd) = rx.recv().await {
            buf.clear();
            cmd.encode(&mut buf);
            // flush: a no-op on TCP; TLS may still hold encrypted bytes the socket did not take.
            if write_half.write_all(&buf).await.is_err() || write_half.flush().await.is_err() {
                break;
            }
        }
    });
    let reader_pending = pending.clone();
    let alive = Arc::new(AtomicBool::new(true));
    let reader_alive = alive.clone();
    tokio::spawn(async move {
        let codec = LengthDelimitedCodec::builder()
            .length_field_length(4)
            .max_frame_length(MAX_FRAME_LENGTH - 4)
            .new_codec();
        let mut frames = FramedRead::new(read_half, codec);
        while let Some(Ok(frame)) = frames.next().await {
            let Ok(cmd) = RemotingCommand::decode(frame.freeze()) else {
                break;
            };
            if !cmd.is_response() {
                continue; // requests from the peer (none expected from a name server)
            }
            if let Some(waiter) = reader_pending.lock().remove(&cmd.opaque) {
                let _ = waiter.send(cmd);
            }
        }
        reader_alive.store(false, Ordering::Relaxed);
        // Dropping the senders wakes every waiter with an error.
        reader_pending.lock().clear();
    });
    Link { tx, pending, alive }
}
