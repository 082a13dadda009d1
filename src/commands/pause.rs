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
        let text = if pause {
            format!(
                "Automatic reviews of this pull request are paused. Comment `@{} resume` to turn them back on; `@{} review` still works.",
                self.bot_handle, self.bot_handle
            )
        } else {
            "Automatic reviews of this pull request are back on.".to_owned()
        };
        self.reply(gh, req, &text).await
    }
}
