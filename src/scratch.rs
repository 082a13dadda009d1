//! Temporary files and directories, from `tempfile`: each created exclusively (it did not
//! exist, and no other process or link can stand in its place), under a random name, readable
//! by its owner only. A credentials file is written beside its final place and moved there
//! only if nothing is there yet.

use std::fs::{File, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// A private directory removed with everything in it when dropped (a snapshot outside the
/// cache).
pub struct ScratchDir(tempfile::TempDir);

impl ScratchDir {
    /// A new, empty directory (mode 0700) under the system's temporary directory.
    pub fn new(prefix: &str) -> io::Result<Self> {
        tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .permissions(Permissions::from_mode(0o700))
            .tempdir()
            .map(Self)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A new file (mode 0600) in a directory, removed when dropped unless it was put in its place
/// with [`ScratchFile::place`].
pub struct ScratchFile(tempfile::NamedTempFile);

impl ScratchFile {
    /// Creates the file in `dir`, named `prefix` and a random suffix.
    pub fn new(dir: &Path, prefix: &str) -> io::Result<Self> {
        tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .permissions(Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map(Self)
    }

    pub fn file(&self) -> &File {
        self.0.as_file()
    }

    /// Makes the file (synced first) appear at `target` whole, only if nothing is there:
    /// `AlreadyExists` otherwise, and the scratch file is removed either way.
    pub fn place(self, target: &Path) -> io::Result<()> {
        self.0.as_file().sync_all()?;
        // The last writer cannot win: nothing that is there is replaced.
        self.0
            .persist_noclobber(target)
            .map(drop)
            .map_err(|e| e.error)
    }
}

impl io::Write for ScratchFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
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
        io::Write::write_all(&mut scratch, b"second").unwrap();
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
        let mode = scratch.file().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        io::Write::write_all(&mut scratch, b"whole").unwrap();
        let target = dir.path().join("out");
        scratch.place(&target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_scratch_directory_is_new_and_removed_when_dropped() {
        let a = ScratchDir::new("codex-review-test").unwrap();
        let b = ScratchDir::new("codex-review-test").unwrap();
        assert_ne!(a.path(), b.path());
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(a.path().join("f"), "x").unwrap();
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
    }
}
