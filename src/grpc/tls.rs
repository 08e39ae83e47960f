//! TLS and plaintext on the one gRPC port (Java proxy's `ProxyAndTlsProtocolNegotiator`): the first byte of
//! a connection decides (0x16 starts a TLS handshake, with ALPN `h2`), so clients that always dial TLS (the
//! Go v5 client) and plaintext ones (the Java client with `enableSsl(false)`) share the port. The
//! certificate is the broker's `tls.server.certPath` / `tls.server.keyPath`; without them (or with
//! `tls.server.mode=disabled`) the port is plaintext only. Java's proxy falls back to a self-signed test
//! certificate there; rmqd has none built in.

use std::io::BufReader;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{server::TlsStream, TlsAcceptor};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::remoting::tls::{TlsMode, TlsSettings};

/// The first byte of a TLS ClientHello record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// A client that sends nothing (or no handshake) for this long is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections waiting for the server to take them.
const ACCEPTED_QUEUE_LEN: usize = 64;

/// The acceptor for the gRPC port, or None when the broker has no server certificate or TLS is disabled.
pub fn acceptor(tls: &TlsSettings) -> anyhow::Result<Option<TlsAcceptor>> {
    if tls.effective_mode() == TlsMode::Disabled {
        return Ok(None);
    }
    let (Some(cert_path), Some(key_path)) = (&tls.server_cert_path, &tls.server_key_path) else {
        return Ok(None);
    };
    let file = std::fs::File::open(cert_path)
        .with_context(|| format!("cannot open certificate {}", cert_path.display()))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read certificate {}", cert_path.display()))?;
    let key_text = std::fs::read(key_path)
        .with_context(|| format!("cannot read private key {}", key_path.display()))?;
    let key = rustls_pemfile::private_key(&mut key_text.as_slice())?
        .with_context(|| format!("no private key in {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate does not match its key")?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// One accepted connection, plain or TLS.
pub enum GrpcIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Accepts on `listener` until `stop`, sniffing each connection; the connections come out of the receiver
/// (tonic's `serve_with_incoming`). Handshakes run on their own tasks, so a slow client holds no one up.
pub fn incoming(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    stop: CancellationToken,
) -> mpsc::Receiver<std::io::Result<GrpcIo>> {
    let (tx, rx) = mpsc::channel(ACCEPTED_QUEUE_LEN);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "gRPC accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.cancelled() => return,
            };
            let _ = stream.set_nodelay(true);
            let (tx, acceptor) = (tx.clone(), acceptor.clone());
            tokio::spawn(async move {
                if let Some(io) = sniff(stream, peer, acceptor).await {
                    let _ = tx.send(Ok(io)).await;
                }
            });
        }
    });
    rx
}

async fn sniff(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
) -> Option<GrpcIo> {
    let Some(acceptor) = acceptor else {
        return Some(GrpcIo::Plain(stream));
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return None,
    }
    if first[0] != TLS_HANDSHAKE_RECORD {
        return Some(GrpcIo::Plain(stream));
    }
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(GrpcIo::Tls(Box::new(tls))),
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "gRPC TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}

impl Connected for GrpcIo {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            GrpcIo::Plain(s) => s.connect_info(),
            GrpcIo::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for GrpcIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for GrpcIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_flush(cx),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
