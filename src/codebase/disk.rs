//! The snapshot cache on disk: a directory that is this process's own (its user's alone, mode
//! 0700), and the files in it created new and opened without following links, so that no
//! other user can read a snapshot, prepare one, or lead a write elsewhere.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Why the cache directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    #[error("{0} is owned by user {1}, not by this process's user {2}")]
    NotOurs(PathBuf, u32, u32),
    #[error("{0} is open to other users (mode {1:04o}); it must be 0700")]
    Open(PathBuf, u32),
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("{0} cannot be created or read")]
    Io(PathBuf, #[source] io::Error),
}

/// Makes sure `path` is a directory of this process's user that no one else may enter:
/// created with mode 0700 (its missing parents too) when it does not exist; refused when it
/// belongs to another user or gives any permission to its group or to others.
pub fn private_dir(path: &Path) -> Result<(), PrivateDirError> {
    let io = |e| PrivateDirError::Io(path.to_owned(), e);
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(io)?,
        Err(e) => return Err(io(e)),
        Ok(_) => {}
    }
    // The directory itself may be reached through a link an operator made: what counts is
    // the directory it leads to.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Err(PrivateDirError::NotADirectory(path.to_owned()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(PrivateDirError::NotOurs(path.to_owned(), meta.uid(), me));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(PrivateDirError::Open(path.to_owned(), meta.mode() & 0o7777));
    }
    Ok(())
}

/// Flags that make opening a link fail instead of following it.
fn no_follow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// A new file at `path` (mode 0600), never one that exists, nor through a link.
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(no_follow())
        .open(path)
}

/// The file at `path`, for reading; a link there is refused.
pub(crate) fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(no_follow())
        .open(path)
}

/// A new, empty directory at `path` (mode 0700): whatever is there (a directory left by a
/// failed attempt, a link) is removed first, and a link's target is left alone.
pub(crate) fn fresh_dir(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path)?,
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    DirBuilder::new().mode(0o700).create(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_missing_cache_directory_is_made_private_and_an_open_one_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let made = root.path().join("data/snapshots");
        private_dir(&made).unwrap();
        let mode = std::fs::metadata(&made).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // Again: it is there and fine.
        private_dir(&made).unwrap();

        for open in [0o755, 0o750, 0o701, 0o707] {
            std::fs::set_permissions(&made, std::fs::Permissions::from_mode(open)).unwrap();
            let err = private_dir(&made).unwrap_err();
            assert!(
                matches!(err, PrivateDirError::Open(_, m) if m == open),
                "{err}"
            );
            assert!(err.to_string().contains("must be 0700"), "{err}");
        }

        let file = root.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            private_dir(&file),
            Err(PrivateDirError::NotADirectory(_))
        ));
    }

    #[test]
    fn a_directory_that_cannot_be_read_keeps_the_system_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = private_dir(&file.join("below")).unwrap_err();
        let cause = std::error::Error::source(&err).expect("the I/O error is kept");
        assert!(matches!(err, PrivateDirError::Io(..)), "{err}");
        assert!(!err.to_string().contains(&cause.to_string()), "{err}");
        assert!(
            crate::error_chain::chain(&err)
                .ends_with(&format!("cannot be created or read: {cause}")),
            "{err}"
        );
    }

    #[test]
    fn a_cache_directory_of_another_user_is_refused() {
        let me = rustix::process::geteuid().as_raw();
        let root = tempfile::tempdir().unwrap();
        // Root gives a private directory away; anyone else finds one of root's.
        let theirs = if me == 0 {
            let dir = root.path().join("theirs");
            DirBuilder::new().mode(0o700).create(&dir).unwrap();
            std::os::unix::fs::chown(&dir, Some(65_534), Some(65_534)).unwrap();
            dir
        } else {
            PathBuf::from("/root")
        };
        let owner = std::fs::metadata(&theirs).unwrap().uid();
        assert_ne!(owner, me);
        let err = private_dir(&theirs).unwrap_err();
        assert!(
            matches!(err, PrivateDirError::NotOurs(_, o, u) if o == owner && u == me),
            "{err}"
        );
    }

    #[test]
    fn cache_files_are_never_opened_through_links() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = root.path().join("elsewhere");
        std::fs::write(&elsewhere, "secret").unwrap();
        let link = root.path().join("index");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        assert!(open(&link).is_err());
        assert!(create_new(&link).is_err());
        std::fs::remove_file(&link).unwrap();
        // A dangling link: creating through it would make the file it names.
        std::os::unix::fs::symlink(root.path().join("made"), &link).unwrap();
        assert!(create_new(&link).is_err());
        assert!(!root.path().join("made").exists());

        // A link in a snapshot's place is replaced by a directory; its target is untouched.
        let target = root.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        let place = root.path().join("o__r-sha");
        std::os::unix::fs::symlink(&target, &place).unwrap();
        fresh_dir(&place).unwrap();
        assert!(std::fs::symlink_metadata(&place).unwrap().is_dir());
        assert!(target.join("keep").exists());
        let file = create_new(&place.join("pack")).unwrap();
        let mode = file.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
