//! `@codex <word>` with a word that is no command: a short help.

use super::{CommandError, Ctx, Done};

/// Answers a word that is no command with the commands there are.
pub async fn unknown(cx: &Ctx<'_>, word: &str) -> Result<Done, CommandError> {
    let text = crate::markdown::commands::unknown(cx.bot_handle, word);
    cx.reply(&text).await?;
    Ok(Done::Replied("unknown command"))
}
