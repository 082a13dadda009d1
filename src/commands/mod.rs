//! The commands people give in comments, one file per command, each a free function over a
//! narrow [`Ctx`]: `help`, `pause` (and resume), `learnings` (and forget), `ask`, `reply` (a
//! reply in a finding's thread, which may dismiss it) and `unknown`. A comment is parsed once,
//! into its [`Command`] (`event`); the job handler decides *whether* it runs (who may, the
//! repository's switch, the limits), then [`run`] runs it. `review` is not here: it is the
//! pipeline's.
//!
//! Adding a command touches its file, the [`Command`] enum (with its word in the grammar) and
//! the help; a test checks that the help names every command.

mod ask;
mod converse;
mod help;
mod learnings;
mod pause;
mod reply;
mod unknown;

pub use learnings::notes_for_model;

use std::sync::Arc;

use crate::codebase::SnapshotStore;
use crate::event::Command;
use crate::github::{GitHubApp, GitHubError, PullInfo, RepoClient};
use crate::ids::{CommentId, PrNumber};
use crate::metrics::Metrics;
use crate::model::{ModelClient, ModelError, ToolLimits};
use crate::pipeline::Limits;
use crate::pipeline::meter::Meter;
use crate::repo_config::Loaded;
use crate::store::Store;

/// What a command's handler may use: the comment that gave it, its pull request, the
/// repository's configuration, and the services.
pub struct Ctx<'a> {
    /// The repository, as the App's installation.
    pub gh: &'a RepoClient,
    /// The App itself (its login tells its own comments).
    pub app: &'a GitHubApp,
    pub store: &'a Store,
    pub model: &'a ModelClient,
    /// The repository's configuration at the pull request's base, and why its file was
    /// ignored.
    pub config: &'a Loaded,
    pub pr: PrNumber,
    pub pull: &'a PullInfo,
    /// The comment that gave the command.
    pub comment: Comment<'a>,
    /// The mention that gives commands, without `@`.
    pub bot_handle: &'a str,
    /// The service's limits and tool budgets (the repository may lower the budgets).
    pub limits: &'a Limits,
    pub tool_limits: ToolLimits,
    /// Repository snapshots for the model's tools (`None`: no tools).
    pub snapshots: Option<&'a SnapshotStore>,
    pub metrics: &'a Arc<Metrics>,
    /// Every model answer is paid through it.
    pub meter: &'a Meter,
}

/// The comment that gave a command.
#[derive(Debug, Clone, Copy)]
pub struct Comment<'a> {
    pub id: CommentId,
    pub author: &'a str,
}

/// What a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Answered with a comment (what it said).
    Replied(&'static str),
    /// Nothing to do (why).
    Skipped(&'static str),
}

/// Why a command could not be done.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("database")]
    Store(#[source] anyhow::Error),
}

/// Runs `command` (any but a review, which is the pipeline's).
pub async fn run(command: &Command, cx: &Ctx<'_>) -> Result<Done, CommandError> {
    match command {
        Command::Review { .. } => Ok(Done::Skipped("a review is the pipeline's")),
        Command::Help => help::help(cx).await,
        Command::Pause => pause::pause(cx, true).await,
        Command::Resume => pause::pause(cx, false).await,
        Command::Learnings => learnings::list(cx).await,
        Command::Forget { number } => learnings::forget(cx, *number).await,
        // The conversations' futures are large (a model call with tools): on the heap, so
        // that the job's stack stays small.
        Command::Ask { question } => Box::pin(ask::ask(cx, question)).await,
        Command::Reply { root } => Box::pin(reply::reply(cx, *root)).await,
        Command::Unknown { word } => unknown::unknown(cx, word).await,
    }
}

impl Ctx<'_> {
    /// Answers the comment in the pull request's conversation, mentioning its author.
    pub async fn reply(&self, text: &str) -> Result<(), CommandError> {
        let text = format!("@{} {text}", self.comment.author);
        self.gh.comment(self.pr, &text).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::event::WORDS;
    use crate::repo_config::RepoConfig;

    #[test]
    fn the_help_names_every_command() {
        let help = crate::markdown::commands::help("codex", &RepoConfig::default(), None);
        for word in WORDS {
            assert!(help.contains(&format!("`@codex {word}")), "{word}: {help}");
        }
        // And the short help a word that is no command gets.
        let short = crate::markdown::commands::unknown("codex", "plase");
        for word in WORDS {
            assert!(short.contains(&format!("@codex {word}")), "{word}: {short}");
        }
    }
}
