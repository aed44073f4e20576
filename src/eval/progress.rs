//! A progress bar on standard error: redrawn in place on a terminal, a
//! line per quarter otherwise (so logs of a CI run stay short).

use std::io::{IsTerminal, Write};

pub struct Progress {
    label: &'static str,
    total: usize,
    done: usize,
    terminal: bool,
    reported_quarter: usize,
}

const WIDTH: usize = 30;

impl Progress {
    pub fn new(label: &'static str, total: usize) -> Self {
        let progress = Progress {
            label,
            total,
            done: 0,
            terminal: std::io::stderr().is_terminal(),
            reported_quarter: 0,
        };
        progress.draw();
        progress
    }

    pub fn advance(&mut self) {
        self.done = (self.done + 1).min(self.total);
        let quarter = self.done * 4 / self.total.max(1);
        if self.terminal || quarter > self.reported_quarter {
            self.reported_quarter = quarter;
            self.draw();
        }
    }

    pub fn finish(self) {
        if self.terminal {
            eprintln!();
        }
    }

    fn draw(&self) {
        let filled = self.done * WIDTH / self.total.max(1);
        let bar = format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH - filled));
        let line = format!("{:<10} [{bar}] {}/{}", self.label, self.done, self.total);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r{line}");
            let _ = err.flush();
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}
