//! The master side (Java's `HAService.AcceptSocketService`, `HAConnection` and `GroupTransferService`).
//!
//! Per slave connection a reader takes the slave's 8-byte offset reports (the first one says where to
//! start; each one acks everything below it) and a writer sends the commit log in transfers of at most
//! `haTransferBatchSize`, or an empty transfer after `haSendHeartbeatInterval` idle. The writer sleeps on
//! the store's append signal, never on a timer loop. A connection with no report for
//! `haHousekeepingInterval` is closed, as Java's `ReadSocketService` does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use rmq_codec::ha::{decode_last_report, TransferHeader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{CommitLogSource, HaSettings};
use crate::remoting::connection::now_ms;

/// Slave connections served at once; a newcomer beyond is closed. Java has no limit; a broker has 1-2.
const MAX_SLAVE_CONNECTIONS: usize = 64;
/// Reports buffered before the oldest are dropped (only the last whole one matters).
const READ_BUFFER_LEN: usize = 1024;
/// No slave acked yet: `push2SlaveMaxOffset` starts at 0 in Java.
const NOTHING_ACKED: u64 = 0;

/// One slave connection as GET_BROKER_HA_STATUS reports it (`HAConnectionRuntimeInfo`).
pub struct SlaveConnection {
    pub addr: SocketAddr,
    /// The last offset the slave reported.
    ack: AtomicU64,
    /// Where the next transfer starts; `u64::MAX` until the first report (Java's -1).
    transfer_from: AtomicU64,
    /// Bytes sent in the current second and the second before, for `transferredByteInSecond`.
    sent: Mutex<(u64, u64, u64)>,
}

impl SlaveConnection {
    pub fn ack(&self) -> u64 {
        self.ack.load(Ordering::Acquire)
    }

    /// -1 before the first report, as Java's `nextTransferFromWhere`.
    pub fn transfer_from(&self) -> i64 {
        match self.transfer_from.load(Ordering::Acquire) {
            u64::MAX => -1,
            from => from as i64,
        }
    }

    /// Bytes sent in the last whole second (Java's `FlowMonitor`, 5.x).
    pub fn transferred_bytes_in_second(&self) -> u64 {
        let second = now_ms() / 1000;
        let sent = self.sent.lock();
        match second.checked_sub(sent.0) {
            Some(0) => sent.2,
            Some(1) => sent.1,
            _ => 0,
        }
    }

    fn count_sent(&self, bytes: u64) {
        let second = now_ms() / 1000;
        let mut sent = self.sent.lock();
        if sent.0 != second {
            let last = if second == sent.0 + 1 { sent.1 } else { 0 };
            *sent = (second, 0, last);
        }
        sent.1 += bytes;
    }
}

/// The master's replication state, shared by the HA listener, the send path and the status requests.
pub struct HaMaster {
    settings: HaSettings,
    source: Arc<dyn CommitLogSource>,
    /// The commit log's end after the last append; transfers wait on it.
    appended: watch::Receiver<u64>,
    /// Java's `push2SlaveMaxOffset`: the highest offset any slave acked (never goes back).
    pushed: watch::Sender<u64>,
    connections: Mutex<Vec<Arc<SlaveConnection>>>,
}

impl HaMaster {
    /// `appended` is fed by the store's append hook with the commit log's end after each put.
    pub fn new(
        settings: HaSettings,
        source: Arc<dyn CommitLogSource>,
        appended: watch::Receiver<u64>,
    ) -> Arc<Self> {
        Arc::new(HaMaster {
            settings,
            source,
            appended,
            pushed: watch::Sender::new(NOTHING_ACKED),
            connections: Mutex::new(Vec::new()),
        })
    }

    pub fn settings(&self) -> &HaSettings {
        &self.settings
    }

    /// Java's `push2SlaveMaxOffset`.
    pub fn push_to_slave_max(&self) -> u64 {
        *self.pushed.borrow()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.lock().len()
    }

    pub fn connections(&self) -> Vec<Arc<SlaveConnection>> {
        self.connections.lock().clone()
    }

    /// Java's `HAService.isSlaveOK`: a slave is connected and the acked offset is less than
    /// `haMaxGapNotInSync` behind `put_where` (the end of the message being sent).
    pub fn is_slave_ok(&self, put_where: u64) -> bool {
        self.connection_count() > 0
            && put_where.saturating_sub(self.push_to_slave_max())
                < self.settings.max_gap_not_in_sync
    }

    /// Resolves true once a slave acked `end` or more, false after `slaveTimeout` (FLUSH_SLAVE_TIMEOUT),
    /// as Java's `GroupTransferService`.
    pub fn wait_replicated(&self, end: u64) -> impl std::future::Future<Output = bool> + Send {
        let mut pushed = self.pushed.subscribe();
        let timeout = self.settings.slave_timeout;
        async move {
            let acked = pushed.wait_for(|acked| *acked >= end);
            matches!(tokio::time::timeout(timeout, acked).await, Ok(Ok(_)))
        }
    }

    /// Java's `notifyTransferSome`: raises `push2SlaveMaxOffset`, which wakes the waiting sends.
    fn acked(&self, offset: u64) {
        self.pushed.send_if_modified(|pushed| {
            let raised = offset > *pushed;
            if raised {
                *pushed = offset;
            }
            raised
        });
    }

    fn add(&self, addr: SocketAddr) -> Option<Arc<SlaveConnection>> {
        let mut connections = self.connections.lock();
        if connections.len() >= MAX_SLAVE_CONNECTIONS {
            return None;
        }
        let conn = Arc::new(SlaveConnection {
            addr,
            ack: AtomicU64::new(0),
            transfer_from: AtomicU64::new(u64::MAX),
            sent: Mutex::new((0, 0, 0)),
        });
        connections.push(conn.clone());
        Some(conn)
    }

    fn remove(&self, conn: &Arc<SlaveConnection>) {
        self.connections.lock().retain(|c| !Arc::ptr_eq(c, conn));
    }
}

/// Accepts slave connections on `listener` until `stop` is cancelled, then closes them all.
pub async fn serve(listener: TcpListener, master: Arc<HaMaster>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => return,
        };
        let (socket, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "HA accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(conn) = master.add(addr) else {
            tracing::warn!(%addr, "HA connection refused: too many slaves");
            continue;
        };
        tracing::info!(%addr, "HA slave connected");
        tokio::spawn(run_connection(
            socket,
            master.clone(),
            conn,
            stop.child_token(),
        ));
    }
}

async fn run_connection(
    socket: TcpStream,
    master: Arc<HaMaster>,
    conn: Arc<SlaveConnection>,
    closed: CancellationToken,
) {
    let _ = socket.set_nodelay(true);
    let (reader, writer) = socket.into_split();
    let (first_tx, first_rx) = watch::channel(None);
    let read = read_reports(reader, &master, &conn, first_tx);
    let write = write_transfers(writer, &master, &conn, first_rx);
    let outcome = tokio::select! {
        r = read => r,
        w = write => w,
        _ = closed.cancelled() => Ok(()),
    };
    master.remove(&conn);
    match outcome {
        Ok(()) => tracing::info!(addr = %conn.addr, "HA slave connection closed"),
        Err(e) => tracing::warn!(addr = %conn.addr, error = %e, "HA slave connection closed"),
    }
}

/// Reads offset reports; the first one goes to the writer as the start offset.
async fn read_reports(
    mut reader: OwnedReadHalf,
    master: &HaMaster,
    conn: &SlaveConnection,
    first: watch::Sender<Option<u64>>,
) -> anyhow::Result<()> {
    let housekeeping = master.settings.housekeeping_interval;
    let mut buf = BytesMut::with_capacity(READ_BUFFER_LEN);
    loop {
        let read = tokio::time::timeout(housekeeping, reader.read_buf(&mut buf)).await;
        match read {
            Err(_) => anyhow::bail!("no report for {housekeeping:?} (haHousekeepingInterval)"),
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(_)) => {}
        }
        if let Some((offset, used)) = decode_last_report(&buf) {
            let _ = buf.split_to(used);
            conn.ack.store(offset, Ordering::Release);
            if first.borrow().is_none() {
                first.send_replace(Some(offset));
            }
            master.acked(offset);
        }
        if buf.capacity() - buf.len() < 8 {
            buf.reserve(READ_BUFFER_LEN);
        }
    }
}

/// Where the first transfer starts: the slave's offset, or for an empty slave the start of the master's
/// last commit-log file (Java's `WriteSocketService`).
fn start_offset(reported: u64, source: &dyn CommitLogSource) -> u64 {
    if reported != 0 {
        return reported;
    }
    let max = source.max_offset();
    max - max % source.file_size().max(1)
}

async fn write_transfers(
    mut writer: OwnedWriteHalf,
    master: &HaMaster,
    conn: &SlaveConnection,
    mut first: watch::Receiver<Option<u64>>,
) -> anyhow::Result<()> {
    let reported = match first.wait_for(Option::is_some).await {
        Ok(reported) => reported.unwrap_or(0),
        Err(_) => return Ok(()),
    };
    let mut next = start_offset(reported, &*master.source);
    tracing::info!(addr = %conn.addr, reported, from = next, "HA transfer starts");
    let mut appended = master.appended.clone();
    let heartbeat = master.settings.heartbeat_interval;
    let batch = master.settings.transfer_batch_size.max(1);
    let mut last_write = Instant::now();
    loop {
        conn.transfer_from.store(next, Ordering::Release);
        // Marks the current end seen before looking, so an append after the look wakes the wait below.
        appended.borrow_and_update();
        if let Some(body) = master.source.chunk(next, batch).filter(|b| !b.is_empty()) {
            let header = TransferHeader {
                offset: next,
                body_size: body.len() as u32,
            };
            writer.write_all(&header.encode()).await?;
            writer.write_all(&body).await?;
            conn.count_sent((body.len() + 12) as u64);
            next += body.len() as u64;
            last_write = Instant::now();
            continue;
        }
        tokio::select! {
            changed = appended.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            _ = tokio::time::sleep_until(last_write + heartbeat) => {
                let header = TransferHeader { offset: next, body_size: 0 };
                writer.write_all(&header.encode()).await?;
                last_write = Instant::now();
            }
        }
    }
}
