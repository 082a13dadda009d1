//! `@codex learnings` and `@codex forget N`: what the reviewer learnt from dismissed findings
//! in this repository, and removing one.

use super::{CommandError, Ctx, Done};
use crate::ids::RepoName;
use crate::markdown::{self, commands::Learnt};
use crate::store::{Learning, Store};

/// Learnings listed, and sent to the model, at most.
pub const MAX_LEARNINGS: i64 = 20;
/// Characters of learnings sent to the model at most.
const MAX_LEARNINGS_CHARS: usize = 4_000;

/// Replies with the repository's learnings, numbered.
pub async fn list(cx: &Ctx<'_>) -> Result<Done, CommandError> {
    let learnings = cx
        .store
        .learnings(cx.gh.repo(), MAX_LEARNINGS)
        .await
        .map_err(CommandError::Store)?;
    let learnt: Vec<Learnt<'_>> = learnings
        .iter()
        .map(|l| Learnt {
            number: l.id,
            reason: &l.reason,
            author: &l.author,
        })
        .collect();
    let enabled = cx.config.config.review.learnings;
    cx.reply(&markdown::commands::learnings(
        cx.bot_handle,
        &learnt,
        enabled,
    ))
    .await?;
    Ok(Done::Replied("learnings"))
}

/// Removes learning `number` and says so.
pub async fn forget(cx: &Ctx<'_>, number: i64) -> Result<Done, CommandError> {
    let removed = cx
        .store
        .forget_learning(cx.gh.repo(), number)
        .await
        .map_err(CommandError::Store)?;
    cx.reply(&markdown::commands::forgotten(
        cx.bot_handle,
        number,
        removed,
    ))
    .await?;
    Ok(Done::Replied("forget"))
}

/// The maintainer notes sent to the model with a review of `repo` (empty when there are
/// none, or when they cannot be read).
pub async fn notes_for_model(store: &Store, repo: &RepoName) -> String {
    let learnings = match store.learnings(repo, MAX_LEARNINGS).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "cannot read the learnings");
            return String::new();
        }
    };
    notes(&learnings)
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
