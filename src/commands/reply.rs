//! A reply that mentions the bot in the thread of one of its inline comments: answered in the
//! same thread, with the finding, the code around it at the current head, the thread so far,
//! and the repository's tools when the repository allows them.

use super::converse::converse;
use super::{CommandError, Ctx, Done};
use crate::github::RepoClient;
use crate::markdown::{self, markers::answers, markers::without_answer as without_answer_marker};
use crate::model::prompt;
use crate::store::FindingState;
use crate::threads::dismiss;
use crate::threads::follow::{LinesNow, lines_now};

/// Lines shown around the finding.
const AROUND: u32 = 10;
/// Characters of the thread sent at most (the latest messages kept).
const MAX_THREAD_CHARS: usize = 16_000;

/// Answers the last message of the thread that comment `root` started, when the app started
/// it: a dismissal at once, anything else with the model.
pub async fn reply(cx: &Ctx<'_>, root: u64) -> Result<Done, CommandError> {
    let bot = cx.app.bot_login().await?.to_owned();
    let threads = cx.gh.review_threads(cx.pr).await?;
    let Some(thread) = threads
        .iter()
        .find(|t| t.comments.first().is_some_and(|c| c.id == root))
    else {
        return Ok(Done::Skipped("the reply's thread was not found"));
    };
    if thread.comments[0].author.as_deref() != Some(bot.as_str()) {
        return Ok(Done::Skipped("a thread the app did not start"));
    }
    // A job run again after GitHub took its answer (its reply was lost) answers once.
    let asked = cx.comment.id;
    let answered = thread
        .comments
        .iter()
        .any(|c| c.author.as_deref() == Some(bot.as_str()) && answers(&c.body, asked));
    if answered {
        return Ok(Done::Replied("answered before"));
    }
    let (repo, pr) = (cx.gh.repo(), cx.pr);
    let stored = cx
        .store
        .finding_by_comment(repo, pr, root)
        .await
        .map_err(CommandError::Store)?;
    // `@codex dismiss [reason]` (or "won't fix: ...") addressed to the bot: dismissed at
    // once, and said so, without asking the model.
    let said = thread.comments.iter().find(|c| c.id == asked.0);
    let author = cx.comment.author;
    if let (Some(said), Some(finding)) = (said, &stored)
        && let Some(dismissal) = dismiss::dismissal(&said.body, cx.bot_handle)
    {
        cx.store
            .set_finding_state(
                repo,
                pr,
                &finding.fingerprint,
                FindingState::Dismissed,
                dismissal.reason.as_deref(),
                Some(author),
            )
            .await
            .map_err(CommandError::Store)?;
        let reason = dismissal
            .reason
            .as_deref()
            .filter(|_| cx.config.config.review.learnings);
        if let Some(reason) = reason {
            cx.store
                .add_learning(repo, reason, author)
                .await
                .map_err(CommandError::Store)?;
        }
        let text = markdown::answers::dismissed(reason.is_some(), Some(asked));
        cx.gh.reply_in_thread(pr, root, &text).await?;
        return Ok(Done::Replied("dismissed"));
    }
    let code = code_now(cx, stored.as_ref()).await?;
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
    let message = prompt::reply_message(repo.as_str(), &thread.comments[0].body, &code, &history);
    let answer = converse(cx, prompt::REPLY_INSTRUCTIONS, &message).await?;
    let text = markdown::answers::in_thread(&answer, Some(asked));
    cx.gh.reply_in_thread(pr, root, &text).await?;
    Ok(Done::Replied("answered in the thread"))
}

/// The finding's lines followed through the pushes since it was posted, at the head.
async fn code_now(
    cx: &Ctx<'_>,
    stored: Option<&crate::store::StoredFinding>,
) -> Result<String, CommandError> {
    let (Some(f), Some(sha)) = (stored, cx.pull.head_sha()) else {
        return Ok("(not available)".to_owned());
    };
    let gh = cx.gh;
    Ok(match lines_now(gh, f, &sha).await? {
        LinesNow::At { path, start, end } => excerpt(gh, &sha, &path, start, end).await?,
        LinesNow::Deleted => format!(
            "{}: the finding's lines were deleted by the commits since it was posted",
            f.path
        ),
        LinesNow::AsPosted => format!(
            "(the commit it was posted on is gone, so its lines cannot be followed; as posted)\n{}",
            excerpt(gh, &sha, &f.path, f.start, f.end).await?
        ),
    })
}

/// Lines `start..=end` of `path` at `sha`, with `AROUND` lines of context, numbered.
async fn excerpt(
    gh: &RepoClient,
    sha: &crate::ids::CommitSha,
    path: &str,
    start: u32,
    end: u32,
) -> Result<String, CommandError> {
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
