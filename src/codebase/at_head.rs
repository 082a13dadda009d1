//! The repository at a pull request's head as the model's tools see it: the snapshot, or,
//! over the snapshot's limits (or when the archive cannot be had), single files through the
//! contents API, with a note that says so.

use std::sync::Arc;

use super::{SnapshotError, SnapshotStore, Source, Toolbox};
use crate::github::RepoClient;
use crate::ids::CommitSha;
use crate::metrics::Metrics;

/// The repository at the reviewed head as the model's tools see it.
#[derive(Default)]
pub struct Codebase {
    /// `None`: the tools are off (by configuration, or no way to read the repository).
    pub toolbox: Option<Toolbox>,
    /// What the summary says about how the repository was read, when it is not the snapshot.
    pub note: Option<String>,
}

/// The snapshot of `sha` from `store` for the model's tools; single files through the
/// contents API when there is none.
pub async fn at_head(
    store: &SnapshotStore,
    gh: &RepoClient,
    sha: &CommitSha,
    metrics: &Arc<Metrics>,
) -> Codebase {
    let location = gh.archive_location(sha);
    let with_metrics = Some(Arc::clone(metrics));
    let contents = || Source::Contents {
        gh: gh.clone(),
        sha: sha.to_string(),
    };
    match store.snapshot(gh.repo(), sha, location).await {
        Ok(snapshot) => {
            metrics.snapshot("ok");
            Codebase {
                toolbox: Some(Toolbox::new(Source::Snapshot(snapshot), with_metrics)),
                note: None,
            }
        }
        Err(e @ SnapshotError::TooLarge(_)) => {
            let why = e.to_string();
            metrics.snapshot("too_large");
            tracing::info!(
                why,
                "repository over the snapshot limits; reading single files"
            );
            Codebase {
                toolbox: Some(Toolbox::new(contents(), with_metrics)),
                note: Some(format!(
                    "{}: the reviewer read single files through the API and could not search the repository.",
                    capitalized(&why)
                )),
            }
        }
        Err(e) => {
            metrics.snapshot("failed");
            let e = crate::error_chain::chain(&e);
            tracing::warn!(error = %e, "no repository snapshot; reading single files");
            Codebase {
                toolbox: Some(Toolbox::new(contents(), with_metrics)),
                note: Some(format!(
                    "The repository snapshot could not be made ({e}): the reviewer read single files through the API and could not search the repository."
                )),
            }
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
