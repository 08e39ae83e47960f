//! TLS and plaintext on the one gRPC port (Java proxy's `ProxyAndTlsProtocolNegotiator`): the first byte of
//! a connection decides (0x16 starts a TLS handshake, with ALPN `h2`), so clients that always dial TLS (the
//! Go v5 client; the Java client by default) and plaintext ones share the port. The certificate is the
//! broker's `tls.server.certPath` / `tls.server.keyPath`; without them the port uses a self-signed
//! certificate made at start-up, as Java's proxy does in its default test mode (`tls.test.mode.enable`,
//! Netty's SelfSignedCertificate); the 5.x clients do not verify the server's certificate unless told to.
//! `tls.server.mode=disabled` makes the port plaintext only.

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

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::remoting::tls::{read_certs, read_key, TlsMode, TlsSettings};

/// The first byte of a TLS ClientHello record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// A client that sends nothing (or no handshake) for this long is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections waiting for the server to take them.
const ACCEPTED_QUEUE_LEN: usize = 64;

/// The acceptor for the gRPC port, or None when TLS is disabled.
pub fn acceptor(tls: &TlsSettings) -> anyhow::Result<Option<TlsAcceptor>> {
    if tls.mode == Some(TlsMode::Disabled) {
        return Ok(None);
    }
    let (certs, key) = match (&tls.server_cert_path, &tls.server_key_path) {
        (Some(cert_path), Some(key_path)) => (
            read_certs(cert_path)?,
            read_key(key_path, tls.server_key_password.is_some())?,
        ),
        _ => self_signed()?,
    };
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

/// A certificate for `localhost` and 127.0.0.1 with a fresh key, valid for this process only.
fn self_signed() -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).context("self-signed certificate")?;
    let key = PrivatePkcs8KeyDer::from(made.key_pair.serialize_der());
    Ok((vec![made.cert.der().clone()], PrivateKeyDer::Pkcs8(key)))
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn accept_one(tls: &TlsSettings, dial_tls: bool) -> GrpcIo {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = CancellationToken::new();
        let mut accepted = incoming(listener, acceptor(tls).unwrap(), stop.clone());
        let stream = TcpStream::connect(&addr).await.unwrap();
        let client = if dial_tls {
            let client = TlsSettings {
                enable: true,
                test_mode: true,
                ..TlsSettings::default()
            };
            let connector = client.client().unwrap().unwrap();
            // The client's handshake and the server's run together; the server's result is what we check.
            let handshake =
                tokio::spawn(async move { connector.connect(&addr, stream).await.map(drop) });
            Some(handshake)
        } else {
            use tokio::io::AsyncWriteExt;
            let mut stream = stream;
            // An HTTP/2 client preface starts with "PRI", not a TLS record.
            stream.write_all(b"PRI * HTTP/2.0\r\n\r\n").await.unwrap();
            tokio::spawn(async move { drop(stream) });
            None
        };
        let io = accepted.recv().await.unwrap().unwrap();
        if let Some(handshake) = client {
            handshake.await.unwrap().unwrap();
        }
        stop.cancel();
        io
    }

    #[tokio::test]
    async fn without_a_configured_certificate_the_port_takes_tls_and_plaintext() {
        let tls = TlsSettings::default();
        assert!(matches!(accept_one(&tls, true).await, GrpcIo::Tls(_)));
        assert!(matches!(accept_one(&tls, false).await, GrpcIo::Plain(_)));
    }

    #[tokio::test]
    async fn disabled_tls_leaves_the_port_plaintext_only() {
        let tls = TlsSettings {
            mode: Some(TlsMode::Disabled),
            ..TlsSettings::default()
        };
        assert!(acceptor(&tls).unwrap().is_none());
        assert!(matches!(accept_one(&tls, false).await, GrpcIo::Plain(_)));
    }
}
