//! The repository configuration a review from the command line runs under, as the App's: the
//! pull request's base branch for a URL, and for a local diff (which has no base on GitHub)
//! the work tree's `HEAD`. Which one applies is said on standard error.

use crate::codebase::local;
use crate::github::RepoClient;
use crate::repo_config::CONFIG_PATH;
use crate::repo_config::Loaded;

/// The configuration at the pull request's base commit.
pub async fn of_pull(gh: &RepoClient, base_sha: &str) -> anyhow::Result<Loaded> {
    let (loaded, found) = Loaded::read(gh, base_sha).await?;
    let short = base_sha.get(..7).unwrap_or(base_sha);
    Ok(said(loaded, found, &format!("the base branch ({short})")))
}

/// The configuration at the `HEAD` of the git work tree the command runs in.
pub fn of_work_tree() -> Loaded {
    let text = local::file_at_head(CONFIG_PATH);
    said(
        Loaded::from_file(text.as_deref()),
        text.is_some(),
        "the work tree's HEAD (a local diff has no base branch on GitHub)",
    )
}

/// `loaded`, once standard error says where it comes from.
fn said(loaded: Loaded, found: bool, whose: &str) -> Loaded {
    match (&loaded.error, found) {
        (Some(e), _) => eprintln!(
            "codex-review: {CONFIG_PATH} of {whose} is invalid, so the defaults apply: {}",
            super::print::printable(&e.to_string())
        ),
        (None, true) => eprintln!("codex-review: using {CONFIG_PATH} of {whose}"),
        (None, false) => eprintln!("codex-review: no {CONFIG_PATH} in {whose}: the defaults apply"),
    }
    loaded
}
