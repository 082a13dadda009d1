//! One review, start to finish: read the PR, choose and render its files, ask the model
//! (in parallel chunks for large PRs), place the findings, post.

use std::sync::Arc;

use super::ask::{self, Answer, CallSettings, OnTry, Subject, Tooling};
use super::place::{self, cap_inline};
use super::verify::{self, VerifyInput};
use super::{Outcome, ReviewError, Reviewer, earlier, gate, publish};
use crate::diff::FileDiff;
use crate::diff::chunk::{self, Budget, Source};
use crate::event::{ReviewRequest, Trigger};
use crate::github::{NewReview, PullInfo, RepoClient};
use crate::ids::{CommitSha, JobId};
use crate::model::{ReviewOutput, Usage};
use crate::repo_config::ReviewSettings;
use crate::store::{AckState, PostedReview};
use crate::threads;
use crate::worker::Lease;

/// Why a comment's command is not run: its author may not run commands here.
pub(super) const NOT_ALLOWED: &str = "the comment's author is not allowed to run commands";

impl Reviewer {
    /// Reviews the PR of `req` and posts the result. With a `lease`, nothing is posted
    /// unless this worker still holds the job at that moment.
    pub async fn review(
        &self,
        req: &ReviewRequest,
        lease: Option<&Lease>,
        job: Option<(JobId, AckState)>,
    ) -> Result<Outcome, ReviewError> {
        let gh = self
            .github
            .repo(req.installation, req.repo.clone())
            .map_err(ReviewError::Internal)?;
        // The 👀 of the trigger: this worker's to add unless the acknowledgement loop (which
        // runs while every worker is busy) already decided. Asked while the PR is read.
        let (ack, pull) = tokio::join!(
            async {
                match job {
                    // The loop is deciding right now: one decision serves both.
                    Some((job, AckState::InFlight)) => self.job_ack(job).await,
                    Some((_, claimed)) => Ok(claimed),
                    None => Ok(AckState::None),
                }
            },
            gh.pull(req.pr)
        );
        let ack = ack?;
        if ack == AckState::Denied {
            return Ok(Outcome::Skipped(NOT_ALLOWED));
        }
        let pull = pull?;
        let gated = self.gate(&gh, req, &pull).await?;
        // This worker holds the acknowledgement (the row stays `worker`: no loop takes it):
        // the 👀 goes out with the first wave below once the gate let the review through.
        let mut react = None;
        if ack == AckState::Worker
            && let gate::Gate::Review(_) = &gated
            && let Trigger::Comment {
                comment_id,
                in_thread,
                ..
            } = &req.trigger
        {
            react = Some((*comment_id, *in_thread));
        }
        let loaded = match gated {
            gate::Gate::Review(loaded) => loaded,
            gate::Gate::Done(outcome) => {
                if let (Outcome::Skipped(why), Some(sha), true) =
                    (&outcome, pull.head_sha(), req.posts())
                {
                    let loaded = self.load_config(&gh, &req.repo, &pull.base.sha).await?;
                    let url = pull.html_url.as_deref();
                    self.skipped_check(&gh, req.pr, &sha, why, &loaded.config, url)
                        .await;
                }
                return Ok(outcome);
            }
        };
        let config = &loaded.config;
        let sha = pull.head_sha().ok_or_else(|| {
            ReviewError::Internal(anyhow::anyhow!(
                "GitHub sent a head SHA that is not a commit id"
            ))
        })?;
        super::tally::note(|t| t.head_sha = Some(sha.to_string()));
        let gathered = self
            .gather(&gh, req, &pull, &sha, react, wants_tools(&config.review))
            .await?;
        let check = gathered.check;
        let progress = super::progress::Progress::start(&gh, check);
        let result = match gathered.posted {
            Some(review_id) => Ok(Outcome::AlreadyPosted { review_id }),
            None => {
                self.review_and_post(&gh, req, &pull, &loaded, &sha, lease, gathered, &progress)
                    .await
            }
        };
        progress.finish().await;
        if let Some(check) = check {
            let hold = super::check::Hold {
                limit: config.gate.fail_on_priority,
                pr: req.pr,
                pull_url: pull.html_url.as_deref(),
            };
            self.finish_check(&gh, check, &sha, &result, config, &hold)
                .await;
        }
        result
    }

    /// Where the acknowledgement of `job`'s comment stands; waits (up to 10 s) while the
    /// acknowledgement loop is deciding, so that one decision serves both.
    async fn job_ack(&self, job: JobId) -> Result<AckState, ReviewError> {
        for _ in 0..1_000 {
            let state = self.store.take_ack(job).await.map_err(ReviewError::Store)?;
            if state != AckState::InFlight {
                return Ok(state);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Ok(AckState::Worker)
    }

    /// Reads the changes, asks the model, and posts the review (everything after the gate).
    #[allow(clippy::too_many_arguments)]
    async fn review_and_post(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        loaded: &gate::Loaded,
        sha: &CommitSha,
        lease: Option<&Lease>,
        gathered: super::context::Gathered,
        progress: &super::progress::Progress,
    ) -> Result<Outcome, ReviewError> {
        let config = &loaded.config;
        let trigger_id = req.trigger.marker_id();
        let pr_files = gathered.pr_files;
        // After an earlier review, only the commits since then (unless `full`, or the old
        // head is gone or no longer an ancestor, as after a force-push).
        let (since, since_files) = match gathered.since {
            Some((base, files)) => (Some(base), Some(files)),
            None => (None, None),
        };
        let review_files: &[FileDiff] = since_files.as_deref().unwrap_or(&pr_files);
        let (reviewable, mut skipped) = super::filter::select(review_files, &config.paths);
        if since.is_none() && pull.changed_files > pr_files.len() as u64 {
            skipped.push((
                format!("{} more files", pull.changed_files - pr_files.len() as u64),
                "GitHub lists at most 3,000 files of a pull request".into(),
            ));
        }
        let (contents, guidelines) = self
            .read_wide(
                gh,
                sha,
                &pull.base.sha,
                &reviewable,
                config,
                gathered.base_tree.as_deref(),
            )
            .await;
        let sources: Vec<Source<'_>> = reviewable
            .iter()
            .map(|file| Source {
                file,
                content: contents.get(&file.path).map(String::as_str),
            })
            .collect();
        let plan = chunk::plan(
            &sources,
            Budget {
                tokens_per_call: self.limits.diff_tokens_per_call(),
                max_calls: self.limits.max_calls,
            },
        );
        skipped.extend(plan.skipped.iter().cloned());
        let codebase = gathered.codebase;
        let limits = config.review.budget.apply(self.tool_limits);
        let tooling = codebase
            .toolbox
            .clone()
            .filter(|_| limits.turns > 0)
            .map(|toolbox| Tooling {
                toolbox,
                budget: Arc::new(crate::model::ToolBudget::new(limits)),
            });
        let metrics = self.metrics.clone();
        let on_try: OnTry = Arc::new(move |usage| match usage {
            Some(usage) => {
                metrics.model_call("ok");
                metrics.tokens(usage);
            }
            None => metrics.model_call("error"),
        });

        let earlier = self
            .earlier_findings(gh, req, sha, config, &contents, tooling.as_ref())
            .await;

        let answer = if plan.chunks.is_empty() {
            // Nothing the model could read (only binaries, lock files...): say so, at no cost.
            nothing_to_review()
        } else {
            let mut call = self
                .call_settings(req, config, guidelines, tooling.clone(), &earlier)
                .await;
            call.on_part = report_parts(progress, &plan);
            let subject = Subject {
                repo: req.repo.as_str(),
                title: &pull.title,
                description: pull.body.as_deref().unwrap_or(""),
                base_ref: &pull.base.name,
                head_ref: &pull.head.name,
                since: since.as_ref().map(CommitSha::short),
            };
            ask::ask_model(
                &self.model,
                &self.model_slots,
                &subject,
                &plan,
                &call,
                &mut skipped,
                on_try.clone(),
            )
            .await?
        };

        // Inline comments go on the PR's own diff, whatever diff the model read.
        let mut placement = place::place(answer.output.findings.clone(), &pr_files, &plan.reviewed);
        place::settle_outside_files(&mut placement, tooling.as_ref(), gh, sha).await;
        if since.is_some() {
            place::left_side_to_summary(
                &mut placement,
                "it points at a deleted line of an earlier commit of this pull request",
            );
        }
        let known = self
            .store
            .posted_fingerprints(&req.repo, req.pr)
            .await
            .map_err(ReviewError::Store)?;
        let mut drops = super::result::Drops::default();
        let super::filter::Filtered {
            below,
            dismissed,
            repeated,
            mut remembered,
        } = super::filter::filter(
            &mut placement,
            &config.review,
            &earlier,
            &known,
            &pr_files,
            &mut drops,
        );
        let verification = if config.review.verify && answer.calls > 0 {
            let head_text = |path: &str| contents.get(path).cloned();
            let input = VerifyInput {
                model: &self.model,
                slots: &self.model_slots,
                repo: req.repo.as_str(),
                pr_title: &pull.title,
                files: &pr_files,
                head_text: &head_text,
                tooling: tooling.as_ref(),
                model_name: config.review.model.as_deref(),
                reasoning_effort: config.review.reasoning_effort.map(|e| e.as_str()),
                on_try: on_try.clone(),
            };
            Some(
                verify::stage(
                    &input,
                    &mut placement,
                    config.review.verify_priority,
                    progress,
                    &mut drops,
                    &mut remembered,
                )
                .await,
            )
        } else {
            None
        };
        let worst = placement
            .inline
            .iter()
            .map(|p| p.finding.priority)
            .chain(placement.summary_only.iter().map(|u| u.finding.priority))
            .min();
        cap_inline(&mut placement, config.review.max_inline_comments);

        // New commits while the model worked: a review of the old head is stale. A person's
        // request is run again on the new head; an automatic one is left to its newer event.
        // Another worker may have posted while this one waited on the model: both are asked
        // at once.
        let (current, posted) = tokio::join!(
            gh.pull(req.pr),
            self.find_posted(gh, req.pr, sha, &trigger_id)
        );
        let current = current?.head_sha();
        if let Some(current) = current.filter(|c| c != sha) {
            return match req.trigger {
                Trigger::Comment { .. } | Trigger::Api { .. } => Err(ReviewError::HeadMoved {
                    from: sha.to_string(),
                    to: current.to_string(),
                }),
                Trigger::PullRequest { .. } | Trigger::CheckRun { .. } => Ok(Outcome::Skipped(
                    "superseded: new commits arrived during the review",
                )),
            };
        }
        let settled = if req.posts() {
            threads::settle(
                gh,
                &self.store,
                &req.repo,
                req.pr,
                &earlier,
                &answer.output.fixed_finding_ids,
            )
            .await
        } else {
            threads::Settled::default()
        };
        if req.posts() && !repeated.is_empty() {
            // Reported again: still there, so still holding the gate where it applies.
            self.store
                .mark_seen(&req.repo, req.pr, &repeated, sha.as_str())
                .await
                .map_err(ReviewError::Store)?;
        }
        let result = super::result::result(&answer.output, &placement, &drops);
        super::tally::note(|t| t.result = Some(result));
        // An automatic re-review with nothing new and nothing fixed stays quiet.
        // (A check's "Re-run" is a person's request too.)
        let automatic = matches!(req.trigger, Trigger::PullRequest { .. });
        if automatic
            && placement.inline.is_empty()
            && placement.summary_only.is_empty()
            && settled.is_empty()
            && self
                .store
                .last_reviewed_sha(&req.repo, req.pr)
                .await
                .map_err(ReviewError::Store)?
                .is_some()
        {
            return Ok(Outcome::Quiet);
        }
        let super::tally::Spent {
            model_used,
            usage,
            turns,
            cost,
            verify_cost,
        } = self.account(
            config,
            &answer,
            verification.as_ref(),
            &placement,
            tooling.as_ref(),
        );
        let blob_base = pull.blob_base(sha);
        let trace = tooling.as_ref().map(|t| t.toolbox.trace());
        let body = publish::summary(&publish::SummaryInput {
            sha,
            trigger: &trigger_id,
            output: &answer.output,
            placement: &placement,
            focus_areas: &req.focus_areas,
            not_reviewed: &skipped,
            reviewed_files: plan.reviewed.len(),
            model_calls: turns as usize,
            model: &model_used,
            usage,
            cost,
            since: since.as_ref(),
            repeated: repeated.len(),
            below_thresholds: below,
            config_error: loaded.error.as_ref().map(ToString::to_string),
            blob_base: blob_base.as_deref(),
            verification: verification.as_ref(),
            verify_cost,
            trace: trace.as_ref(),
            codebase_note: codebase.note.as_deref(),
            earlier: &earlier::settled_section(&settled),
            dismissed,
            ignored_reactions: earlier.ignored_reactions,
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
        if let Some(review_id) = posted? {
            return Ok(Outcome::AlreadyPosted { review_id });
        }
        if !req.posts() {
            return Ok(Outcome::NotPosted);
        }
        if let Some(lease) = lease
            && !lease.confirm().await
        {
            return Err(ReviewError::LeaseLost);
        }
        let mut outcome = self
            .post(gh, req.pr, review, &placement, sha, &trigger_id)
            .await?;
        if let Outcome::Posted {
            worst_priority,
            nothing_to_review,
            ..
        } = &mut outcome
        {
            *worst_priority = worst;
            *nothing_to_review = plan.chunks.is_empty();
        }
        if let Outcome::Posted { review_id, .. } | Outcome::AlreadyPosted { review_id } = outcome {
            let recorded = self
                .store
                .record_review(PostedReview {
                    repo: &req.repo,
                    pr: req.pr,
                    head_sha: sha,
                    trigger_id: &trigger_id,
                    review_id,
                    findings: &remembered,
                })
                .await;
            if let Err(e) = recorded {
                // The review is on GitHub; only the memory of it is missing.
                tracing::error!(error = format!("{e:#}"), "cannot record the posted review");
            }
            if let Outcome::Posted { .. } = outcome {
                self.attach_threads(gh, req, review_id, &placement, &pr_files)
                    .await;
            }
        }
        Ok(outcome)
    }
}

/// A function that reports progress from another task (the parts run on their own).
fn progress_sender(
    progress: &super::progress::Progress,
) -> impl Fn(String, String) + Send + Sync + 'static {
    let tx = progress.sender();
    move |title, summary| {
        if let Some(tx) = &tx {
            let _ = tx.send(Some((title, summary)));
        }
    }
}

/// Whether the repository lets the model read it (tools on, with turns to use them).
fn wants_tools(review: &ReviewSettings) -> bool {
    review.tools && review.budget.tool_turns != Some(0)
}

impl Reviewer {
    /// What every model call of the review shares: focus areas (the request's, then the
    /// repository's), guidelines, maintainer notes, the repository's model settings, tools and
    /// the earlier findings to judge.
    async fn call_settings(
        &self,
        req: &ReviewRequest,
        config: &crate::repo_config::RepoConfig,
        guidelines: String,
        tooling: Option<Tooling>,
        earlier: &threads::Earlier,
    ) -> CallSettings {
        let mut focus_areas = req.focus_areas.clone();
        for area in &config.review.focus_areas {
            if !focus_areas.contains(area) {
                focus_areas.push(area.clone());
            }
        }
        let notes = if config.review.learnings {
            self.learnings_for_model(req).await
        } else {
            String::new()
        };
        CallSettings {
            focus_areas,
            guidelines,
            notes,
            language: config.review.language.clone(),
            suggestions: config.review.suggestions,
            model: config.review.model.clone(),
            reasoning_effort: config
                .review
                .reasoning_effort
                .map(|e| e.as_str().to_owned()),
            tooling,
            earlier: earlier.prompt_section(),
            on_part: None,
        }
    }
}

/// The answer of a review with nothing the model could read.
fn nothing_to_review() -> Answer {
    Answer {
        output: ReviewOutput {
            findings: Vec::new(),
            overall_correctness: "patch is correct".into(),
            overall_explanation: "This pull request has no changes that could be reviewed.".into(),
            overall_confidence_score: 1.0,
            fixed_finding_ids: Vec::new(),
        },
        usage: Usage::default(),
        calls: 0,
        turns: 0,
    }
}

/// Says on the check run that the model is reviewing; for a review in parts, returns what
/// reports each part as it is answered.
fn report_parts(
    progress: &super::progress::Progress,
    plan: &chunk::Plan,
) -> Option<Arc<dyn Fn(usize, usize) + Send + Sync>> {
    let parts = plan.chunks.len();
    if parts <= 1 {
        progress.report(
            "Reviewing",
            "The model is reviewing this pull request.".to_owned(),
        );
        return None;
    }
    let files = plan.reviewed.len();
    progress.report(
        format!("Reviewing: 0 of {parts} parts"),
        format!("The model is reviewing the {files} files of this pull request in {parts} parts."),
    );
    let report = progress_sender(progress);
    Some(Arc::new(move |done, total| {
        report(
            format!("Reviewing: part {done} of {total} answered"),
            format!(
                "The model is reviewing the {files} files of this pull request in {total} parts; {done} answered."
            ),
        )
    }))
}
