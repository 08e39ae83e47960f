//! The machine's ceilings, measured the same way as the broker benchmarks so the figures compare:
//! a loopback TCP echo (what a broker that does no work at all could answer) and an append + fdatasync
//! loop (what SYNC_FLUSH costs per flush on a disk).
//!
//! The echo frame is a 4-byte big-endian length and that many bytes, like a remoting frame; the server
//! writes every frame back unchanged.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::args::BenchArgs;
use super::report::Stats;

/// Largest echo frame the server accepts (the client is bounded by `--size` already).
const MAX_ECHO_FRAME: usize = 16 << 20;

/// Serves the echo protocol on 127.0.0.1:`port` until the process is killed.
pub async fn echo_server(port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("bind 127.0.0.1:{port}"))?;
    eprintln!("echo server listening on 127.0.0.1:{port}");
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(error) = echo_connection(stream).await {
                eprintln!("echo connection: {error}");
            }
        });
    }
}

async fn echo_connection(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut frame = Vec::new();
    loop {
        let mut len = [0u8; 4];
        match stream.read_exact(&mut len).await {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(error),
        }
        let body_len = u32::from_be_bytes(len) as usize;
        if body_len > MAX_ECHO_FRAME {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("echo frame of {body_len} bytes"),
            ));
        }
        frame.clear();
        frame.extend_from_slice(&len);
        frame.resize(4 + body_len, 0);
        stream.read_exact(&mut frame[4..]).await?;
        stream.write_all(&frame).await?;
    }
}

/// `args.threads` connections, each sending one `args.size_bytes` frame and waiting for its echo.
pub fn spawn_echo(
    args: &BenchArgs,
    deadline: Instant,
    stats: &Arc<Stats>,
    set: &mut JoinSet<anyhow::Result<()>>,
) {
    for _ in 0..args.threads {
        let (addr, size, stats) = (args.addr.clone(), args.size_bytes, stats.clone());
        set.spawn(async move { echo_client(&addr, size, deadline, &stats).await });
    }
}

async fn echo_client(
    addr: &str,
    size: usize,
    deadline: Instant,
    stats: &Stats,
) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let mut request = (size as u32).to_be_bytes().to_vec();
    request.resize(4 + size, 0x5a);
    let mut reply = vec![0u8; 4 + size];
    let hist = stats.send.recorder();
    while Instant::now() < deadline {
        let started = Instant::now();
        let exchange = async {
            stream.write_all(&request).await?;
            stream.read_exact(&mut reply).await
        };
        tokio::select! {
            result = exchange => {
                if let Err(error) = result {
                    stats.send.failure(&format!("echo: {error}"), 1);
                    return Ok(());
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(()),
        }
        let us = started.elapsed().as_micros() as u64;
        hist.lock().saturating_record(us.max(1));
        stats.send.success(1, size as u64);
    }
    Ok(())
}

/// One blocking thread appending `args.size_bytes` and calling fdatasync after every write.
pub fn spawn_disk(
    args: &BenchArgs,
    duration: Duration,
    stats: &Arc<Stats>,
    set: &mut JoinSet<anyhow::Result<()>>,
) {
    let path =
        std::path::Path::new(&args.dir).join(format!("rmqd-bench-disk-{}.dat", std::process::id()));
    let (size, stats) = (args.size_bytes, stats.clone());
    set.spawn(async move {
        tokio::task::spawn_blocking(move || {
            let result = disk_loop(&path, size, duration, &stats);
            let _ = std::fs::remove_file(&path);
            result
        })
        .await
        .context("disk thread panicked")?
    });
}

fn disk_loop(
    path: &std::path::Path,
    size: usize,
    duration: Duration,
    stats: &Stats,
) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    let block = vec![0xa5u8; size];
    let hist = stats.send.recorder();
    let deadline = std::time::Instant::now() + duration;
    while std::time::Instant::now() < deadline {
        let started = std::time::Instant::now();
        file.write_all(&block)
            .with_context(|| format!("write {}", path.display()))?;
        file.sync_data()
            .with_context(|| format!("fdatasync {}", path.display()))?;
        let us = started.elapsed().as_micros() as u64;
        hist.lock().saturating_record(us.max(1));
        stats.send.success(1, size as u64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn echo_round_trips_count_and_disk_writes_the_bytes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(echo_connection(stream));
            }
        });
        let stats = Stats::default();
        let deadline = Instant::now() + Duration::from_millis(200);
        echo_client(&addr, 100, deadline, &stats).await.unwrap();
        let sent = stats
            .send
            .messages
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(sent > 0);
        assert_eq!(
            stats.send.bytes.load(std::sync::atomic::Ordering::Relaxed),
            sent * 100
        );
        assert_eq!(
            stats
                .send
                .failures
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );

        let dir = std::env::temp_dir().join(format!("rmqd-disk-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let disk_stats = Stats::default();
        disk_loop(&path, 512, Duration::from_millis(100), &disk_stats).unwrap();
        let writes = disk_stats
            .send
            .messages
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(writes > 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), writes * 512);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
