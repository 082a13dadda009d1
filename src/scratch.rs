//! Temporary files and directories, each created exclusively (it did not exist, and no other
//! process or link can stand in its place) in the directory where it is used: a credentials
//! file is written beside its final place and linked there only if nothing is there yet.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Names tried before giving up (a taken name is tried again under another).
const ATTEMPTS: usize = 16;

/// A directory removed with everything in it when dropped (a snapshot outside the cache).
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    /// A new, empty directory of its own under the system's temporary directory.
    pub fn new(prefix: &str) -> io::Result<Self> {
        let parent = std::env::temp_dir();
        exclusive(|| {
            let dir = parent.join(unique_name(prefix));
            std::fs::create_dir(&dir).map(|()| Self(dir))
        })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new file in `dir` that only its owner may read, removed when dropped unless it was put
/// in its place with [`ScratchFile::place`].
pub struct ScratchFile {
    pub file: File,
    path: PathBuf,
}

impl ScratchFile {
    /// Creates the file in `dir`, named `prefix` and a random suffix.
    pub fn new(dir: &Path, prefix: &str) -> io::Result<Self> {
        exclusive(|| {
            let path = dir.join(unique_name(prefix));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(&path).map(|file| Self { file, path })
        })
    }

    /// Makes the file (synced first) appear at `target` whole, only if nothing is there:
    /// `AlreadyExists` otherwise, and the scratch file is removed either way.
    pub fn place(self, target: &Path) -> io::Result<()> {
        self.file.sync_all()?;
        // A hard link fails when the target exists: the last writer cannot win.
        std::fs::hard_link(&self.path, target)
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `prefix-PID-RANDOM`: random so that a name cannot be prepared in advance.
fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}-{:016x}", std::process::id(), fastrand::u64(..))
}

/// Runs `create` again under a new name while the name it chose is taken.
fn exclusive<T>(mut create: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match create() {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_file_never_replaces_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("creds.json");
        std::fs::write(&target, "first").unwrap();
        let mut scratch = ScratchFile::new(dir.path(), ".creds").unwrap();
        io::Write::write_all(&mut scratch.file, b"second").unwrap();
        let err = scratch.place(&target).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "first");
        // The scratch file is gone, placed or not.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_scratch_file_is_private_and_lands_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut scratch = ScratchFile::new(dir.path(), ".probe").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = scratch.file.metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        io::Write::write_all(&mut scratch.file, b"whole").unwrap();
        let target = dir.path().join("out");
        scratch.place(&target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_scratch_directory_is_new_and_removed_when_dropped() {
        let a = ScratchDir::new("codex-review-test").unwrap();
        let b = ScratchDir::new("codex-review-test").unwrap();
        assert_ne!(a.0, b.0);
        std::fs::write(a.0.join("f"), "x").unwrap();
        let path = a.0.clone();
        drop(a);
        assert!(!path.exists());
    }
}
