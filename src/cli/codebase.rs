//! The repository the CLI's model reads with its tools: the pull request's head through
//! GitHub's archive (the App's snapshot code, in a cache of its own that is removed at exit),
//! or, for a local diff, the git work tree's HEAD.

use crate::codebase::{ScratchDir, SnapshotError, SnapshotStore, Source, Toolbox, Tools, local};
use crate::error_chain::chain;
use crate::github::RepoClient;
use crate::ids::CommitSha;
use crate::settings::CodebaseSettings;

/// The CLI's tools, and what keeps their files alive.
pub struct CliCodebase {
    pub toolbox: Option<Toolbox>,
    /// How the repository was read, when it is not a full snapshot.
    pub note: Option<String>,
    _scratch: Option<ScratchDir>,
}

impl CliCodebase {
    fn none(note: impl Into<String>) -> Self {
        Self {
            toolbox: None,
            note: Some(note.into()),
            _scratch: None,
        }
    }
}

/// The pull request's head, from GitHub's archive.
pub async fn for_pull(
    settings: &CodebaseSettings,
    gh: &RepoClient,
    head: &CommitSha,
) -> CliCodebase {
    let scratch = match ScratchDir::new("codex-review-cli") {
        Ok(dir) => dir,
        Err(e) => return CliCodebase::none(format!("no snapshot directory: {e}")),
    };
    let store = match SnapshotStore::new(scratch.path(), u64::MAX, settings.limits) {
        Ok(store) => store,
        Err(e) => return CliCodebase::none(format!("no snapshot directory: {e}")),
    };
    let location = gh.archive_location(head);
    let contents = || Source::Contents {
        gh: gh.clone(),
        sha: head.to_string(),
    };
    let (source, note) = match store.snapshot(gh.repo(), head, location).await {
        Ok(snapshot) => (Source::Snapshot(snapshot), None),
        Err(e @ SnapshotError::TooLarge(_)) => (
            contents(),
            Some(format!(
                "{e}: single files are read through the API, without search"
            )),
        ),
        Err(e) => (
            contents(),
            Some(format!(
                "no snapshot ({}): single files are read through the API, without search",
                chain(&e)
            )),
        ),
    };
    CliCodebase {
        toolbox: Some(Toolbox::new(source, None)),
        note,
        _scratch: Some(scratch),
    }
}

/// HEAD of the git work tree the CLI runs in.
pub fn for_work_tree(settings: &CodebaseSettings) -> CliCodebase {
    let here = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(e) => return CliCodebase::none(format!("no working directory: {e}")),
    };
    for_revision(settings, &here, "HEAD")
}

/// Revision `rev` of the git repository at `work_tree` (an eval case's head).
pub fn for_revision(
    settings: &CodebaseSettings,
    work_tree: &std::path::Path,
    rev: &str,
) -> CliCodebase {
    let scratch = match ScratchDir::new("codex-review-cli") {
        Ok(dir) => dir,
        Err(e) => return CliCodebase::none(format!("no snapshot directory: {e}")),
    };
    match local::snapshot_at(work_tree, rev, scratch.path(), &settings.limits) {
        Ok(_) => CliCodebase {
            toolbox: Some(Toolbox::new(
                Source::Local(Tools::new(scratch.path())),
                None,
            )),
            note: None,
            _scratch: Some(scratch),
        },
        Err(e) => CliCodebase::none(format!(
            "the model reviews without the repository's files ({})",
            chain(&e)
        )),
    }
}
