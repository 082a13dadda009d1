//! `@codex help`: the commands and the configuration in force for the pull request.

use crate::event::ReviewRequest;
use crate::github::RepoClient;
use crate::markdown;
use crate::review::{Loaded, ReviewError, Reviewer};

impl Reviewer {
    /// Answers `@codex help`.
    pub(crate) async fn help(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        loaded: &Loaded,
    ) -> Result<(), ReviewError> {
        let error = loaded.error.as_ref().map(ToString::to_string);
        let text = markdown::commands::help(&self.bot_handle, &loaded.config, error.as_deref());
        self.reply(gh, req, &text).await
    }
}
