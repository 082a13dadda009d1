//! A snapshot of a local git work tree's HEAD, for `codex-review review -`: `git archive`
//! streams the committed tree (never the files on disk, so no link in the work tree can lead
//! outside it) into the same unpacker, with the same limits and rules, as GitHub's archive.

use std::path::Path;
use std::process::{Command, Stdio};

use super::unpack::{Limits, Unpacked, unpack_tar};

/// Unpacks HEAD of the git repository at `work_tree` into `dest` (an empty directory).
pub fn snapshot_head(work_tree: &Path, dest: &Path, limits: &Limits) -> Result<Unpacked, String> {
    snapshot_at(work_tree, "HEAD", dest, limits)
}

/// A revision git takes as one, never as an option.
fn revision(rev: &str) -> Result<&str, String> {
    if rev.is_empty() || rev.starts_with('-') || rev.contains(['\0', '\n']) {
        return Err(format!("{rev:?} is not a git revision"));
    }
    Ok(rev)
}

/// Unpacks revision `rev` of the git repository at `work_tree` into `dest`.
pub fn snapshot_at(
    work_tree: &Path,
    rev: &str,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, String> {
    let rev = revision(rev)?;
    let mut git = Command::new("git")
        .arg("-C")
        .arg(work_tree)
        // Only the object store is read: no hook, no file-system monitor, no filter runs.
        .args([
            "-c",
            "core.fsmonitor=false",
            "archive",
            "--format=tar",
            "--prefix=head/",
            rev,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("git could not be run: {e}"))?;
    let stdout = git.stdout.take().expect("stdout is piped");
    let unpacked = unpack_tar(stdout, dest, limits);
    let done = git
        .wait_with_output()
        .map_err(|e| format!("git failed: {e}"))?;
    if !done.status.success() {
        let why = String::from_utf8_lossy(&done.stderr);
        return Err(format!(
            "git archive failed: {}",
            why.lines().next().unwrap_or("no message").trim()
        ));
    }
    unpacked.map_err(|e| e.to_string())
}

/// The text of `path` in HEAD of the git work tree the process runs in (`None`: no such file,
/// not a work tree, or not text). Read from the object store only, like the snapshot.
pub fn file_at_head(path: &str) -> Option<String> {
    file_at(Path::new("."), "HEAD", path)
}

/// The text of `path` at revision `rev` of the git repository at `work_tree`.
pub fn file_at(work_tree: &Path, rev: &str, path: &str) -> Option<String> {
    let rev = revision(rev).ok()?;
    let out = Command::new("git")
        .arg("-C")
        .arg(work_tree)
        .args(["-c", "core.fsmonitor=false", "show"])
        .arg(format!("{rev}:{path}"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).ok())
        .flatten()
}

/// The paths of HEAD of the git work tree the process runs in (`None`: not a work tree).
pub fn paths_at_head() -> Option<Vec<String>> {
    paths_at(Path::new("."), "HEAD")
}

/// The paths of revision `rev` of the git repository at `work_tree`.
pub fn paths_at(work_tree: &Path, rev: &str) -> Option<Vec<String>> {
    let rev = revision(rev).ok()?;
    let out = Command::new("git")
        .arg("-C")
        .arg(work_tree)
        .args([
            "-c",
            "core.fsmonitor=false",
            "ls-tree",
            "-r",
            "-z",
            "--name-only",
            rev,
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let listed = String::from_utf8(out.stdout).ok()?;
    Some(
        listed
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// The unified diff from `base` to `head` of the git repository at `work_tree`, renames found.
pub fn diff(work_tree: &Path, base: &str, head: &str) -> Result<String, String> {
    let (base, head) = (revision(base)?, revision(head)?);
    let out = Command::new("git")
        .arg("-C")
        .arg(work_tree)
        .args([
            "-c",
            "core.fsmonitor=false",
            "diff",
            "--no-color",
            "--no-ext-diff",
            "-M",
        ])
        .args([base, head, "--"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("git could not be run: {e}"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "git diff {base} {head} failed: {}",
            why.lines().next().unwrap_or("no message").trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "the diff is not UTF-8".to_owned())
}
