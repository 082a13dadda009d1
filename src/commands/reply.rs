//! A reply that mentions the bot in the thread of one of its inline comments: answered in the
//! same thread, with the finding, the code around it at the current head, the thread so far,
//! and the repository's tools when the repository allows them.

use crate::event::{ReviewRequest, Trigger};
use crate::github::{PullInfo, RepoClient};
use crate::markdown::{self, markers::answers, markers::without_answer as without_answer_marker};
use crate::model::prompt;
use crate::repo_config::RepoConfig;
use crate::review::{Outcome, ReviewError, Reviewer};
use crate::store::FindingState;
use crate::threads::dismiss;
use crate::threads::follow::{LinesNow, lines_now};

/// Lines shown around the finding.
const AROUND: u32 = 10;
/// Characters of the thread sent at most (the latest messages kept).
const MAX_THREAD_CHARS: usize = 16_000;

impl Reviewer {
    /// Answers the last message of the thread that comment `root` started, when the app
    /// started it.
    pub(crate) async fn reply_in_thread(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        config: &RepoConfig,
        root: u64,
    ) -> Result<Outcome, ReviewError> {
        let bot = self.github.bot_login().await?.to_owned();
        let threads = gh.review_threads(req.pr).await?;
        let Some(thread) = threads
            .iter()
            .find(|t| t.comments.first().is_some_and(|c| c.id == root))
        else {
            return Ok(Outcome::Skipped("the reply's thread was not found"));
        };
        if thread.comments[0].author.as_deref() != Some(bot.as_str()) {
            return Ok(Outcome::Skipped("a thread the app did not start"));
        }
        // A job run again after GitHub took its answer (its reply was lost) answers once.
        let asked = match &req.trigger {
            Trigger::Comment { comment_id, .. } => {
                let answered = thread.comments.iter().any(|c| {
                    c.author.as_deref() == Some(bot.as_str()) && answers(&c.body, *comment_id)
                });
                if answered {
                    return Ok(Outcome::Replied("answered before"));
                }
                Some(*comment_id)
            }
            _ => None,
        };
        let stored = self
            .store
            .finding_by_comment(&req.repo, req.pr, root)
            .await
            .map_err(ReviewError::Store)?;
        // `@codex dismiss [reason]` (or "won't fix: ...") addressed to the bot: dismissed at
        // once, and said so, without asking the model.
        let (said, author) = match &req.trigger {
            Trigger::Comment {
                comment_id, author, ..
            } => (
                thread.comments.iter().find(|c| c.id == comment_id.0),
                author.as_str(),
            ),
            _ => (None, ""),
        };
        if let (Some(said), Some(finding)) = (said, &stored)
            && let Some(dismissal) = dismiss::dismissal(&said.body, &self.bot_handle)
        {
            self.store
                .set_finding_state(
                    &req.repo,
                    req.pr,
                    &finding.fingerprint,
                    FindingState::Dismissed,
                    dismissal.reason.as_deref(),
                    Some(author),
                )
                .await
                .map_err(ReviewError::Store)?;
            let reason = dismissal
                .reason
                .as_deref()
                .filter(|_| config.review.learnings);
            if let Some(reason) = reason {
                self.store
                    .add_learning(&req.repo, reason, author)
                    .await
                    .map_err(ReviewError::Store)?;
            }
            let text = markdown::answers::dismissed(reason.is_some(), asked);
            gh.reply_in_thread(req.pr, root, &text).await?;
            return Ok(Outcome::Replied("dismissed"));
        }
        let head = pull.head_sha();
        // The finding's lines followed through the pushes since it was posted.
        let code = match (&stored, &head) {
            (Some(f), Some(sha)) => match lines_now(gh, f, sha).await? {
                LinesNow::At { path, start, end } => excerpt(gh, sha, &path, start, end).await?,
                LinesNow::Deleted => format!(
                    "{}: the finding's lines were deleted by the commits since it was posted",
                    f.path
                ),
                LinesNow::AsPosted => format!(
                    "(the commit it was posted on is gone, so its lines cannot be followed; as posted)\n{}",
                    excerpt(gh, sha, &f.path, f.start, f.end).await?
                ),
            },
            _ => "(not available)".to_owned(),
        };
        let mut history = String::new();
        for c in thread.comments.iter().rev() {
            let who = c.author.as_deref().unwrap_or("someone");
            let entry = format!(
                "{}: {}\n\n",
                if who == bot { "you" } else { who },
                without_answer_marker(&c.body).trim()
            );
            if history.len() + entry.len() > MAX_THREAD_CHARS {
                break;
            }
            history.insert_str(0, &entry);
        }
        let message =
            prompt::reply_message(req.repo.as_str(), &thread.comments[0].body, &code, &history);
        let answer = self
            .converse(gh, req, pull, config, prompt::REPLY_INSTRUCTIONS, &message)
            .await?;
        let text = markdown::answers::in_thread(&answer, asked);
        gh.reply_in_thread(req.pr, root, &text).await?;
        Ok(Outcome::Replied("answered in the thread"))
    }
}

/// Lines `start..=end` of `path` at `sha`, with `AROUND` lines of context, numbered.
async fn excerpt(
    gh: &RepoClient,
    sha: &crate::ids::CommitSha,
    path: &str,
    start: u32,
    end: u32,
) -> Result<String, ReviewError> {
    let text = gh.file_at(path, sha.as_str(), 1024 * 1024).await?;
    let (from, to) = (start.saturating_sub(AROUND).max(1), end + AROUND);
    let lines: String = text
        .unwrap_or_default()
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l))
        .filter(|(n, _)| (from..=to).contains(n))
        .map(|(n, l)| format!("{n}: {l}\n"))
        .collect();
    Ok(format!("{path} (lines {from}-{to} at the head):\n{lines}"))
}
