//! A parser for the hunks of one file's unified diff, as GitHub's `patch` field holds them.
//!
//! Line counts from the hunk header decide where a hunk ends, so content lines that happen to
//! begin with `@@`, `---` or `+++` are read as content, exactly as `git apply` would. Lines are
//! returned as byte ranges into the patch; nothing is copied.

use super::{DiffLine, Hunk, LineKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("line {line}: expected a hunk header `@@ -a,b +c,d @@`")]
    ExpectedHunkHeader { line: usize },
    #[error("line {line}: malformed hunk header")]
    BadHunkHeader { line: usize },
    #[error("line {line}: unexpected line inside a hunk")]
    BadLine { line: usize },
    #[error(
        "hunk at line {line} ends early: {missing_old} old and {missing_new} new lines missing"
    )]
    Truncated {
        line: usize,
        missing_old: u32,
        missing_new: u32,
    },
    #[error("the patch is larger than 4 GiB")]
    TooLong,
}

/// Iterates over `(line number, byte offset, line without '\n')`.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let (line, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.number += 1;
        Some((self.number, start, line))
    }
}

/// Parses `patch`: one or more hunks. `diff --git`, `index`, `---`/`+++` and mode lines
/// before the first hunk are skipped, so a whole `git diff` of one file parses too.
pub fn parse_patch(patch: &str) -> Result<Vec<Hunk>, PatchError> {
    if patch.len() > u32::MAX as usize {
        return Err(PatchError::TooLong);
    }
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut lines = Lines {
        text: patch,
        pos: 0,
        number: 0,
    }
    .peekable();
    while let Some(&(number, _, line)) = lines.peek() {
        if line.starts_with("@@") {
            break;
        }
        const HEADERS: &[&str] = &[
            "diff ",
            "index ",
            "--- ",
            "+++ ",
            "old mode",
            "new mode",
            "deleted file mode",
            "new file mode",
            "similarity",
            "rename ",
            "copy ",
            "Binary files",
        ];
        if !(line.is_empty() || HEADERS.iter().any(|h| line.starts_with(h))) {
            return Err(PatchError::ExpectedHunkHeader { line: number });
        }
        lines.next();
    }

    while let Some((header_line, header_at, raw)) = lines.next() {
        let header = raw.strip_suffix('\r').unwrap_or(raw);
        if !header.starts_with("@@") {
            return Err(PatchError::ExpectedHunkHeader { line: header_line });
        }
        let h = parse_header(header).ok_or(PatchError::BadHunkHeader { line: header_line })?;
        let section_at = (header_at + h.section_offset) as u32;
        let mut hunk = Hunk {
            old_start: h.old_start,
            old_len: h.old_len,
            new_start: h.new_start,
            new_len: h.new_len,
            section: (section_at, section_at + h.section_len as u32),
            lines: Vec::with_capacity(h.old_len.max(h.new_len).min(1 << 16) as usize),
        };
        let (mut old_left, mut new_left) = (h.old_len, h.new_len);
        let (mut old_no, mut new_no) = (h.old_start, h.new_start);
        while old_left > 0 || new_left > 0 {
            let Some((number, at, raw)) = lines.next() else {
                return Err(PatchError::Truncated {
                    line: header_line,
                    missing_old: old_left,
                    missing_new: new_left,
                });
            };
            let text = raw.strip_suffix('\r').unwrap_or(raw);
            // Some tools strip the space of an empty context line.
            let marker = text.as_bytes().first().copied().unwrap_or(b' ');
            let start = (at + usize::from(!text.is_empty())) as u32;
            let end = (at + text.len()) as u32;
            let (kind, old, new) = match marker {
                b' ' if old_left > 0 && new_left > 0 => {
                    old_left -= 1;
                    new_left -= 1;
                    old_no += 1;
                    new_no += 1;
                    (LineKind::Context, Some(old_no - 1), Some(new_no - 1))
                }
                b'-' if old_left > 0 => {
                    old_left -= 1;
                    old_no += 1;
                    (LineKind::Removed, Some(old_no - 1), None)
                }
                b'+' if new_left > 0 => {
                    new_left -= 1;
                    new_no += 1;
                    (LineKind::Added, None, Some(new_no - 1))
                }
                b'\\' => {
                    mark_no_newline(&mut hunk);
                    continue;
                }
                _ => return Err(PatchError::BadLine { line: number }),
            };
            hunk.lines.push(DiffLine {
                kind,
                old,
                new,
                start,
                end,
                no_newline: false,
            });
        }
        // A `\ No newline at end of file` right after the hunk's last line.
        if lines.peek().is_some_and(|(_, _, l)| l.starts_with('\\')) {
            mark_no_newline(&mut hunk);
            lines.next();
        }
        hunks.push(hunk);
        // A final newline at the very end leaves one empty line: allowed.
        if lines
            .peek()
            .is_some_and(|(_, at, l)| l.is_empty() && at + 1 >= patch.len())
        {
            break;
        }
    }
    Ok(hunks)
}

fn mark_no_newline(hunk: &mut Hunk) {
    if let Some(last) = hunk.lines.last_mut() {
        last.no_newline = true;
    }
}

struct Header {
    old_start: u32,
    old_len: u32,
    new_start: u32,
    new_len: u32,
    section_offset: usize,
    section_len: usize,
}

/// `@@ -a[,b] +c[,d] @@ section`; a missing count means 1.
fn parse_header(header: &str) -> Option<Header> {
    let rest = header.strip_prefix("@@ -")?;
    let close = rest.find(" @@")?;
    let (old, new) = rest[..close].split_once(" +")?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((start, len)) => Some((start.parse().ok()?, len.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (old_start, old_len) = range(old)?;
    let (new_start, new_len) = range(new)?;
    // Line numbers start at 1: a side with lines cannot start at 0.
    if (old_len > 0 && old_start == 0) || (new_len > 0 && new_start == 0) {
        return None;
    }
    // A zero-length side names the line before the change (0 for an empty file).
    let old_start = if old_len == 0 {
        old_start + 1
    } else {
        old_start
    };
    let new_start = if new_len == 0 {
        new_start + 1
    } else {
        new_start
    };
    // Hunks cannot run past the largest line number the index can hold.
    old_start.checked_add(old_len)?;
    new_start.checked_add(new_len)?;
    let after = &rest[close + 3..];
    let section = after.strip_prefix(' ').unwrap_or(after);
    let section_offset = header.len() - section.len();
    Some(Header {
        old_start,
        old_len,
        new_start,
        new_len,
        section_offset,
        section_len: section.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{FileDiff, Side};
    use super::*;

    fn file(patch: &str) -> FileDiff {
        FileDiff::from_github("f.rs".into(), None, "modified", Some(patch.into()), 0, 0)
    }

    fn numbers(h: &Hunk) -> Vec<(LineKind, Option<u32>, Option<u32>)> {
        h.lines.iter().map(|l| (l.kind, l.old, l.new)).collect()
    }

    fn texts(f: &FileDiff) -> Vec<&str> {
        f.hunks
            .iter()
            .flat_map(|h| h.lines.iter())
            .map(|l| f.text(l))
            .collect()
    }

    #[test]
    fn edit_has_old_and_new_numbers() {
        let f = file("@@ -10,4 +10,5 @@ fn main() {\n a\n-b\n+B\n+B2\n c\n d");
        let h = &f.hunks[0];
        assert_eq!(f.section(h), "fn main() {");
        use LineKind::*;
        assert_eq!(
            numbers(h),
            vec![
                (Context, Some(10), Some(10)),
                (Removed, Some(11), None),
                (Added, None, Some(11)),
                (Added, None, Some(12)),
                (Context, Some(12), Some(13)),
                (Context, Some(13), Some(14)),
            ]
        );
        assert_eq!(texts(&f), vec!["a", "b", "B", "B2", "c", "d"]);
    }

    #[test]
    fn new_file() {
        let f = FileDiff::from_github(
            "n.rs".into(),
            None,
            "added",
            Some("@@ -0,0 +1,2 @@\n+one\n+two".into()),
            2,
            0,
        );
        assert_eq!(f.hunks[0].range(Side::Left), None);
        assert_eq!(f.hunks[0].range(Side::Right), Some((1, 2)));
        assert_eq!(texts(&f), vec!["one", "two"]);
    }

    #[test]
    fn deleted_file() {
        let f = FileDiff::from_github(
            "d.rs".into(),
            None,
            "removed",
            Some("@@ -1,2 +0,0 @@\n-one\n-two\n".into()),
            0,
            2,
        );
        assert_eq!(f.hunks[0].range(Side::Left), Some((1, 2)));
        assert_eq!(f.hunks[0].range(Side::Right), None);
        assert_eq!(f.hunks[0].lines.len(), 2);
    }

    #[test]
    fn a_whole_git_diff_of_one_file_parses() {
        let f = file(
            "diff --git a/x b/x\nold mode 100644\nnew mode 100755\nindex 1..2\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        );
        assert_eq!(texts(&f), vec!["a", "b"]);
    }

    #[test]
    fn content_that_looks_like_headers_is_content() {
        let f = file("@@ -1,3 +1,3 @@\n--- a\n+++ b\n-@@ -1 +1 @@\n+@@ x @@\n same");
        assert_eq!(
            texts(&f),
            vec!["-- a", "++ b", "@@ -1 +1 @@", "@@ x @@", "same"]
        );
        use LineKind::*;
        let kinds: Vec<_> = f.hunks[0].lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, vec![Removed, Added, Removed, Added, Context]);
    }

    #[test]
    fn counts_default_to_one() {
        let f = file("@@ -1 +1 @@\n-old\n+new");
        assert_eq!(
            numbers(&f.hunks[0]),
            vec![
                (LineKind::Removed, Some(1), None),
                (LineKind::Added, None, Some(1))
            ]
        );
    }

    #[test]
    fn no_newline_at_end_on_either_side() {
        let f = file(
            "@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file",
        );
        let l = &f.hunks[0].lines;
        assert!(l[0].no_newline && l[1].no_newline);
        let f = file("@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b");
        let l = &f.hunks[0].lines;
        assert!(l[1].no_newline && !l[2].no_newline);
        let f = file("@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n");
        assert!(!f.hunks[0].lines[1].no_newline && f.hunks[0].lines[2].no_newline);
    }

    #[test]
    fn crlf_content_is_read_without_the_cr() {
        let f = file("@@ -1,2 +1,2 @@\r\n a\r\n-b\r\n+c\r\n");
        assert_eq!(texts(&f), vec!["a", "b", "c"]);
    }

    #[test]
    fn empty_context_lines_with_the_space_stripped_are_read() {
        let f = file("@@ -1,3 +1,3 @@\n a\n\n-b\n+c");
        assert_eq!(texts(&f), vec!["a", "", "b", "c"]);
        assert_eq!(f.hunks[0].lines[1].new, Some(2));
    }

    #[test]
    fn many_hunks_keep_their_numbering() {
        let f = file(
            "@@ -1,2 +1,2 @@\n-a\n+A\n b\n@@ -50,2 +50,3 @@ tail\n x\n+y\n z\n@@ -90 +91,0 @@\n-gone",
        );
        assert_eq!(f.hunks.len(), 3);
        assert_eq!(f.hunks[1].lines[1].new, Some(51));
        assert_eq!(f.hunks[1].range(Side::Right), Some((50, 52)));
        assert_eq!(f.hunks[2].range(Side::Left), Some((90, 90)));
        assert_eq!(f.hunks[2].range(Side::Right), None);
    }

    #[test]
    fn a_hunk_at_the_very_end_of_the_file() {
        let f = file("@@ -998,3 +998,4 @@\n x\n y\n z\n+appended\n\\ No newline at end of file");
        assert_eq!(f.hunks[0].range(Side::Right), Some((998, 1001)));
        assert!(f.hunks[0].lines[3].no_newline);
    }

    #[test]
    fn broken_patches_are_errors_not_panics() {
        assert!(matches!(
            parse_patch("@@ -1,3 +1,3 @@\n a"),
            Err(PatchError::Truncated { .. })
        ));
        assert!(matches!(
            parse_patch("@@ nonsense @@\n a"),
            Err(PatchError::BadHunkHeader { line: 1 })
        ));
        assert!(matches!(
            parse_patch("@@ -1 +1 @@\n+a\n+b"),
            Err(PatchError::BadLine { line: 3 })
        ));
        assert!(matches!(
            parse_patch("@@ -1 +1 @@\n-a\n+b\nstray"),
            Err(PatchError::ExpectedHunkHeader { line: 4 })
        ));
        assert!(matches!(
            parse_patch("@@ -4294967295,9 +1 @@\n"),
            Err(PatchError::BadHunkHeader { .. })
        ));
        assert!(parse_patch("garbage").is_err());
        // Found by the fuzzer: a side with lines starting at line 0.
        assert!(matches!(
            parse_patch("@@ -1,3 +0,4 @@\n a\n+b\n+c\n d"),
            Err(PatchError::BadHunkHeader { line: 1 })
        ));
        assert_eq!(parse_patch("").unwrap(), vec![]);
    }
}
