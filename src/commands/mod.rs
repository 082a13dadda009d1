//! The commands people give in comments (their grammar is the event room's, `event::grammar`:
//! a comment is parsed once, into its event): the dispatcher (here), and
//! one handler file per command: `help`, `pause` (and resume), `ask`, `learnings` (and
//! forget), `reply` (a reply in a finding's thread, which may dismiss it). `review` is the
//! pipeline itself (`review`). The gate decides *whether* a comment's command runs (who may,
//! the repository's switch, the limits); the dispatcher decides *what* runs.

mod ask;
mod converse;
mod help;
mod learnings;
mod pause;
mod reply;

pub use crate::event::grammar::*;

use crate::event::{ReviewRequest, Task};
use crate::github::{PullInfo, RepoClient};
use crate::review::{Loaded, Outcome, ReviewError, Reviewer};

impl Reviewer {
    /// Runs the command of `req` that is not a review, and says what it did; `None` for a
    /// review (the pipeline's to run).
    pub(crate) async fn dispatch(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        loaded: &Loaded,
    ) -> Result<Option<Outcome>, ReviewError> {
        let outcome = match &req.task {
            Task::Review => return Ok(None),
            Task::Help => {
                self.help(gh, req, loaded).await?;
                Outcome::Replied("help")
            }
            Task::Pause | Task::Resume => {
                let pause = req.task == Task::Pause;
                self.pause(gh, req, pause).await?;
                Outcome::Replied(if pause { "paused" } else { "resumed" })
            }
            Task::Learnings => {
                self.list_learnings(gh, req, loaded.config.review.learnings)
                    .await?;
                Outcome::Replied("learnings")
            }
            Task::Forget { number } => {
                self.forget_learning(gh, req, *number).await?;
                Outcome::Replied("forget")
            }
            // The conversations' futures are large (a model call with tools): on the heap, so
            // that the job's stack stays small.
            Task::Ask { question } => {
                Box::pin(self.answer_question(gh, req, pull, &loaded.config, question)).await?;
                Outcome::Replied("answered")
            }
            Task::Reply { root } => {
                Box::pin(self.reply_in_thread(gh, req, pull, &loaded.config, *root)).await?
            }
            Task::Unknown { word } => {
                let text = crate::markdown::commands::unknown(&self.bot_handle, word);
                self.reply(gh, req, &text).await?;
                Outcome::Replied("unknown command")
            }
        };
        Ok(Some(outcome))
    }
}
