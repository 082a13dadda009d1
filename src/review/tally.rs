//! What a job's run spent and found, for the operator page's record of it.
//!
//! Like a tracing span, the tally is carried by the job's task rather than passed through
//! every stage: the stages that learn something (`review_and_post`, a command's model call)
//! note it, and the job handler records the run when it ends. Outside a job (the CLI) the
//! notes go nowhere.

use std::cell::RefCell;

use super::pipeline::Spent;
use crate::model::Usage;

/// What the stages noted.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub head_sha: Option<String>,
    /// Findings in the review, by priority P0 to P3.
    pub findings: [i64; 4],
    /// Requests to the model (turns included).
    pub model_calls: i64,
    pub usage: Usage,
    /// USD, when the model's price is known.
    pub cost: Option<f64>,
    /// The findings and where they went (the review API's result).
    pub result: Option<serde_json::Value>,
}

tokio::task_local! {
    static TALLY: RefCell<RunStats>;
}

/// Runs `work` with a fresh tally; returns its output and what was noted.
pub async fn counted<F: std::future::Future>(work: F) -> (F::Output, RunStats) {
    TALLY
        .scope(RefCell::new(RunStats::default()), async move {
            let output = work.await;
            let stats = TALLY.with(|t| t.borrow().clone());
            (output, stats)
        })
        .await
}

/// Notes something about the current run (nothing outside one).
pub fn note(update: impl FnOnce(&mut RunStats)) {
    let _ = TALLY.try_with(|t| update(&mut t.borrow_mut()));
}

/// Adds a model conversation's spend.
pub fn spent(requests: u32, usage: Usage, cost: Option<f64>) {
    note(|s| {
        s.model_calls += i64::from(requests);
        s.usage.add(usage);
        s.cost = match (s.cost, cost) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    });
}

impl super::Reviewer {
    /// What the review spent ([`Spent::of`]), noted with the findings in the run's tally and
    /// the metrics, and logged.
    pub(super) fn account(
        &self,
        config: &crate::repo_config::RepoConfig,
        reviewed: &super::pipeline::Reviewed,
    ) -> Spent {
        let total = Spent::of(&self.model, config, reviewed);
        let placement = &reviewed.placement;
        spent(total.turns, total.usage, total.cost);
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
            self.metrics.cost(total.cost);
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

    #[tokio::test]
    async fn notes_reach_the_run_that_made_them_only() {
        note(|s| s.model_calls = 99);
        let ((), stats) = counted(async {
            spent(
                2,
                Usage {
                    input_tokens: 10,
                    ..Usage::default()
                },
                Some(0.5),
            );
            spent(1, Usage::default(), None);
            note(|s| s.findings[1] += 1);
        })
        .await;
        assert_eq!(stats.model_calls, 3);
        assert_eq!(stats.usage.input_tokens, 10);
        assert_eq!(stats.cost, Some(0.5));
        assert_eq!(stats.findings, [0, 1, 0, 0]);
    }
}
