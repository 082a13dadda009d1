//! The context stage's output, [`Context`]: everything a review reads, wherever it came from
//! (the App's job handler reads it from GitHub, the CLI from GitHub with a token or from a
//! local diff, the eval from a recorded case); and the readers those share: the content of
//! the changed files and the repository's guidelines.

use std::collections::HashMap;

use tokio::task::JoinSet;

use crate::diff::filter::review_value;
use crate::diff::{FileDiff, FileStatus};
use crate::github::RepoClient;
use crate::ids::CommitSha;
use crate::repo_config::{Guidelines, RepoConfig, nearest_agents_files};
use crate::threads::Earlier;

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
/// A commit's file listing: paths, and whether GitHub cut it short.
pub type Tree = (Vec<String>, bool);

/// What the pull request says about itself.
#[derive(Debug, Clone, Default)]
pub struct Described {
    pub repo: String,
    pub title: String,
    pub description: String,
    pub base_ref: String,
    pub head_ref: String,
}

/// The context stage's output: everything the review reads, wherever it came from.
pub struct Context {
    pub described: Described,
    pub config: RepoConfig,
    /// Why the repository's configuration was not used (the defaults applied).
    pub config_error: Option<String>,
    /// The request's focus areas (the repository's are added when the model is asked).
    pub focus_areas: Vec<String>,
    /// The pull request's whole diff: inline comments go on it.
    pub pr_files: Vec<FileDiff>,
    /// The last reviewed head, and the pull request's changes since: what the model reads in
    /// an incremental review.
    pub since: Option<(CommitSha, Vec<FileDiff>)>,
    /// Paths of the files the model is shown (the select stage's choice).
    pub selected: Vec<String>,
    /// Files not shown, and why.
    pub not_reviewed: Vec<(String, String)>,
    /// The text of files at the head, where read: context around their hunks.
    pub contents: HashMap<String, String>,
    /// The repository's guidance: configured instructions and AGENTS.md review guidelines.
    pub guidelines: crate::repo_config::Guidelines,
    /// Maintainers' notes from dismissed findings.
    pub notes: String,
    /// The repository at the head for the model's tools (`None`: no tools).
    pub toolbox: Option<crate::codebase::Toolbox>,
    /// How the repository was read, when it was not a full snapshot.
    pub codebase_note: Option<String>,
    /// Earlier findings on this pull request: to judge, and to leave out when dismissed.
    pub earlier: Earlier,
    /// The findings already posted on this pull request, by fingerprint.
    pub known: HashMap<String, crate::store::KnownFinding>,
    /// Whether the verify stage may run (the repository's `review.verify` applies too).
    pub verify: bool,
    /// The head on GitHub, to tell whether a file outside the diff exists (a local diff has
    /// none: such findings stay in the summary).
    pub head: Option<(RepoClient, CommitSha)>,
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
