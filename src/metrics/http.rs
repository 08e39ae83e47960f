//! The `/metrics` listener (`metricsExporterType=PROM`): a minimal HTTP/1.1 server on its own port, as
//! Java's `PrometheusHttpServer`. Hand-written over tokio rather than a web framework: it answers one
//! request per connection (`Connection: close`) and needs nothing but the request line, so a crate would
//! only add code to audit. GET or HEAD of `/metrics` (any query string) renders the document off the tokio
//! workers (`spawn_blocking`), so a scrape never delays a broker request; any other path is 404, any other
//! method 405 (Java's exporter answers every path with the metrics). Bounds: the request head (8 KiB),
//! the time to send it (10 s), and connections served at once (16; more wait in the accept backlog).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::exposition::CONTENT_TYPE;

const MAX_HEAD_BYTES: usize = 8 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_CONNECTIONS: usize = 16;

/// Renders the whole exposition document; called once per scrape, on a blocking thread.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Accepts scrapes until the task is aborted.
pub async fn serve(listener: TcpListener, render: Render) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let render = render.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_one(stream, render).await {
                tracing::debug!(%peer, error = %e, "metrics request failed");
            }
            drop(permit);
        });
    }
}

/// What the request line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics { head_only: bool },
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

fn route(head: &[u8]) -> Route {
    let line = head.split(|&b| b == b'\r' || b == b'\n').next();
    let Some(line) = line.and_then(|l| std::str::from_utf8(l).ok()) else {
        return Route::BadRequest;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or(target);
    if path != "/metrics" {
        return Route::NotFound;
    }
    match method {
        "GET" => Route::Metrics { head_only: false },
        "HEAD" => Route::Metrics { head_only: true },
        _ => Route::MethodNotAllowed,
    }
}

/// Reads until the blank line that ends the head; `None` when the peer closed or sent too much.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
    }
}

async fn serve_one(mut stream: TcpStream, render: Render) -> std::io::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => None,
    };
    let Some(head) = head else {
        return Ok(());
    };
    let (status, body, head_only) = match route(&head) {
        Route::Metrics { head_only } => {
            let body = tokio::task::spawn_blocking(move || render())
                .await
                .map_err(std::io::Error::other)?;
            ("200 OK", body, head_only)
        }
        Route::NotFound => ("404 Not Found", "not found\n".to_string(), false),
        Route::MethodNotAllowed => ("405 Method Not Allowed", String::new(), false),
        Route::BadRequest => ("400 Bad Request", String::new(), false),
    };
    let content_type = if status.starts_with("200") {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let response_head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(response_head.as_bytes()).await?;
        if !head_only {
            stream.write_all(body.as_bytes()).await?;
        }
        stream.shutdown().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_metrics_path_is_served() {
        let r = |s: &str| route(s.as_bytes());
        assert_eq!(
            r("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            r("GET /metrics?name[]=x HTTP/1.0\r\n\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            r("HEAD /metrics HTTP/1.1\r\n\r\n"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(r("GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(r("GET /metricsx HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(r("POST /metrics HTTP/1.1\r\n\r\n"), Route::MethodNotAllowed);
        assert_eq!(r("GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(r("\u{1}\r\n\r\n"), Route::BadRequest);
    }

    async fn fetch(port: u16, request: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        // The server may close (even reset) a connection whose head it refuses before reading all of it.
        let _ = s.write_all(request).await;
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        out
    }

    #[tokio::test]
    async fn serves_the_rendered_document_and_404_elsewhere_and_drops_oversized_heads() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(serve(listener, Arc::new(|| "m 1\n".to_string())));
        let ok = fetch(port, b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains("Content-Type: text/plain; version=0.0.4"),
            "{ok}"
        );
        assert!(
            ok.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\nm 1\n"),
            "{ok}"
        );
        let missing = fetch(port, b"GET /other HTTP/1.1\r\n\r\n").await;
        assert!(
            missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{missing}"
        );
        let huge = vec![b'a'; MAX_HEAD_BYTES + 2048];
        assert_eq!(fetch(port, &huge).await, "");
        task.abort();
    }
}
