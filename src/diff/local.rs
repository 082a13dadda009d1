//! A multi-file diff as `git diff` (or `diff -u`) prints it, split into files.

use super::FileDiff;

/// One file's header fields, read before its first hunk.
#[derive(Default)]
struct Header {
    old: Option<String>,
    new: Option<String>,
    new_file: bool,
    deleted: bool,
    rename_from: Option<String>,
    rename_to: Option<String>,
    binary: bool,
}

fn strip_prefix_path(raw: &str) -> Option<String> {
    let path = raw.trim_end_matches('\r');
    // `--- a/path\t2024-01-01 ...` from diff -u: the timestamp goes.
    let path = path.split('\t').next().unwrap_or(path);
    if path == "/dev/null" {
        return None;
    }
    let path = path
        .strip_prefix("a/")
        .or_else(|| path.strip_prefix("b/"))
        .unwrap_or(path);
    Some(path.trim_matches('"').to_owned())
}

/// Splits `text` into files. Each file's patch (its hunks) is parsed like GitHub's `patch`.
pub fn split_diff(text: &str) -> Vec<FileDiff> {
    let mut files = Vec::new();
    let mut header = Header::default();
    let mut patch = String::new();
    let mut in_hunks = false;
    let flush = |header: &mut Header, patch: &mut String, files: &mut Vec<FileDiff>| {
        let h = std::mem::take(header);
        let body = std::mem::take(patch);
        let path = h
            .rename_to
            .clone()
            .or_else(|| h.new.clone())
            .or_else(|| h.old.clone());
        let Some(path) = path else { return };
        let status = if h.new_file {
            "added"
        } else if h.deleted {
            "removed"
        } else if h.rename_from.is_some() {
            "renamed"
        } else {
            "modified"
        };
        let (additions, deletions) =
            body.lines()
                .fold((0u32, 0u32), |(a, d), l| match l.as_bytes().first() {
                    Some(b'+') => (a + 1, d),
                    Some(b'-') => (a, d + 1),
                    _ => (a, d),
                });
        let patch = (!h.binary && !body.is_empty()).then_some(body);
        files.push(FileDiff::from_github(
            path,
            h.rename_from,
            status,
            patch,
            additions,
            deletions,
        ));
    };
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let bare = line.trim_end_matches('\n');
        // A `--- ` line followed by `+++ ` starts a file in a plain `diff -u` stream (a
        // content line of that shape inside a hunk is read the same way: rare, and harmless).
        let starts_file = bare.starts_with("diff --git ")
            || (in_hunks
                && bare.starts_with("--- ")
                && lines.peek().is_some_and(|n| n.starts_with("+++ ")));
        let pending = in_hunks
            || header.old.is_some()
            || header.new.is_some()
            || header.rename_to.is_some()
            || header.binary;
        if starts_file && pending {
            flush(&mut header, &mut patch, &mut files);
            in_hunks = false;
        }
        if bare.starts_with("@@") {
            in_hunks = true;
        }
        if in_hunks {
            patch.push_str(line);
            continue;
        }
        if let Some(rest) = bare.strip_prefix("diff --git ") {
            // Paths from `a/x b/y` in case no ---/+++ lines follow (renames, binaries).
            if let Some((a, b)) = rest.split_once(" b/") {
                header.old = strip_prefix_path(a);
                header.new = Some(b.trim_end_matches('\r').to_owned());
            }
        } else if let Some(rest) = bare.strip_prefix("--- ") {
            header.old = strip_prefix_path(rest);
            if header.old.is_none() {
                header.new_file = true;
            }
        } else if let Some(rest) = bare.strip_prefix("+++ ") {
            header.new = strip_prefix_path(rest);
            if header.new.is_none() {
                header.deleted = true;
            }
        } else if bare.starts_with("new file mode") {
            header.new_file = true;
        } else if bare.starts_with("deleted file mode") {
            header.deleted = true;
            header.new = None;
        } else if let Some(p) = bare.strip_prefix("rename from ") {
            header.rename_from = Some(p.to_owned());
        } else if let Some(p) = bare.strip_prefix("rename to ") {
            header.rename_to = Some(p.to_owned());
        } else if bare.starts_with("Binary files ") || bare == "GIT binary patch" {
            header.binary = true;
        }
    }
    flush(&mut header, &mut patch, &mut files);
    files
}

#[cfg(test)]
mod tests {
    use super::super::{FileStatus, NoPatch};
    use super::*;

    #[test]
    fn a_git_diff_of_several_files_is_split() {
        let text = "diff --git a/src/lib.rs b/src/lib.rs\nindex 1..2 100644\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,2 @@\n a\n-b\n+c\ndiff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0..1\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\ndiff --git a/gone.rs b/gone.rs\ndeleted file mode 100644\n--- a/gone.rs\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\ndiff --git a/old/name.rs b/new/name.rs\nsimilarity index 100%\nrename from old/name.rs\nrename to new/name.rs\ndiff --git a/logo.png b/logo.png\nindex 1..2 100644\nBinary files a/logo.png and b/logo.png differ\n";
        let files = split_diff(text);
        let summary: Vec<(&str, FileStatus, usize)> = files
            .iter()
            .map(|f| (f.path.as_str(), f.status, f.hunks.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("src/lib.rs", FileStatus::Modified, 1),
                ("new.txt", FileStatus::Added, 1),
                ("gone.rs", FileStatus::Removed, 1),
                ("new/name.rs", FileStatus::Renamed, 0),
                ("logo.png", FileStatus::Modified, 0),
            ]
        );
        assert_eq!(files[3].previous_path.as_deref(), Some("old/name.rs"));
        assert_eq!(files[3].no_patch, Some(NoPatch::RenameOnly));
        assert_eq!(files[4].no_patch, Some(NoPatch::Binary));
    }

    #[test]
    fn a_plain_unified_diff_is_split() {
        let text = "--- a.txt\t2024-01-01\n+++ a.txt\t2024-01-02\n@@ -1 +1 @@\n-x\n+y\n--- b.txt\n+++ b.txt\n@@ -1 +1 @@\n-p\n+q\n";
        let files = split_diff(text);
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].path, "b.txt");
        assert!(files.iter().all(|f| f.no_patch.is_none()));
    }
}
