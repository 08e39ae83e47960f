//! Listener modes against real handshakes: certificates come from `openssl` at test time, clients are
//! plain TCP and rmqd's own outbound TLS client (the same code the broker registers with).

use std::process::Command;

use bytes::{Bytes, BytesMut};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::remoting::client::RemotingClient;
use crate::remoting::server::{serve, RequestHandler};
use crate::remoting::{Answer, Connection, Shutdown};

/// Answers every request with SUCCESS and the request's body.
struct Echo;

impl RequestHandler for Echo {
    fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Answer {
        let response = RemotingCommand::new_response(ResponseCode::Success, None);
        response.with_body(request.body).into()
    }
}

struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed for the TLS tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA (`ca.pem`), and a server (`server.pem`, SAN 127.0.0.1) and a client (`client.pem`) leaf signed
/// by it, all P-256 with PKCS#8 keys; plus `other-ca.pem`, a CA that signed nothing here.
fn make_certs() -> Certs {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    for ca in ["ca", "other-ca"] {
        let (key, pem, subj) = (
            format!("{ca}.key"),
            format!("{ca}.pem"),
            format!("/CN=rmqd {ca}"),
        );
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &pem,
                "-days",
                "36500",
                "-subj",
                &subj,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=keyCertSign",
            ],
        );
    }
    for leaf in ["server", "client"] {
        let (key, csr, pem) = (
            format!("{leaf}.key"),
            format!("{leaf}.csr"),
            format!("{leaf}.pem"),
        );
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                "/CN=localhost",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "36500",
                "-extfile",
                "leaf.ext",
            ],
        );
    }
    Certs { dir }
}

fn server_settings(certs: &Certs, mode: Option<TlsMode>) -> TlsSettings {
    TlsSettings {
        mode,
        server_cert_path: Some(certs.path("server.pem")),
        server_key_path: Some(certs.path("server.key")),
        config_file: certs.path("absent.properties"),
        ..TlsSettings::default()
    }
}

/// A client that verifies the server against `ca` (so a wrong certificate would fail the test).
fn verifying_client(certs: &Certs, ca: &str) -> Arc<TlsClient> {
    let settings = TlsSettings {
        enable: true,
        test_mode: false,
        client_auth_server: true,
        client_trust_cert_path: Some(certs.path(ca)),
        config_file: certs.path("absent.properties"),
        ..TlsSettings::default()
    };
    settings
        .client()
        .unwrap()
        .expect("tls.enable gives a client")
}

async fn start(settings: &TlsSettings) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let tls = settings.server().unwrap();
    tokio::spawn(serve(listener, Arc::new(Echo), tls, Shutdown::default()));
    addr
}

/// One request/response; an error when the server closes the connection instead of answering.
async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    body: Bytes,
) -> std::io::Result<RemotingCommand> {
    let mut request = RemotingCommand::new_request(RequestCode::HeartBeat, ExtFields::new());
    request.opaque = 7;
    let mut buf = BytesMut::new();
    request.with_body(body).encode(&mut buf);
    stream.write_all(&buf).await?;
    stream.flush().await?;
    let exchange = async {
        let len = stream.read_u32().await? as usize;
        let mut frame = vec![0u8; len];
        stream.read_exact(&mut frame).await?;
        let mut whole = BytesMut::from(&(len as u32).to_be_bytes()[..]);
        whole.extend_from_slice(&frame);
        RemotingCommand::decode(whole.split_off(4).freeze())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))?
}

async fn plain_works(addr: &str) -> bool {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    round_trip(&mut stream, Bytes::from_static(b"plain"))
        .await
        .is_ok()
}

async fn tls_works(addr: &str, client: &TlsClient) -> bool {
    let stream = TcpStream::connect(addr).await.unwrap();
    let Ok(mut tls) = client.connect(addr, stream).await else {
        return false;
    };
    match round_trip(&mut tls, Bytes::from_static(b"secret")).await {
        Ok(response) => response.opaque == 7 && &response.body[..] == b"secret",
        Err(_) => false,
    }
}

#[tokio::test]
async fn permissive_serves_tls_and_plain_on_one_port() {
    let certs = make_certs();
    let addr = start(&server_settings(&certs, Some(TlsMode::Permissive))).await;
    assert!(tls_works(&addr, &verifying_client(&certs, "ca.pem")).await);
    assert!(plain_works(&addr).await);
}

#[tokio::test]
async fn enforcing_closes_plain_connections() {
    let certs = make_certs();
    let addr = start(&server_settings(&certs, Some(TlsMode::Enforcing))).await;
    assert!(tls_works(&addr, &verifying_client(&certs, "ca.pem")).await);
    assert!(!plain_works(&addr).await, "plain client must be refused");
}

#[tokio::test]
async fn disabled_closes_tls_handshakes() {
    let certs = make_certs();
    let addr = start(&server_settings(&certs, Some(TlsMode::Disabled))).await;
    assert!(plain_works(&addr).await);
    assert!(!tls_works(&addr, &verifying_client(&certs, "ca.pem")).await);
}

#[tokio::test]
async fn client_verifying_against_another_ca_fails() {
    let certs = make_certs();
    let addr = start(&server_settings(&certs, Some(TlsMode::Enforcing))).await;
    assert!(!tls_works(&addr, &verifying_client(&certs, "other-ca.pem")).await);
    // Java's default client (test mode) trusts any certificate; so does ours.
    let trusting = TlsSettings {
        enable: true,
        ..TlsSettings::default()
    };
    assert!(tls_works(&addr, &trusting.client().unwrap().unwrap()).await);
}

#[tokio::test]
async fn large_frames_cross_tls_both_ways() {
    let certs = make_certs();
    let addr = start(&server_settings(&certs, Some(TlsMode::Enforcing))).await;
    let stream = TcpStream::connect(&addr).await.unwrap();
    let mut tls = verifying_client(&certs, "ca.pem")
        .connect(&addr, stream)
        .await
        .unwrap();
    let body: Bytes = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let response = round_trip(&mut tls, body.clone()).await.unwrap();
    assert_eq!(response.body, body);
}

#[tokio::test]
async fn remoting_client_registers_over_tls() {
    let certs = make_certs();
    let addr = start(&server_settings(&certs, Some(TlsMode::Enforcing))).await;
    let request = || RemotingCommand::new_request(RequestCode::HeartBeat, ExtFields::new());
    let timeout = Duration::from_secs(5);
    let tls_client = RemotingClient::with_tls(Some(verifying_client(&certs, "ca.pem")));
    let response = tls_client.invoke(&addr, request(), timeout).await.unwrap();
    assert_eq!(response.code, 0);
    assert!(RemotingClient::new()
        .invoke(&addr, request(), timeout)
        .await
        .is_err());
}

#[tokio::test]
async fn client_certificates_are_checked_when_required() {
    let certs = make_certs();
    let mut settings = server_settings(&certs, Some(TlsMode::Enforcing));
    settings.server_need_client_auth = ClientAuth::Require;
    settings.server_trust_cert_path = Some(certs.path("ca.pem"));
    let addr = start(&settings).await;
    assert!(!tls_works(&addr, &verifying_client(&certs, "ca.pem")).await);
    let with_cert = TlsSettings {
        enable: true,
        client_cert_path: Some(certs.path("client.pem")),
        client_key_path: Some(certs.path("client.key")),
        ..TlsSettings::default()
    };
    assert!(tls_works(&addr, &with_cert.client().unwrap().unwrap()).await);

    settings.server_need_client_auth = ClientAuth::Optional;
    let addr = start(&settings).await;
    assert!(tls_works(&addr, &verifying_client(&certs, "ca.pem")).await);
}

#[test]
fn default_mode_follows_the_certificates() {
    let certs = make_certs();
    let none = TlsSettings::default();
    assert_eq!(none.effective_mode(), TlsMode::Disabled);
    assert!(none.server().unwrap().is_none());
    assert_eq!(
        server_settings(&certs, None).effective_mode(),
        TlsMode::Permissive
    );
    let mut enforcing = TlsSettings::default();
    assert!(enforcing.apply("tls.server.mode", "enforcing").unwrap());
    assert!(
        enforcing.server().is_err(),
        "enforcing without certificates"
    );
    assert!(enforcing.apply("tls.server.mode", "strict").is_err());
    assert!(enforcing
        .apply("tls.server.need.client.auth", "sometimes")
        .is_err());
    assert!(!enforcing.apply("listenPort", "1").unwrap());
}

#[test]
fn config_file_overrides_but_cannot_set_the_mode() {
    let certs = make_certs();
    let file = certs.path("tls.properties");
    std::fs::write(
        &file,
        format!(
            "tls.server.mode=disabled\ntls.server.certPath={}\ntls.server.keyPath={}\ntls.test.mode.enable=false\n",
            certs.path("server.pem").display(),
            certs.path("server.key").display()
        ),
    )
    .unwrap();
    let mut settings = TlsSettings::default();
    for (k, v) in [
        ("tls.server.mode", "enforcing"),
        ("tls.server.certPath", "/nonexistent.pem"),
        ("tls.config.file", file.to_str().unwrap()),
    ] {
        assert!(settings.apply(k, v).unwrap(), "{k}");
    }
    settings.merge_config_file().unwrap();
    assert_eq!(settings.server_cert_path, Some(certs.path("server.pem")));
    assert!(!settings.test_mode);
    let server = settings.server().unwrap().expect("enforcing");
    assert_eq!(server.mode, TlsMode::Enforcing);
}

#[test]
fn encrypted_keys_are_refused_with_a_hint() {
    let certs = make_certs();
    openssl(
        certs.dir.path(),
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "server.key",
            "-out",
            "enc.key",
            "-passout",
            "pass:secret",
        ],
    );
    let mut settings = server_settings(&certs, Some(TlsMode::Enforcing));
    settings.server_key_path = Some(certs.path("enc.key"));
    settings.server_key_password = Some("secret".into());
    let err = settings.server().err().expect("encrypted key refused");
    assert!(format!("{err:#}").contains("encrypted"), "{err:#}");
}

#[tokio::test]
async fn rsa_keys_in_pkcs1_and_pkcs8_work() {
    let certs = make_certs();
    let d = certs.dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rsa8.key",
            "-out",
            "rsa.pem",
            "-days",
            "36500",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        d,
        &["rsa", "-in", "rsa8.key", "-out", "rsa1.key", "-traditional"],
    );
    let trusting = TlsSettings {
        enable: true,
        ..TlsSettings::default()
    };
    let client = trusting.client().unwrap().unwrap();
    for key in ["rsa8.key", "rsa1.key"] {
        let settings = TlsSettings {
            server_cert_path: Some(certs.path("rsa.pem")),
            server_key_path: Some(certs.path(key)),
            ..server_settings(&certs, Some(TlsMode::Enforcing))
        };
        let addr = start(&settings).await;
        assert!(tls_works(&addr, &client).await, "{key}");
    }
}
