//! The context stage: everything a review reads from GitHub before the model, in as few
//! round trips in a row as the data allows.
//!
//! After the gate (pull request, then its base configuration), one wave of independent calls:
//! the changed files, the reviews already on the PR (is this trigger's review there?), the
//! check run, the 👀, the base tree (for AGENTS.md files) and the comparison with the last
//! reviewed head. Then one wide wave: the content of the files shown with their surroundings
//! and the AGENTS.md files that apply. What does not change is kept: the App's identity, and
//! a tree per commit.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::{ReviewError, Reviewer};
use crate::codebase::Codebase;
use crate::diff::FileDiff;
use crate::event::{ReviewRequest, Trigger};
use crate::github::{GitHubError, PullInfo, RepoClient};
use crate::ids::{CommentId, CommitSha, RepoName};
use crate::pipeline::context::{Tree, fetch_contents, guidelines};
use crate::repo_config::{Guidelines, RepoConfig};

/// Trees kept (a tree of a commit never changes).
const TREE_CACHE_ENTRIES: usize = 256;

/// Trees by (repository, commit).
#[derive(Default)]
pub struct TreeCache {
    entries: Mutex<HashMap<(RepoName, String), std::sync::Arc<Tree>>>,
}

impl TreeCache {
    fn get(&self, repo: &RepoName, sha: &str) -> Option<std::sync::Arc<Tree>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&(repo.clone(), sha.to_owned())).cloned()
    }

    fn put(&self, repo: &RepoName, sha: &str, tree: std::sync::Arc<Tree>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= TREE_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert((repo.clone(), sha.to_owned()), tree);
    }
}

/// What the first wave after the gate brings.
pub(super) struct Gathered {
    /// This trigger's review, if it is already on the PR.
    pub posted: Option<u64>,
    /// The check run of the head.
    pub check: Option<u64>,
    pub pr_files: Vec<FileDiff>,
    /// The last reviewed head and the PR's own changes since, for an incremental review.
    pub since: Option<(CommitSha, Vec<FileDiff>)>,
    /// The base commit's tree, for AGENTS.md files (`None` when it could not be listed).
    pub base_tree: Option<std::sync::Arc<Tree>>,
    /// The repository at the head, for the model's tools.
    pub codebase: Codebase,
}

impl Reviewer {
    /// The first wave: independent calls at once.
    pub(super) async fn gather(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        sha: &CommitSha,
        react: Option<(CommentId, bool, i64)>,
        tools: bool,
    ) -> Result<Gathered, ReviewError> {
        let trigger_id = req.trigger.marker_id();
        let (_, posted, check, files, last, base_tree, codebase) = tokio::join!(
            async {
                if let Some((comment, in_thread, since)) = react {
                    match gh.react_eyes(comment, in_thread).await {
                        Ok(()) => self.metrics.ack_latency(crate::store::since_ms(since)),
                        // The review matters more than the reaction; go on.
                        Err(e) => {
                            tracing::warn!(error = %crate::error_chain::chain(&e), "cannot add the 👀 reaction")
                        }
                    }
                }
            },
            self.find_posted(gh, req.pr, sha, &trigger_id),
            async {
                // `post: false` leaves the pull request untouched: no check run either.
                if req.posts() {
                    self.start_check(gh, req.pr, sha).await
                } else {
                    None
                }
            },
            gh.files(req.pr),
            self.incremental_since(gh, req, sha),
            self.tree(gh, &pull.base.sha),
            self.codebase(gh, sha, tools),
        );
        let posted = posted?;
        let pr_files: Vec<FileDiff> = files?.into_iter().map(|f| f.into_diff()).collect();
        let since = last?.map(|(last, files)| {
            // Only the pull request's own files: a merge of the base branch into the PR
            // brings the base branch's changes into the comparison, and they are not this
            // pull request's to review.
            let own: HashSet<&str> = pr_files.iter().map(|f| f.path.as_str()).collect();
            let files = files
                .into_iter()
                .filter(|f| own.contains(f.filename.as_str()))
                .map(|f| f.into_diff())
                .collect();
            (last, files)
        });
        let base_tree = match base_tree {
            Ok(tree) => Some(tree),
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot list the base tree for AGENTS.md files");
                None
            }
        };
        Ok(Gathered {
            posted,
            check,
            pr_files,
            since,
            base_tree,
            codebase,
        })
    }

    /// The repository at the head for the model's tools, when they are `wanted` and the
    /// service gives them turns.
    pub(crate) async fn codebase(
        &self,
        gh: &RepoClient,
        sha: &CommitSha,
        wanted: bool,
    ) -> Codebase {
        match self.snapshots.as_ref() {
            Some(store) if wanted && self.tool_limits.turns > 0 => {
                crate::codebase::at_head(store, gh, sha, &self.metrics).await
            }
            _ => Codebase::default(),
        }
    }

    /// The last reviewed head and the files changed since, when an incremental review
    /// applies (a comment trigger without `full`, after an earlier review whose head is an
    /// ancestor of this one).
    async fn incremental_since(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        head: &CommitSha,
    ) -> Result<Option<(CommitSha, Vec<crate::github::ChangedFile>)>, ReviewError> {
        if req.command.full()
            || !matches!(req.trigger, Trigger::Comment { .. } | Trigger::Api { .. })
        {
            return Ok(None);
        }
        let last = self
            .store
            .last_reviewed_sha(&req.repo, req.pr)
            .await
            .map_err(ReviewError::Store)?;
        let Some(last) = last.filter(|l| l != head) else {
            return Ok(None);
        };
        match gh.compare(&last, head).await? {
            // GitHub lists at most 300 files in a comparison: beyond that, review it all.
            Some(c) if c.status == "ahead" && c.files.len() < 300 => Ok(Some((last, c.files))),
            other => {
                tracing::info!(
                    status = other
                        .as_ref()
                        .map_or("unknown commit", |c| c.status.as_str()),
                    "the last reviewed head is not an ancestor: reviewing everything"
                );
                Ok(None)
            }
        }
    }

    /// The tree of `sha`, read once per commit.
    pub(super) async fn tree(
        &self,
        gh: &RepoClient,
        sha: &str,
    ) -> Result<std::sync::Arc<Tree>, GitHubError> {
        if let Some(tree) = self.trees.get(gh.repo(), sha) {
            return Ok(tree);
        }
        let tree = std::sync::Arc::new(gh.tree_paths(sha).await?);
        self.trees.put(gh.repo(), sha, tree.clone());
        Ok(tree)
    }
}

/// The second wave: the content of the most valuable small files (for context around their
/// hunks; from the snapshot when there is one) and the repository's guidelines, at once.
pub(super) async fn read_wide(
    gh: &RepoClient,
    sha: &CommitSha,
    base_sha: &str,
    reviewable: &[&FileDiff],
    config: &RepoConfig,
    base_tree: Option<&Tree>,
    snapshot: Option<&crate::codebase::Toolbox>,
) -> (HashMap<String, String>, Guidelines) {
    let changed: Vec<&str> = reviewable.iter().map(|f| f.path.as_str()).collect();
    tokio::join!(
        fetch_contents(gh, sha, reviewable, snapshot),
        guidelines(gh, base_sha, config, &changed, base_tree)
    )
}
