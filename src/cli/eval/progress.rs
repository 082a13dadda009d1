//! The eval's progress on standard error: one line, redrawn in place, with the cases done,
//! running and failed, the tokens and dollars spent so far and an estimate of the time left;
//! above it, a line per case as it ends. Nothing at all when standard error is not a
//! terminal (a log, a CI job): the report says everything the lines said.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::eval::score::CaseRun;

/// What has happened so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub total: usize,
    pub done: usize,
    pub running: usize,
    pub failed: usize,
    pub tokens: u64,
    pub dollars: f64,
}

/// The progress of one eval.
pub struct Progress {
    started: Instant,
    /// Whether anything is drawn (standard error is a terminal).
    drawn: bool,
    counts: Mutex<Counts>,
}

impl Progress {
    /// Progress over `total` case runs, drawn when `drawn`.
    pub fn new(total: usize, drawn: bool) -> Self {
        Self {
            started: Instant::now(),
            drawn,
            counts: Mutex::new(Counts {
                total,
                ..Counts::default()
            }),
        }
    }

    /// A case run starts.
    pub fn start(&self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.running += 1;
        self.draw(&c, None);
    }

    /// A case run ended as `run`, told by `line`.
    pub fn end(&self, run: &CaseRun, line: &str) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.running = c.running.saturating_sub(1);
        c.done += 1;
        c.failed += usize::from(run.error.is_some());
        c.tokens += run.input_tokens + run.output_tokens;
        c.dollars += run.dollars.unwrap_or(0.0);
        self.draw(&c, Some(line));
    }

    /// Erases the progress line once everything ran.
    pub fn finish(&self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    fn draw(&self, counts: &Counts, line: Option<&str>) {
        if !self.drawn {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        if let Some(line) = line {
            let _ = writeln!(err, "{line}");
        }
        let _ = write!(err, "{}", status(counts, self.started.elapsed()));
        let _ = err.flush();
    }
}

/// The progress line: `12/40 done, 2 running, 1 failed, 182,340 tokens, $1.27, about 6 min
/// left`. The time left is the time per case so far times the cases left (none before the
/// first case ends).
pub fn status(c: &Counts, elapsed: Duration) -> String {
    let left = match c.done {
        0 => "time left unknown".to_owned(),
        done if done >= c.total => "done".to_owned(),
        done => {
            let each = elapsed.as_secs_f64() / done as f64;
            let seconds = (each * (c.total - done) as f64).round() as u64;
            match seconds {
                s if s < 60 => format!("about {s} s left"),
                s => format!("about {} min left", s.div_ceil(60)),
            }
        }
    };
    format!(
        "{}/{} done, {} running, {} failed, {} tokens, ${:.2}, {left}",
        c.done,
        c.total,
        c.running,
        c.failed,
        thousands(c.tokens),
        c.dollars,
    )
}

/// `182340` as `182,340`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_is_done_running_failed_spent_and_left() {
        let mut c = Counts {
            total: 40,
            ..Counts::default()
        };
        assert_eq!(
            status(&c, Duration::from_secs(3)),
            "0/40 done, 0 running, 0 failed, 0 tokens, $0.00, time left unknown"
        );
        c = Counts {
            total: 40,
            done: 12,
            running: 2,
            failed: 1,
            tokens: 182_340,
            dollars: 1.274,
        };
        // 30 s a case so far, 28 left: 14 minutes.
        assert_eq!(
            status(&c, Duration::from_secs(360)),
            "12/40 done, 2 running, 1 failed, 182,340 tokens, $1.27, about 14 min left"
        );
        c.done = 39;
        assert!(status(&c, Duration::from_secs(78)).ends_with("about 2 s left"));
        c.done = 40;
        assert!(status(&c, Duration::from_secs(78)).ends_with(", done"));
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn counts_follow_the_runs_that_start_and_end() {
        let p = Progress::new(3, false);
        p.start();
        p.start();
        let mut failed = CaseRun::failed("a", "no".into());
        failed.input_tokens = 100;
        failed.output_tokens = 20;
        failed.dollars = Some(0.5);
        p.end(&failed, "a failed");
        let c = *p.counts.lock().unwrap();
        assert_eq!(
            (c.done, c.running, c.failed, c.tokens, c.dollars),
            (1, 1, 1, 120, 0.5)
        );
    }
}
