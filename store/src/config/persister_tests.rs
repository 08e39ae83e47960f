use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::*;
use crate::config::load_json_file;

/// What a test writer saw: every document written, per file, in write order.
#[derive(Default)]
struct Log {
    writes: Mutex<BTreeMap<PathBuf, Vec<i64>>>,
    attempts: AtomicUsize,
}

impl Log {
    fn written(&self, path: &str) -> Vec<i64> {
        self.writes
            .lock()
            .get(Path::new(path))
            .cloned()
            .unwrap_or_default()
    }
}

/// A persister whose writes go to `log`; `before_write` runs first and may fail the write.
fn recording(
    log: &Arc<Log>,
    before_write: impl Fn() -> Result<(), ConfigError> + Send + Sync + 'static,
) -> Persister {
    let log = Arc::clone(log);
    Persister::with_write(Box::new(move |path, doc| {
        log.attempts.fetch_add(1, Ordering::SeqCst);
        before_write()?;
        let value = doc.as_i64().expect("an integer document");
        log.writes
            .lock()
            .entry(path.to_owned())
            .or_default()
            .push(value);
        Ok(())
    }))
    .expect("starts")
}

/// A table holding one number, rendered as the document.
fn counter(persister: &Persister, path: &str) -> (Arc<Mutex<i64>>, PersistedFile) {
    let value = Arc::new(Mutex::new(0));
    let render = {
        let value = Arc::clone(&value);
        move || Some(Value::Int(*value.lock()))
    };
    (value, persister.register(PathBuf::from(path), render))
}

fn set(table: &(Arc<Mutex<i64>>, PersistedFile), v: i64) {
    let mut value = table.0.lock();
    *value = v;
    table.1.mark_changed();
}

fn io_failure() -> ConfigError {
    ConfigError::Io {
        path: PathBuf::from("x"),
        source: io::Error::other("disk gone"),
    }
}

/// A persister whose writes fail while the returned switch is on (it starts on).
fn failing_until_switched(log: &Arc<Log>) -> (Persister, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(true));
    let switch = Arc::clone(&failing);
    let persister = recording(log, move || {
        if switch.load(Ordering::SeqCst) {
            Err(io_failure())
        } else {
            Ok(())
        }
    });
    (persister, failing)
}

#[test]
fn changes_during_a_write_coalesce_into_one_write_of_the_newest_state() {
    let log = Arc::new(Log::default());
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (release, release_rx) = mpsc::channel::<()>();
    let (entered_tx, release_rx) = (Mutex::new(entered_tx), Mutex::new(release_rx));
    let persister = recording(&log, move || {
        entered_tx.lock().send(()).expect("test waits");
        release_rx.lock().recv().expect("test releases");
        Ok(())
    });
    let table = counter(&persister, "topics.json");
    set(&table, 1);
    entered.recv().expect("first write started");
    for v in 2..=10 {
        set(&table, v);
    }
    release.send(()).expect("release first");
    entered.recv().expect("second write started");
    release.send(()).expect("release second");
    persister.flush().expect("written");
    assert_eq!(log.written("topics.json"), vec![1, 10]);
}

#[test]
fn a_file_never_goes_back_to_an_older_state() {
    let log = Arc::new(Log::default());
    let persister = recording(&log, || {
        std::thread::sleep(Duration::from_micros(200));
        Ok(())
    });
    let a = counter(&persister, "a.json");
    let b = counter(&persister, "b.json");
    std::thread::scope(|s| {
        for table in [&a, &b] {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let mut value = table.0.lock();
                        *value += 1;
                        table.1.mark_changed();
                    }
                });
            }
        }
    });
    persister.flush().expect("written");
    for path in ["a.json", "b.json"] {
        let writes = log.written(path);
        // A change marked after the render of the write in progress makes one more write of the
        // same state; never one of an older state.
        assert!(
            writes.windows(2).all(|w| w[0] <= w[1]),
            "{path}: {writes:?}"
        );
        assert_eq!(writes.last(), Some(&800), "{path}: the newest state last");
        assert!(writes.len() < 800, "{path}: changes coalesced");
    }
}

#[test]
fn stop_writes_what_is_pending_and_joins() {
    let log = Arc::new(Log::default());
    let persister = recording(&log, || {
        std::thread::sleep(Duration::from_millis(20));
        Ok(())
    });
    let a = counter(&persister, "a.json");
    let b = counter(&persister, "b.json");
    set(&a, 1);
    set(&b, 7);
    set(&a, 2);
    persister.stop().expect("everything written");
    assert_eq!(log.written("a.json").last(), Some(&2));
    assert_eq!(log.written("b.json"), vec![7]);
    assert!(persister.shared.state.lock().exited, "joined");

    // After the stop a change is refused, reported, and never written.
    set(&a, 3);
    let unwritten = persister.stop().expect_err("a change after stop");
    assert_eq!(unwritten.0, vec![PathBuf::from("a.json")]);
    assert_eq!(log.written("a.json").last(), Some(&2));
}

#[test]
fn a_failed_write_is_retried_at_the_next_change_not_before() {
    let log = Arc::new(Log::default());
    let (persister, failing) = failing_until_switched(&log);
    let table = counter(&persister, "offsets.json");
    set(&table, 1);
    while log.attempts.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(log.attempts.load(Ordering::SeqCst), 1, "no retry loop");

    failing.store(false, Ordering::SeqCst);
    set(&table, 2);
    persister.flush().expect("written");
    assert_eq!(log.written("offsets.json"), vec![2]);
}

#[test]
fn flush_and_stop_retry_a_failed_file_and_name_it_when_it_still_fails() {
    let log = Arc::new(Log::default());
    let (persister, failing) = failing_until_switched(&log);
    let table = counter(&persister, "groups.json");
    set(&table, 5);
    let unwritten = persister.flush().expect_err("the disk fails");
    assert_eq!(unwritten.0, vec![PathBuf::from("groups.json")]);
    let attempts = log.attempts.load(Ordering::SeqCst);
    assert!(attempts >= 1);

    failing.store(false, Ordering::SeqCst);
    persister.stop().expect("retried at stop");
    assert_eq!(log.written("groups.json"), vec![5]);
}

#[test]
fn a_render_of_none_writes_nothing() {
    let log = Arc::new(Log::default());
    let persister = recording(&log, || Ok(()));
    let file = persister.register(PathBuf::from("timer.json"), || None);
    file.mark_changed();
    persister
        .flush()
        .expect("nothing to write is not a failure");
    assert_eq!(log.attempts.load(Ordering::SeqCst), 0);
}

#[test]
fn files_are_written_crash_safe_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config").join("topics.json");
    let persister = Persister::start().expect("starts");
    let doc = Arc::new(Mutex::new(Value::object([("n", Value::Int(1))])));
    let file = {
        let doc = Arc::clone(&doc);
        persister.register(path.clone(), move || Some(doc.lock().clone()))
    };
    file.mark_changed();
    persister.flush().expect("written");
    *doc.lock() = Value::object([("n", Value::Int(2))]);
    file.mark_changed();
    drop(persister);
    let saved = load_json_file(&path).expect("loads").expect("exists");
    assert_eq!(saved.get("n").and_then(Value::as_i64), Some(2));
    let bak = load_json_file(&dir.path().join("config").join("topics.json.bak"))
        .expect("loads")
        .expect("backup kept");
    assert_eq!(bak.get("n").and_then(Value::as_i64), Some(1));
}
