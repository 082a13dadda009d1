//! The diff as the model reads it: every line with explicit old and new numbers it can copy
//! into `line_range`, and a marker for its kind.
//!
//! ```text
//! === FILE src/lib.rs (modified) ===
//! @@ -10,3 +10,4 @@ fn main() {
//!     10     10   let a = 1;
//!     11        -  let b = 2;
//!            11 +  let b = 3;
//!     12     12 :  surrounding code, shown for context only
//! ```
//!
//! With the new file's content at hand, small files are shown whole (the diff inline) and
//! larger ones with wider context around each hunk, so the model sees the code around the
//! change instead of guessing what is "unused" or "missing". Lines marked `:` are outside
//! the diff: GitHub takes no comments there.

use std::fmt::Write;

use super::{DiffLine, FileDiff, Hunk, LineKind};

/// Files up to this many lines are shown whole when their content is known.
pub const FULL_FILE_LINES: usize = 400;
/// Lines of extra context around each hunk for larger files.
pub const EXTRA_CONTEXT: u32 = 20;

/// How much of a file to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail<'a> {
    /// The hunks as GitHub sent them.
    Hunks,
    /// The hunks with the new file's content around them.
    WithContent(&'a str),
}

/// The header line of a file block; `part` is `(i, n)` when a file is split.
pub fn file_header(file: &FileDiff, part: Option<(usize, usize)>) -> String {
    let status = match &file.previous_path {
        Some(old) if old != &file.path => format!("{} from {}", file.status.as_str(), old),
        _ => file.status.as_str().to_owned(),
    };
    match part {
        Some((i, n)) => format!("=== FILE {} ({status}; part {i} of {n}) ===\n", file.path),
        None => format!("=== FILE {} ({status}) ===\n", file.path),
    }
}

fn number(out: &mut String, n: Option<u32>) {
    match n {
        Some(n) => {
            let _ = write!(out, "{n:>6}");
        }
        None => out.push_str("      "),
    }
}

/// Appends one hunk line.
pub fn push_line(out: &mut String, file: &FileDiff, line: &DiffLine) {
    number(out, line.old);
    out.push(' ');
    number(out, line.new);
    out.push(' ');
    out.push(match line.kind {
        LineKind::Context => ' ',
        LineKind::Added => '+',
        LineKind::Removed => '-',
    });
    out.push_str(file.text(line));
    out.push('\n');
    if line.no_newline {
        out.push_str("              \\ No newline at end of file\n");
    }
}

/// Appends a hunk header.
pub fn push_hunk_header(out: &mut String, file: &FileDiff, hunk: &Hunk) {
    // As in the patch: a side without lines names the line before the change.
    let shown = |start: u32, len: u32| if len == 0 { start - 1 } else { start };
    let _ = writeln!(
        out,
        "@@ -{},{} +{},{} @@ {}",
        shown(hunk.old_start, hunk.old_len),
        hunk.old_len,
        shown(hunk.new_start, hunk.new_len),
        hunk.new_len,
        file.section(hunk)
    );
}

/// Renders one whole file.
pub fn render_file(file: &FileDiff, detail: Detail<'_>) -> String {
    let mut out = String::with_capacity(64 + file.patch.len() + file.line_count() * 16);
    out.push_str(&file_header(file, None));
    match detail {
        Detail::WithContent(content) => match content_lines(file, content) {
            Some(lines) => render_with_content(&mut out, file, &lines),
            None => render_hunks(&mut out, file),
        },
        Detail::Hunks => render_hunks(&mut out, file),
    }
    out.push('\n');
    out
}

fn render_hunks(out: &mut String, file: &FileDiff) {
    for hunk in &file.hunks {
        push_hunk_header(out, file, hunk);
        for line in &hunk.lines {
            push_line(out, file, line);
        }
    }
}

/// The new file's lines, if they agree with the patch (otherwise the content is from another
/// commit, or decoded differently, and is not used).
fn content_lines<'a>(file: &FileDiff, content: &'a str) -> Option<Vec<&'a str>> {
    let lines: Vec<&str> = content
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let lines = match lines.split_last() {
        Some((&"", rest)) => rest.to_vec(),
        _ => lines,
    };
    let agrees = file
        .hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .all(|l| match l.new {
            Some(n) => {
                (n as usize).checked_sub(1).and_then(|i| lines.get(i)) == Some(&file.text(l))
            }
            None => true,
        });
    agrees.then_some(lines)
}

/// The hunks with content lines around them: the whole file when it is small, otherwise
/// [`EXTRA_CONTEXT`] lines on each side of every hunk.
fn render_with_content(out: &mut String, file: &FileDiff, lines: &[&str]) {
    let total = lines.len() as u32;
    let whole = lines.len() <= FULL_FILE_LINES;
    let extra = if whole { u32::MAX } else { EXTRA_CONTEXT };
    // Unchanged lines between hunks keep a constant offset between old and new numbers.
    let mut next_new = 1u32; // first new line not shown yet
    for (i, hunk) in file.hunks.iter().enumerate() {
        let hunk_delta = i64::from(hunk.old_start) - i64::from(hunk.new_start);
        let before_start = hunk.new_start.saturating_sub(extra).max(next_new);
        if before_start > next_new {
            out.push_str("   ...\n");
        }
        for n in before_start..hunk.new_start.min(total + 1) {
            push_outside(out, n, hunk_delta, lines);
        }
        push_hunk_header(out, file, hunk);
        for line in &hunk.lines {
            push_line(out, file, line);
        }
        next_new = hunk.new_start + hunk.new_len;
        // Old number minus new number for the unchanged lines after this hunk.
        let delta = i64::from(hunk.old_start + hunk.old_len) - i64::from(next_new);
        // Context after this hunk, up to the next hunk's own leading context.
        let limit = file.hunks.get(i + 1).map_or(total + 1, |h| {
            h.new_start.saturating_sub(extra).max(next_new)
        });
        let after_end = next_new.saturating_add(extra).min(limit).min(total + 1);
        for n in next_new..after_end {
            push_outside(out, n, delta, lines);
        }
        next_new = next_new.max(after_end);
    }
    if next_new <= total {
        out.push_str("   ...\n");
    }
}

fn push_outside(out: &mut String, new: u32, delta: i64, lines: &[&str]) {
    let old = u32::try_from(i64::from(new) + delta).ok();
    number(out, old);
    out.push(' ');
    number(out, Some(new));
    out.push_str(" :");
    let text = (new as usize).checked_sub(1).and_then(|i| lines.get(i));
    out.push_str(text.copied().unwrap_or(""));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(patch: &str) -> FileDiff {
        FileDiff::from_github(
            "src/a.rs".into(),
            Some("src/old.rs".into()),
            "renamed",
            Some(patch.into()),
            1,
            1,
        )
    }

    #[test]
    fn hunks_carry_both_numbers_and_markers() {
        let f = file("@@ -1,2 +1,2 @@ fn x()\n keep\n-old\n+new");
        assert_eq!(
            render_file(&f, Detail::Hunks),
            "=== FILE src/a.rs (renamed from src/old.rs) ===\n\
             @@ -1,2 +1,2 @@ fn x()\n\
             \x20    1      1  keep\n\
             \x20    2        -old\n\
             \x20           2 +new\n\n"
        );
    }

    #[test]
    fn small_files_are_shown_whole_with_the_diff_inline() {
        let content = "l1\nl2\nl3\nkeep\nnew\nl6\nl7\n";
        let f = file("@@ -4,2 +4,2 @@\n keep\n-old\n+new");
        let text = render_file(&f, Detail::WithContent(content));
        assert_eq!(
            text,
            "=== FILE src/a.rs (renamed from src/old.rs) ===\n\
             \x20    1      1 :l1\n\
             \x20    2      2 :l2\n\
             \x20    3      3 :l3\n\
             @@ -4,2 +4,2 @@ \n\
             \x20    4      4  keep\n\
             \x20    5        -old\n\
             \x20           5 +new\n\
             \x20    6      6 :l6\n\
             \x20    7      7 :l7\n\n"
        );
    }

    #[test]
    fn old_numbers_outside_hunks_follow_the_shift() {
        // Two lines added at the top: old line n is new line n + 2 below.
        let content: String = (1..=12).map(|i| format!("n{i}\n")).collect();
        let f = file("@@ -0,0 +1,2 @@\n+n1\n+n2\n@@ -8,1 +10,1 @@\n-x\n+n10");
        let text = render_file(&f, Detail::WithContent(&content));
        assert!(text.contains("     1      3 :n3\n"), "{text}");
        assert!(text.contains("     7      9 :n9\n"), "{text}");
        assert!(text.contains("     9     11 :n11\n"), "{text}");
    }

    #[test]
    fn large_files_get_a_window_of_context() {
        let content: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
        let f = file("@@ -500,1 +500,1 @@\n-old\n+line 500");
        let text = render_file(&f, Detail::WithContent(&content));
        assert!(text.contains("   480    480 :line 480\n"));
        assert!(!text.contains(":line 479\n"));
        assert!(text.contains("   520    520 :line 520\n"));
        assert!(!text.contains(":line 521\n"));
        assert_eq!(text.matches("   ...\n").count(), 2);
    }

    #[test]
    fn content_that_disagrees_with_the_patch_is_not_used() {
        let f = file("@@ -1 +1 @@\n-a\n+b");
        assert_eq!(
            render_file(&f, Detail::WithContent("c\n")),
            render_file(&f, Detail::Hunks)
        );
    }
}
