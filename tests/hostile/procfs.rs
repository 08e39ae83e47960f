//! What the hostile suites read from `/proc` about the rmqd child: its pid, memory and open files.
// Shared by tests/hostile.rs and tests/hostile_connections.rs, each using a part of it.
#![allow(dead_code)]

use super::common::Rmqd;

/// The rmqd child's pid: the child of this process that holds the broker's listening socket.
pub fn rmqd_pid(rmqd: &Rmqd) -> u32 {
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port_hex = format!(":{:04X}", rmqd.broker_port);
    let inode = tcp
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 9 && f[1].ends_with(&port_hex) && f[3] == "0A")
        .map(|f| f[9].to_string())
        .expect("the broker's listening socket");
    let target = format!("socket:[{inode}]");
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the `(comm)`: state, ppid, ...
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1));
        if ppid != Some(me.as_str()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == target))
        {
            return pid;
        }
    }
    panic!("no child process holds {target}");
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("rmqd is alive");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Peak resident memory (VmHWM) of `pid` in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("rmqd is alive");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// (soft, hard) `Max open files` of this process.
fn fd_limits() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let parse = |f: Option<&&str>| f.and_then(|v| v.parse().ok()).unwrap_or(1024);
    (parse(fields.get(3)), parse(fields.get(4)))
}

/// Raises this process's soft fd limit to its hard limit (the rmqd child inherits it) and returns the soft
/// limit in force afterwards. `prlimit` (util-linux) stands in for `setrlimit`, which needs libc.
pub fn raise_fd_limit() -> u64 {
    let (soft, hard) = fd_limits();
    if soft < hard {
        let _ = std::process::Command::new("prlimit")
            .args([
                "--pid",
                &std::process::id().to_string(),
                &format!("--nofile={hard}:{hard}"),
            ])
            .status();
    }
    fd_limits().0
}

/// The broker's sockets on `port` whose peer has closed but which the broker has not (TCP CLOSE_WAIT).
pub fn close_wait_count(port: u16) -> usize {
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port_hex = format!(":{port:04X}");
    tcp.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 3 && f[1].ends_with(&port_hex) && f[3] == "08")
        .count()
}
