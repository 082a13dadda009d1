//! The `codex-review` check run on the reviewed head: in progress while the review runs,
//! then completed with its result. Neutral by default; with `gate.fail_on_priority` it fails
//! when a finding that urgent was posted, so teams can make it a required check.

use super::{Outcome, ReviewError, Reviewer};
use crate::github::RepoClient;
use crate::ids::CommitSha;
use crate::repo_config::RepoConfig;

/// The check run's name (and how a re-run is recognised).
pub const CHECK_NAME: &str = "codex-review";

impl Reviewer {
    /// Creates the check run; a failure only costs the check (logged).
    pub(super) async fn start_check(&self, gh: &RepoClient, sha: &CommitSha) -> Option<u64> {
        match gh.create_check_run(CHECK_NAME, sha).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "cannot create the check run");
                None
            }
        }
    }

    pub(super) async fn finish_check(
        &self,
        gh: &RepoClient,
        id: u64,
        result: &Result<Outcome, ReviewError>,
        config: &RepoConfig,
    ) {
        let (conclusion, title, summary) = conclusion(result, config);
        if let Err(e) = gh
            .complete_check_run(id, conclusion, &title, &summary)
            .await
        {
            tracing::warn!(error = %e, "cannot complete the check run");
        }
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
        Err(ReviewError::HeadMoved { to, .. }) => (
            "neutral",
            "Superseded".into(),
            format!("New commits arrived (now at {to}); the review runs again on them."),
        ),
        Err(e) => (
            "neutral",
            "Review failed".into(),
            format!("The review failed: {e}"),
        ),
    }
}
