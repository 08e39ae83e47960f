//! Clients that park a request and leave, against the real `rmqd` binary: a PULL_MESSAGE with the suspend
//! flag or a POP_MESSAGE with a poll time, asking to wait an hour, then the connection closed at once.
//!
//! A parked request must not hold its connection: once the client has gone the broker closes its side
//! (no socket left in CLOSE_WAIT), the connection's place under the 10,000-connection cap comes back, and
//! everything parked on it is freed. Before, 10,000 such clients took the broker out for an hour.

use std::time::{Duration, Instant};

use rmq_codec::code::RequestCode;

mod common;
#[path = "hostile/procfs.rs"]
mod procfs;
#[path = "hostile/wire.rs"]
mod wire;

use common::start_rmqd;
use procfs::{close_wait_count, fd_count, raise_fd_limit, rmqd_pid};
use wire::{
    assert_well_behaved, connect, connect_spread, parking_pop, parking_pull, roundtrip,
    send_request, write_command,
};

/// One more than the broker's connection cap: had the parked requests kept their connections, the last
/// ones (and every client after them) would be turned away.
const CLIENTS: usize = 10_050;

/// Waits up to `wait` for no broker socket on `port` to be left in CLOSE_WAIT.
fn close_waits_gone(port: u16, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if close_wait_count(port) == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_that_parks_and_leaves_is_gone_within_a_second() {
    let rmqd = start_rmqd("");
    assert_well_behaved(&rmqd, "HostilePark");
    for request in [parking_pull("HostilePark"), parking_pop("HostilePark")] {
        let mut conn = connect(rmqd.broker_port);
        write_command(&mut conn, &request);
        // Let the broker read and park the request before the client leaves.
        std::thread::sleep(Duration::from_millis(200));
        drop(conn);
        assert!(
            close_waits_gone(rmqd.broker_port, Duration::from_secs(1)),
            "the broker still holds the connection of a client that left, {:?}",
            RequestCode::from(request.code)
        );
    }
}

#[test]
fn ten_thousand_clients_that_park_and_leave_lock_nobody_out() {
    let fd_limit = raise_fd_limit();
    assert!(fd_limit > 1024, "fd limit {fd_limit}");
    let rmqd = start_rmqd("");
    let pid = rmqd_pid(&rmqd);
    assert_well_behaved(&rmqd, "HostileParkPull");
    // The pop topic must exist; its one message goes to the first pop, the others find nothing.
    let mut setup = connect(rmqd.broker_port);
    let sent = roundtrip(&mut setup, &send_request("HostileParkPop", 0, b"x"));
    assert_eq!(sent.code, 0, "{:?}", sent.remark);
    let fds_before = fd_count(pid);
    let started = Instant::now();
    for i in 0..CLIENTS {
        let mut conn = connect_spread(rmqd.broker_port, i);
        let request = if i % 2 == 0 {
            parking_pull("HostileParkPull")
        } else {
            parking_pop("HostileParkPop")
        };
        write_command(&mut conn, &request);
    }
    eprintln!(
        "{CLIENTS} clients parked and left in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        close_waits_gone(rmqd.broker_port, Duration::from_secs(10)),
        "{} broker sockets still in CLOSE_WAIT",
        close_wait_count(rmqd.broker_port)
    );
    // Every place under the connection cap is back: a newcomer is served.
    assert_well_behaved(&rmqd, "HostileParkPull");
    let fds_after = fd_count(pid);
    eprintln!("fds {fds_before} -> {fds_after}");
    assert!(
        fds_after <= fds_before + 16,
        "fds held after the clients left: {fds_before} -> {fds_after}"
    );
}
