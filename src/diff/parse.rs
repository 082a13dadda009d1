//! A parser for the hunks of one file's unified diff, as GitHub's `patch` field holds them.
//!
//! Line counts from the hunk header decide where a hunk ends, so content lines that happen to
//! begin with `@@`, `---` or `+++` are read as content, exactly as `git apply` would.

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
}

/// Parses `patch` (one or more hunks, no `diff --git`/`---`/`+++` headers needed; any such
/// header lines before the first hunk are skipped).
pub fn parse_patch(patch: &str) -> Result<Vec<Hunk>, PatchError> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut lines = patch.split('\n').enumerate().peekable();
    // Skip file headers, if a caller passes a full `git diff` of one file.
    while let Some((_, line)) = lines.peek() {
        if line.starts_with("@@") {
            break;
        }
        let is_header = [
            "diff ",
            "index ",
            "--- ",
            "+++ ",
            "old mode",
            "new mode",
            "similarity",
        ]
        .iter()
        .any(|p| line.starts_with(p))
            || line.is_empty();
        if !is_header {
            let (n, _) = lines.next().unwrap_or_default();
            return Err(PatchError::ExpectedHunkHeader { line: n + 1 });
        }
        lines.next();
    }

    while let Some((n, raw)) = lines.next() {
        let header_line = n + 1;
        let header = raw.strip_suffix('\r').unwrap_or(raw);
        if header.is_empty() && lines.peek().is_none() {
            break; // trailing newline at the very end
        }
        if !header.starts_with("@@") {
            return Err(PatchError::ExpectedHunkHeader { line: header_line });
        }
        let (old_start, old_len, new_start, new_len, section) =
            parse_header(header).ok_or(PatchError::BadHunkHeader { line: header_line })?;
        let mut hunk = Hunk {
            old_start,
            old_len,
            new_start,
            new_len,
            section,
            lines: Vec::with_capacity((old_len.max(new_len)) as usize),
        };
        let (mut old_left, mut new_left) = (old_len, new_len);
        let (mut old_no, mut new_no) = (old_start, new_start);
        while old_left > 0 || new_left > 0 {
            let Some((n, raw)) = lines.next() else {
                return Err(PatchError::Truncated {
                    line: header_line,
                    missing_old: old_left,
                    missing_new: new_left,
                });
            };
            let text = raw.strip_suffix('\r').unwrap_or(raw);
            let (marker, content) = match text.as_bytes().first() {
                Some(b) => (*b, &text[1..]),
                // Some tools strip the space of an empty context line.
                None => (b' ', ""),
            };
            let line = match marker {
                b' ' if old_left > 0 && new_left > 0 => {
                    old_left -= 1;
                    new_left -= 1;
                    (LineKind::Context, Some(old_no), Some(new_no))
                }
                b'-' if old_left > 0 => {
                    old_left -= 1;
                    (LineKind::Removed, Some(old_no), None)
                }
                b'+' if new_left > 0 => {
                    new_left -= 1;
                    (LineKind::Added, None, Some(new_no))
                }
                b'\\' => {
                    mark_no_newline(&mut hunk);
                    continue;
                }
                _ => return Err(PatchError::BadLine { line: n + 1 }),
            };
            if line.1.is_some() {
                old_no += 1;
            }
            if line.2.is_some() {
                new_no += 1;
            }
            hunk.lines.push(DiffLine {
                kind: line.0,
                old: line.1,
                new: line.2,
                text: content.to_owned(),
                no_newline: false,
            });
        }
        // A `\ No newline at end of file` right after the hunk's last line.
        if let Some((_, next)) = lines.peek()
            && next.starts_with('\\')
        {
            mark_no_newline(&mut hunk);
            lines.next();
        }
        hunks.push(hunk);
    }
    Ok(hunks)
}

fn mark_no_newline(hunk: &mut Hunk) {
    if let Some(last) = hunk.lines.last_mut() {
        last.no_newline = true;
    }
}

/// `@@ -a[,b] +c[,d] @@ section` → (a, b, c, d, section); a missing count means 1.
fn parse_header(header: &str) -> Option<(u32, u32, u32, u32, String)> {
    let rest = header.strip_prefix("@@ -")?;
    let (ranges, section) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((start, len)) => Some((start.parse().ok()?, len.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (old_start, old_len) = range(old)?;
    let (new_start, new_len) = range(new)?;
    // A zero-length side starts at the line before the change (0 for an empty file).
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
    Some((
        old_start,
        old_len,
        new_start,
        new_len,
        section.trim_start().to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(h: &Hunk) -> Vec<(LineKind, Option<u32>, Option<u32>)> {
        h.lines.iter().map(|l| (l.kind, l.old, l.new)).collect()
    }

    #[test]
    fn edit_has_old_and_new_numbers() {
        let patch = "@@ -10,4 +10,5 @@ fn main() {\n a\n-b\n+B\n+B2\n c\n d";
        let hunks = parse_patch(patch).unwrap();
        assert_eq!(hunks.len(), 1);
        let h = &hunks[0];
        assert_eq!(h.section, "fn main() {");
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
    }

    #[test]
    fn new_and_deleted_files() {
        let added = parse_patch("@@ -0,0 +1,2 @@\n+one\n+two").unwrap();
        assert_eq!(added[0].range(super::super::Side::Left), None);
        assert_eq!(added[0].range(super::super::Side::Right), Some((1, 2)));
        let removed = parse_patch("@@ -1,2 +0,0 @@\n-one\n-two\n").unwrap();
        assert_eq!(removed[0].range(super::super::Side::Left), Some((1, 2)));
        assert_eq!(removed[0].lines.len(), 2);
    }

    #[test]
    fn content_that_looks_like_headers_is_content() {
        let patch = "@@ -1,3 +1,3 @@\n--- a\n+++ b\n-@@ -1 +1 @@\n+@@ x @@\n same";
        let hunks = parse_patch(patch).unwrap();
        let texts: Vec<_> = hunks[0].lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["-- a", "++ b", "@@ -1 +1 @@", "@@ x @@", "same"]
        );
    }

    #[test]
    fn counts_default_to_one_and_no_newline_marks_are_kept() {
        let patch =
            "@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file";
        let hunks = parse_patch(patch).unwrap();
        let l = &hunks[0].lines;
        assert_eq!(l.len(), 2);
        assert!(l[0].no_newline && l[1].no_newline);
        assert_eq!((l[0].old, l[1].new), (Some(1), Some(1)));
    }

    #[test]
    fn crlf_content_is_read() {
        let patch = "@@ -1,2 +1,2 @@\r\n a\r\n-b\r\n+c\r\n";
        let hunks = parse_patch(patch).unwrap();
        assert_eq!(hunks[0].lines[2].text, "c");
    }

    #[test]
    fn many_hunks_keep_their_numbering() {
        let patch = "@@ -1,2 +1,2 @@\n-a\n+A\n b\n@@ -50,2 +50,3 @@ tail\n x\n+y\n z";
        let hunks = parse_patch(patch).unwrap();
        assert_eq!(hunks.len(), 2);
        assert_eq!(hunks[1].lines[1].new, Some(51));
        assert_eq!(hunks[1].range(super::super::Side::Right), Some((50, 52)));
    }

    #[test]
    fn broken_patches_are_errors_not_panics() {
        assert!(matches!(
            parse_patch("@@ -1,3 +1,3 @@\n a"),
            Err(PatchError::Truncated { .. })
        ));
        assert!(matches!(
            parse_patch("@@ nonsense @@\n a"),
            Err(PatchError::BadHunkHeader { .. })
        ));
        assert!(matches!(
            parse_patch("@@ -1 +1 @@\n+a\n+b"),
            Err(PatchError::BadLine { line: 3 })
        ));
        assert!(matches!(
            parse_patch("@@ -1 +1 @@\n-a\n+b\nstray"),
            Err(PatchError::ExpectedHunkHeader { line: 4 })
        ));
        assert!(parse_patch("garbage").is_err());
        assert_eq!(parse_patch("").unwrap(), vec![]);
    }
}
