//! The review pipeline: from a queued [`ReviewRequest`] to one review on the pull request.

pub mod anchor;
pub mod publish;

use std::sync::Arc;

use crate::diff::{FileDiff, render_files};
use crate::event::{ReviewRequest, Trigger};
use crate::github::{GitHubApp, GitHubError, NewReview, RepoClient};
use crate::ids::{CommitSha, PrNumber};
use crate::jobs::{ClaimedJob, JobHandler, JobResult};
use crate::metrics::Metrics;
use crate::model::prompt::{self, PromptInput};
use crate::model::{ModelClient, ModelError};
use anchor::{Placement, Unplaced};

/// Inline comments per review; the rest are listed in the summary, most important first.
pub const MAX_INLINE_COMMENTS: usize = 10;
/// Characters of rendered diff sent in one model call (about 100k tokens).
pub const DIFF_BUDGET_CHARS: usize = 400_000;

/// Why a review could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{0}")]
    Internal(String),
}

impl ReviewError {
    fn is_transient(&self) -> bool {
        match self {
            ReviewError::GitHub(e) => e.is_transient(),
            ReviewError::Model(e) => e.is_transient(),
            ReviewError::Internal(_) => false,
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
    },
    AlreadyPosted {
        review_id: u64,
    },
    Skipped(&'static str),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Posted {
                review_id,
                inline,
                summary_only,
            } => {
                format!("posted review {review_id} ({inline} inline, {summary_only} in summary)")
            }
            Outcome::AlreadyPosted { review_id } => {
                format!("review {review_id} was already posted")
            }
            Outcome::Skipped(why) => format!("skipped: {why}"),
        }
    }
}

/// Runs review jobs.
pub struct Reviewer {
    github: GitHubApp,
    model: ModelClient,
    metrics: Arc<Metrics>,
}

impl Reviewer {
    pub fn new(github: GitHubApp, model: ModelClient, metrics: Arc<Metrics>) -> Self {
        Self {
            github,
            model,
            metrics,
        }
    }

    /// Reviews the PR of `req` and posts the result.
    pub async fn review(&self, req: &ReviewRequest) -> Result<Outcome, ReviewError> {
        let gh = self
            .github
            .repo(req.installation, req.repo.clone())
            .map_err(|e| ReviewError::Internal(format!("{e:#}")))?;
        if let Trigger::Comment { comment_id, .. } = &req.trigger
            && let Err(e) = gh.react_eyes(*comment_id).await
        {
            // The review matters more than the reaction; go on.
            tracing::warn!(error = %e, "cannot add the 👀 reaction");
        }
        let pull = gh.pull(req.pr).await?;
        if matches!(req.trigger, Trigger::PullRequest { .. })
            && (pull.state != "open" || pull.draft)
        {
            return Ok(Outcome::Skipped(
                "the pull request is closed or back to draft",
            ));
        }
        let sha = pull.head_sha().ok_or_else(|| {
            ReviewError::Internal("GitHub sent a head SHA that is not a commit id".into())
        })?;
        let trigger_id = req.trigger.marker_id();
        if let Some(review_id) = self.find_posted(&gh, req.pr, &sha, &trigger_id).await? {
            return Ok(Outcome::AlreadyPosted { review_id });
        }

        let files: Vec<FileDiff> = gh
            .files(req.pr)
            .await?
            .into_iter()
            .map(|f| {
                FileDiff::from_github(
                    f.filename,
                    f.previous_filename,
                    &f.status,
                    f.patch.as_deref(),
                    f.additions,
                    f.deletions,
                )
            })
            .collect();
        let mut rendered = render_files(&files, DIFF_BUDGET_CHARS);
        if pull.changed_files > files.len() as u64 {
            rendered.skipped.push((
                format!("{} more files", pull.changed_files - files.len() as u64),
                "GitHub lists at most 3,000 files of a pull request".into(),
            ));
        }

        let (output, usage) = if rendered.reviewed.is_empty() {
            // Nothing the model could read (only binaries, renames...): say so, at no cost.
            (
                crate::model::ReviewOutput {
                    findings: Vec::new(),
                    overall_correctness: "patch is correct".into(),
                    overall_explanation:
                        "This pull request has no line changes that could be reviewed.".into(),
                    overall_confidence_score: 1.0,
                },
                crate::model::Usage::default(),
            )
        } else {
            let message = prompt::user_message(&PromptInput {
                repo: req.repo.as_str(),
                title: &pull.title,
                description: pull.body.as_deref().unwrap_or(""),
                base_ref: &pull.base.name,
                head_ref: &pull.head.name,
                diff: &rendered.text,
                not_shown: &rendered.skipped,
                focus_areas: &req.focus_areas,
            });
            let reply = self
                .model
                .review(&crate::model::client_call(prompt::INSTRUCTIONS, &message))
                .await?;
            self.metrics.tokens(reply.usage);
            tracing::info!(
                response_id = %reply.response_id,
                input_tokens = reply.usage.input_tokens,
                cached_tokens = reply.usage.cached_tokens,
                output_tokens = reply.usage.output_tokens,
                reasoning_tokens = reply.usage.reasoning_tokens,
                findings = reply.review.findings.len(),
                "model answered"
            );
            (reply.review, reply.usage)
        };

        let mut placement = anchor::place(output.findings.clone(), &files, &rendered.reviewed);
        cap_inline(&mut placement, MAX_INLINE_COMMENTS);

        // The head may have moved while the model worked: the review still belongs to the
        // commit it read, and says so.
        let current = gh.pull(req.pr).await.ok().and_then(|p| p.head_sha());
        let moved = current.filter(|c| c != &sha);
        let body = publish::summary(&publish::SummaryInput {
            sha: &sha,
            trigger: &trigger_id,
            output: &output,
            placement: &placement,
            focus_areas: &req.focus_areas,
            not_reviewed: &rendered.skipped,
            reviewed_files: rendered.reviewed.len(),
            model: self.model.model(),
            usage,
            head_moved_to: moved.as_ref(),
        });
        let review = NewReview {
            commit_id: sha.to_string(),
            body,
            event: "COMMENT",
            comments: placement
                .inline
                .iter()
                .map(publish::inline_comment)
                .collect(),
        };
        self.post(&gh, req.pr, review, &placement, &sha, &trigger_id)
            .await
    }

    /// Posts `review`; a lost answer is settled by looking for the marker, and a 422 (which
    /// the anchoring should make impossible) falls back to a review without inline comments.
    async fn post(
        &self,
        gh: &RepoClient,
        pr: PrNumber,
        mut review: NewReview,
        placement: &Placement,
        sha: &CommitSha,
        trigger_id: &str,
    ) -> Result<Outcome, ReviewError> {
        let inline = review.comments.len();
        let summary_only = placement.summary_only.len();
        match gh.create_review(pr, &review).await {
            Ok(review_id) => Ok(Outcome::Posted {
                review_id,
                inline,
                summary_only,
            }),
            Err(e) if e.status() == Some(422) && !review.comments.is_empty() => {
                tracing::error!(error = %e, "GitHub refused the inline comments; posting them in the summary");
                let mut fallback = String::from("\n\n**Inline comments that GitHub refused**\n\n");
                for c in &review.comments {
                    fallback.push_str(&format!(
                        "- `{}` line {} ({}):\n\n{}\n\n",
                        c.path.replace('`', "'"),
                        c.line,
                        c.side,
                        c.body.replace("\n", "\n  ")
                    ));
                }
                review.body.push_str(&publish::sanitize(&fallback, 20_000));
                review.comments.clear();
                let review_id = gh.create_review(pr, &review).await?;
                Ok(Outcome::Posted {
                    review_id,
                    inline: 0,
                    summary_only: summary_only + inline,
                })
            }
            Err(e) if e.is_transient() => {
                // The review may have been created even though the answer was lost.
                if let Ok(Some(review_id)) = self.find_posted(gh, pr, sha, trigger_id).await {
                    return Ok(Outcome::AlreadyPosted { review_id });
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Our review of `sha` for this trigger, if one is on the PR already.
    async fn find_posted(
        &self,
        gh: &RepoClient,
        pr: PrNumber,
        sha: &CommitSha,
        trigger_id: &str,
    ) -> Result<Option<u64>, ReviewError> {
        let bot = self.github.bot_login().await?.to_owned();
        let reviews = gh.reviews(pr).await?;
        Ok(reviews.iter().find_map(|r| {
            let ours = r
                .user
                .as_ref()
                .is_some_and(|u| u.login.eq_ignore_ascii_case(&bot));
            let (m_sha, m_trigger) = publish::read_marker(r.body.as_deref()?)?;
            (ours && m_sha == sha.as_str() && m_trigger == trigger_id).then_some(r.id)
        }))
    }

    async fn report_failure(&self, req: &ReviewRequest, what: &str, advice: &str) {
        let body = publish::failure_comment(&req.trigger.marker_id(), what, advice);
        let posted = match self.github.repo(req.installation, req.repo.clone()) {
            Ok(gh) => gh.comment(req.pr, &body).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("{e:#}")),
        };
        if let Err(e) = posted {
            tracing::error!(error = %e, "cannot post the failure comment");
        }
    }
}

/// Moves inline findings past `max` into the summary (they are sorted most important first).
fn cap_inline(placement: &mut Placement, max: usize) {
    if placement.inline.len() > max {
        let overflow = placement.inline.split_off(max);
        let mut moved: Vec<Unplaced> = overflow
            .into_iter()
            .map(|p| Unplaced {
                finding: p.finding,
                reason: "over the limit of inline comments per review",
            })
            .collect();
        moved.append(&mut placement.summary_only);
        placement.summary_only = moved;
        placement.summary_only.sort_by_key(|u| u.finding.priority);
    }
}

impl JobHandler for Reviewer {
    async fn run(&self, job: &ClaimedJob) -> JobResult {
        match self.review(&job.request).await {
            Ok(outcome) => {
                self.metrics.review(match outcome {
                    Outcome::Posted { .. } => "posted",
                    Outcome::AlreadyPosted { .. } => "already_posted",
                    Outcome::Skipped(_) => "skipped",
                });
                JobResult::Done(outcome.describe())
            }
            Err(e) if e.is_transient() => JobResult::Retry {
                error: e.to_string(),
                after: None,
            },
            Err(e) => {
                self.metrics.review("failed");
                self.report_failure(&job.request, &e.to_string(), e.advice())
                    .await;
                JobResult::Failed(e.to_string())
            }
        }
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
    }
}
