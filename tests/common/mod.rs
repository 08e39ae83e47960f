//! Spawns the real `rmqd` binary (standalone: name server + broker) on free ports with a fresh store.
// Each integration-test crate compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Rmqd {
    child: Child,
    pub broker_port: u16,
    /// `127.0.0.1:<name server port>`.
    pub namesrv: String,
    _dir: tempfile::TempDir,
}

impl Drop for Rmqd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
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
    let child = Command::new(env!("CARGO_BIN_EXE_rmqd"))
        .args(["standalone", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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
