//! The pull request's changes as a model the rest of the app can trust: files, hunks, and
//! every line with its old and new number.
//!
//! `parse` reads the `patch` field of `GET /pulls/{n}/files` (hunks without file headers);
//! `index` answers "can GitHub take a comment here?"; `render` shows the diff to the model.

mod index;
mod parse;
mod render;

pub use index::{Anchor, FileIndex};
pub use parse::{PatchError, parse_patch};
pub use render::render_files;

/// Which version of the file a line number refers to (GitHub's `side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    /// The base version: deleted lines (and unchanged ones) by their old numbers.
    Left,
    /// The head version: added lines (and unchanged ones) by their new numbers.
    Right,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "LEFT",
            Side::Right => "RIGHT",
        }
    }
}

/// GitHub's `status` of a changed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Added,
    Removed,
    Modified,
    Renamed,
    Copied,
    Changed,
    Unchanged,
}

impl FileStatus {
    pub fn from_github(status: &str) -> Self {
        match status {
            "added" => Self::Added,
            "removed" => Self::Removed,
            "renamed" => Self::Renamed,
            "copied" => Self::Copied,
            "changed" => Self::Changed,
            "unchanged" => Self::Unchanged,
            _ => Self::Modified,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Modified => "modified",
            Self::Renamed => "renamed",
            Self::Copied => "copied",
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One changed file of the pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// Path in the head version.
    pub path: String,
    /// Path in the base version, for renames and copies.
    pub previous_path: Option<String>,
    pub status: FileStatus,
    pub hunks: Vec<Hunk>,
    /// Why there are no hunks to show, when GitHub sent no usable patch.
    pub no_patch: Option<NoPatch>,
    pub additions: u32,
    pub deletions: u32,
}

/// Why a changed file has no line-level diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPatch {
    /// Binary content, a mode change only, a pure rename, or a diff too large for GitHub
    /// to include (GitHub omits `patch` for all of these).
    Omitted,
    /// The patch could not be parsed; the reason is kept for the summary.
    Unreadable(String),
}

/// A `@@ -a,b +c,d @@` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    /// The text after the second `@@` (often the enclosing function).
    pub section: String,
    pub lines: Vec<DiffLine>,
}

impl Hunk {
    /// Inclusive range of line numbers this hunk covers on `side`, if any.
    pub fn range(&self, side: Side) -> Option<(u32, u32)> {
        let (start, len) = match side {
            Side::Left => (self.old_start, self.old_len),
            Side::Right => (self.new_start, self.new_len),
        };
        (len > 0).then(|| (start, start + len - 1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// One line of a hunk with its numbers in the old and new file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    pub old: Option<u32>,
    pub new: Option<u32>,
    /// The line's text, without the `+`/`-`/` ` marker and without a trailing `\r`.
    pub text: String,
    /// The file has no newline after this line (`\ No newline at end of file`).
    pub no_newline: bool,
}

impl FileDiff {
    /// Builds a file from the fields of one `GET /pulls/{n}/files` entry.
    pub fn from_github(
        path: String,
        previous_path: Option<String>,
        status: &str,
        patch: Option<&str>,
        additions: u32,
        deletions: u32,
    ) -> Self {
        let (hunks, no_patch) = match patch {
            None | Some("") => (Vec::new(), Some(NoPatch::Omitted)),
            Some(patch) => match parse_patch(patch) {
                Ok(hunks) => (hunks, None),
                Err(e) => (Vec::new(), Some(NoPatch::Unreadable(e.to_string()))),
            },
        };
        FileDiff {
            path,
            previous_path,
            status: FileStatus::from_github(status),
            hunks,
            no_patch,
            additions,
            deletions,
        }
    }
}
