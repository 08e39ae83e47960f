//! A one-line progress bar on stderr, drawn only when stderr is a terminal and at most every 100 ms.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: u64 = 30;
const EVERY: Duration = Duration::from_millis(100);

pub struct Bar {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Bar {
    pub fn for_stderr() -> Self {
        Bar {
            enabled: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    pub fn update(&mut self, phase: &str, done: u64, total: u64) {
        if !self.enabled || self.last.is_some_and(|t| t.elapsed() < EVERY) && done < total {
            return;
        }
        self.last = Some(Instant::now());
        let filled = (done.min(total) * WIDTH)
            .checked_div(total)
            .unwrap_or(WIDTH);
        let percent = (done.min(total) * 100).checked_div(total).unwrap_or(100);
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '#' } else { '-' })
            .collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{phase:<16} [{bar}] {percent:>3}%");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Clears the line so the report starts on a clean one.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.drawn = false;
        }
    }
}
