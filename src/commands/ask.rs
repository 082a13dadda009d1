//! `@codex ask <question>`: a question about the pull request, answered in a comment with the
//! PR's diff as context (and the repository's tools when the repository allows them).

use super::converse::converse;
use super::{CommandError, Ctx, Done};
use crate::diff::FileDiff;
use crate::diff::chunk::{self, Budget, Source};
use crate::diff::filter::PathRules;
use crate::markdown::{self, markers::answers};
use crate::model::prompt;

/// Answers `question` in a comment on the pull request.
pub async fn ask(cx: &Ctx<'_>, question: &str) -> Result<Done, CommandError> {
    let asked = cx.comment.id;
    // A job run again after GitHub took its answer (its reply was lost) answers once.
    if answered_in_conversation(cx).await? {
        tracing::info!("the question was answered before; not again");
        return Ok(Done::Replied("answered"));
    }
    let config = &cx.config.config;
    let files: Vec<FileDiff> = cx
        .gh
        .files(cx.pr)
        .await?
        .into_iter()
        .map(|f| f.into_diff())
        .collect();
    let rules = PathRules::new(&config.paths.include, &config.paths.exclude).unwrap_or_default();
    let sources: Vec<Source<'_>> = files
        .iter()
        .filter(|f| rules.skip_reason(f).is_none())
        .map(|file| Source {
            file,
            content: None,
        })
        .collect();
    // One call's worth of the diff, most important files first.
    let plan = chunk::plan(
        &sources,
        Budget {
            tokens_per_call: cx.limits.diff_tokens_per_call(),
            max_calls: 1,
        },
    );
    let diff = plan.chunks.first().map_or("", |c| c.text.as_str());
    let message = prompt::question_message(
        cx.gh.repo().as_str(),
        &cx.pull.title,
        cx.pull.body.as_deref().unwrap_or(""),
        diff,
        question,
    );
    let answer = converse(cx, prompt::ASK_INSTRUCTIONS, &message).await?;
    let text = markdown::answers::question(question, &answer, Some(asked));
    cx.reply(&text).await?;
    Ok(Done::Replied("answered"))
}

/// Whether the app's own comment answering the command's comment is already in the
/// conversation.
async fn answered_in_conversation(cx: &Ctx<'_>) -> Result<bool, CommandError> {
    let bot = cx.app.bot_login().await?.to_owned();
    let comments = cx.gh.issue_comments(cx.pr).await?;
    Ok(comments.iter().any(|c| {
        c.user
            .as_ref()
            .is_some_and(|u| u.login.eq_ignore_ascii_case(&bot))
            && c.body.as_deref().is_some_and(|b| answers(b, cx.comment.id))
    }))
}
