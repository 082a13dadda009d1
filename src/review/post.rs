//! Posting the review exactly once.

use super::{Outcome, ReviewError, Reviewer};
use crate::github::{NewReview, RepoClient};
use crate::ids::{CommitSha, PrNumber};
use crate::pipeline::place::Placement;
use crate::pipeline::publish;

impl Reviewer {
    /// Posts `review`; a lost answer is settled by looking for the marker, and a 422 (which
    /// the anchoring should make impossible) falls back to a review without inline comments.
    pub(super) async fn post(
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
                worst_priority: None,
                nothing_to_review: None,
            }),
            Err(e) if e.status() == Some(422) && !review.comments.is_empty() => {
                tracing::error!(error = %crate::error_chain::chain(&e), "GitHub refused the inline comments; posting them in the summary");
                let mut fallback = String::from("\n\n**Inline comments that GitHub refused**\n\n");
                for c in &review.comments {
                    fallback.push_str(&format!(
                        "- {} line {} ({}):\n\n  {}\n\n",
                        crate::untrusted::code(&c.path, 300),
                        c.line,
                        c.side,
                        c.body.replace('\n', "\n  ")
                    ));
                }
                // What is left of GitHub's body limit after the summary (and a margin for the
                // truncation note).
                let room = publish::GITHUB_BODY_LIMIT
                    .saturating_sub(review.body.chars().count() + 64)
                    .min(20_000);
                // The bodies are sanitised already: cut after a whole line, not sanitised again.
                review
                    .body
                    .push_str(&crate::untrusted::truncated(fallback, room));
                review.comments.clear();
                let review_id = gh.create_review(pr, &review).await?;
                Ok(Outcome::Posted {
                    review_id,
                    inline: 0,
                    summary_only: summary_only + inline,
                    worst_priority: None,
                    nothing_to_review: None,
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
    pub(super) async fn find_posted(
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
            let (m_sha, m_trigger) = crate::markdown::markers::read_review(r.body.as_deref()?)?;
            (ours && m_sha == sha.as_str() && m_trigger == trigger_id).then_some(r.id)
        }))
    }
}
