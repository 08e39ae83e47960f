//! Spawns the real `rmqd` binary (standalone: name server + broker) on free ports with a fresh store.
// Each integration-test crate compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Rmqd {
    child: Child,
    pub broker_port: u16,
    /// `127.0.0.1:<name server port>`.
    pub namesrv: String,
    _dir: tempfile::TempDir,
}

impl Rmqd {
    /// What rmqd logged so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn log_path(&self) -> PathBuf {
        self._dir.path().join("rmqd.log")
    }

    pub fn store_dir(&self) -> PathBuf {
        self._dir.path().join("store")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to `wait` for the exit; None if rmqd is still running then.
    pub fn terminate(&mut self, wait: Duration) -> Option<ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Rmqd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port below 32768: the ephemeral range starts there, and the client sockets the suites leave in
/// TIME-WAIT could otherwise hold a broker's derived ports (p-2, p+1).
fn free_port() -> u16 {
    loop {
        let p = rand::random_range(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// A port p with p-2 (the VIP channel) and p+1 (HA) also free.
fn free_broker_port() -> u16 {
    loop {
        let p = free_port();
        if p > 1024
            && [p - 2, p + 1]
                .iter()
                .all(|q| TcpListener::bind(("127.0.0.1", *q)).is_ok())
        {
            return p;
        }
    }
}

/// Starts rmqd with `extra_conf` appended to its broker.conf and waits until both ports accept.
pub fn start_rmqd(extra_conf: &str) -> Rmqd {
    let dir = tempfile::tempdir().unwrap();
    let (broker_port, ns_port) = (free_broker_port(), free_port());
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort={broker_port}\nnamesrvListenPort={ns_port}\nstorePathRootDir={}\nbrokerIP1=127.0.0.1\n{extra_conf}\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    // RMQD_TEST_BIN runs the suites against another build (a release binary, an older commit).
    let bin = std::env::var("RMQD_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rmqd").into());
    let child = Command::new(bin)
        .args(["standalone", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("rmqd.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", broker_port)).is_err()
        || TcpStream::connect(("127.0.0.1", ns_port)).is_err()
    {
        assert!(Instant::now() < deadline, "rmqd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Rmqd {
        child,
        broker_port,
        namesrv: format!("127.0.0.1:{ns_port}"),
        _dir: dir,
    }
}

/// Broker settings for an in-process broker (`rmqd::launch::Running`): a fresh store under `dir`, an
/// ephemeral port (the gRPC and HA ports follow it) and 1 MiB commit-log files.
pub fn in_process_broker_config(dir: &tempfile::TempDir) -> rmqd::config::BrokerConfig {
    let mut config = rmqd::config::BrokerConfig {
        listen_port: 0,
        ..rmqd::config::BrokerConfig::default()
    };
    config.store.root_dir = dir.path().join("store");
    config.store.mapped_file_size_commit_log = 1 << 20;
    config
}
