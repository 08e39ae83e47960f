//! `rmqd bench` against a spawned rmqd: the JSON summary must show traffic and no failures.

use std::process::{Command, Output};

use serde_json::Value;

mod common;

use common::start_rmqd;

fn bench(args: &[&str]) -> (Output, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_rmqd"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed: {stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    let summary: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {stdout}\n{stderr}"));
    (output, summary)
}

#[test]
fn produce_for_one_second() {
    let rmqd = start_rmqd("");
    let (output, summary) = bench(&[
        "produce",
        "-n",
        &rmqd.namesrv,
        "--topic",
        "BenchProduce",
        "--threads",
        "2",
        "--size",
        "100",
        "--duration",
        "1",
        "--async",
        "--inflight",
        "8",
        "--queues",
        "4",
    ]);
    assert_eq!(summary["mode"], "produce");
    assert!(summary["sends"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["failures"].as_u64(), Some(0), "{summary}");
    let send = &summary["send"];
    assert_eq!(send["messages"], summary["sends"]);
    assert_eq!(
        send["bytes"].as_u64(),
        Some(100 * send["messages"].as_u64().unwrap())
    );
    assert!(send["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    // Progress lines go to stderr with --json.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("msg/s"), "{stderr}");
}

#[test]
fn e2e_batches_arrive_with_latency() {
    let rmqd = start_rmqd("");
    let (_, summary) = bench(&[
        "e2e",
        "-n",
        &rmqd.namesrv,
        "--topic",
        "BenchE2e",
        "--threads",
        "2",
        "--size",
        "64",
        "--duration",
        "1",
        "--batch",
        "4",
        "--rate",
        "400",
    ]);
    assert_eq!(summary["failures"].as_u64(), Some(0), "{summary}");
    let sent = summary["send"]["messages"].as_u64().unwrap();
    assert!(sent >= 100, "a 400 msg/s rate for 1 s: {summary}");
    assert_eq!(summary["send"]["requests"].as_u64().unwrap() * 4, sent);
    assert_eq!(
        summary["received"].as_u64(),
        Some(sent),
        "every message is pulled: {summary}"
    );
    assert_eq!(summary["recv"]["latency_ms"]["count"].as_u64(), Some(sent));
}
