//! The slave side (Java's `HAService.HAClient`, 5.x `DefaultHAClient`): connect to the master's HA address,
//! report the commit log's end, append every transfer at exactly that end, report again whenever the end
//! moved and every `haSendHeartbeatInterval`; on any error close and connect again after 5 s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::BytesMut;
use parking_lot::Mutex;
use rmq_codec::ha::{encode_report, TransferHeader, TRANSFER_HEADER_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{HaSettings, ReplicaSink};
use crate::remoting::connection::now_ms;

/// A transfer body larger than this is a corrupt stream (Java's slave reads into a 4 MiB buffer, so no
/// working master sends more than that in one transfer).
const MAX_BODY_LEN: usize = 16 << 20;
/// How long a connect may take (Java's `RemotingUtil.connect`: 5 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Called with each queue that got messages from the master, to wake its long polls.
pub type Arrived = Arc<dyn Fn(&str, i32) + Send + Sync>;

/// The slave's HA client state for GET_BROKER_HA_STATUS (`HAClientRuntimeInfo`).
#[derive(Default)]
pub struct HaClientStatus {
    pub master_addr: Mutex<Option<String>>,
    pub last_read_ms: AtomicU64,
    pub last_write_ms: AtomicU64,
    /// Bytes received in the second `received.0` (`transferredByteInSecond`).
    received: Mutex<(u64, u64, u64)>,
}

impl HaClientStatus {
    pub fn transferred_bytes_in_second(&self) -> u64 {
        let second = now_ms() / 1000;
        let r = self.received.lock();
        match second.checked_sub(r.0) {
            Some(0) => r.2,
            Some(1) => r.1,
            _ => 0,
        }
    }

    fn count_received(&self, bytes: u64) {
        let second = now_ms() / 1000;
        let mut r = self.received.lock();
        if r.0 != second {
            let last = if second == r.0 + 1 { r.1 } else { 0 };
            *r = (second, 0, last);
        }
        r.1 += bytes;
    }
}

/// The HA client: runs until `stop`, following the master address in `master` (None: wait for one).
pub async fn run(
    mut master: watch::Receiver<Option<String>>,
    sink: Arc<dyn ReplicaSink>,
    settings: HaSettings,
    arrived: Arrived,
    status: Arc<HaClientStatus>,
    stop: CancellationToken,
) {
    loop {
        let addr = master.borrow_and_update().clone();
        if let Some(addr) = addr.filter(|a| !a.trim().is_empty()) {
            *status.master_addr.lock() = Some(addr.clone());
            let session = replicate(&addr, &sink, &settings, &arrived, &status);
            let outcome = tokio::select! {
                outcome = session => outcome,
                _ = stop.cancelled() => return,
                // A new master address ends the session with the old one (a dropped sender never does).
                Ok(()) = master.changed() => Ok(()),
            };
            if let Err(e) = outcome {
                tracing::warn!(master = %addr, error = format!("{e:#}"), "HA connection to the master ended");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.reconnect_interval) => {}
            // Nobody changes the address any more when the sender is gone: the branch is then disabled.
            Ok(()) = master.changed() => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// One connection to the master, until an error or the master closes it.
async fn replicate(
    addr: &str,
    sink: &Arc<dyn ReplicaSink>,
    settings: &HaSettings,
    arrived: &Arrived,
    status: &HaClientStatus,
) -> anyhow::Result<()> {
    let socket = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .context("connect timed out")?
        .with_context(|| format!("cannot connect to {addr}"))?;
    let _ = socket.set_nodelay(true);
    let (mut reader, mut writer) = socket.into_split();
    let mut reported = sink.max_offset();
    writer.write_all(&encode_report(reported)).await?;
    status.last_write_ms.store(now_ms(), Ordering::Relaxed);
    tracing::info!(master = %addr, offset = reported, "HA connected to the master");
    let mut last_report = Instant::now();
    let mut last_read = Instant::now();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let heartbeat_at = last_report + settings.heartbeat_interval;
        let expire_at = last_read + settings.housekeeping_interval;
        tokio::select! {
            read = reader.read_buf(&mut buf) => {
                if read? == 0 {
                    bail!("the master closed the connection");
                }
                last_read = Instant::now();
                status.last_read_ms.store(now_ms(), Ordering::Relaxed);
            }
            _ = tokio::time::sleep_until(heartbeat_at) => {}
            // 5.x's DefaultHAClient closes a connection silent for haHousekeepingInterval (4.9.7 times it
            // from its own last write, which its heartbeats keep fresh).
            _ = tokio::time::sleep_until(expire_at) => {
                bail!("nothing from the master for {:?} (haHousekeepingInterval)", settings.housekeeping_interval)
            }
        }
        apply_transfers(&mut buf, sink, arrived, status).await?;
        let end = sink.max_offset();
        if end > reported || last_report.elapsed() >= settings.heartbeat_interval {
            writer.write_all(&encode_report(end)).await?;
            reported = end;
            last_report = Instant::now();
            status.last_write_ms.store(now_ms(), Ordering::Relaxed);
        }
    }
}

/// Appends every complete transfer in `buf` and leaves a partial one there.
async fn apply_transfers(
    buf: &mut BytesMut,
    sink: &Arc<dyn ReplicaSink>,
    arrived: &Arrived,
    status: &HaClientStatus,
) -> anyhow::Result<()> {
    while buf.len() >= TRANSFER_HEADER_LEN {
        let header = TransferHeader::decode(buf)?;
        let size = header.body_size as usize;
        if size > MAX_BODY_LEN {
            bail!("transfer body of {size} bytes");
        }
        if buf.len() < TRANSFER_HEADER_LEN + size {
            buf.reserve(TRANSFER_HEADER_LEN + size - buf.len());
            return Ok(());
        }
        let frame = buf.split_to(TRANSFER_HEADER_LEN + size).freeze();
        // Java checks the offset only once the slave has a log; an empty slave takes the master's start.
        let mine = sink.max_offset();
        if mine != 0 && mine != header.offset {
            bail!(
                "the master sent offset {} but the slave's log ends at {mine}",
                header.offset
            );
        }
        if size == 0 {
            continue;
        }
        status.count_received(size as u64);
        let sink = sink.clone();
        let at = header.offset;
        let queues =
            tokio::task::spawn_blocking(move || sink.append(at, &frame[TRANSFER_HEADER_LEN..]))
                .await
                .context("the append task failed")??;
        for (topic, queue_id) in &queues {
            arrived(topic, *queue_id);
        }
    }
    Ok(())
}
