//! What a job's run spent and found, for the operator page's record of it (and the review
//! API's answer): the job handler makes a [`Tally`] for each run and hands it to the steps
//! that learn something (the head, the review's findings, the API's result); the run's
//! [`Meter`] in it pays for every model answer of the run.

use crate::pipeline::Spent;
use crate::pipeline::meter::Meter;

/// What the steps noted.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub head_sha: Option<String>,
    /// Findings in the review, by priority P0 to P3.
    pub findings: [i64; 4],
    /// The findings and where they went (the review API's result).
    pub result: Option<serde_json::Value>,
}

/// One run's meter and notes.
pub struct Tally {
    pub meter: Meter,
    pub stats: RunStats,
}

impl Tally {
    /// A run whose model answers `meter` counts.
    pub fn new(meter: Meter) -> Self {
        Self {
            meter,
            stats: RunStats::default(),
        }
    }
}

impl super::Reviewer {
    /// What the review spent ([`Spent::of`], from the run's meter), its findings noted in
    /// `tally`, logged.
    pub(super) fn account(
        &self,
        config: &crate::repo_config::RepoConfig,
        reviewed: &crate::pipeline::Reviewed,
        tally: &mut Tally,
    ) -> Spent {
        let total = Spent::of(&self.model, config, &tally.meter);
        let placement = &reviewed.placement;
        let posted = placement.inline.iter().map(|p| p.finding.priority);
        let listed = placement.summary_only.iter().map(|u| u.finding.priority);
        for priority in posted.chain(listed) {
            tally.stats.findings[priority.clamp(0, 3) as usize] += 1;
        }
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
