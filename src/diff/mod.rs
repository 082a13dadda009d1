//! The pull request's changes as a model the rest of the app can trust: files, hunks, and
//! every line with its kind and its old and new number.
//!
//! `parse` reads the `patch` field of `GET /pulls/{n}/files` (hunks without file headers);
//! `index` answers "can GitHub take a comment here?"; `filter` decides what the model sees;
//! `render` and `chunk` show the diff to the model within a token budget.
//!
//! A [`FileDiff`] owns its patch text once; lines are byte ranges into it, so memory stays
//! proportional to the diff and parsing allocates per hunk, not per line.

pub mod chunk;
pub mod filter;
mod index;
mod local;
mod parse;
pub mod render;

pub use index::{Anchor, FileIndex};
pub use local::split_diff;
pub use parse::{PatchError, parse_patch};

/// Which version of the file a line number refers to (GitHub's `side`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
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
    /// GitHub's word for a change of mode or type only.
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

/// Why a changed file has no line-level diff. GitHub omits `patch` for all of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPatch {
    /// Binary content (or an empty file): nothing line-based to show.
    Binary,
    /// Renamed or copied without changes to its content.
    RenameOnly,
    /// Only the file mode or type changed.
    ModeOnly,
    /// Text changes too large for GitHub to include in the files listing.
    TooLarge,
    /// The patch could not be parsed; the reason is kept for the summary.
    Unreadable(String),
}

impl NoPatch {
    /// Words for the summary's list of files not reviewed.
    pub fn describe(&self) -> String {
        match self {
            NoPatch::Binary => "binary or empty file".into(),
            NoPatch::RenameOnly => "renamed without changes".into(),
            NoPatch::ModeOnly => "file mode change only".into(),
            NoPatch::TooLarge => "diff too large for GitHub to show".into(),
            NoPatch::Unreadable(why) => format!("its patch could not be read ({why})"),
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
    /// The patch text the hunks' lines point into.
    pub patch: String,
    pub hunks: Vec<Hunk>,
    /// Why there are no hunks to show, when GitHub sent no usable patch.
    pub no_patch: Option<NoPatch>,
    pub additions: u32,
    pub deletions: u32,
}

/// A `@@ -a,b +c,d @@` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    /// The text after the second `@@` (often the enclosing function), as a byte range.
    pub section: (u32, u32),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    pub old: Option<u32>,
    pub new: Option<u32>,
    /// Byte range of the text (without the marker and a trailing `\r`) in the patch.
    pub start: u32,
    pub end: u32,
    /// The file has no newline after this line (`\ No newline at end of file`).
    pub no_newline: bool,
}

impl FileDiff {
    /// Builds a file from the fields of one `GET /pulls/{n}/files` entry.
    pub fn from_github(
        path: String,
        previous_path: Option<String>,
        status: &str,
        patch: Option<String>,
        additions: u32,
        deletions: u32,
    ) -> Self {
        let status = FileStatus::from_github(status);
        let patch = patch.unwrap_or_default();
        let (hunks, no_patch) = if patch.is_empty() {
            let why = match status {
                FileStatus::Changed => NoPatch::ModeOnly,
                _ if additions + deletions > 0 => NoPatch::TooLarge,
                FileStatus::Renamed | FileStatus::Copied => NoPatch::RenameOnly,
                _ => NoPatch::Binary,
            };
            (Vec::new(), Some(why))
        } else {
            match parse_patch(&patch) {
                Ok(hunks) if hunks.is_empty() => (hunks, Some(NoPatch::ModeOnly)),
                Ok(hunks) => (hunks, None),
                Err(e) => (Vec::new(), Some(NoPatch::Unreadable(e.to_string()))),
            }
        };
        FileDiff {
            path,
            previous_path,
            status,
            patch,
            hunks,
            no_patch,
            additions,
            deletions,
        }
    }

    /// The text of one line of this file's hunks.
    pub fn text(&self, line: &DiffLine) -> &str {
        self.patch
            .get(line.start as usize..line.end as usize)
            .unwrap_or("")
    }

    /// The section text of a hunk header.
    pub fn section(&self, hunk: &Hunk) -> &str {
        self.patch
            .get(hunk.section.0 as usize..hunk.section.1 as usize)
            .unwrap_or("")
    }

    /// Lines of the patch (added plus removed plus context), a measure of its size.
    pub fn line_count(&self) -> usize {
        self.hunks.iter().map(|h| h.lines.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(status: &str, patch: Option<&str>, add: u32, del: u32) -> FileDiff {
        FileDiff::from_github("f".into(), None, status, patch.map(str::to_owned), add, del)
    }

    #[test]
    fn files_without_a_patch_say_why() {
        assert_eq!(file("added", None, 0, 0).no_patch, Some(NoPatch::Binary));
        assert_eq!(file("modified", None, 0, 0).no_patch, Some(NoPatch::Binary));
        assert_eq!(
            file("renamed", None, 0, 0).no_patch,
            Some(NoPatch::RenameOnly)
        );
        assert_eq!(
            file("changed", None, 0, 0).no_patch,
            Some(NoPatch::ModeOnly)
        );
        assert_eq!(
            file("modified", None, 9000, 12).no_patch,
            Some(NoPatch::TooLarge)
        );
        assert_eq!(
            file("added", Some(""), 0, 0).no_patch,
            Some(NoPatch::Binary)
        );
        assert!(matches!(
            file("modified", Some("@@ -1 +1 @@\n-a"), 1, 1).no_patch,
            Some(NoPatch::Unreadable(_))
        ));
    }

    #[test]
    fn memory_stays_proportional_to_the_patch() {
        // Lines are byte ranges into the patch: the parsed structure costs a fixed amount per
        // line, never a copy of the text.
        assert!(std::mem::size_of::<DiffLine>() <= 32);
        let body: String = (0..10_000)
            .map(|i| format!("+let value_{i} = compute({i});\n"))
            .collect();
        let patch = format!("@@ -0,0 +1,10000 @@\n{body}");
        let len = patch.len();
        let f = file("added", Some(&patch), 10_000, 0);
        let structure = f.line_count() * std::mem::size_of::<DiffLine>();
        assert!(
            structure < len,
            "{structure} bytes of structure for {len} bytes of patch"
        );
        assert_eq!(f.patch.len(), len);
    }

    #[test]
    fn a_rename_with_edits_keeps_both_paths_and_hunks() {
        let f = FileDiff::from_github(
            "src/new.rs".into(),
            Some("src/old.rs".into()),
            "renamed",
            Some("@@ -3,2 +3,2 @@ fn a()\n x\n-y\n+z".into()),
            1,
            1,
        );
        assert_eq!(f.status, FileStatus::Renamed);
        assert_eq!(f.previous_path.as_deref(), Some("src/old.rs"));
        assert_eq!(f.no_patch, None);
        assert_eq!(f.section(&f.hunks[0]), "fn a()");
        assert_eq!(f.text(&f.hunks[0].lines[2]), "z");
    }
}
