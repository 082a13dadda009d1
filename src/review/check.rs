//! The `codex-review` check run on the reviewed head: one per head SHA, reused
//! across retries and re-reviews; in progress while the review runs (and while it waits to
//! be retried), then completed with its result. Neutral by default; with
//! `gate.fail_on_priority` it fails while any finding of the pull request at that priority or
//! above is still open (posted by this review or an earlier one; not fixed, not outdated, not
//! dismissed by a person allowed to run commands), and on a review that could not be done (a
//! required check must not pass on an outage). A head that is not reviewed because of the
//! configuration gets a check too, so a required check always reports, unless open findings
//! hold it: `skipped` when only a maintainer controls the reason (GitHub counts `skipped` as
//! passing), `action_required` when the pull request's author does (a draft, a label, a title
//! keyword, every file hidden by a marker the change itself adds).

use super::gate::{Controller, Skip};
use super::{Outcome, ReviewError, Reviewer};
use crate::github::RepoClient;
use crate::ids::{CommitSha, PrNumber, RepoName};
use crate::pipeline::Hidden;
use crate::repo_config::RepoConfig;
use crate::store::HoldingFinding;

/// The check run's name (and how a re-run is recognised).
pub const CHECK_NAME: &str = "codex-review";

/// What the gate needs to know of the pull request to conclude a check.
pub(super) struct Hold<'a> {
    /// `gate.fail_on_priority`: findings this urgent or more hold the check.
    pub limit: Option<u8>,
    pub pr: PrNumber,
    /// The pull request's page, for links to the findings' threads.
    pub pull_url: Option<&'a str>,
}

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
                    tracing::warn!(error = %crate::error_chain::chain(&e), "cannot update the check run");
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
                    tracing::warn!(error = %crate::error_chain::chain(&e), "cannot create the check run");
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
        hold: &Hold<'_>,
    ) {
        if let Err(ReviewError::LeaseLost) = result {
            // Another worker holds the job now: the check is its to finish.
            return;
        }
        if let Err(e) = result
            && e.will_retry()
        {
            // An error's text may quote GitHub or the model: it goes through the sanitizer.
            let e = crate::untrusted::text(&crate::error_chain::chain(e), 2_000);
            let summary = format!("The review will be tried again: {e}");
            if let Err(e) = gh.progress_check_run(id, "Retrying", &summary).await {
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot update the check run");
            }
            return;
        }
        if let Ok(Outcome::AlreadyPosted { .. }) = result {
            // The review was posted by an earlier run, whose completion stands (a gate's
            // failure must not turn neutral because a trigger was delivered twice).
            if let Ok(Some((conclusion, title, summary))) =
                self.store.check_completion(gh.repo(), sha).await
            {
                self.complete_check(gh, id, sha, (&conclusion, &title, &summary), hold)
                    .await;
                return;
            }
        }
        let (conclusion, title, summary) = conclusion(result, config);
        self.complete_check(gh, id, sha, (conclusion, &title, &summary), hold)
            .await;
    }

    /// A review given up after its last attempt (or after crashing its worker): the open check
    /// run of the PR, if any, concludes as a failed review.
    pub(super) async fn fail_open_check(&self, gh: &RepoClient, pr: PrNumber, what: &str) {
        let repo = gh.repo().clone();
        let Ok(Some((sha, id))) = self.store.open_check_run(&repo, pr).await else {
            return;
        };
        let (limit, pull_url) = match gh.pull(pr).await {
            Ok(pull) => (
                self.load_config(gh, &repo, &pull.base.sha)
                    .await
                    .ok()
                    .and_then(|l| l.config.gate.fail_on_priority),
                pull.html_url,
            ),
            // The gate cannot be read: fail closed, a required check must not pass.
            Err(_) => (Some(0), None),
        };
        let (conclusion, title, summary) = failed(limit.is_some(), what);
        let hold = Hold {
            limit,
            pr,
            pull_url: pull_url.as_deref(),
        };
        self.complete_check(gh, id, &sha, (conclusion, &title, &summary), &hold)
            .await;
    }

    /// A head not reviewed automatically, under a gate: `skipped` when only a maintainer
    /// controls why, `action_required` when the author does, so a required check reports.
    pub(super) async fn skipped_check(
        &self,
        gh: &RepoClient,
        pr: PrNumber,
        sha: &CommitSha,
        skip: Skip,
        config: &RepoConfig,
        pull_url: Option<&str>,
    ) {
        let Some(limit) = config.gate.fail_on_priority else {
            return;
        };
        let why = skip.text();
        let (conclusion, title, summary) = match skip.controller() {
            Controller::Nobody => return,
            Controller::Maintainer => ("skipped", "Not reviewed", format!("Not reviewed: {why}.")),
            Controller::Author => (
                "action_required",
                "Not reviewed: a review is needed",
                format!(
                    "Not reviewed automatically: {why}. The pull request's author can choose \
                     that, so under `gate.fail_on_priority` this check does not pass without a \
                     review: comment `@codex review` to get one."
                ),
            ),
        };
        let repo = gh.repo().clone();
        let hold = Hold {
            limit: Some(limit),
            pr,
            pull_url,
        };
        let (conclusion, title, summary) =
            self.held(&repo, (conclusion, title, &summary), &hold).await;
        let known = self.store.check_run(&repo, sha).await.ok().flatten();
        if let Some(id) = known {
            let held = Hold {
                limit: None,
                ..hold
            };
            return self
                .complete_check(gh, id, sha, (conclusion, &title, &summary), &held)
                .await;
        }
        let created = gh
            .create_completed_check_run(CHECK_NAME, sha, conclusion, &title, &summary)
            .await;
        match created {
            Ok(id) => {
                if let Err(e) = self.store.remember_check_run(&repo, sha, pr, id).await {
                    tracing::warn!(error = format!("{e:#}"), "cannot store the check run");
                }
                self.note_check(&repo, sha, (conclusion, &title, &summary))
                    .await;
            }
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot create the check run")
            }
        }
    }

    /// Completes check run `id` with `completion`, unless open findings hold the gate: then
    /// it fails, and its text lists them.
    async fn complete_check(
        &self,
        gh: &RepoClient,
        id: u64,
        sha: &CommitSha,
        completion: (&str, &str, &str),
        hold: &Hold<'_>,
    ) {
        let (conclusion, title, summary) = self.held(gh.repo(), completion, hold).await;
        match gh
            .complete_check_run(id, conclusion, &title, &summary)
            .await
        {
            Ok(()) => {
                self.note_check(gh.repo(), sha, (conclusion, &title, &summary))
                    .await
            }
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot complete the check run")
            }
        }
    }

    /// `completion` as the gate leaves it: a failure listing the pull request's open findings
    /// at the gate's priority or above, when there are any (and when they cannot be read: a
    /// required check must not pass on a database outage).
    async fn held<'c>(
        &self,
        repo: &RepoName,
        (conclusion, title, summary): (&'c str, &str, &str),
        hold: &Hold<'_>,
    ) -> (&'c str, String, String) {
        let Some(limit) = hold.limit else {
            return (conclusion, title.to_owned(), summary.to_owned());
        };
        match self.store.holding_findings(repo, hold.pr, limit).await {
            Ok(open) if open.is_empty() => (conclusion, title.to_owned(), summary.to_owned()),
            Ok(open) => {
                let title = if conclusion == "failure" && title == "Review failed" {
                    title.to_owned()
                } else {
                    let n = open.len();
                    format!(
                        "{n} open finding{} at P{limit} or above",
                        if n == 1 { "" } else { "s" }
                    )
                };
                let summary = format!("{summary}\n\n{}", held_list(&open, limit, hold.pull_url));
                ("failure", title, summary)
            }
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "cannot read the open findings");
                (
                    "failure",
                    title.to_owned(),
                    format!(
                        "{summary}\n\nThe pull request's open findings could not be read, so \
                         this check fails closed (`gate.fail_on_priority: {limit}`)."
                    ),
                )
            }
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

/// The check's list of the findings that hold it, each linked to its thread.
fn held_list(open: &[HoldingFinding], limit: u8, pull_url: Option<&str>) -> String {
    /// Findings listed at most (a check run's text has room, a person's attention less).
    const SHOWN: usize = 30;
    let mut s = format!(
        "**Open findings at P{limit} or above** hold this check (`gate.fail_on_priority: {limit}`) \
         until they are fixed, their lines are gone, or a person who may run commands dismisses \
         them (a reply such as \"won't fix: reason\", or a 👎 on the comment):\n\n"
    );
    for f in open.iter().take(SHOWN) {
        let title = crate::untrusted::line(&f.title, 200);
        let place = crate::untrusted::code(&format!("{}:{}", f.path, f.line), 300);
        let title = match (f.comment_id, pull_url) {
            (Some(comment), Some(url)) => format!("[{title}]({url}#discussion_r{comment})"),
            (Some(_), None) => title,
            (None, _) => {
                format!("{title} (in a review's summary: open until a review finds it fixed)")
            }
        };
        s.push_str(&format!("- **P{}** {title} — {place}\n", f.priority));
    }
    if open.len() > SHOWN {
        s.push_str(&format!("- … and {} more\n", open.len() - SHOWN));
    }
    s
}

/// `(conclusion, title, summary)` of a review that could not be done: `failure` under a gate
/// (fail closed), `neutral` otherwise.
fn failed(gated: bool, what: &str) -> (&'static str, String, String) {
    let what = crate::untrusted::text(what, 2_000);
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

/// `(conclusion, title, summary)` of a review that found no file to show the model. Under a
/// gate, files the change itself hid (a generated-file marker, minified or binary content, a
/// patch too large) need a person: the author must not pass the check by adding a marker.
fn nothing_to_review(hidden: Hidden, gated: bool) -> (&'static str, String, String) {
    match (hidden, gated) {
        (Hidden::ByTheChange, true) => (
            "action_required",
            "Not reviewed: the change hides its files".into(),
            "No file of this pull request could be shown to the model: the change itself hides \
             them (a generated-file marker such as `@generated`, minified or binary content, or \
             a patch too large), so under `gate.fail_on_priority` this check does not pass \
             without a review. Remove what hides them and comment `@codex review`, or a \
             maintainer lists such paths in `paths.exclude` on the base branch."
                .into(),
        ),
        _ => (
            "skipped",
            "Nothing to review".into(),
            "No file of this pull request could be reviewed (the repository's path filters); \
             the review says which."
                .into(),
        ),
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
            nothing_to_review: Some(hidden),
            ..
        }) => nothing_to_review(*hidden, gate.is_some()),
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
        Ok(Outcome::Limited(why)) => (
            "neutral",
            "Not reviewed".into(),
            format!("No review: {why}"),
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
        Err(e) => failed(gate.is_some(), &crate::error_chain::chain(e)),
    }
}
