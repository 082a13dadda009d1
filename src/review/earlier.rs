//! The review's side of the findings' lifecycle (the `threads` room does the work): before the
//! model, read what became of the earlier findings; after it, resolve the fixed and outdated
//! ones; and keep dismissed findings out of the review.

use std::collections::HashMap;

use super::Reviewer;
use crate::event::ReviewRequest;
use crate::github::RepoClient;
use crate::ids::CommitSha;
use crate::pipeline::place::Placement;
use crate::pipeline::publish;
use crate::repo_config::RepoConfig;
use crate::threads::{self, Authority, Earlier};

impl Reviewer {
    /// What became of the PR's earlier findings (an empty answer when they cannot be read:
    /// the review goes on without them).
    pub(super) async fn earlier_findings(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        sha: &CommitSha,
        config: &RepoConfig,
        contents: &HashMap<String, String>,
        toolbox: Option<&crate::codebase::Toolbox>,
    ) -> Earlier {
        let bot_login = match self.github.bot_login().await {
            Ok(login) => login.to_owned(),
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot tell the app's login; earlier findings skipped");
                return Earlier::default();
            }
        };
        let authority = Authority {
            bot_login: &bot_login,
            bot_handle: &self.bot_handle,
            associations: &config.triggers.allowed_associations,
            learn: config.review.learnings,
        };
        let head_text = |path: String| {
            let known = contents.get(&path).cloned();
            let toolbox = toolbox.cloned();
            let (gh, sha) = (gh.clone(), sha.to_string());
            async move {
                if known.is_some() {
                    return known;
                }
                match toolbox {
                    Some(t) => t.text_of(&path).await,
                    None => gh.file_at(&path, &sha, 1024 * 1024).await.ok().flatten(),
                }
            }
        };
        match threads::review_earlier(gh, &self.store, req.pr, sha, &authority, head_text).await {
            Ok(earlier) => {
                tracing::info!(
                    shown = earlier.shown.len(),
                    outdated = earlier.outdated.len(),
                    dismissed = earlier.newly_dismissed,
                    ignored_reactions = earlier.ignored_reactions,
                    "earlier findings read"
                );
                earlier
            }
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot read the earlier findings; going on without them");
                // What people dismissed stays dismissed, threads or not.
                let dismissed = threads::dismissed_set(&self.store, &req.repo, req.pr)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(
                            error = format!("{e:#}"),
                            "cannot read the dismissed findings"
                        );
                        Default::default()
                    });
                Earlier {
                    dismissed,
                    ..Earlier::default()
                }
            }
        }
    }
}

impl Reviewer {
    /// Links the findings just posted inline to their review comments and threads, so a later
    /// review can follow them.
    pub(super) async fn attach_threads(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        review_id: u64,
        placement: &Placement,
        files: &[crate::diff::FileDiff],
    ) {
        if placement.inline.is_empty() {
            return;
        }
        let threads = match gh.review_threads(req.pr).await {
            Ok(threads) => threads,
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot read the review's threads; its findings will not be followed");
                return;
            }
        };
        let mut links = Vec::new();
        for placed in &placement.inline {
            let body = publish::inline_comment(placed).body;
            let thread = threads.iter().find(|t| {
                t.comments
                    .first()
                    .is_some_and(|c| c.review_id == Some(review_id) && c.body == body)
            });
            if let Some(t) = thread {
                links.push((
                    crate::pipeline::fingerprint::placed_fingerprint(placed, files),
                    t.comments[0].id,
                    t.id.clone(),
                ));
            }
        }
        if let Err(e) = self.store.attach_threads(&req.repo, req.pr, &links).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "cannot record the review's threads"
            );
        }
    }
}
