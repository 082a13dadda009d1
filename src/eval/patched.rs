//! A case kept as base files and a patch (`Source::Patch`, the shipped sample's form): made
//! into a git repository in a scratch directory, the base committed on [`BASE`] and the
//! patch applied by `git apply` on [`HEAD`], so the eval reads it as any local repository.
//!
//! Only regular files and directories are copied (a link in the base is refused), and git
//! runs as everywhere else in the CLI and the eval (`codebase::local::git`: nothing from
//! outside the repository), with no hook.

use std::path::{Path, PathBuf};

use crate::codebase::local::{GitError, failure, git};
use crate::scratch::ScratchDir;

/// The branch holding the base's files.
pub const BASE: &str = "main";
/// The branch holding the base with the patch applied.
pub const HEAD: &str = "change";

/// The repository made of a base and a patch, removed when dropped.
pub struct Patched {
    work_tree: PathBuf,
    _scratch: ScratchDir,
}

impl Patched {
    /// The repository's work tree.
    pub fn path(&self) -> &Path {
        &self.work_tree
    }
}

/// Why a case's repository could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PatchedError {
    #[error("scratch")]
    Scratch(#[source] std::io::Error),
    /// The base's files could not be copied (the path of the base, or of the patch).
    #[error("{}", .0.display())]
    Copy(PathBuf, #[source] std::io::Error),
    #[error("{}: no such patch", .0.display())]
    NoPatch(PathBuf),
    #[error("the patch's path is not UTF-8")]
    PatchPathNotUtf8,
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Commits the files under `base` on [`BASE`], then `patch` applied to them on [`HEAD`], in
/// a repository directory called `name` (the model sees it as the repository's name: the
/// package's, never the case's; `repo` when `name` is no plain directory name).
pub fn materialize(base: &Path, patch: &Path, name: &str) -> Result<Patched, PatchedError> {
    let scratch = ScratchDir::new("codex-review-case").map_err(PatchedError::Scratch)?;
    let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']);
    let work_tree = scratch.path().join(if plain { name } else { "repo" });
    let dir = work_tree.as_path();
    std::fs::create_dir(dir).map_err(PatchedError::Scratch)?;
    copy_tree(base, dir).map_err(|e| PatchedError::Copy(base.to_owned(), e))?;
    let patch = std::path::absolute(patch).map_err(|e| PatchedError::Copy(patch.to_owned(), e))?;
    if !patch.is_file() {
        return Err(PatchedError::NoPatch(patch));
    }
    run(dir, &[], &["init", "-q", "-b", BASE])?;
    run(dir, &[], &["add", "-A"])?;
    commit(dir, "base")?;
    run(dir, &[], &["checkout", "-q", "-b", HEAD])?;
    let patch = patch.to_str().ok_or(PatchedError::PatchPathNotUtf8)?;
    run(
        dir,
        &[],
        &["apply", "--index", "--whitespace=nowarn", patch],
    )?;
    commit(dir, "change")?;
    Ok(Patched {
        work_tree,
        _scratch: scratch,
    })
}

/// The regular files and directories under `from`, copied into `to`.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        } else {
            return Err(std::io::Error::other(format!(
                "{} is neither a file nor a directory",
                entry.path().display()
            )));
        }
    }
    Ok(())
}

/// A commit of everything staged, by a fixed author at a fixed time.
fn commit(dir: &Path, message: &str) -> Result<(), GitError> {
    let identity = [
        "-c",
        "user.name=codex-review eval",
        "-c",
        "user.email=eval@codex-review.invalid",
    ];
    let args = [
        "commit",
        "-q",
        "--allow-empty",
        "--no-verify",
        "-m",
        message,
    ];
    run(dir, &identity, &args)
}

/// `git config args` in `dir` (`config`: `-c` options), with no hook and a fixed date; the
/// first line of its complaint if it fails.
fn run(dir: &Path, config: &[&str], args: &[&str]) -> Result<(), GitError> {
    let out = git(dir)
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "commit.gpgSign=false",
        ])
        .args(config)
        .args(args)
        .env("GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z")
        .output()
        .map_err(GitError::NotRun)?;
    if out.status.success() {
        return Ok(());
    }
    let what = format!("git {}", args.first().unwrap_or(&""));
    Err(failure(what, &out.stderr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::chain;

    #[test]
    fn a_base_and_a_patch_become_two_branches() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join("base");
        std::fs::create_dir_all(base.join("src")).unwrap();
        std::fs::write(base.join("src/a.py"), "x = 1\ny = 2\n").unwrap();
        let patch = root.path().join("change.patch");
        std::fs::write(
            &patch,
            "diff --git a/src/a.py b/src/a.py\n--- a/src/a.py\n+++ b/src/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n",
        )
        .unwrap();
        let repo = materialize(&base, &patch, "a-package").unwrap();
        let dir = repo.path().to_owned();
        assert!(dir.ends_with("a-package"), "{}", dir.display());
        let file = |rev| crate::codebase::local::file_at(&dir, rev, "src/a.py");
        assert_eq!(file(BASE).as_deref(), Some("x = 1\ny = 2\n"));
        assert_eq!(file(HEAD).as_deref(), Some("x = 1\ny = 3\n"));
        drop(repo);
        assert!(!dir.exists(), "the repository goes with its value");
        // A name that is no plain directory name is not used.
        let other = materialize(&base, &patch, "../up").unwrap();
        assert!(other.path().ends_with("repo"), "{}", other.path().display());

        // A patch that does not apply is an error that says so.
        std::fs::write(base.join("src/a.py"), "x = 1\ny = 5\n").unwrap();
        let err = materialize(&base, &patch, "a-package").err().unwrap();
        let err = chain(&err);
        assert!(err.starts_with("git apply failed: "), "{err}");
        let missing = materialize(&base, &root.path().join("none.patch"), "")
            .err()
            .unwrap()
            .to_string();
        assert!(missing.contains("no such patch"), "{missing}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_base_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join("base");
        std::fs::create_dir_all(&base).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", base.join("passwd")).unwrap();
        std::fs::write(root.path().join("p"), "").unwrap();
        let err = materialize(&base, &root.path().join("p"), "x")
            .err()
            .unwrap();
        assert!(
            std::error::Error::source(&err).is_some(),
            "the I/O error is kept"
        );
        let err = chain(&err);
        assert!(err.contains("neither a file nor a directory"), "{err}");
    }
}
