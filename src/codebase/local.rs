//! A local git repository, for `codex-review review -` and the eval: the snapshot of a
//! revision, its files and paths, and the diff between two revisions.
//!
//! Only the object store is read, never the files on disk (no link in the work tree can lead
//! outside it), and git runs nothing but itself: no system or global configuration, no
//! configuration from the environment, no attributes file outside the repository, no
//! file-system monitor. Blobs are read with `git cat-file` (which applies no filter) after
//! their size is known; the diff is taken with `--no-ext-diff --no-textconv`. A repository's
//! own configuration and `.gitattributes` may name filters, diff drivers and text
//! conversions: none of them runs.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::unpack::{Limits, UnpackError, Unpacked, Unpacking, in_tree, link_target};

/// A file read from a revision is at most this large (a larger one is not read at all).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A link's target is at most this long.
const MAX_LINK_BYTES: u64 = 4096;

/// `git -C work_tree`, with nothing from outside the repository (see the module's comment).
/// Every git process of the CLI and the eval starts here.
pub(crate) fn git(work_tree: &Path) -> Command {
    let mut git = Command::new("git");
    git.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_ATTR_NOSYSTEM", "1")
        .env_remove("GIT_CONFIG_PARAMETERS")
        .env_remove("GIT_CONFIG_COUNT")
        .env_remove("GIT_EXTERNAL_DIFF")
        .arg("-C")
        .arg(work_tree)
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.attributesFile=/dev/null",
        ])
        .stdin(Stdio::null());
    git
}

/// Why a git repository could not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0:?} is not a git revision")]
    NotARevision(String),
    #[error("git could not be run")]
    NotRun(#[source] std::io::Error),
    /// git ran and failed; `said` is the first line of what it wrote.
    #[error("{what} failed: {said}")]
    Failed { what: String, said: String },
    #[error("git cat-file has no pipes")]
    NoPipes,
    #[error("git cat-file is closed")]
    Closed,
    #[error("git cat-file broke off")]
    BrokeOff(#[source] std::io::Error),
    #[error("git cat-file broke off in the middle of an object")]
    CutShort,
    #[error("git cat-file did not give {0}")]
    Missing(String),
    #[error("the diff is not UTF-8")]
    NotUtf8(#[source] std::string::FromUtf8Error),
    #[error(transparent)]
    Snapshot(#[from] UnpackError),
}

/// `what` failed: the first line of what git said.
pub(crate) fn failure(what: String, stderr: &[u8]) -> GitError {
    let why = String::from_utf8_lossy(stderr);
    let said = why.lines().next().unwrap_or("no message").trim().to_owned();
    GitError::Failed { what, said }
}

/// Unpacks HEAD of the git repository at `work_tree` into `dest` (an empty directory).
pub fn snapshot_head(work_tree: &Path, dest: &Path, limits: &Limits) -> Result<Unpacked, GitError> {
    snapshot_at(work_tree, "HEAD", dest, limits)
}

/// A revision git takes as one, never as an option.
fn revision(rev: &str) -> Result<&str, GitError> {
    if rev.is_empty() || rev.starts_with('-') || rev.contains(['\0', '\n']) {
        return Err(GitError::NotARevision(rev.to_owned()));
    }
    Ok(rev)
}

/// Unpacks revision `rev` of the git repository at `work_tree` into `dest`, with the limits
/// and rules of GitHub's archive: its tree is listed with each blob's size, the limits decide
/// in tree order which blobs are wanted (before any is read: a tree over them reads none),
/// and one `git cat-file --batch`, fed by a thread, answers them all in that order.
pub fn snapshot_at(
    work_tree: &Path,
    rev: &str,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, GitError> {
    let rev = revision(rev)?;
    let listed = git(work_tree)
        .args(["ls-tree", "-r", "-z", "-l", "--full-tree", rev])
        .output()
        .map_err(GitError::NotRun)?;
    if !listed.status.success() {
        return Err(failure("git ls-tree".into(), &listed.stderr));
    }
    let mut out = Unpacking::new(dest, limits)?;
    let mut wanted: Vec<Wanted> = Vec::new();
    for record in listed.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let Some(entry) = TreeEntry::parse(record) else {
            continue;
        };
        let shown: String = String::from_utf8_lossy(entry.path)
            .chars()
            .take(300)
            .collect();
        let Some(path) = in_tree(entry.path) else {
            out.skip(shown, "its path leaves the snapshot");
            continue;
        };
        let max = match (entry.mode, entry.size) {
            // A submodule's commit: no files here.
            (_, None) => continue,
            (b"120000", Some(_)) => None,
            (_, Some(size)) => match out.admit(&path, shown.clone(), size)? {
                true => Some(size),
                false => continue,
            },
        };
        wanted.push(Wanted {
            object: entry.object.to_vec(),
            path,
            shown,
            max,
        });
    }
    let mut blobs = Blobs::start(work_tree)?;
    let names: Vec<Vec<u8>> = wanted.iter().map(|w| w.object.clone()).collect();
    let feeder = blobs.feed(names)?;
    for w in wanted {
        match w.max {
            None => {
                let target = blobs.answer(MAX_LINK_BYTES)?;
                let to = target.and_then(|t| link_target(&w.path, &t, false));
                out.link(w.path, w.shown, to);
            }
            Some(size) => {
                let bytes = blobs.answer(size)?.ok_or_else(|| {
                    GitError::Missing(String::from_utf8_lossy(&w.object).into_owned())
                })?;
                out.file(&w.path, &bytes)?;
            }
        }
    }
    drop(blobs);
    let _ = feeder.join();
    Ok(out.finish(dest)?)
}

/// A blob the snapshot reads: a file admitted with its size, or a link (`max` None).
struct Wanted {
    object: Vec<u8>,
    path: std::path::PathBuf,
    shown: String,
    max: Option<u64>,
}

/// One line of `git ls-tree -l -z`: `MODE TYPE OBJECT SIZE\tPATH`.
struct TreeEntry<'a> {
    mode: &'a [u8],
    object: &'a [u8],
    /// A blob's size (`None`: not a blob).
    size: Option<u64>,
    path: &'a [u8],
}

impl<'a> TreeEntry<'a> {
    fn parse(record: &'a [u8]) -> Option<Self> {
        let tab = record.iter().position(|b| *b == b'\t')?;
        let (meta, path) = (&record[..tab], &record[tab + 1..]);
        let mut fields = meta.split(|b| *b == b' ').filter(|f| !f.is_empty());
        let (mode, kind, object, size) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        if object.is_empty() || !object.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let size = match kind {
            b"blob" => Some(std::str::from_utf8(size).ok()?.parse().ok()?),
            _ => None,
        };
        Some(Self {
            mode,
            object,
            size,
            path,
        })
    }
}

/// A `git cat-file --batch` process: objects asked for one at a time, by name.
struct Blobs {
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl Blobs {
    fn start(work_tree: &Path) -> Result<Self, GitError> {
        let mut child = git(work_tree)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(GitError::NotRun)?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(GitError::NoPipes);
        };
        Ok(Self {
            child,
            input: Some(input),
            output: BufReader::with_capacity(1 << 16, output),
        })
    }

    /// The bytes of the object `name` (an object id, or `REV:PATH`) when it is a blob of at
    /// most `max` bytes; `None` when it is missing, not a blob, or larger.
    fn read(&mut self, name: &[u8], max: u64) -> Result<Option<Vec<u8>>, GitError> {
        if name.contains(&b'\n') {
            return Ok(None);
        }
        let broke = GitError::BrokeOff;
        let input = self.input.as_mut().ok_or(GitError::Closed)?;
        input.write_all(name).map_err(broke)?;
        input.write_all(b"\n").map_err(broke)?;
        input.flush().map_err(broke)?;
        self.answer(max)
    }

    /// Asks for all of `names` (object ids, hex: one line each) from a thread, so that the
    /// answers are read while the questions are written; the input is closed after the last.
    fn feed(&mut self, names: Vec<Vec<u8>>) -> Result<std::thread::JoinHandle<()>, GitError> {
        let input = self.input.take().ok_or(GitError::Closed)?;
        Ok(std::thread::spawn(move || {
            let mut input = std::io::BufWriter::new(input);
            for name in &names {
                // The process was ended (the reader stopped): nothing more to ask.
                if input
                    .write_all(name)
                    .and_then(|()| input.write_all(b"\n"))
                    .is_err()
                {
                    return;
                }
            }
            let _ = input.flush();
        }))
    }

    /// The next answer: the object's bytes when it is a blob of at most `max` bytes.
    fn answer(&mut self, max: u64) -> Result<Option<Vec<u8>>, GitError> {
        let broke = GitError::BrokeOff;
        // `OBJECT TYPE SIZE`, or `NAME missing` (and no content).
        let mut header = Vec::new();
        self.output.read_until(b'\n', &mut header).map_err(broke)?;
        let header = String::from_utf8_lossy(&header);
        let fields: Vec<&str> = header.split_whitespace().collect();
        let (kind, size) = match fields[..] {
            [_, kind, size] => match size.parse::<u64>() {
                Ok(size) => (kind, size),
                Err(_) => return Ok(None),
            },
            _ => return Ok(None),
        };
        // The content and its closing new line are read whole, wanted or not, so that the
        // next answer starts where it should.
        let mut content = Vec::new();
        let wanted = kind == "blob" && size <= max;
        if wanted {
            content.reserve(size as usize);
        }
        let mut body = (&mut self.output).take(size + 1);
        if wanted {
            body.read_to_end(&mut content).map_err(broke)?;
        } else {
            std::io::copy(&mut body, &mut std::io::sink()).map_err(broke)?;
        }
        if content.len() as u64 == size + 1 {
            content.pop();
        } else if wanted {
            return Err(GitError::CutShort);
        }
        Ok(wanted.then_some(content))
    }
}

impl Drop for Blobs {
    /// Ends the process (idle, or stopped in the middle of an answer) and reaps it.
    fn drop(&mut self) {
        drop(self.input.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of `path` in HEAD of the git work tree the process runs in (`None`: no such file,
/// not a work tree, or not text). Read from the object store only, like the snapshot.
pub fn file_at_head(path: &str) -> Option<String> {
    file_at(Path::new("."), "HEAD", path)
}

/// The text of `path` at revision `rev` of the git repository at `work_tree`: its size is
/// asked first (`git cat-file -s`), and a file over [`MAX_FILE_BYTES`] is not read.
pub fn file_at(work_tree: &Path, rev: &str, path: &str) -> Option<String> {
    let rev = revision(rev).ok()?;
    if path.is_empty() || path.contains(['\0', '\n']) {
        return None;
    }
    let name = format!("{rev}:{path}");
    let size = git(work_tree)
        .args(["cat-file", "-s"])
        .arg(&name)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let size: u64 = std::str::from_utf8(&size.stdout)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if size > MAX_FILE_BYTES {
        return None;
    }
    let mut blobs = Blobs::start(work_tree).ok()?;
    let bytes = blobs.read(name.as_bytes(), size).ok().flatten()?;
    String::from_utf8(bytes).ok()
}

/// The paths of HEAD of the git work tree the process runs in (`None`: not a work tree).
pub fn paths_at_head() -> Option<Vec<String>> {
    paths_at(Path::new("."), "HEAD")
}

/// The paths of revision `rev` of the git repository at `work_tree`, from its root.
pub fn paths_at(work_tree: &Path, rev: &str) -> Option<Vec<String>> {
    let rev = revision(rev).ok()?;
    let out = git(work_tree)
        .args(["ls-tree", "-r", "-z", "--full-tree", "--name-only", rev])
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
pub fn diff(work_tree: &Path, base: &str, head: &str) -> Result<String, GitError> {
    let (base, head) = (revision(base)?, revision(head)?);
    let out = git(work_tree)
        .args(["diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M"])
        .args([base, head, "--"])
        .output()
        .map_err(GitError::NotRun)?;
    if !out.status.success() {
        return Err(failure(format!("git diff {base} {head}"), &out.stderr));
    }
    String::from_utf8(out.stdout).map_err(GitError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A global and a system configuration that would set `diff.external`.
    fn outside_configuration(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join(".gitconfig"),
            "[diff]\n\texternal = touch-a-marker-global\n",
        )
        .unwrap();
        let system = dir.join("gitconfig-system");
        std::fs::write(&system, "[diff]\n\texternal = touch-a-marker-system\n").unwrap();
        (home, system)
    }

    #[test]
    fn git_reads_no_global_or_system_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let (home, system) = outside_configuration(dir.path());
        let ask = |mut cmd: Command, global: bool| {
            cmd.env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"));
            if !global {
                cmd.env("GIT_CONFIG_SYSTEM", &system)
                    .env("HOME", dir.path());
            }
            let out = cmd
                .args(["config", "--get", "diff.external"])
                .stderr(Stdio::null())
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        // Plain git reads them (the test's setup works)...
        let mut plain = Command::new("git");
        plain.arg("-C").arg(dir.path());
        assert_eq!(ask(plain, true), "touch-a-marker-global");
        let mut plain = Command::new("git");
        plain.arg("-C").arg(dir.path());
        assert_eq!(ask(plain, false), "touch-a-marker-system");
        // ...the app's git does not.
        assert_eq!(ask(git(dir.path()), true), "");
        assert_eq!(ask(git(dir.path()), false), "");
    }

    #[test]
    fn a_git_failure_keeps_its_cause_and_tells_it_once() {
        let e = GitError::BrokeOff(std::io::Error::other("the pipe closed"));
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.to_string(), "git cat-file broke off");
        assert_eq!(
            crate::error_chain::chain(&e),
            "git cat-file broke off: the pipe closed"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = diff(dir.path(), "base", "head").unwrap_err();
        assert!(
            matches!(&e, GitError::Failed { what, .. } if what == "git diff base head"),
            "{e}"
        );
    }

    #[test]
    fn revisions_and_tree_lines_are_read_strictly() {
        assert!(revision("--output=x").is_err());
        assert!(revision("a\nb").is_err());
        let entry = TreeEntry::parse(b"100644 blob 0123abcd     42\tsrc/a b.rs").unwrap();
        assert_eq!(
            (entry.mode, entry.object, entry.size, entry.path),
            (
                &b"100644"[..],
                &b"0123abcd"[..],
                Some(42),
                &b"src/a b.rs"[..]
            )
        );
        let module = TreeEntry::parse(b"160000 commit 0123abcd       -\tvendor/lib").unwrap();
        assert_eq!(module.size, None);
        assert!(TreeEntry::parse(b"100644 blob 0123abcd 42 no tab").is_none());
        assert!(TreeEntry::parse(b"100644 blob 01\nHEAD 42\tx").is_none());
    }
}
