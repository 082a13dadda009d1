//! Following lines from one commit to a later one through the diff between them.

use crate::diff::{FileDiff, FileStatus, LineKind};

/// Where a finding's lines are at the later commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// Untouched by the change, perhaps moved (new numbers).
    Unchanged { start: u32, end: u32 },
    /// Some of its lines were edited, or lines were added among them.
    Changed { start: u32, end: u32 },
    /// Every line of it was deleted (or the file was).
    Deleted,
}

/// Follows lines `start..=end` (numbered in the earlier commit) through `file`, the diff from
/// the earlier commit to the later one. A replaced line follows to its replacement; a line
/// deleted without one is gone.
pub fn follow(file: &FileDiff, start: u32, end: u32) -> Followed {
    if file.status == FileStatus::Removed {
        return Followed::Deleted;
    }
    let end = end.max(start).min(start.saturating_add(1_000));
    let mut run = Run {
        start,
        end,
        changed: false,
        kept: (start..=end).filter_map(|l| new_number(file, l)).collect(),
        removed: Vec::new(),
        added: Vec::new(),
        before: None,
    };
    for hunk in &file.hunks {
        // The old line just before the hunk's first line (the parser numbers a hunk of no
        // old lines from the line after the insertion).
        run.before = Some(hunk.old_start.saturating_sub(1));
        for line in &hunk.lines {
            match line.kind {
                LineKind::Context => {
                    run.settle();
                    run.before = line.old;
                }
                LineKind::Removed => run.removed.extend(line.old),
                LineKind::Added => run.added.extend(line.new),
            }
        }
        run.settle();
    }
    match (run.kept.iter().min(), run.kept.iter().max()) {
        (Some(&s), Some(&e)) if run.changed => Followed::Changed { start: s, end: e },
        (Some(&s), Some(&e)) => Followed::Unchanged { start: s, end: e },
        _ => Followed::Deleted,
    }
}

/// One run of removed and added lines of a hunk, judged against the range.
struct Run {
    start: u32,
    end: u32,
    changed: bool,
    kept: Vec<u32>,
    removed: Vec<u32>,
    added: Vec<u32>,
    /// The last old line before the run.
    before: Option<u32>,
}

impl Run {
    fn settle(&mut self) {
        let inside = |l: &u32| (self.start..=self.end).contains(l);
        if self.removed.iter().any(inside) {
            self.changed = true;
            // The lines that replaced them are where the finding is now.
            self.kept.extend(&self.added);
        } else if !self.added.is_empty()
            && self.before.is_some_and(|b| b >= self.start && b < self.end)
        {
            self.changed = true;
        }
        self.removed.clear();
        self.added.clear();
    }
}

/// Where the lines `start..=end` (earlier numbering) went when the diff deleted them all: the
/// first place of the later file `text` that holds the same lines (each trimmed: a paste may
/// change the indentation), or `None` when the code is gone. Cutting flagged lines and pasting
/// them elsewhere moves the finding; it does not make it outdated.
pub fn moved_to(file: &FileDiff, start: u32, end: u32, text: &str) -> Option<(u32, u32)> {
    let old: Vec<&str> = file
        .hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .filter(|l| l.kind == LineKind::Removed && l.old.is_some_and(|n| n >= start && n <= end))
        .map(|l| file.text(l).trim())
        .collect();
    // Blank or one-character lines (a lone brace) prove nothing.
    if old.iter().all(|l| l.len() < 2) || old.len() as u32 != end.max(start) - start + 1 {
        return None;
    }
    let now: Vec<&str> = text.lines().map(str::trim).collect();
    let at = now.windows(old.len()).position(|w| w == old.as_slice())?;
    Some((at as u32 + 1, (at + old.len()) as u32))
}

/// The later number of the earlier line `line`, or `None` when it was deleted.
fn new_number(file: &FileDiff, line: u32) -> Option<u32> {
    let mut delta: i64 = 0;
    for h in &file.hunks {
        // (A hunk of no old lines starts at the line after the insertion, as parsed.)
        let old_from = h.old_start;
        if line < old_from {
            break;
        }
        if line < old_from + h.old_len {
            return h
                .lines
                .iter()
                .find(|l| l.old == Some(line))
                .and_then(|l| l.new);
        }
        delta = i64::from(h.new_start + h.new_len) - i64::from(old_from + h.old_len);
    }
    u32::try_from(i64::from(line) + delta).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(patch: &str) -> FileDiff {
        FileDiff::from_github("a.rs".into(), None, "modified", Some(patch.into()), 1, 1)
    }

    #[test]
    fn lines_are_followed_through_edits_insertions_and_deletions() {
        // Old 1-10; line 3 edited, two lines inserted after 6, lines 8-9 deleted.
        let d = diff(
            "@@ -2,3 +2,3 @@\n two\n-three\n+THREE\n four\n@@ -6,0 +7,2 @@\n+new a\n+new b\n@@ -8,2 +9,0 @@\n-eight\n-nine",
        );
        assert_eq!(follow(&d, 1, 1), Followed::Unchanged { start: 1, end: 1 });
        // An edited line follows to its replacement.
        assert_eq!(follow(&d, 3, 3), Followed::Changed { start: 3, end: 3 });
        assert_eq!(follow(&d, 2, 4), Followed::Changed { start: 2, end: 4 });
        assert_eq!(follow(&d, 5, 5), Followed::Unchanged { start: 5, end: 5 });
        assert_eq!(follow(&d, 7, 7), Followed::Unchanged { start: 9, end: 9 });
        assert_eq!(follow(&d, 6, 7), Followed::Changed { start: 6, end: 9 });
        assert_eq!(follow(&d, 8, 9), Followed::Deleted);
        assert_eq!(
            follow(&d, 10, 10),
            Followed::Unchanged { start: 10, end: 10 }
        );
    }

    #[test]
    fn lines_cut_and_pasted_elsewhere_are_found_where_they_went() {
        // Old lines 2-3 cut, and pasted (re-indented) after old line 5.
        let d = diff(
            "@@ -1,5 +1,3 @@\n one\n-let x = a[i + 1];\n-use(x);\n four\n five\n@@ -5,0 +4,2 @@\n+    let x = a[i + 1];\n+    use(x);",
        );
        assert_eq!(follow(&d, 2, 3), Followed::Deleted);
        let now = "one\nfour\nfive\n    let x = a[i + 1];\n    use(x);\n";
        assert_eq!(moved_to(&d, 2, 3, now), Some((4, 5)));
        // Pasted in part, or not at all: gone.
        assert_eq!(
            moved_to(&d, 2, 3, "one\nfour\nfive\nlet x = a[i + 1];\n"),
            None
        );
        assert_eq!(moved_to(&d, 2, 3, "one\nfour\nfive\n"), None);
        // A lone brace proves nothing.
        let braces = diff("@@ -1,3 +1,2 @@\n a\n-}\n b");
        assert_eq!(moved_to(&braces, 2, 2, "a\nb\n}\n"), None);
    }
}

/// The files changed from `base` to `head`, by their path at `base`; `None` when `base` is
/// not an ancestor of `head` (gone after a force-push, or diverged).
pub async fn changes_since(
    gh: &crate::github::RepoClient,
    base: &crate::ids::CommitSha,
    head: &crate::ids::CommitSha,
) -> Result<Option<std::collections::HashMap<String, FileDiff>>, crate::github::GitHubError> {
    let Some(comparison) = gh.compare(base, head).await? else {
        return Ok(None);
    };
    if comparison.status != "ahead" {
        return Ok(None);
    }
    Ok(Some(
        comparison
            .files
            .into_iter()
            .map(|f| {
                let d = f.into_diff();
                (d.previous_path.clone().unwrap_or_else(|| d.path.clone()), d)
            })
            .collect(),
    ))
}

/// Where a finding's lines are at a later head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinesNow {
    /// At `start..=end` of `path` (perhaps renamed, perhaps moved).
    At { path: String, start: u32, end: u32 },
    /// Deleted since it was posted.
    Deleted,
    /// The head it was posted on is not an ancestor (a force-push): its lines as posted.
    AsPosted,
}

/// Follows `finding`'s lines from the head it was posted on to `head`.
pub async fn lines_now(
    gh: &crate::github::RepoClient,
    finding: &crate::store::StoredFinding,
    head: &crate::ids::CommitSha,
) -> Result<LinesNow, crate::github::GitHubError> {
    let as_posted = LinesNow::At {
        path: finding.path.clone(),
        start: finding.start,
        end: finding.end,
    };
    // Left-side lines are in the base's numbering, which a push does not move.
    let Some(posted_on) = crate::ids::CommitSha::parse(&finding.head_sha)
        .filter(|sha| sha != head && finding.side == "RIGHT")
    else {
        return Ok(as_posted);
    };
    let Some(mut files) = changes_since(gh, &posted_on, head).await? else {
        return Ok(LinesNow::AsPosted);
    };
    Ok(match files.remove(&finding.path) {
        // Not touched since: the same lines.
        None => as_posted,
        Some(file) => match follow(&file, finding.start, finding.end) {
            Followed::Unchanged { start, end } | Followed::Changed { start, end } => LinesNow::At {
                path: file.path,
                start,
                end,
            },
            Followed::Deleted => LinesNow::Deleted,
        },
    })
}
