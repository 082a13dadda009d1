//! The `codex-review` check run on the reviewed head (DESIGN §9): one per head SHA, reused
//! across retries and re-reviews; in progress while the review runs (and while it waits to
//! be retried), then completed with its result. Neutral by default; with
//! `gate.fail_on_priority` it fails on a finding that urgent and on a review that could not
//! be done (a required check must not pass on an outage), and a head that is not reviewed
//! because of the configuration gets a `skipped` check, so a required check always reports.

use super::{Outcome, ReviewError, Reviewer};
use crate::github::RepoClient;
use crate::ids::{CommitSha, PrNumber, RepoName};
use crate::repo_config::RepoConfig;

/// The check run's name (and how a re-run is recognised).
pub const CHECK_NAME: &str = "codex-review";

/// Reasons of an automatic review not done that the repository chose (configuration, filters,
/// a pause): they conclude the check `skipped` when a gate is configured. Other reasons (an
/// author who may not trigger reviews, a rate limit) leave the required check waiting for a
/// maintainer's `@codex review`.
const CHOSEN_SKIPS: &[&str] = &[
    "automatic reviews are turned off",
    "automatic reviews of this pull request are paused",
    "the repository does not review on this event",
    "the pull request is a draft",
    "the base branch is not one the repository reviews",
    "the author is in auto_review.ignore_authors",
    "the pull request has a label in auto_review.ignore_labels",
    "the title has a keyword in auto_review.ignore_title_keywords",
];

impl Reviewer {
    /// The check run of `sha`, created in progress or, when this head has one, set back in
    /// progress. A failure only costs the check (logged).
    pub(super) async fn start_check(
        &self,
        gh: &RepoClient,
        pr: PrNumber,
        sha: &CommitSha,
    ) -> Option<u64> {
        let repo = gh.repo().clone();
        let known = self.store.check_run(&repo, sha).await.unwrap_or_else(|e| {
            tracing::warn!(error = format!("{e:#}"), "cannot read the stored check run");
            None
        });
        let id = match known {
            Some(id) => {
                let progressed = gh
                    .progress_check_run(id, "Reviewing", "The review is running.")
                    .await;
                if let Err(e) = progressed {
                    tracing::warn!(error = %e, "cannot update the check run");
                }
                // A new check run is stored in progress; a known one is set back to it.
                if let Err(e) = self.store.set_check_in_progress(&repo, sha).await {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "cannot store the check run's state"
                    );
                }
                id
            }
            None => match gh.create_check_run(CHECK_NAME, sha).await {
                Ok(id) => {
                    if let Err(e) = self.store.remember_check_run(&repo, sha, pr, id).await {
                        tracing::warn!(error = format!("{e:#}"), "cannot store the check run");
                    }
                    id
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot create the check run");
                    return None;
                }
            },
        };
        Some(id)
    }

    /// Completes the check run with the review's result; a review that will be retried keeps
    /// it in progress, saying why.
    pub(super) async fn finish_check(
        &self,
        gh: &RepoClient,
        id: u64,
        sha: &CommitSha,
        result: &Result<Outcome, ReviewError>,
        config: &RepoConfig,
    ) {
        if let Err(ReviewError::LeaseLost) = result {
            // Another worker holds the job now: the check is its to finish.
            return;
        }
        if let Err(e) = result
            && e.will_retry()
        {
            let summary = format!("The review will be tried again: {e}");
            if let Err(e) = gh.progress_check_run(id, "Retrying", &summary).await {
                tracing::warn!(error = %e, "cannot update the check run");
            }
            return;
        }
        if let Ok(Outcome::AlreadyPosted { .. }) = result {
            // The review was posted by an earlier run, whose completion stands (a gate's
            // failure must not turn neutral because a trigger was delivered twice).
            if let Ok(Some((conclusion, title, summary))) =
                self.store.check_completion(gh.repo(), sha).await
            {
                self.complete_check(gh, id, sha, &conclusion, &title, &summary)
                    .await;
                return;
            }
        }
        let (conclusion, title, summary) = conclusion(result, config);
        self.complete_check(gh, id, sha, conclusion, &title, &summary)
            .await;
    }

    /// A review given up after its last attempt (or after crashing its worker): the open check
    /// run of the PR, if any, concludes as a failed review.
    pub(super) async fn fail_open_check(&self, gh: &RepoClient, pr: PrNumber, what: &str) {
        let repo = gh.repo().clone();
        let Ok(Some((sha, id))) = self.store.open_check_run(&repo, pr).await else {
            return;
        };
        let gated = match gh.pull(pr).await {
            Ok(pull) => self
                .load_config(gh, &repo, &pull.base.sha)
                .await
                .is_ok_and(|l| l.config.gate.fail_on_priority.is_some()),
            // The gate cannot be read: fail closed, a required check must not pass.
            Err(_) => true,
        };
        let (conclusion, title, summary) = failed(gated, what);
        self.complete_check(gh, id, &sha, conclusion, &title, &summary)
            .await;
    }

    /// A head the repository chose not to review: a `skipped` check run when a gate is
    /// configured, so a required check reports.
    pub(super) async fn skipped_check(
        &self,
        gh: &RepoClient,
        pr: PrNumber,
        sha: &CommitSha,
        why: &str,
        config: &RepoConfig,
    ) {
        if config.gate.fail_on_priority.is_none() || !CHOSEN_SKIPS.contains(&why) {
            return;
        }
        let repo = gh.repo().clone();
        let summary = format!("Not reviewed: {why}.");
        let known = self.store.check_run(&repo, sha).await.ok().flatten();
        match known {
            Some(id) => {
                self.complete_check(gh, id, sha, "skipped", "Not reviewed", &summary)
                    .await
            }
            None => {
                let created = gh
                    .create_completed_check_run(
                        CHECK_NAME,
                        sha,
                        "skipped",
                        "Not reviewed",
                        &summary,
                    )
                    .await;
                match created {
                    Ok(id) => {
                        if let Err(e) = self.store.remember_check_run(&repo, sha, pr, id).await {
                            tracing::warn!(error = format!("{e:#}"), "cannot store the check run");
                        }
                        self.note_check(&repo, sha, ("skipped", "Not reviewed", &summary))
                            .await;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot create the check run"),
                }
            }
        }
    }

    async fn complete_check(
        &self,
        gh: &RepoClient,
        id: u64,
        sha: &CommitSha,
        conclusion: &str,
        title: &str,
        summary: &str,
    ) {
        match gh.complete_check_run(id, conclusion, title, summary).await {
            Ok(()) => {
                self.note_check(gh.repo(), sha, (conclusion, title, summary))
                    .await
            }
            Err(e) => tracing::warn!(error = %e, "cannot complete the check run"),
        }
    }

    async fn note_check(&self, repo: &RepoName, sha: &CommitSha, completion: (&str, &str, &str)) {
        if let Err(e) = self.store.set_check_completed(repo, sha, completion).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "cannot store the check run's state"
            );
        }
    }
}

/// `(conclusion, title, summary)` of a review that could not be done: `failure` under a gate
/// (fail closed), `neutral` otherwise.
fn failed(gated: bool, what: &str) -> (&'static str, String, String) {
    let summary = format!("The review could not be done: {what}");
    if gated {
        (
            "failure",
            "Review failed".into(),
            format!("{summary}\n\nThis check fails closed because `gate.fail_on_priority` is set."),
        )
    } else {
        ("neutral", "Review failed".into(), summary)
    }
}

/// `(conclusion, title, summary)` of a finished review.
pub fn conclusion(
    result: &Result<Outcome, ReviewError>,
    config: &RepoConfig,
) -> (&'static str, String, String) {
    let gate = config.gate.fail_on_priority;
    match result {
        Ok(Outcome::Posted {
            nothing_to_review: true,
            ..
        }) => (
            "skipped",
            "Nothing to review".into(),
            "No file of this pull request could be reviewed (filters, binary or generated files); the review says which.".into(),
        ),
        Ok(Outcome::Posted {
            inline,
            summary_only,
            worst_priority,
            ..
        }) => {
            let total = inline + summary_only;
            let title = match total {
                0 => "No issues found".to_owned(),
                1 => "1 finding".to_owned(),
                n => format!("{n} findings"),
            };
            let summary = format!(
                "{total} finding(s) posted in the review ({inline} inline, {summary_only} in its summary)."
            );
            let conclusion = match (gate, worst_priority) {
                (Some(limit), Some(worst)) if *worst <= i64::from(limit) => {
                    return (
                        "failure",
                        title,
                        format!(
                            "{summary} A finding of priority P{worst} fails this check (`gate.fail_on_priority: {limit}`)."
                        ),
                    );
                }
                (Some(_), _) => "success",
                (None, _) => "neutral",
            };
            (conclusion, title, summary)
        }
        Ok(Outcome::Quiet) => (
            if gate.is_some() { "success" } else { "neutral" },
            "No new issues".into(),
            "Reviewed again: nothing new was found and nothing was fixed since the last review, so no review was posted.".into(),
        ),
        Ok(Outcome::AlreadyPosted { review_id }) => (
            "neutral",
            "Already reviewed".into(),
            format!("This commit was reviewed before (review {review_id})."),
        ),
        Ok(Outcome::Skipped(why) | Outcome::Replied(why)) => (
            "neutral",
            "Not reviewed".into(),
            format!("No review: {why}."),
        ),
        // Never with a check run (nothing is put on the pull request).
        Ok(Outcome::NotPosted) => (
            "neutral",
            "Reviewed, not posted".into(),
            "Reviewed through the review API without posting.".into(),
        ),
        Err(ReviewError::HeadMoved { to, .. }) => (
            "neutral",
            "Superseded".into(),
            format!("New commits arrived (now at {to}); the review runs again on them."),
        ),
        Err(e) => failed(gate.is_some(), &e.to_string()),
    }
}
