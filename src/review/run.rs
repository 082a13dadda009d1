//! The App's orchestration of one review (the review API's too): the gate, the context read
//! from GitHub, the shared pipeline, then the delivery (a stale head, the earlier findings it
//! settled, a quiet re-review, the post) and the check run.

use super::tally::Tally;
use super::{Outcome, ReviewError, Reviewer, gate};
use crate::event::{Command, ReviewRequest, Trigger};
use crate::github::{PullInfo, RepoClient};
use crate::ids::{CommitSha, JobId};
use crate::markdown;
use crate::pipeline::meter::Meter;
use crate::pipeline::progress::Reporter;
use crate::pipeline::{self, Context, Described, Destination, Engine, Reviewed};
use crate::store::{AckState, ClaimedJob, PostedReview};
use crate::threads;
use crate::worker::Lease;

impl Reviewer {
    /// Reviews the PR of `req` and posts the result. With a `lease`, nothing is posted
    /// unless this worker still holds the job at that moment.
    pub async fn review(
        &self,
        req: &ReviewRequest,
        lease: Option<&Lease>,
        job: Option<&ClaimedJob>,
        tally: &mut Tally,
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
                    Some(job) if job.ack == AckState::InFlight => self.job_ack(job.id).await,
                    Some(job) => Ok(job.ack),
                    None => Ok(AckState::None),
                }
            },
            gh.pull(req.pr)
        );
        let ack = ack?;
        if ack == AckState::Denied {
            return Ok(Outcome::Skipped(super::gate::NOT_ALLOWED));
        }
        let pull = pull?;
        // A comment's command other than a review runs before the review's gate.
        if !matches!(req.command, Command::Review { .. }) {
            return self.command(&gh, req, &pull, &tally.meter).await;
        }
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
            // The job was stored with its delivery: the 👀's wait starts there.
            let since = job.map_or_else(crate::store::now_ms, |j| j.created_at);
            react = Some((*comment_id, *in_thread, since));
        }
        let loaded = match gated {
            gate::Gate::Review(loaded) => loaded,
            gate::Gate::NotAutomatic(skip) => {
                if let (Some(sha), true) = (pull.head_sha(), req.posts()) {
                    let loaded = self.load_config(&gh, &req.repo, &pull.base.sha).await?;
                    let url = pull.html_url.as_deref();
                    self.skipped_check(&gh, req.pr, &sha, skip, &loaded.config, url)
                        .await;
                }
                return Ok(Outcome::Skipped(skip.text()));
            }
            gate::Gate::Done(outcome) => return Ok(outcome),
        };
        let config = &loaded.config;
        let sha = pull.head_sha().ok_or_else(|| {
            ReviewError::Internal(anyhow::anyhow!(
                "GitHub sent a head SHA that is not a commit id"
            ))
        })?;
        tally.stats.head_sha = Some(sha.to_string());
        let gathered = self
            .gather(
                &gh,
                req,
                &pull,
                &sha,
                react,
                pipeline::wants_tools(&config.review),
            )
            .await?;
        let check = gathered.check;
        let progress = super::progress::Progress::start(&gh, check);
        let result = match gathered.posted {
            Some(review_id) => Ok(Outcome::AlreadyPosted { review_id }),
            None => {
                async {
                    let ctx = self
                        .context(&gh, req, &pull, &loaded, &sha, gathered)
                        .await?;
                    let engine = self.engine(progress.reporter(), tally.meter.clone());
                    let reviewed = pipeline::review(&engine, &ctx).await?;
                    self.deliver(req, &pull, &ctx, reviewed, lease, tally).await
                }
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

    /// The model half's engine: this process's model, slots and limits, its answers paid
    /// through the run's meter.
    pub(crate) fn engine(&self, report: Reporter, meter: Meter) -> Engine<'_> {
        Engine {
            model: &self.model,
            limits: &self.limits,
            tool_limits: self.tool_limits,
            meter,
            report,
        }
    }

    /// The App's context stage: after the first wave, the files the model is shown, their
    /// content and the guidelines, the earlier findings, and the maintainers' notes.
    async fn context(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        loaded: &crate::repo_config::Loaded,
        sha: &CommitSha,
        gathered: super::context::Gathered,
    ) -> Result<Context, ReviewError> {
        let config = &loaded.config;
        let pr_files = gathered.pr_files;
        // After an earlier review, only the commits since then (unless `full`, or the old
        // head is gone or no longer an ancestor, as after a force-push).
        let since = gathered.since;
        let review_files = since.as_ref().map_or(&pr_files, |(_, files)| files);
        let (reviewable, mut not_reviewed) =
            crate::pipeline::filter::select(review_files, &config.paths);
        if since.is_none() && pull.changed_files > pr_files.len() as u64 {
            not_reviewed.push((
                format!("{} more files", pull.changed_files - pr_files.len() as u64),
                "GitHub lists at most 3,000 files of a pull request".into(),
            ));
        }
        let base_tree = gathered.base_tree.as_deref();
        let codebase = gathered.codebase;
        let toolbox = codebase.toolbox.as_ref();
        let (contents, guidelines) = super::context::read_wide(
            gh,
            sha,
            &pull.base.sha,
            &reviewable,
            config,
            base_tree,
            toolbox,
        )
        .await;
        let selected = reviewable.iter().map(|f| f.path.clone()).collect();
        // The notes after the earlier findings: reading those records the dismissals whose
        // reasons become notes.
        let (earlier_and_notes, known) = tokio::join!(
            async {
                let earlier = self
                    .earlier_findings(gh, req, sha, config, &contents, toolbox)
                    .await;
                let notes = match config.review.learnings {
                    true => crate::commands::notes_for_model(&self.store, &req.repo).await,
                    false => String::new(),
                };
                (earlier, notes)
            },
            self.store.posted_fingerprints(&req.repo, req.pr)
        );
        let (earlier, notes) = earlier_and_notes;
        Ok(Context {
            described: Described {
                repo: req.repo.to_string(),
                title: pull.title.clone(),
                description: pull.body.clone().unwrap_or_default(),
                base_ref: pull.base.name.clone(),
                head_ref: pull.head.name.clone(),
            },
            config: config.clone(),
            config_error: loaded.error.as_ref().map(ToString::to_string),
            focus_areas: req.command.focus_areas().to_vec(),
            pr_files,
            since,
            selected,
            not_reviewed,
            contents,
            guidelines,
            notes,
            toolbox: codebase.toolbox,
            codebase_note: codebase.note,
            earlier,
            known: known.map_err(ReviewError::Store)?,
            verify: true,
            head: Some((gh.clone(), sha.clone())),
        })
    }

    /// After the pipeline: a stale head is not posted; earlier findings are settled; a quiet
    /// re-review stays quiet; else the review is published and posted exactly once.
    async fn deliver(
        &self,
        req: &ReviewRequest,
        pull: &PullInfo,
        ctx: &Context,
        reviewed: Reviewed,
        lease: Option<&Lease>,
        tally: &mut Tally,
    ) -> Result<Outcome, ReviewError> {
        // The head the context was read at, and the repository's client.
        let Some((gh, sha)) = &ctx.head else {
            return Err(ReviewError::Internal(anyhow::anyhow!("no head to post on")));
        };
        let trigger_id = req.trigger.marker_id();
        // Another worker may have posted while this one waited on the model: asked at once
        // with the head.
        let (current, posted) = tokio::join!(
            gh.pull(req.pr),
            self.find_posted(gh, req.pr, sha, &trigger_id)
        );
        if let Some(stale) = stale(req, sha, current?.head_sha()) {
            return stale;
        }
        let mut settled = match req.posts() {
            true => {
                let fixed = &reviewed.answer.output.fixed_finding_ids;
                threads::settle(gh, &self.store, &req.repo, req.pr, &ctx.earlier, fixed).await
            }
            false => threads::Settled::default(),
        };
        let repeats = &reviewed.filtered.repeats;
        if req.posts() {
            // Marked fixed, reported again: its thread holds the gate again.
            threads::reopen(
                gh,
                &self.store,
                req.pr,
                sha,
                &repeats.reopened,
                &mut settled,
            )
            .await
            .map_err(|e| match e {
                threads::EarlierError::GitHub(e) => ReviewError::GitHub(e),
                threads::EarlierError::Store(e) => ReviewError::Store(e),
            })?;
        }
        let repeated = &repeats.repeated;
        if req.posts() && !repeated.is_empty() {
            // Reported again: still there, so still holding the gate where it applies.
            self.store
                .mark_seen(&req.repo, req.pr, repeated, sha.as_str())
                .await
                .map_err(ReviewError::Store)?;
        }
        let placement = &reviewed.placement;
        let result =
            crate::pipeline::result::result(&reviewed.answer.output, placement, &reviewed.drops);
        tally.stats.result = Some(result);
        // An automatic re-review with nothing new and nothing fixed stays quiet.
        // (A check's "Re-run" is a person's request too.)
        let found = !placement.inline.is_empty() || !placement.summary_only.is_empty();
        if matches!(req.trigger, Trigger::PullRequest { .. })
            && !found
            && settled.is_empty()
            && self.reviewed_before(req).await?
        {
            return Ok(Outcome::Quiet);
        }
        let spent = self.account(&ctx.config, &reviewed, tally);
        let blob_base = pull.blob_base(sha);
        let to = Destination {
            sha,
            trigger: &trigger_id,
            blob_base: blob_base.as_deref(),
            earlier: &markdown::summary::settled(&markdown::summary::Settled {
                fixed: &settled.fixed,
                outdated: &settled.outdated,
                reopened: &settled.reopened,
            }),
        };
        let review = pipeline::publish(ctx, &reviewed, &spent, &to);
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
            .post(gh, req.pr, review, placement, sha, &trigger_id)
            .await?;
        if let Outcome::Posted {
            worst_priority,
            nothing_to_review,
            ..
        } = &mut outcome
        {
            *worst_priority = reviewed.worst;
            *nothing_to_review = reviewed.nothing_to_review;
        }
        self.remember(gh, req, ctx, &reviewed, &outcome, &trigger_id)
            .await;
        Ok(outcome)
    }

    /// Whether this pull request had a review before.
    async fn reviewed_before(&self, req: &ReviewRequest) -> Result<bool, ReviewError> {
        let last = self.store.last_reviewed_sha(&req.repo, req.pr).await;
        Ok(last.map_err(ReviewError::Store)?.is_some())
    }

    /// Keeps a posted review and its findings, and opens their threads' records.
    async fn remember(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        ctx: &Context,
        reviewed: &Reviewed,
        outcome: &Outcome,
        trigger_id: &str,
    ) {
        let (Outcome::Posted { review_id, .. } | Outcome::AlreadyPosted { review_id }) = outcome
        else {
            return;
        };
        let Some((_, sha)) = &ctx.head else { return };
        let recorded = self
            .store
            .record_review(PostedReview {
                repo: &req.repo,
                pr: req.pr,
                head_sha: sha,
                trigger_id,
                review_id: *review_id,
                findings: &reviewed.filtered.remembered,
            })
            .await;
        if let Err(e) = recorded {
            // The review is on GitHub; only the memory of it is missing.
            tracing::error!(error = format!("{e:#}"), "cannot record the posted review");
        }
        if let Outcome::Posted { .. } = outcome {
            self.attach_threads(gh, req, *review_id, &reviewed.placement, &ctx.pr_files)
                .await;
        }
    }
}

/// New commits while the model worked: a review of the old head is stale. A person's request
/// is run again on the new head; an automatic one is left to its newer event.
fn stale(
    req: &ReviewRequest,
    sha: &CommitSha,
    current: Option<CommitSha>,
) -> Option<Result<Outcome, ReviewError>> {
    let current = current.filter(|c| c != sha)?;
    Some(match req.trigger {
        Trigger::Comment { .. } | Trigger::Api { .. } => Err(ReviewError::HeadMoved {
            from: sha.to_string(),
            to: current.to_string(),
        }),
        Trigger::PullRequest { .. } | Trigger::CheckRun { .. } => Ok(Outcome::Skipped(
            "superseded: new commits arrived during the review",
        )),
    })
}
