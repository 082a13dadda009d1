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

use tokio::task::JoinSet;

use super::{ReviewError, Reviewer};
use crate::diff::filter::review_value;
use crate::diff::{FileDiff, FileStatus};
use crate::event::{ReviewRequest, Trigger};
use crate::github::{GitHubError, PullInfo, RepoClient};
use crate::ids::{CommentId, CommitSha, RepoName};
use crate::repo_config::{Guidelines, RepoConfig, nearest_agents_files};

/// Files whose full new content is fetched for context, at most, per review.
pub(crate) const MAX_CONTENT_FILES: usize = 50;
/// Content fetches in flight at once: all of them, in one wave.
const CONTENT_FETCH_CONCURRENCY: usize = MAX_CONTENT_FILES;
/// Files with longer patches are shown by their hunks only (no content is fetched).
const MAX_CONTENT_PATCH_LINES: usize = 3_000;
/// Larger files are not fetched.
pub(crate) const MAX_CONTENT_BYTES: usize = 512 * 1024;
/// AGENTS.md files read per review at most.
const MAX_AGENTS_FILES: usize = 10;
/// Larger AGENTS.md files are not read.
pub const MAX_AGENTS_BYTES: usize = 256 * 1024;
/// Trees kept (a tree of a commit never changes).
const TREE_CACHE_ENTRIES: usize = 256;

/// A commit's file listing: paths, and whether GitHub cut it short.
pub type Tree = (Vec<String>, bool);

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

/// The repository at the reviewed head as the model's tools see it.
#[derive(Default)]
pub(crate) struct Codebase {
    /// `None`: the tools are off (by configuration, or no way to read the repository).
    pub toolbox: Option<crate::codebase::Toolbox>,
    /// What the summary says about how the repository was read, when it is not the snapshot.
    pub note: Option<String>,
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

    /// The snapshot of the head for the model's tools; over the snapshot's limits (or when the
    /// archive cannot be had), single files through the contents API, and the summary says so.
    pub(crate) async fn codebase(
        &self,
        gh: &RepoClient,
        sha: &CommitSha,
        wanted: bool,
    ) -> Codebase {
        let Some(store) = self.snapshots.as_ref().filter(|_| wanted) else {
            return Codebase::default();
        };
        if self.tool_limits.turns == 0 {
            return Codebase::default();
        }
        let location = gh.archive_location(sha);
        let metrics = Some(self.metrics.clone());
        let contents = || crate::codebase::Source::Contents {
            gh: gh.clone(),
            sha: sha.to_string(),
        };
        match store.snapshot(gh.repo(), sha, location).await {
            Ok(snapshot) => {
                self.metrics.snapshot("ok");
                Codebase {
                    toolbox: Some(crate::codebase::Toolbox::new(
                        crate::codebase::Source::Snapshot(snapshot),
                        metrics,
                    )),
                    note: None,
                }
            }
            Err(e @ crate::codebase::SnapshotError::TooLarge(_)) => {
                let why = e.to_string();
                self.metrics.snapshot("too_large");
                tracing::info!(
                    why,
                    "repository over the snapshot limits; reading single files"
                );
                Codebase {
                    toolbox: Some(crate::codebase::Toolbox::new(contents(), metrics)),
                    note: Some(format!(
                        "{}: the reviewer read single files through the API and could not search the repository.",
                        capitalized(&why)
                    )),
                }
            }
            Err(e) => {
                self.metrics.snapshot("failed");
                let e = crate::error_chain::chain(&e);
                tracing::warn!(error = %e, "no repository snapshot; reading single files");
                Codebase {
                    toolbox: Some(crate::codebase::Toolbox::new(contents(), metrics)),
                    note: Some(format!(
                        "The repository snapshot could not be made ({e}): the reviewer read single files through the API and could not search the repository."
                    )),
                }
            }
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
        if req.full || !matches!(req.trigger, Trigger::Comment { .. } | Trigger::Api { .. }) {
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

/// The new content of the most valuable small files, for context around their hunks: from
/// the head's snapshot when the review has one (no GitHub call), else through the contents
/// API. Failures only cost context: they are logged and the file is shown by its hunks.
pub async fn fetch_contents(
    gh: &RepoClient,
    sha: &CommitSha,
    files: &[&FileDiff],
    snapshot: Option<&crate::codebase::Toolbox>,
) -> HashMap<String, String> {
    let mut wanted: Vec<&FileDiff> = files
        .iter()
        .copied()
        .filter(|f| f.status != FileStatus::Removed && f.line_count() <= MAX_CONTENT_PATCH_LINES)
        .collect();
    wanted.sort_by(|a, b| (review_value(&a.path), &a.path).cmp(&(review_value(&b.path), &b.path)));
    wanted.truncate(MAX_CONTENT_FILES);
    let mut out = HashMap::new();
    if let Some(snapshot) = snapshot.filter(|t| !t.is_fallback()) {
        for file in wanted {
            if let Some(text) = snapshot.text_of(&file.path).await
                && text.len() <= MAX_CONTENT_BYTES
            {
                out.insert(file.path.clone(), text);
            }
        }
        return out;
    }
    let mut pending = wanted.into_iter().map(|f| f.path.clone());
    let mut fetches = JoinSet::new();
    loop {
        while fetches.len() < CONTENT_FETCH_CONCURRENCY {
            let Some(path) = pending.next() else { break };
            let (gh, sha) = (gh.clone(), sha.clone());
            fetches.spawn(async move {
                let content = gh.file_at(&path, sha.as_str(), MAX_CONTENT_BYTES).await;
                (path, content)
            });
        }
        let Some(joined) = fetches.join_next().await else {
            break;
        };
        match joined {
            Ok((path, Ok(Some(content)))) => {
                out.insert(path, content);
            }
            Ok((_, Ok(None))) => {}
            Ok((path, Err(e))) => {
                tracing::warn!(path, error = %crate::error_chain::chain(&e), "cannot fetch file content")
            }
            Err(e) => tracing::warn!(error = %e, "content fetch task failed"),
        }
    }
    out
}

/// The repository's guidance for the files of this review, read from GitHub at the base: the
/// configured instructions and the "Review guidelines" of the AGENTS.md files that apply (root
/// and nearest), read at once.
pub async fn guidelines(
    gh: &RepoClient,
    base_sha: &str,
    config: &RepoConfig,
    changed: &[&str],
    base_tree: Option<&Tree>,
) -> Guidelines {
    let mut found: Vec<(usize, String, String)> = Vec::new();
    if let Some((paths, truncated)) = base_tree {
        if *truncated {
            tracing::info!("the base tree listing was truncated; AGENTS.md files may be missed");
        }
        let mut reads = JoinSet::new();
        for (i, path) in agents_files(paths, changed).into_iter().enumerate() {
            let (gh, base) = (gh.clone(), base_sha.to_owned());
            reads.spawn(async move {
                let text = gh.file_at(&path, &base, MAX_AGENTS_BYTES).await;
                (i, path, text)
            });
        }
        while let Some(joined) = reads.join_next().await {
            match joined {
                Ok((i, path, Ok(Some(text)))) => found.push((i, path, text)),
                Ok((_, _, Ok(None))) => {}
                Ok((_, path, Err(e))) => {
                    tracing::warn!(path, error = %crate::error_chain::chain(&e), "cannot read AGENTS.md")
                }
                Err(e) => tracing::warn!(error = %e, "AGENTS.md read task failed"),
            }
        }
        // In the order the files apply, whatever order the reads finished in.
        found.sort_by_key(|(i, _, _)| *i);
    }
    compose_guidelines(config, changed, found.into_iter().map(|(_, p, t)| (p, t)))
}

/// The AGENTS.md files among `paths` that apply to the `changed` files, in the order they
/// apply (at most [`MAX_AGENTS_FILES`]).
pub fn agents_files(paths: &[String], changed: &[&str]) -> Vec<String> {
    let agents: Vec<String> = paths
        .iter()
        .filter(|p| *p == "AGENTS.md" || p.ends_with("/AGENTS.md"))
        .cloned()
        .collect();
    nearest_agents_files(&agents, changed)
        .into_iter()
        .take(MAX_AGENTS_FILES)
        .map(str::to_owned)
        .collect()
}

/// The guidance, from the configured instructions, the instructions of matching paths, and
/// the "Review guidelines" of the `agents` files (path and text, in the order they apply).
pub fn compose_guidelines(
    config: &RepoConfig,
    changed: &[&str],
    agents: impl IntoIterator<Item = (String, String)>,
) -> Guidelines {
    let paths: Vec<(String, String)> = config
        .review
        .path_instructions
        .iter()
        .map(|p| (p.path.clone(), p.instructions.clone()))
        .collect();
    Guidelines::compose(&config.review.instructions, &paths, changed, agents)
}

/// `s` with its first letter upper-case (a sentence of the summary).
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
