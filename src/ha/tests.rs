//! Master and slave over real loopback sockets, in-process, on in-memory commit logs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::master::{serve, HaMaster};
use super::slave::{self, HaClientStatus};
use super::{CommitLogSource, HaSettings, ReplicaSink};

const FILE_SIZE: u64 = 4096;

/// A commit log in memory: `base` is the offset of its first byte.
struct MemLog {
    log: Mutex<(u64, Vec<u8>)>,
    /// Chunks handed out, to check none crosses a file end.
    chunks: Mutex<Vec<(u64, usize)>>,
}

impl MemLog {
    fn new(base: u64) -> Arc<Self> {
        Arc::new(MemLog {
            log: Mutex::new((base, Vec::new())),
            chunks: Mutex::default(),
        })
    }

    /// Appends `len` bytes that differ from offset to offset; returns the new end.
    fn write(&self, len: usize) -> u64 {
        let mut log = self.log.lock();
        let start = log.0 + log.1.len() as u64;
        log.1
            .extend((start..start + len as u64).map(|i| (i * 7 % 251) as u8));
        log.0 + log.1.len() as u64
    }

    fn bytes(&self) -> (u64, Vec<u8>) {
        self.log.lock().clone()
    }
}

impl CommitLogSource for MemLog {
    fn max_offset(&self) -> u64 {
        let log = self.log.lock();
        log.0 + log.1.len() as u64
    }

    fn file_size(&self) -> u64 {
        FILE_SIZE
    }

    fn chunk(&self, from: u64, max: usize) -> Option<Bytes> {
        let log = self.log.lock();
        let end = log.0 + log.1.len() as u64;
        if from < log.0 || from >= end {
            return None;
        }
        let file_end = from - from % FILE_SIZE + FILE_SIZE;
        let to = end.min(file_end).min(from + max as u64);
        self.chunks.lock().push((from, (to - from) as usize));
        let at = (from - log.0) as usize;
        Some(Bytes::copy_from_slice(
            &log.1[at..at + (to - from) as usize],
        ))
    }
}

impl ReplicaSink for MemLog {
    fn max_offset(&self) -> u64 {
        CommitLogSource::max_offset(self)
    }

    fn append(&self, at: u64, data: &[u8]) -> anyhow::Result<Vec<(String, i32)>> {
        let mut log = self.log.lock();
        if log.1.is_empty() && log.0 == 0 {
            anyhow::ensure!(
                at.is_multiple_of(FILE_SIZE),
                "an empty log starts at a file start"
            );
            log.0 = at;
        }
        let end = log.0 + log.1.len() as u64;
        anyhow::ensure!(at == end, "append at {at} but the log ends at {end}");
        log.1.extend_from_slice(data);
        Ok(vec![("T".into(), 0)])
    }
}

fn settings() -> HaSettings {
    HaSettings {
        transfer_batch_size: 1000,
        heartbeat_interval: Duration::from_millis(200),
        reconnect_interval: Duration::from_millis(50),
        slave_timeout: Duration::from_secs(10),
        ..HaSettings::default()
    }
}

/// A master on 127.0.0.1:0 serving `log`; the sender is the store's append signal.
struct Master {
    master: Arc<HaMaster>,
    appended: watch::Sender<u64>,
    addr: String,
    stop: CancellationToken,
}

async fn start_master(log: &Arc<MemLog>) -> Master {
    let (appended, rx) = watch::channel(0);
    let master = HaMaster::new(settings(), log.clone(), rx);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = CancellationToken::new();
    tokio::spawn(serve(listener, master.clone(), stop.clone()));
    Master {
        master,
        appended,
        addr,
        stop,
    }
}

impl Master {
    fn put(&self, log: &MemLog, len: usize) -> u64 {
        let end = log.write(len);
        self.appended.send_replace(end);
        end
    }
}

struct Slave {
    address: watch::Sender<Option<String>>,
    stop: CancellationToken,
    arrivals: Arc<Mutex<usize>>,
}

fn start_slave(log: &Arc<MemLog>, master_addr: &str) -> Slave {
    let (address, follow) = watch::channel(Some(master_addr.to_string()));
    let stop = CancellationToken::new();
    let arrivals = Arc::new(Mutex::new(0));
    let counted = arrivals.clone();
    tokio::spawn(slave::run(
        follow,
        log.clone(),
        settings(),
        Arc::new(move |_: &str, _: i32| *counted.lock() += 1),
        Arc::new(HaClientStatus::default()),
        stop.clone(),
    ));
    Slave {
        address,
        stop,
        arrivals,
    }
}

/// Waits (at most 20 s, a failure bound, not a timing assertion) until `slave` ends at `end`.
async fn caught_up(slave: &MemLog, end: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while ReplicaSink::max_offset(slave) != end {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slave stays at {} below {end}",
            ReplicaSink::max_offset(slave)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn same_bytes(master: &MemLog, slave: &MemLog) {
    let (m_base, m) = master.bytes();
    let (s_base, s) = slave.bytes();
    let at = (s_base - m_base) as usize;
    assert_eq!(
        &m[at..],
        &s[..],
        "the slave holds the master's bytes from {s_base}"
    );
}

#[tokio::test]
async fn an_empty_slave_gets_the_master_log_from_its_last_file_start() {
    let master_log = MemLog::new(0);
    master_log.write(2 * FILE_SIZE as usize + 100);
    let master = start_master(&master_log).await;
    let slave_log = MemLog::new(0);
    let slave = start_slave(&slave_log, &master.addr);
    // Appends only once the first transfer started, so the start is the last file of the log as it was.
    while master
        .master
        .connections()
        .first()
        .map(|c| c.transfer_from())
        < Some(0)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let end = master.put(&master_log, 5000);
    caught_up(&slave_log, end).await;
    assert_eq!(
        slave_log.bytes().0,
        2 * FILE_SIZE,
        "starts at the last file"
    );
    same_bytes(&master_log, &slave_log);
    assert!(*slave.arrivals.lock() > 0, "long polls are woken");
    for (from, len) in master_log.chunks.lock().iter() {
        assert!(*len <= 1000, "haTransferBatchSize bounds a transfer");
        assert!(
            from % FILE_SIZE + *len as u64 <= FILE_SIZE,
            "a transfer never crosses a file end"
        );
    }
    assert_eq!(
        master.master.push_to_slave_max(),
        end,
        "the slave acked it all"
    );
    slave.stop.cancel();
    master.stop.cancel();
}

#[tokio::test]
async fn a_dropped_connection_resumes_from_the_slave_offset_without_gaps() {
    let master_log = MemLog::new(0);
    let first = start_master(&master_log).await;
    let slave_log = MemLog::new(0);
    let slave = start_slave(&slave_log, &first.addr);
    let end = first.put(&master_log, 3000);
    caught_up(&slave_log, end).await;
    // The master "restarts": its connections close, it comes back on another port.
    first.stop.cancel();
    master_log.write(7000);
    let second = start_master(&master_log).await;
    slave.address.send_replace(Some(second.addr.clone()));
    let end = second.put(&master_log, 10);
    caught_up(&slave_log, end).await;
    assert_eq!(slave_log.bytes().0, 0);
    same_bytes(&master_log, &slave_log);
    let conns = second.master.connections();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].ack(), end);
    slave.stop.cancel();
    second.stop.cancel();
}

#[tokio::test]
async fn a_slave_reports_its_offset_and_drops_a_master_that_sends_another() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let slave_log = MemLog::new(0);
    slave_log.write(500);
    let slave = start_slave(&slave_log, &addr);
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut report = [0u8; 8];
    socket.read_exact(&mut report).await.unwrap();
    assert_eq!(
        report,
        [0, 0, 0, 0, 0, 0, 0x01, 0xf4],
        "int64 500, big-endian"
    );
    // A transfer for offset 400: not where the slave's log ends.
    socket
        .write_all(&[0, 0, 0, 0, 0, 0, 0x01, 0x90, 0, 0, 0, 2, 9, 9])
        .await
        .unwrap();
    let mut rest = Vec::new();
    socket.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest.len() % 8, 0, "only whole reports before the close");
    assert_eq!(
        ReplicaSink::max_offset(&*slave_log),
        500,
        "nothing appended"
    );
    slave.stop.cancel();
}

#[tokio::test]
async fn sync_master_waits_for_the_ack_and_needs_a_slave() {
    let master_log = MemLog::new(0);
    let master = start_master(&master_log).await;
    let end = master.put(&master_log, 100);
    assert!(
        !master.master.is_slave_ok(end),
        "no slave: SLAVE_NOT_AVAILABLE"
    );
    let slave_log = MemLog::new(0);
    let slave = start_slave(&slave_log, &master.addr);
    caught_up(&slave_log, end).await;
    assert!(master.master.is_slave_ok(end));
    let end = master.put(&master_log, 100);
    assert!(master.master.wait_replicated(end).await, "acked");
    // Far behind: more than haMaxGapNotInSync.
    let gap = master.master.settings().max_gap_not_in_sync;
    assert!(!master.master.is_slave_ok(end + gap));
    slave.stop.cancel();
    master.stop.cancel();
}

#[tokio::test(start_paused = true)]
async fn an_unacked_wait_times_out_after_slave_timeout() {
    let master_log = MemLog::new(0);
    let (_appended, rx) = watch::channel(0);
    let master = HaMaster::new(settings(), master_log, rx);
    assert!(!master.wait_replicated(1).await, "FLUSH_SLAVE_TIMEOUT");
}
