//! SIGTERM drains (the real `rmqd` binary): it stops accepting, answers the requests parked on its
//! connections, closes the connections once their answers are out, persists and flushes, and exits
//! within `shutdownTimeoutMills`, saying so in its log.

use std::time::{Duration, Instant};

use rmq_codec::code::ResponseCode;

mod common;
#[path = "hostile/wire.rs"]
mod wire;

use common::start_rmqd;
use wire::{
    assert_well_behaved, connect, parking_pop, parking_pull, read_frame, roundtrip, send_request,
    write_command,
};

#[test]
fn sigterm_answers_parked_requests_then_exits_cleanly() {
    let mut rmqd = start_rmqd("shutdownTimeoutMills=5000");
    assert_well_behaved(&rmqd, "Drain");
    let mut setup = connect(rmqd.broker_port);
    // The pop topic exists and its one message is taken, so the pop below finds nothing.
    assert_eq!(
        roundtrip(&mut setup, &send_request("DrainPop", 0, b"x")).code,
        0
    );
    let taken = roundtrip(&mut setup, &{
        let mut pop = parking_pop("DrainPop");
        pop.ext_fields.insert("pollTime".into(), "0".into());
        pop
    });
    assert_eq!(taken.code, 0, "{:?}", taken.remark);

    let mut pull = parking_pull("Drain");
    pull.opaque = 77;
    let mut pop = parking_pop("DrainPop");
    pop.opaque = 78;
    let mut client = connect(rmqd.broker_port);
    write_command(&mut client, &pull);
    write_command(&mut client, &pop);
    // Let the broker read and park both before the signal.
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let status = rmqd
        .terminate(Duration::from_secs(30))
        .expect("rmqd exited after SIGTERM");
    let took = started.elapsed();
    assert!(status.success(), "exit status {status:?}");

    let mut answers: Vec<_> = (0..2)
        .map(|_| read_frame(&mut client).expect("a parked request was answered before the close"))
        .map(|cmd| (cmd.opaque, ResponseCode::from(cmd.code)))
        .collect();
    answers.sort_by_key(|(opaque, _)| *opaque);
    assert_eq!(
        answers,
        vec![
            (77, ResponseCode::PullNotFound),
            (78, ResponseCode::PollingTimeout)
        ]
    );
    assert!(
        read_frame(&mut client).is_none(),
        "the connection closes after its answers"
    );
    let log = rmqd.log();
    for line in [
        "shutting down: no new connections",
        "parked requests answered",
        "connections closed",
        "shutdown complete",
    ] {
        assert!(log.contains(line), "the log lacks {line:?}:\n{log}");
    }
    assert!(
        !rmqd.store_dir().join("abort").exists(),
        "a clean stop removes the abort file"
    );
    eprintln!("SIGTERM to exit: {took:?}");
}
