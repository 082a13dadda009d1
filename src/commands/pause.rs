//! `@codex pause` and `@codex resume`: automatic reviews of one pull request off and on
//! again (`@codex review` still works while paused).

use crate::event::ReviewRequest;
use crate::github::RepoClient;
use crate::review::{ReviewError, Reviewer};

impl Reviewer {
    /// Pauses (`pause`) or resumes automatic reviews of the pull request, and says so.
    pub(crate) async fn pause(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pause: bool,
    ) -> Result<(), ReviewError> {
        self.store
            .set_paused(&req.repo, req.pr, pause)
            .await
            .map_err(ReviewError::Store)?;
        let text = crate::markdown::commands::paused(&self.bot_handle, pause);
        self.reply(gh, req, &text).await
    }
}
