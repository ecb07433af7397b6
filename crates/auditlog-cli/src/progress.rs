//! Progress of long work: a bar on a terminal, plain lines otherwise (so logs
//! and CI output stay readable).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    next_line: u64,
    /// The last count printed as a plain line.
    printed: u64,
    started: Instant,
}

impl Progress {
    pub fn new(label: &str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_owned());
            bar
        });
        Progress {
            bar,
            label: label.to_owned(),
            total,
            next_line: total / 10,
            printed: u64::MAX,
            started: Instant::now(),
        }
    }

    pub fn set(&mut self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if done >= self.next_line.max(1) || (done == self.total && self.printed != done) => {
                self.printed = done;
                let pct = (done * 100).checked_div(self.total).unwrap_or(100);
                eprintln!(
                    "{}: {done}/{} ({pct}%) after {:.1}s",
                    self.label,
                    self.total,
                    self.started.elapsed().as_secs_f64()
                );
                self.next_line = done + (self.total / 10).max(1);
            }
            None => {}
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
