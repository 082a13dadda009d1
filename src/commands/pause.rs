//! `@codex pause` and `@codex resume`: automatic reviews of one pull request off and on
//! again (`@codex review` still works while paused).

use super::{CommandError, Ctx, Done};

/// Pauses (`pause`) or resumes automatic reviews of the pull request, and says so.
pub async fn pause(cx: &Ctx<'_>, pause: bool) -> Result<Done, CommandError> {
    cx.store
        .set_paused(cx.gh.repo(), cx.pr, pause)
        .await
        .map_err(CommandError::Store)?;
    cx.reply(&crate::markdown::commands::paused(cx.bot_handle, pause))
        .await?;
    Ok(Done::Replied(if pause { "paused" } else { "resumed" }))
}
