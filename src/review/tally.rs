//! What a job's run spent and found, for the operator page's record of it.
//!
//! Like a tracing span, the tally is carried by the job's task rather than passed through
//! every stage: the stages that learn something (`deliver`, a command's answer) note it, and
//! the job handler records the run when it ends. The run's [`Meter`] rides along the same
//! way, for the model calls made inside the job (they take it when they start). Outside a
//! job (the CLI) the notes go nowhere and calls get a meter of their own.

use std::cell::RefCell;

use crate::pipeline::Spent;
use crate::pipeline::meter::Meter;

/// What the stages noted.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub head_sha: Option<String>,
    /// Findings in the review, by priority P0 to P3.
    pub findings: [i64; 4],
    /// The findings and where they went (the review API's result).
    pub result: Option<serde_json::Value>,
}

struct Tally {
    stats: RefCell<RunStats>,
    meter: Meter,
}

tokio::task_local! {
    static TALLY: Tally;
}

/// Runs `work` with a fresh tally whose model answers `meter` counts; returns its output and
/// what was noted.
pub async fn counted<F: std::future::Future>(meter: Meter, work: F) -> (F::Output, RunStats) {
    let tally = Tally {
        stats: RefCell::new(RunStats::default()),
        meter,
    };
    TALLY
        .scope(tally, async move {
            let output = work.await;
            let stats = TALLY.with(|t| t.stats.borrow().clone());
            (output, stats)
        })
        .await
}

/// Notes something about the current run (nothing outside one).
pub fn note(update: impl FnOnce(&mut RunStats)) {
    let _ = TALLY.try_with(|t| update(&mut t.stats.borrow_mut()));
}

/// The current run's meter; outside a run, a new one that counts in `metrics` only.
pub fn meter(metrics: &std::sync::Arc<crate::metrics::Metrics>) -> Meter {
    TALLY
        .try_with(|t| t.meter.clone())
        .unwrap_or_else(|_| Meter::with_metrics(std::sync::Arc::clone(metrics)))
}

impl super::Reviewer {
    /// What the review spent ([`Spent::of`], from the run's meter), its findings noted in
    /// the run's tally, logged.
    pub(super) fn account(
        &self,
        config: &crate::repo_config::RepoConfig,
        reviewed: &crate::pipeline::Reviewed,
    ) -> Spent {
        let total = Spent::of(&self.model, config, &meter(&self.metrics));
        let placement = &reviewed.placement;
        note(|t| {
            let posted = placement.inline.iter().map(|p| p.finding.priority);
            let listed = placement.summary_only.iter().map(|u| u.finding.priority);
            for priority in posted.chain(listed) {
                t.findings[priority.clamp(0, 3) as usize] += 1;
            }
        });
        let answer = &reviewed.answer;
        if answer.calls > 0 {
            let (usage, tooling) = (total.usage, reviewed.tooling.as_ref());
            tracing::info!(
                model = %total.model,
                calls = answer.calls,
                requests = total.turns,
                tool_calls = tooling.map_or(0, |t| t.calls_used()),
                input_tokens = usage.input_tokens,
                cached_tokens = usage.cached_tokens,
                output_tokens = usage.output_tokens,
                reasoning_tokens = usage.reasoning_tokens,
                cost_usd = total.cost.unwrap_or(f64::NAN),
                "review usage"
            );
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Billed, Usage};

    #[tokio::test]
    async fn notes_and_the_meter_reach_the_run_that_made_them_only() {
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
        note(|s| s.findings[0] = 99);
        meter(&metrics).record(None).await;
        let run = Meter::new();
        let ((), stats) = counted(run.clone(), async {
            let billed = Billed {
                model: "m".into(),
                purpose: "review",
                usage: Usage {
                    input_tokens: 10,
                    ..Usage::default()
                },
                cost_nanos: Some(500),
            };
            meter(&metrics).record(Some(billed)).await;
            note(|s| s.findings[1] += 1);
        })
        .await;
        assert_eq!(stats.findings, [0, 1, 0, 0]);
        assert_eq!(run.total().usage.input_tokens, 10);
        assert_eq!(run.total().cost_nanos, 500);
    }
}
