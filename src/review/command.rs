//! A comment's command other than a review: once its author may run it (`gate::may_run`),
//! its handler in `crate::commands` runs over a narrow context.

use super::{Outcome, ReviewError, Reviewer};
use crate::commands::{self, CommandError, Comment, Ctx, Done};
use crate::event::{ReviewRequest, Trigger};
use crate::github::{PullInfo, RepoClient};
use crate::pipeline::meter::Meter;

impl Reviewer {
    /// Runs the command of `req` (not a review) and says what it did.
    pub(super) async fn command(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        meter: &Meter,
    ) -> Result<Outcome, ReviewError> {
        let loaded = self.load_config(gh, &req.repo, &pull.base.sha).await?;
        if let Some(outcome) = self.may_run(gh, req, &loaded.config).await? {
            return Ok(outcome);
        }
        let Trigger::Comment {
            comment_id, author, ..
        } = &req.trigger
        else {
            return Ok(Outcome::Skipped("a command without a comment"));
        };
        let cx = Ctx {
            gh,
            app: &self.github,
            store: &self.store,
            model: &self.model,
            config: &loaded,
            pr: req.pr,
            pull,
            comment: Comment {
                id: *comment_id,
                author,
            },
            bot_handle: &self.bot_handle,
            limits: &self.limits,
            tool_limits: self.tool_limits,
            snapshots: self.snapshots.as_ref(),
            metrics: &self.metrics,
            meter,
        };
        Ok(match commands::run(&req.command, &cx).await? {
            Done::Replied(what) => Outcome::Replied(what),
            Done::Skipped(why) => Outcome::Skipped(why),
        })
    }
}

impl From<CommandError> for ReviewError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::GitHub(e) => ReviewError::GitHub(e),
            CommandError::Model(e) => ReviewError::Model(e),
            CommandError::Store(e) => ReviewError::Store(e),
        }
    }
}
