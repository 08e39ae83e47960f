//! The one thread (`rmq-config-persist`) that writes a role's config files, so that no request waits for an
//! fsync and no table lock is held across one.
//!
//! A table changes in memory and calls [`PersistedFile::mark_changed`]. The thread then renders the file's
//! document with the function the table registered (which takes the table's lock for the render only) and
//! writes it with [`persist_json_file`] (temp file, fsync, `.bak`, rename, directory fsync).
//!
//! - Coalesced: any number of changes between two writes of a file give one write, of the newest state.
//! - In order: a write renders the table as it is when the write starts, and one thread does every write, so
//!   a file never goes back to an older state and two writes of it never share `<file>.tmp` at once.
//! - A failed write is logged and the file is written again at its next change, at [`Persister::flush`] and
//!   at [`Persister::stop`], which name the files they could not write.
//!
//! Lock order: a table's lock, then the persister's. `mark_changed` may be called under the table's lock;
//! `flush` and `stop` must not be (the thread needs that lock to render).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};
use rmq_codec::fastjson::Value;
use thiserror::Error;

use super::{persist_json_file, ConfigError};
use crate::background::BackgroundThread;

/// Renders a file's document from its table; `None` when there is nothing to write yet.
type Render = Arc<dyn Fn() -> Option<Value> + Send + Sync>;
/// Writes a rendered document; [`persist_json_file`] except in tests.
type Write = Box<dyn Fn(&Path, &Value) -> Result<(), ConfigError> + Send + Sync>;

/// Files whose newest state is not on disk: their last write failed, or they changed after the thread stopped.
#[derive(Debug, Error)]
#[error("config files not written: {}", list(.0))]
pub struct Unwritten(pub Vec<PathBuf>);

fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileState {
    /// On disk as of the last write (or never changed).
    Written,
    /// Changed since its last write started.
    Changed,
    /// The last write failed and nothing changed since.
    Failed,
}

struct Entry {
    path: PathBuf,
    render: Render,
    state: FileState,
}

#[derive(Default)]
struct State {
    files: Vec<Entry>,
    /// A write is in progress (between `take_changed` and its outcome).
    writing: bool,
    /// Set by `stop`: the thread writes what is changed, then exits.
    stopping: bool,
    /// The thread has exited (or was never started).
    exited: bool,
    /// Where the search for a changed file starts, so one busy file cannot starve the others.
    next: usize,
}

impl State {
    /// The next changed file, round robin, marked written (a change during its write marks it again).
    fn take_changed(&mut self) -> Option<usize> {
        let n = self.files.len();
        let index = (0..n)
            .map(|i| (self.next + i) % n)
            .find(|&i| self.files[i].state == FileState::Changed)?;
        self.files[index].state = FileState::Written;
        self.next = index + 1;
        Some(index)
    }

    fn busy(&self) -> bool {
        !self.exited && (self.writing || self.files.iter().any(|f| f.state == FileState::Changed))
    }

    fn retry_failed(&mut self) {
        for file in &mut self.files {
            if file.state == FileState::Failed {
                file.state = FileState::Changed;
            }
        }
    }

    fn unwritten(&self) -> Result<(), Unwritten> {
        let paths: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|f| f.state != FileState::Written)
            .map(|f| f.path.clone())
            .collect();
        if paths.is_empty() {
            Ok(())
        } else {
            Err(Unwritten(paths))
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the thread: a change, or a stop.
    work: Condvar,
    /// Wakes `flush`: a write ended or the thread exited.
    progress: Condvar,
    write: Write,
}

/// The persister thread and the files registered with it. Dropping it stops it like [`stop`](Self::stop).
pub struct Persister {
    shared: Arc<Shared>,
    thread: BackgroundThread,
}

/// A file the persister writes; held by the table whose state it is.
#[derive(Clone)]
pub struct PersistedFile {
    shared: Arc<Shared>,
    index: usize,
}

impl PersistedFile {
    /// Schedules a write of the file's newest state. Never blocks on I/O.
    pub fn mark_changed(&self) {
        let mut state = self.shared.state.lock();
        if state.exited {
            tracing::warn!(path = %state.files[self.index].path.display(), "config changed after the persister stopped; not written");
        }
        state.files[self.index].state = FileState::Changed;
        self.shared.work.notify_one();
    }
}

impl Persister {
    /// Starts the thread; files are written with [`persist_json_file`].
    pub fn start() -> io::Result<Self> {
        Self::with_write(Box::new(persist_json_file))
    }

    fn with_write(write: Write) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
            write,
        });
        let nudge = {
            let shared = Arc::clone(&shared);
            move || {
                let mut state = shared.state.lock();
                state.retry_failed();
                state.stopping = true;
                shared.work.notify_one();
            }
        };
        let thread = {
            let shared = Arc::clone(&shared);
            BackgroundThread::spawn_nudged("rmq-config-persist", nudge, move |_| run(&shared))?
        };
        Ok(Persister { shared, thread })
    }

    /// Registers `path`, written from `render`'s document whenever the returned handle is marked changed.
    pub fn register(
        &self,
        path: PathBuf,
        render: impl Fn() -> Option<Value> + Send + Sync + 'static,
    ) -> PersistedFile {
        let mut state = self.shared.state.lock();
        state.files.push(Entry {
            path,
            render: Arc::new(render),
            state: FileState::Written,
        });
        PersistedFile {
            shared: Arc::clone(&self.shared),
            index: state.files.len() - 1,
        }
    }

    /// Writes every changed file, and again every file whose last write failed, and waits for it.
    pub fn flush(&self) -> Result<(), Unwritten> {
        let mut state = self.shared.state.lock();
        state.retry_failed();
        self.shared.work.notify_one();
        while state.busy() {
            self.shared.progress.wait(&mut state);
        }
        state.unwritten()
    }

    /// Writes every changed file (failed ones once more), then stops and joins the thread. Idempotent.
    pub fn stop(&self) -> Result<(), Unwritten> {
        self.thread.stop();
        self.shared.state.lock().unwritten()
    }
}

impl Drop for Persister {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "config files lost at shutdown");
        }
    }
}

/// Marks the thread exited however it ends, so `flush` never waits for a thread that is gone.
struct ExitGuard<'a>(&'a Shared);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.exited = true;
        state.writing = false;
        self.0.progress.notify_all();
    }
}

fn run(shared: &Shared) {
    let _exit = ExitGuard(shared);
    let mut state = shared.state.lock();
    loop {
        let Some(index) = state.take_changed() else {
            if state.stopping {
                return;
            }
            shared.work.wait(&mut state);
            continue;
        };
        state.writing = true;
        let (path, render) = {
            let file = &state.files[index];
            (file.path.clone(), Arc::clone(&file.render))
        };
        let result = MutexGuard::unlocked(&mut state, || match render() {
            Some(doc) => (shared.write)(&path, &doc),
            None => Ok(()),
        });
        state.writing = false;
        if let Err(e) = result {
            tracing::error!(path = %path.display(), error = %e, "writing a config file failed; retried at its next change");
            let file = &mut state.files[index];
            if file.state == FileState::Written {
                file.state = FileState::Failed;
            }
        }
        shared.progress.notify_all();
    }
}

#[cfg(test)]
#[path = "persister_tests.rs"]
mod tests;
