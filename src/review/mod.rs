//! The App's job handler: from a queued [`ReviewRequest`] to what it asks for on the pull
//! request, exactly once.
//!
//! A comment's command other than a review runs first (`command`: who may, then its handler
//! in `crate::commands`). A review goes through `gate` (may it run, and how), `context` (the
//! PR's files, the repository snapshot and its tools, guidelines, earlier findings, read from
//! GitHub), the shared pipeline (`crate::pipeline`), then `run::deliver` and `post` (exactly
//! once) and `check` (the check run). Each run's meter and notes (`tally`) are passed to the
//! steps that learn something and kept with the job's record.

mod ack;
mod check;
mod command;
pub mod context;
mod earlier;
mod gate;
mod post;
mod progress;
mod run;
pub mod spend;
pub(crate) mod tally;

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::event::ReviewRequest;
use crate::github::{GitHubApp, GitHubError};
use crate::metrics::Metrics;
use crate::model::{ModelClient, ModelError};
use crate::pipeline::meter;
use crate::pipeline::{Hidden, Limits, PipelineError};
use crate::store::{ClaimedJob, Store};
use crate::worker::{JobHandler, JobResult, Lease};

/// Why a review could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Internal(anyhow::Error),
    /// New commits arrived while the review ran; it is not posted for the old head.
    #[error("the pull request's head moved from {from} to {to} during the review")]
    HeadMoved { from: String, to: String },
    /// This worker's lease expired and another worker took the job over.
    #[error("the job's lease was lost")]
    LeaseLost,
    #[error("database")]
    Store(#[source] anyhow::Error),
}

impl From<PipelineError> for ReviewError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Model(e) => ReviewError::Model(e),
            PipelineError::Internal(e) => ReviewError::Internal(e),
        }
    }
}

impl ReviewError {
    /// Whether the worker runs the job again after this error (so its check run stays in
    /// progress). The last attempt's transient error also says yes: `give_up` then concludes
    /// the check.
    fn will_retry(&self) -> bool {
        !matches!(self, ReviewError::HeadMoved { .. } | ReviewError::LeaseLost)
            && self.is_transient()
    }

    fn is_transient(&self) -> bool {
        match self {
            ReviewError::GitHub(e) => e.is_transient(),
            ReviewError::Model(e) => e.is_transient(),
            ReviewError::Internal(_) => false,
            ReviewError::HeadMoved { .. } | ReviewError::LeaseLost => true,
            ReviewError::Store(_) => true,
        }
    }

    /// What the person reading the failure comment can do about it.
    fn advice(&self) -> &'static str {
        match self {
            ReviewError::Model(ModelError::QuotaExhausted { .. }) => {
                "The OpenAI account behind this app has run out of quota: an operator needs to add credit or raise the limit. Then comment `@codex review` to try again."
            }
            ReviewError::Model(ModelError::Api {
                status: 401 | 403, ..
            }) => {
                "The model API refused the app's credentials: an operator should check `OPENAI_API_KEY` and the model's access. Then comment `@codex review` to try again."
            }
            ReviewError::GitHub(e) if e.status() == Some(404) => {
                "The pull request could not be read: it may have been deleted, or the app's access to this repository removed."
            }
            ReviewError::GitHub(e) if e.status() == Some(403) => {
                "The app lacks a permission it needs: an organisation admin should accept the app's requested permissions. Then comment `@codex review` to try again."
            }
            _ => {
                "Comment `@codex review` to try again. If it keeps failing, the operator's logs have the details."
            }
        }
    }
}

/// What a finished job did (kept with the job, counted in metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Posted {
        review_id: u64,
        inline: usize,
        summary_only: usize,
        /// The most urgent priority posted (0 = must fix), if any finding was.
        worst_priority: Option<i64>,
        /// No file could be shown to the model, and what hid them.
        nothing_to_review: Option<Hidden>,
    },
    AlreadyPosted {
        review_id: u64,
    },
    /// An automatic re-review found nothing new and nothing fixed: no review is posted (the
    /// check run still reports).
    Quiet,
    Skipped(&'static str),
    /// Not run: a limit or spend cap is reached (what it is and when it resets).
    Limited(String),
    /// A command answered with a comment.
    Replied(&'static str),
    /// Reviewed for the review API with `post: false`: nothing was posted.
    NotPosted,
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Posted {
                review_id,
                inline,
                summary_only,
                ..
            } => {
                format!("posted review {review_id} ({inline} inline, {summary_only} in summary)")
            }
            Outcome::AlreadyPosted { review_id } => {
                format!("review {review_id} was already posted")
            }
            Outcome::Quiet => "nothing new: no review posted".into(),
            Outcome::Skipped(why) => format!("skipped: {why}"),
            Outcome::Limited(why) => format!("not run: {why}"),
            Outcome::Replied(what) => format!("replied: {what}"),
            Outcome::NotPosted => "reviewed; not posted (post: false)".into(),
        }
    }
}

/// Runs review jobs.
pub struct Reviewer {
    pub(crate) github: GitHubApp,
    pub(crate) model: ModelClient,
    pub(crate) store: Store,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: Limits,
    pub(crate) config_cache: gate::ConfigCache,
    pub(crate) trees: context::TreeCache,
    /// The mention that triggers commands, without `@`.
    pub(crate) bot_handle: String,
    /// Repository snapshots for the model's tools (`None`: no tools).
    pub(crate) snapshots: Option<crate::codebase::SnapshotStore>,
    /// The service's tool budgets (a repository may lower them).
    pub(crate) tool_limits: crate::model::ToolLimits,
    /// The service's spend caps and per-person limit.
    pub(crate) spend: crate::review::spend::SpendCaps,
}

impl Reviewer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        github: GitHubApp,
        model: ModelClient,
        store: Store,
        metrics: Arc<Metrics>,
        limits: Limits,
        bot_handle: &str,
        snapshots: Option<crate::codebase::SnapshotStore>,
        tool_limits: crate::model::ToolLimits,
    ) -> Self {
        Self {
            github,
            // Model requests in flight across all reviews of this process.
            model: model.limited(Arc::new(Semaphore::new(limits.model_concurrency.max(1)))),
            store,
            metrics,
            limits,
            config_cache: gate::ConfigCache::default(),
            trees: context::TreeCache::default(),
            bot_handle: bot_handle.to_owned(),
            snapshots,
            tool_limits,
            spend: crate::review::spend::SpendCaps::default(),
        }
    }

    /// With the service's spend caps instead of the defaults.
    pub fn with_spend_caps(mut self, spend: crate::review::spend::SpendCaps) -> Self {
        self.spend = spend;
        self
    }

    async fn report_failure(&self, req: &ReviewRequest, what: &str, advice: &str) {
        if let crate::event::Trigger::Api { review, .. } = &req.trigger
            && let Err(e) = self.store.fail_api_review(review, what, advice).await
        {
            tracing::error!(
                error = format!("{e:#}"),
                "cannot record the API review's failure"
            );
        }
        if !req.posts() {
            return;
        }
        let body = crate::markdown::failure_comment(&req.trigger.marker_id(), what, advice);
        let gh = match self.github.repo(req.installation, req.repo.clone()) {
            Ok(gh) => gh,
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "cannot post the failure comment");
                return;
            }
        };
        if let Err(e) = gh.comment(req.pr, &body).await {
            tracing::error!(error = %crate::error_chain::chain(&e), "cannot post the failure comment");
        }
        self.fail_open_check(&gh, req.pr, what).await;
    }
}

impl JobHandler for Reviewer {
    async fn run(&self, job: &ClaimedJob, lease: &Lease) -> JobResult {
        let started = std::time::Instant::now();
        let started_at = crate::store::now_ms();
        self.metrics.queue_wait(job.waited);
        let meter = self.meter_of(job);
        // On the heap: a review's future is large, and a task's first poll is on the stack.
        let mut tally = tally::Tally::new(meter.clone());
        let result = Box::pin(self.review(&job.request, Some(lease), Some(job), &mut tally)).await;
        let stats = tally.stats;
        let spent = meter.total();
        self.metrics.review_duration(started.elapsed());
        let (kind, review_id) = match &result {
            Ok(Outcome::Posted { review_id, .. }) => ("posted", Some(*review_id)),
            Ok(Outcome::AlreadyPosted { review_id }) => ("already_posted", Some(*review_id)),
            Ok(Outcome::Quiet) => ("quiet", None),
            Ok(Outcome::Skipped(_) | Outcome::Limited(_)) => ("skipped", None),
            Ok(Outcome::Replied(_)) => ("replied", None),
            Ok(Outcome::NotPosted) => ("not_posted", None),
            Err(_) => ("retry", None),
        };
        let done = match result {
            Ok(outcome) => {
                self.metrics.review(match outcome {
                    Outcome::Posted { .. } => "posted",
                    Outcome::AlreadyPosted { .. } => "already_posted",
                    Outcome::Quiet => "quiet",
                    Outcome::NotPosted => "not_posted",
                    Outcome::Skipped(_) | Outcome::Limited(_) | Outcome::Replied(_) => "skipped",
                });
                JobResult::Done(outcome.describe())
            }
            // Another worker runs the job now and records its own run; this one's answers were
            // paid for all the same.
            Err(ReviewError::LeaseLost) => JobResult::Abandoned(ReviewError::LeaseLost.to_string()),
            Err(e @ ReviewError::HeadMoved { .. }) => JobResult::Retry {
                // Review the new head right away; a push is not a failure.
                error: e.to_string(),
                after: Some(std::time::Duration::ZERO),
                counted: false,
            },
            Err(ReviewError::GitHub(e)) if e.retry_in().is_some() => JobResult::Retry {
                // GitHub's rate limit resets later: wait for it without spending an attempt.
                error: crate::error_chain::chain(&e),
                after: e.retry_in(),
                counted: false,
            },
            Err(e) if e.is_transient() => JobResult::Retry {
                error: crate::error_chain::chain(&e),
                after: None,
                counted: true,
            },
            Err(e) => {
                self.metrics.review("failed");
                self.report_failure(&job.request, &crate::error_chain::chain(&e), e.advice())
                    .await;
                JobResult::Failed(crate::error_chain::chain(&e))
            }
        };
        let (kind, detail) = match &done {
            JobResult::Done(outcome) => (kind, outcome.clone()),
            JobResult::Failed(error) => ("failed", error.clone()),
            JobResult::Retry { error, .. } | JobResult::Abandoned(error) => (kind, error.clone()),
        };
        let run = Run {
            outcome: kind,
            detail,
            review_id,
            stats,
            spent,
            started_at,
        };
        self.record_run(job, run).await;
        done
    }

    async fn give_up(&self, job: &ClaimedJob, error: &str) {
        self.metrics.review("failed");
        let what = format!(
            "It failed {} times; the last error was: {error}",
            job.attempt
        );
        self.report_failure(
            &job.request,
            &what,
            "This looks temporary (rate limits or an outage). Comment `@codex review` to try again later.",
        )
        .await;
        let run = Run {
            outcome: "failed",
            detail: what,
            review_id: None,
            stats: tally::RunStats::default(),
            spent: meter::Metered::default(),
            started_at: crate::store::now_ms(),
        };
        self.record_run(job, run).await;
    }
}

/// What one run of a job did, for its record.
struct Run {
    outcome: &'static str,
    detail: String,
    review_id: Option<u64>,
    stats: tally::RunStats,
    /// Every model answer of the run.
    spent: meter::Metered,
    started_at: i64,
}

impl Reviewer {
    /// The meter of a run of `job`: its answers are kept in the store as they arrive,
    /// charged to the job's installation, repository, pull request and person.
    fn meter_of(&self, job: &ClaimedJob) -> meter::Meter {
        let req = &job.request;
        let charge = crate::store::UsageRecord {
            job_id: job.id.0 as i64,
            installation_id: req.installation.0 as i64,
            repo: req.repo.to_string(),
            pr_number: req.pr.0 as i64,
            person: req.trigger.person(),
            ..crate::store::UsageRecord::default()
        };
        meter::Meter::charged(Arc::clone(&self.metrics), self.store.clone(), charge)
    }

    /// Keeps what a run did for the operator page (a failure to keep it is only logged).
    async fn record_run(&self, job: &ClaimedJob, run: Run) {
        let Run {
            outcome,
            detail,
            review_id,
            stats,
            spent,
            started_at,
        } = run;
        let req = &job.request;
        let run = crate::store::RunRecord {
            job_id: job.id.0 as i64,
            repo: req.repo.to_string(),
            pr_number: req.pr.0 as i64,
            head_sha: stats
                .head_sha
                .or_else(|| req.head_sha().map(ToString::to_string)),
            trigger_kind: match &req.trigger {
                crate::event::Trigger::Comment { .. } => "comment",
                crate::event::Trigger::PullRequest { .. } => "pull_request",
                crate::event::Trigger::CheckRun { .. } => "check_run",
                crate::event::Trigger::Api { .. } => "api",
            }
            .to_owned(),
            outcome: outcome.to_owned(),
            detail,
            review_id: review_id.map(|id| id as i64),
            findings: stats.findings,
            model_calls: i64::from(spent.responses),
            input_tokens: spent.usage.input_tokens as i64,
            cached_tokens: spent.usage.cached_tokens as i64,
            output_tokens: spent.usage.output_tokens as i64,
            cost_micros: (spent.unpriced == 0).then_some((spent.cost_nanos + 500) / 1_000),
            started_at,
            finished_at: crate::store::now_ms(),
            installation_id: Some(req.installation.0 as i64),
            person: req.trigger.person(),
        };
        if let Err(e) = self.store.record_run(&run).await {
            tracing::warn!(error = format!("{e:#}"), "cannot record the run");
        }
        // The review API's answer, once the job is done (a failure is recorded with its
        // explanation by `report_failure`).
        if let crate::event::Trigger::Api { review, .. } = &req.trigger
            && !matches!(outcome, "retry" | "failed")
        {
            let status = match outcome {
                "skipped" | "replied" => "skipped",
                _ => "done",
            };
            // What the review cost is every attempt's answers (a push or a lost lease may have
            // run it more than once).
            let all = match self.store.usage_of_job(run.job_id).await {
                Ok(all) => all,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "cannot read the job's usage");
                    crate::store::UsageTotals {
                        responses: run.model_calls,
                        input_tokens: run.input_tokens,
                        cached_tokens: run.cached_tokens,
                        output_tokens: run.output_tokens,
                        cost_nanos: run.cost_micros.unwrap_or(0) * 1_000,
                    }
                }
            };
            let finished = crate::store::ApiFinish {
                status,
                detail: &run.detail,
                head_sha: run.head_sha.as_deref(),
                review_id: run.review_id,
                result: stats.result.as_ref(),
                model_calls: all.responses,
                input_tokens: all.input_tokens,
                cached_tokens: all.cached_tokens,
                output_tokens: all.output_tokens,
                cost_micros: run.cost_micros.map(|_| (all.cost_nanos + 500) / 1_000),
            };
            if let Err(e) = self.store.finish_api_review(review, &finished).await {
                tracing::error!(
                    error = format!("{e:#}"),
                    "cannot record the API review's result"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_error_keeps_its_chain() {
        let cause = anyhow::anyhow!("disk I/O error").context("saving a finding's state");
        let e = ReviewError::Store(cause);
        // Shown once, whole; the error's own text does not repeat its cause.
        assert_eq!(
            crate::error_chain::chain(&e),
            "database: saving a finding's state: disk I/O error"
        );
        assert_eq!(e.to_string(), "database");
        let internal = ReviewError::Internal(anyhow::anyhow!("no head").context("posting"));
        assert_eq!(crate::error_chain::chain(&internal), "posting: no head");
        let source = std::error::Error::source(&e).expect("the cause is kept");
        assert_eq!(source.to_string(), "saving a finding's state");
        assert!(e.will_retry());
    }
}
