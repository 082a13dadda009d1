//! `@codex help`: the commands and the configuration in force for the pull request.

use super::{CommandError, Ctx, Done};
use crate::markdown;

/// Answers `@codex help`.
pub async fn help(cx: &Ctx<'_>) -> Result<Done, CommandError> {
    let error = cx.config.error.as_ref().map(ToString::to_string);
    let text = markdown::commands::help(cx.bot_handle, &cx.config.config, error.as_deref());
    cx.reply(&text).await?;
    Ok(Done::Replied("help"))
}
