//! TLS for the remoting listeners and the outbound client, configured with Java's `tls.*` names.
//!
//! Java's `NettyRemotingServer` serves TLS and plain TCP on the same port: it peeks at the first byte a
//! client sends, and 0x16 (a TLS handshake record) means TLS. `tls.server.mode` decides what is allowed:
//! `disabled` (TLS handshakes are closed), `permissive` (both), `enforcing` (plain connections are closed).
//! The outbound client (broker → name server) uses TLS when `tls.enable=true`, as Java's BrokerOuterAPI does.
//!
//! Where rmqd differs from Java, and why:
//! - Java defaults to `permissive` with a generated self-signed certificate (`tls.test.mode.enable=true`).
//!   rmqd has no certificate generator, so without `tls.server.mode` it is `permissive` when
//!   `tls.server.certPath` and `tls.server.keyPath` are set and `disabled` otherwise; plain clients work
//!   either way. An explicit `permissive`/`enforcing` without certificates is a startup error, and so is an
//!   unknown mode (Java silently falls back to permissive).
//! - The server always uses the configured files, whatever `tls.test.mode.enable` says.
//! - Encrypted private keys (`tls.server.keyPassword`) are not supported: decrypt the key first
//!   (`openssl pkcs8 -in enc.pem -out key.pem`). PKCS#8, PKCS#1 and SEC1 PEM keys are read.
//! - Client certificates (`tls.server.need.client.auth=optional|require`) are checked against
//!   `tls.server.trustCertPath`, which is then required; Java without `tls.server.authClient` accepts any.

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

/// The first byte of a TLS handshake record (`ContentType.handshake`).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// Java reads this file when it exists (`tls.config.file`).
const DEFAULT_CONFIG_FILE: &str = "/etc/rocketmq/tls.properties";
/// Bounds the wait for a client's first byte and its handshake, so silent peers do not hold a slot.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// `tls.server.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disabled,
    Permissive,
    Enforcing,
}

/// `tls.server.need.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Optional,
    Require,
}

/// The `tls.*` settings, from broker.conf / namesrv.conf and the `tls.config.file` properties file.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// `tls.server.mode`; `None` = not configured (see the module comment for the default).
    pub mode: Option<TlsMode>,
    /// `tls.enable`: outbound connections (registration with name servers) use TLS.
    pub enable: bool,
    /// `tls.test.mode.enable`: the outbound client accepts any server certificate (Java default true).
    pub test_mode: bool,
    pub server_cert_path: Option<PathBuf>,
    pub server_key_path: Option<PathBuf>,
    pub server_key_password: Option<String>,
    pub server_need_client_auth: ClientAuth,
    pub server_trust_cert_path: Option<PathBuf>,
    pub client_cert_path: Option<PathBuf>,
    pub client_key_path: Option<PathBuf>,
    /// `tls.client.authServer`: verify the server against `tls.client.trustCertPath` (unless test mode).
    pub client_auth_server: bool,
    pub client_trust_cert_path: Option<PathBuf>,
    /// `tls.config.file`; read when it exists, like Java.
    pub config_file: PathBuf,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            mode: None,
            enable: false,
            test_mode: true,
            server_cert_path: None,
            server_key_path: None,
            server_key_password: None,
            server_need_client_auth: ClientAuth::None,
            server_trust_cert_path: None,
            client_cert_path: None,
            client_key_path: None,
            client_auth_server: false,
            client_trust_cert_path: None,
            config_file: PathBuf::from(DEFAULT_CONFIG_FILE),
        }
    }
}

fn path(value: &str) -> Option<PathBuf> {
    let value = value.trim();
    (!value.is_empty()).then(|| PathBuf::from(value))
}

fn is_true(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

impl TlsSettings {
    /// Applies one `tls.*` property. Returns false for a key that is not a TLS setting.
    pub fn apply(&mut self, key: &str, value: &str) -> anyhow::Result<bool> {
        match key {
            "tls.server.mode" => {
                self.mode = Some(match value.trim() {
                    "disabled" => TlsMode::Disabled,
                    "permissive" => TlsMode::Permissive,
                    "enforcing" => TlsMode::Enforcing,
                    other => bail!(
                        "tls.server.mode must be disabled, permissive or enforcing, got {other:?}"
                    ),
                })
            }
            "tls.enable" => self.enable = is_true(value),
            "tls.config.file" => self.config_file = PathBuf::from(value.trim()),
            _ => return self.apply_file_key(key, value),
        }
        Ok(true)
    }

    /// The keys Java also reads from `tls.config.file` (all but the mode, `tls.enable` and the file).
    fn apply_file_key(&mut self, key: &str, value: &str) -> anyhow::Result<bool> {
        match key {
            "tls.test.mode.enable" => self.test_mode = is_true(value),
            "tls.server.certPath" => self.server_cert_path = path(value),
            "tls.server.keyPath" => self.server_key_path = path(value),
            "tls.server.keyPassword" => {
                self.server_key_password = Some(value.to_string()).filter(|v| !v.is_empty())
            }
            "tls.server.need.client.auth" => {
                self.server_need_client_auth = match value.trim().to_ascii_lowercase().as_str() {
                    "" | "none" => ClientAuth::None,
                    "optional" => ClientAuth::Optional,
                    "require" => ClientAuth::Require,
                    other => bail!(
                    "tls.server.need.client.auth must be none, optional or require, got {other:?}"
                ),
                }
            }
            "tls.server.trustCertPath" => self.server_trust_cert_path = path(value),
            // Java's authClient only switches its trust manager; rmqd always verifies against the trust file.
            "tls.server.authClient" => {}
            "tls.client.certPath" => self.client_cert_path = path(value),
            "tls.client.keyPath" => self.client_key_path = path(value),
            "tls.client.authServer" => self.client_auth_server = is_true(value),
            "tls.client.trustCertPath" => self.client_trust_cert_path = path(value),
            "tls.client.keyPassword" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Reads `tls.config.file` when it exists; its values win over the role's config file, as Java's file
    /// wins over system properties.
    pub fn merge_config_file(&mut self) -> anyhow::Result<()> {
        if !self.config_file.is_file() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.config_file).with_context(|| {
            format!("cannot read tls.config.file {}", self.config_file.display())
        })?;
        for (key, value) in crate::config::parse_properties(&text) {
            if !self.apply_file_key(&key, &value)? {
                tracing::info!(key, "ignoring key in tls.config.file");
            }
        }
        Ok(())
    }

    /// The mode in effect: the configured one, else permissive when a certificate is configured.
    pub fn effective_mode(&self) -> TlsMode {
        self.mode.unwrap_or(
            if self.server_cert_path.is_some() && self.server_key_path.is_some() {
                TlsMode::Permissive
            } else {
                TlsMode::Disabled
            },
        )
    }

    /// The listener side: `None` for disabled (plain TCP only).
    pub fn server(&self) -> anyhow::Result<Option<Arc<TlsServer>>> {
        let mode = self.effective_mode();
        if mode == TlsMode::Disabled {
            return Ok(None);
        }
        let (Some(cert_path), Some(key_path)) = (&self.server_cert_path, &self.server_key_path)
        else {
            bail!("tls.server.mode {mode:?} needs tls.server.certPath and tls.server.keyPath (rmqd has no built-in test certificate)");
        };
        let certs = read_certs(cert_path)?;
        let key = read_key(key_path, self.server_key_password.is_some())?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        let builder = match self.server_need_client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let trust = self.server_trust_cert_path.as_deref().with_context(|| {
                    "tls.server.need.client.auth needs tls.server.trustCertPath".to_string()
                })?;
                let roots = Arc::new(root_store(trust)?);
                let verifier =
                    rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider());
                let verifier = if auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().context("client verifier")?)
            }
        };
        let config = builder.with_single_cert(certs, key).with_context(|| {
            format!("certificate {} does not match its key", cert_path.display())
        })?;
        Ok(Some(Arc::new(TlsServer {
            mode,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })))
    }

    /// The outbound side: `None` unless `tls.enable=true`.
    pub fn client(&self) -> anyhow::Result<Option<Arc<TlsClient>>> {
        if !self.enable {
            return Ok(None);
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        // Java verifies the server only outside test mode and with authServer; otherwise it trusts any.
        let builder = match (&self.client_trust_cert_path, self.verifies_server()) {
            (Some(trust), true) => builder.with_root_certificates(root_store(trust)?),
            (None, true) => bail!("tls.client.authServer needs tls.client.trustCertPath"),
            (_, false) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider()))),
        };
        let config = match (&self.client_cert_path, &self.client_key_path) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(read_certs(cert)?, read_key(key, false)?)
                .context("client certificate")?,
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(Arc::new(TlsClient {
            connector: TlsConnector::from(Arc::new(config)),
        })))
    }

    fn verifies_server(&self) -> bool {
        !self.test_mode && self.client_auth_server
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open certificate {}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read certificate {}", path.display()))?;
    if certs.is_empty() {
        bail!("no PEM certificate in {}", path.display());
    }
    Ok(certs)
}

pub(crate) fn read_key(path: &Path, has_password: bool) -> anyhow::Result<PrivateKeyDer<'static>> {
    let text = std::fs::read(path)
        .with_context(|| format!("cannot read private key {}", path.display()))?;
    if text.windows(9).any(|w| w == b"ENCRYPTED") {
        bail!(
            "private key {} is encrypted; rmqd does not decrypt keys (openssl pkcs8 -in KEY -out PLAIN.pem)",
            path.display()
        );
    }
    if has_password {
        tracing::warn!(key = %path.display(), "tls.server.keyPassword ignored: the key is not encrypted");
    }
    rustls_pemfile::private_key(&mut text.as_slice())
        .with_context(|| format!("cannot read private key {}", path.display()))?
        .with_context(|| format!("no PEM private key in {}", path.display()))
}

fn root_store(path: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots
            .add(cert)
            .with_context(|| format!("bad trusted certificate in {}", path.display()))?;
    }
    Ok(roots)
}

/// A listener's TLS side in permissive or enforcing mode.
pub struct TlsServer {
    pub mode: TlsMode,
    acceptor: TlsAcceptor,
}

/// What a sniffed connection turned out to be.
pub enum Accepted {
    Plain(TcpStream),
    Tls(Box<server::TlsStream<TcpStream>>),
}

impl TlsServer {
    /// Waits for the client's first byte and either completes a TLS handshake or hands back the plain
    /// stream. `None` when the connection is refused by the mode, closes, or the handshake fails.
    pub async fn accept(&self, stream: TcpStream, peer: SocketAddr) -> Option<Accepted> {
        let mut first = [0u8; 1];
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
            Ok(Ok(1)) => {}
            _ => return None,
        }
        if first[0] != TLS_HANDSHAKE_RECORD {
            if self.mode == TlsMode::Enforcing {
                tracing::warn!(%peer, "plain connection refused: tls.server.mode is enforcing");
                return None;
            }
            return Some(Accepted::Plain(stream));
        }
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Some(Accepted::Tls(Box::new(tls))),
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::info!(%peer, "TLS handshake timed out");
                None
            }
        }
    }
}

/// The outbound client's TLS side (`tls.enable=true`).
pub struct TlsClient {
    connector: TlsConnector,
}

impl TlsClient {
    /// Runs the TLS handshake on a connected stream to `addr` (`host:port`).
    pub async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> std::io::Result<client::TlsStream<TcpStream>> {
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, self.connector.connect(name, stream))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake"))?
    }
}

/// Java's `InsecureTrustManagerFactory`: any server certificate is accepted (test mode, or no
/// `tls.client.authServer`). The handshake signatures are still checked, so the peer holds the key.
#[derive(Debug)]
struct AnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests;
