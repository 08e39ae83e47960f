//! The command line of the real `rmqd` binary: usage errors are refused before anything is bound or written,
//! and every subcommand answers `--help`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs rmqd with `args` in `dir` (also its HOME), and fails the test if it is still running after 20 s:
/// a usage error or a help text must not start a role.
fn rmqd_in(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rmqd"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("NAMESRV_ADDR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "rmqd {args:?} is still running: it started a role\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn unknown_subcommands_are_usage_errors_that_touch_nothing() {
    for args in [
        &["store"][..],
        &["nonsense"],
        &["store", "nonsense"],
        &["--bogus"],
        &["standalone", "extra"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let output = rmqd_in(dir.path(), args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // clap's usage error: exit code 2 and a usage line. A role that failed to bind would exit 1.
        assert_eq!(output.status.code(), Some(2), "rmqd {args:?}: {stderr}");
        assert!(stderr.contains("Usage: rmqd"), "rmqd {args:?}: {stderr}");
        assert!(
            entries(dir.path()).is_empty(),
            "rmqd {args:?} created {:?}",
            entries(dir.path())
        );
    }
}

/// `rmqd store verify` of a directory that is no store refuses it (exit 2) and creates nothing: the offline
/// tools never start a broker.
#[test]
fn store_tools_refuse_a_directory_that_is_no_store() {
    let dir = tempfile::tempdir().unwrap();
    let output = rmqd_in(dir.path(), &["store", "verify", "data"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a store directory"), "{stderr}");
    assert!(
        entries(dir.path()).is_empty(),
        "created {:?}",
        entries(dir.path())
    );
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[&str]); 8] = [
        (
            &["--help"],
            &[
                "standalone",
                "broker",
                "namesrv",
                "bench",
                "store",
                "--config",
            ],
        ),
        (&["store", "--help"], &["verify", "dump"]),
        (&["store", "verify", "--help"], &["--force"]),
        (&["store", "dump", "--help"], &["--json", "--key"]),
        (&["standalone", "--help"], &["--config", "--namesrv"]),
        (&["broker", "--help"], &["--config", "--namesrv"]),
        (&["namesrv", "--help"], &["--config"]),
        // bench prints its own option list.
        (&["bench", "--help"], &["usage: rmqd bench", "--topic"]),
    ];
    for (args, expected) in cases {
        let output = rmqd_in(dir.path(), args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "rmqd {args:?}: {stdout}");
        for text in expected {
            assert!(
                stdout.contains(text),
                "rmqd {args:?} lacks {text:?}:\n{stdout}"
            );
        }
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn bench_keeps_its_own_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let output = rmqd_in(dir.path(), &["bench", "produce", "--no-such-flag"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rmqd bench:"), "{stderr}");
}

#[test]
fn version_flag_prints_the_package_version() {
    let dir = tempfile::tempdir().unwrap();
    let output = rmqd_in(dir.path(), &["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("rmqd {}", env!("CARGO_PKG_VERSION"))
    );
}
