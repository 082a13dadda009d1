//! The progress bar of `codex-review review` and `codex-review eval` on standard error, drawn
//! with indicatif: the parts (of a review) or case runs (of an eval) done out of all, the
//! model's tool calls, the tokens and dollars spent so far and an estimate of the time left;
//! the eval prints a line per case above it as the case ends. Nothing of it is written when
//! standard error is not a terminal (a log, a CI job): the bar and its lines go to a hidden
//! target, and what the command prints says everything they said (a review still says its
//! steps there in plain lines, as it did before it had a bar).

use std::fmt::Write;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressState, ProgressStyle};

use crate::pipeline::meter::Meter;
use crate::pipeline::progress::{Reporter, Step};

/// What has happened so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    pub total: usize,
    pub done: usize,
    pub running: usize,
    pub failed: usize,
    pub tool_calls: u64,
    pub tokens: u64,
    /// USD so far; `None` once an answer had no price.
    pub dollars: Option<f64>,
}

/// One command's progress bar: its counts and its stage, drawn as they are at each redraw.
pub struct Bar {
    bar: ProgressBar,
    state: Arc<Mutex<State>>,
    /// Set once the bar redraws itself every second (its time left moves on its own).
    ticking: Once,
}

struct State {
    counts: Counts,
    /// What is counted: `parts` of a review, `cases` of an eval.
    unit: &'static str,
    /// Where the work is, before the bar.
    stage: String,
}

impl Bar {
    /// A bar over `total` units, on standard error when it is a terminal, hidden otherwise.
    pub fn on_stderr(total: usize, unit: &'static str) -> Self {
        let target = match std::io::stderr().is_terminal() {
            true => ProgressDrawTarget::stderr(),
            false => ProgressDrawTarget::hidden(),
        };
        Self::new(total, unit, target)
    }

    /// A bar over `total` units drawn on `target`. Nothing is drawn before the first change
    /// with units to count (a review knows its parts only once it asks the model).
    pub fn new(total: usize, unit: &'static str, target: ProgressDrawTarget) -> Self {
        let state = Arc::new(Mutex::new(State {
            counts: Counts {
                total,
                done: 0,
                running: 0,
                failed: 0,
                tool_calls: 0,
                tokens: 0,
                dollars: Some(0.0),
            },
            unit,
            stage: "codex-review".to_owned(),
        }));
        let (shown, staged) = (Arc::clone(&state), Arc::clone(&state));
        let style = ProgressStyle::with_template("{stage} [{bar:20}] {counts}, {left}")
            .expect("the template is valid")
            .progress_chars("=> ")
            .with_key("counts", move |_: &ProgressState, w: &mut dyn Write| {
                let state = lock(&shown);
                let _ = w.write_str(&status(&state.counts, state.unit));
            })
            .with_key("stage", move |_: &ProgressState, w: &mut dyn Write| {
                let _ = w.write_str(&lock(&staged).stage);
            })
            .with_key("left", |state: &ProgressState, w: &mut dyn Write| {
                let (done, total) = (state.pos(), state.len().unwrap_or(0));
                let _ = w.write_str(&left(done, total, state.elapsed()));
            });
        // A command that stops with an error leaves no bar behind either.
        let bar = ProgressBar::with_draw_target(Some(total as u64), target)
            .with_style(style)
            .with_finish(ProgressFinish::AndClear);
        Self {
            bar,
            state,
            ticking: Once::new(),
        }
    }

    /// What the bar counted so far.
    pub fn counts(&self) -> Counts {
        lock(&self.state).counts
    }

    /// The bar's counts as it shows them.
    pub fn message(&self) -> String {
        let state = lock(&self.state);
        status(&state.counts, state.unit)
    }

    /// Says where the work is (`asking the model`), before the bar.
    pub fn stage(&self, stage: &str) {
        self.change(|s| s.stage = format!("codex-review: {stage}"));
    }

    /// There are `total` units in all.
    pub fn set_total(&self, total: usize) {
        self.change(|s| s.counts.total = total);
    }

    /// `done` units are done.
    pub fn set_done(&self, done: usize) {
        self.change(|s| s.counts.done = done);
    }

    /// A unit starts (an eval's case run).
    pub fn start(&self) {
        self.change(|s| s.counts.running += 1);
    }

    /// A unit ended, `failed` or not, having spent `tokens` and `dollars`; `line` says how,
    /// above the bar.
    pub fn end(&self, failed: bool, tokens: u64, dollars: Option<f64>, line: &str) {
        self.bar.println(line);
        self.change(|s| {
            let c = &mut s.counts;
            c.running = c.running.saturating_sub(1);
            c.done += 1;
            c.failed += usize::from(failed);
            c.tokens += tokens;
            c.dollars = c.dollars.zip(dollars).map(|(a, b)| a + b);
        });
    }

    /// The model ran a tool.
    pub fn tool_call(&self) {
        self.change(|s| s.counts.tool_calls += 1);
    }

    /// Everything so far has spent `tokens` and `dollars` (a review's meter).
    pub fn spent(&self, tokens: u64, dollars: Option<f64>) {
        self.change(|s| (s.counts.tokens, s.counts.dollars) = (tokens, dollars));
    }

    /// Whether nothing is drawn (standard error is not a terminal).
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Erases the bar once everything ran.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Changes the state, then redraws the bar (which reads it: the state's lock is not held
    /// while the bar draws).
    fn change(&self, change: impl FnOnce(&mut State)) {
        let (total, done) = {
            let mut state = lock(&self.state);
            change(&mut state);
            (state.counts.total as u64, state.counts.done as u64)
        };
        if total == 0 || self.bar.is_hidden() {
            return;
        }
        // Both at once, then a draw (`update` draws only while the bar does not tick).
        self.bar.update(|s| {
            s.set_pos(done);
            s.set_len(total);
        });
        self.bar.set_length(total);
        let bar = &self.bar;
        self.ticking
            .call_once(|| bar.enable_steady_tick(Duration::from_secs(1)));
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a review reports, on `bar`: its stage, the parts answered, the tool calls, and after
/// each step what `meter` counted. A hidden bar (standard error is no terminal) writes
/// nothing: logs stay clean.
pub fn follow_review(bar: Arc<Bar>, meter: Meter) -> Reporter {
    Arc::new(move |step| {
        match step {
            Step::Asking { parts, files } => {
                bar.set_total(parts.max(1));
                bar.stage(&format!("asking the model about {files} file(s)"));
            }
            Step::Answered { done, .. } => bar.set_done(done),
            Step::Verifying { findings } => {
                bar.set_done(bar.counts().total);
                bar.stage(&format!("verifying {findings} finding(s)"));
            }
            Step::ToolCall => bar.tool_call(),
        }
        let spent = meter.total();
        bar.spent(
            spent.usage.input_tokens + spent.usage.output_tokens,
            spent.cost_usd(),
        );
    })
}

/// What an eval's case reports, on `bar`: only its tool calls (the bar counts cases, not
/// their parts).
pub fn follow_cases(bar: Arc<Bar>) -> Reporter {
    Arc::new(move |step| {
        if step == Step::ToolCall {
            bar.tool_call();
        }
    })
}

/// The bar's message: `12/40 cases done, 2 running, 1 failed, 37 tool calls, 182,340 tokens,
/// $1.27` (running and failed only when there are some; dollars only when every answer had
/// a price).
pub fn status(c: &Counts, unit: &str) -> String {
    let mut s = format!("{}/{} {unit} done", c.done, c.total);
    if c.running > 0 {
        s += &format!(", {} running", c.running);
    }
    if c.failed > 0 {
        s += &format!(", {} failed", c.failed);
    }
    let calls = if c.tool_calls == 1 { "call" } else { "calls" };
    s += &format!(
        ", {} tool {calls}, {} tokens",
        c.tool_calls,
        thousands(c.tokens)
    );
    if let Some(d) = c.dollars {
        s += &format!(", ${d:.2}");
    }
    s
}

/// The time left: the time per unit done so far times the units left (unknown before the
/// first is done).
pub fn left(done: u64, total: u64, elapsed: Duration) -> String {
    match done {
        0 => "time left unknown".to_owned(),
        done if done >= total => "done".to_owned(),
        done => {
            let each = elapsed.as_secs_f64() / done as f64;
            let seconds = (each * (total - done) as f64).round() as u64;
            match seconds {
                s if s < 60 => format!("about {s} s left"),
                s => format!("about {} min left", s.div_ceil(60)),
            }
        }
    }
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

    fn hidden(total: usize, unit: &'static str) -> Bar {
        Bar::new(total, unit, ProgressDrawTarget::hidden())
    }

    #[test]
    fn the_message_says_what_is_done_running_failed_and_spent() {
        let mut c = hidden(40, "cases").counts();
        assert_eq!(
            status(&c, "cases"),
            "0/40 cases done, 0 tool calls, 0 tokens, $0.00"
        );
        c = Counts {
            total: 40,
            done: 12,
            running: 2,
            failed: 1,
            tool_calls: 37,
            tokens: 182_340,
            dollars: Some(1.274),
        };
        assert_eq!(
            status(&c, "cases"),
            "12/40 cases done, 2 running, 1 failed, 37 tool calls, 182,340 tokens, $1.27"
        );
        c.tool_calls = 1;
        c.dollars = None;
        assert!(
            status(&c, "cases").ends_with(", 1 tool call, 182,340 tokens"),
            "{}",
            status(&c, "cases")
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn the_time_left_is_the_time_per_unit_times_the_units_left() {
        assert_eq!(left(0, 40, Duration::from_secs(3)), "time left unknown");
        // 30 s a case so far, 28 left: 14 minutes.
        assert_eq!(left(12, 40, Duration::from_secs(360)), "about 14 min left");
        assert_eq!(left(39, 40, Duration::from_secs(78)), "about 2 s left");
        assert_eq!(left(40, 40, Duration::from_secs(78)), "done");
    }

    #[test]
    fn counts_follow_the_runs_that_start_and_end() {
        let bar = hidden(3, "cases");
        bar.start();
        bar.start();
        bar.tool_call();
        bar.end(true, 120, Some(0.5), "a failed");
        let c = bar.counts();
        assert_eq!(
            (
                c.done,
                c.running,
                c.failed,
                c.tool_calls,
                c.tokens,
                c.dollars
            ),
            (1, 1, 1, 1, 120, Some(0.5))
        );
        assert_eq!(
            bar.message(),
            "1/3 cases done, 1 running, 1 failed, 1 tool call, 120 tokens, $0.50"
        );
        // An answer without a price: the dollars are unknown from then on.
        bar.end(false, 10, None, "b");
        assert_eq!(bar.counts().dollars, None);
        assert!(bar.message().ends_with("130 tokens"), "{}", bar.message());
    }

    #[tokio::test]
    async fn a_review_shows_its_parts_tool_calls_and_what_its_meter_counted() {
        let (bar, meter) = (Arc::new(drawn_on(Screen::default()).0), Meter::new());
        let report = follow_review(Arc::clone(&bar), meter.clone());
        report(Step::Asking { parts: 3, files: 7 });
        assert_eq!(
            lock(&bar.state).stage,
            "codex-review: asking the model about 7 file(s)"
        );
        let billed = crate::model::Billed {
            model: "m".into(),
            purpose: "review",
            usage: crate::model::Usage {
                input_tokens: 1_500,
                output_tokens: 200,
                ..Default::default()
            },
            cost_nanos: Some(20_000_000),
        };
        meter.record(Some(billed)).await;
        report(Step::ToolCall);
        report(Step::ToolCall);
        report(Step::Answered {
            done: 1,
            parts: 3,
            files: 7,
        });
        assert_eq!(
            bar.message(),
            "1/3 parts done, 2 tool calls, 1,700 tokens, $0.02"
        );
        report(Step::Verifying { findings: 2 });
        assert_eq!(bar.counts().done, 3);
        assert_eq!(
            lock(&bar.state).stage,
            "codex-review: verifying 2 finding(s)"
        );
    }

    /// A terminal that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            200
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn drawn_on(screen: Screen) -> (Bar, Screen) {
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        (Bar::new(0, "parts", target), screen)
    }

    #[test]
    fn a_drawn_bar_shows_its_counts_and_the_lines_above_it() {
        let (bar, screen) = drawn_on(Screen::default());
        bar.stage("eval");
        bar.set_total(2);
        bar.start();
        bar.end(false, 2_300, Some(0.04), "case a: 1 of 1 found");
        bar.bar.force_draw();
        assert_eq!((bar.bar.position(), bar.bar.length()), (1, Some(2)));
        let drawn = screen.0.lock().unwrap().clone();
        assert!(drawn.contains("case a: 1 of 1 found "), "{drawn:?}");
        assert!(
            !drawn.contains("0/0"),
            "nothing is drawn before the total: {drawn:?}"
        );
        assert!(
            drawn.contains(
                "codex-review: eval [==========>         ] 1/2 parts done, 0 tool calls, 2,300 tokens, $0.04, about"
            ),
            "{drawn:?}"
        );
        bar.finish();
    }
}
