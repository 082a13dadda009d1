//! `@codex learnings` and `@codex forget N`: what the reviewer learnt from dismissed findings
//! in this repository, and removing one.

use crate::event::ReviewRequest;
use crate::github::RepoClient;
use crate::markdown::{self, commands::Learnt};
use crate::review::{ReviewError, Reviewer};
use crate::store::Learning;

/// Learnings listed, and sent to the model, at most.
pub const MAX_LEARNINGS: i64 = 20;
/// Characters of learnings sent to the model at most.
const MAX_LEARNINGS_CHARS: usize = 4_000;

impl Reviewer {
    /// Replies with the repository's learnings, numbered.
    pub(crate) async fn list_learnings(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        enabled: bool,
    ) -> Result<(), ReviewError> {
        let learnings = self
            .store
            .learnings(&req.repo, MAX_LEARNINGS)
            .await
            .map_err(ReviewError::Store)?;
        let learnt: Vec<Learnt<'_>> = learnings
            .iter()
            .map(|l| Learnt {
                number: l.id,
                reason: &l.reason,
                author: &l.author,
            })
            .collect();
        let text = markdown::commands::learnings(&self.bot_handle, &learnt, enabled);
        self.reply(gh, req, &text).await
    }

    /// Removes learning `number` and says so.
    pub(crate) async fn forget_learning(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        number: i64,
    ) -> Result<(), ReviewError> {
        let removed = self
            .store
            .forget_learning(&req.repo, number)
            .await
            .map_err(ReviewError::Store)?;
        let text = markdown::commands::forgotten(&self.bot_handle, number, removed);
        self.reply(gh, req, &text).await
    }

    /// The maintainer notes sent to the model (empty when there are none).
    pub(crate) async fn learnings_for_model(&self, req: &ReviewRequest) -> String {
        let learnings = match self.store.learnings(&req.repo, MAX_LEARNINGS).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "cannot read the learnings");
                return String::new();
            }
        };
        notes(&learnings)
    }
}

/// The learnings as maintainer notes: a bounded list of `- reason (by login)`, the
/// maintainers' own words only (the prompt fences them).
fn notes(learnings: &[Learning]) -> String {
    let mut s = String::new();
    for l in learnings {
        let line = format!(
            "- {} (by {})\n",
            l.reason.split_whitespace().collect::<Vec<_>>().join(" "),
            l.author
        );
        if s.len() + line.len() > MAX_LEARNINGS_CHARS {
            break;
        }
        s.push_str(&line);
    }
    s
}
