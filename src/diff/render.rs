//! The diff as the model reads it: every line with explicit old and new numbers it can copy
//! into `line_range`, and a clear marker for deleted (`-`) and added (`+`) lines.
//!
//! ```text
//! === FILE src/lib.rs (modified) ===
//! @@ -10,3 +10,4 @@ fn main() {
//!    10    10    let a = 1;
//!    11       -  let b = 2;
//!          11 +  let b = 3;
//! ```

use std::fmt::Write;

use super::{FileDiff, LineKind, NoPatch};

/// The rendered text and what did not fit.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub text: String,
    /// Paths shown to the model, line by line.
    pub reviewed: Vec<String>,
    /// Paths not shown, with the reason (for the summary: nothing is dropped silently).
    pub skipped: Vec<(String, String)>,
}

/// Renders `files` in order until `budget_chars` is spent.
pub fn render_files(files: &[FileDiff], budget_chars: usize) -> Rendered {
    let mut out = Rendered::default();
    for file in files {
        match &file.no_patch {
            Some(NoPatch::Omitted) => {
                let _ = writeln!(
                    out.text,
                    "=== FILE {} ({}; no line diff: binary, rename or mode change only, or too large) ===\n",
                    file.path,
                    status_text(file)
                );
                out.skipped
                    .push((file.path.clone(), "GitHub sent no line diff".into()));
                continue;
            }
            Some(NoPatch::Unreadable(why)) => {
                out.skipped.push((
                    file.path.clone(),
                    format!("its patch could not be read ({why})"),
                ));
                continue;
            }
            None => {}
        }
        let block = render_file(file);
        if out.text.len() + block.len() > budget_chars {
            out.skipped.push((
                file.path.clone(),
                "it did not fit in the model's input budget".into(),
            ));
            continue;
        }
        out.text.push_str(&block);
        out.reviewed.push(file.path.clone());
    }
    out
}

fn status_text(file: &FileDiff) -> String {
    match &file.previous_path {
        Some(old) if old != &file.path => format!("{} from {}", file.status.as_str(), old),
        _ => file.status.as_str().to_owned(),
    }
}

fn render_file(file: &FileDiff) -> String {
    let mut s =
        String::with_capacity(64 + file.hunks.iter().map(|h| h.lines.len() * 40).sum::<usize>());
    let _ = writeln!(s, "=== FILE {} ({}) ===", file.path, status_text(file));
    for hunk in &file.hunks {
        let _ = writeln!(
            s,
            "@@ -{},{} +{},{} @@ {}",
            hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len, hunk.section
        );
        for line in &hunk.lines {
            let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
            let marker = match line.kind {
                LineKind::Context => ' ',
                LineKind::Added => '+',
                LineKind::Removed => '-',
            };
            let _ = writeln!(
                s,
                "{:>6} {:>6} {}{}",
                num(line.old),
                num(line.new),
                marker,
                line.text
            );
            if line.no_newline {
                s.push_str("              \\ No newline at end of file\n");
            }
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_both_numbers_and_markers() {
        let f = FileDiff::from_github(
            "src/a.rs".into(),
            Some("src/old.rs".into()),
            "renamed",
            Some("@@ -1,2 +1,2 @@ fn x()\n keep\n-old\n+new"),
            1,
            1,
        );
        let r = render_files(&[f], 10_000);
        assert_eq!(
            r.text,
            "=== FILE src/a.rs (renamed from src/old.rs) ===\n\
             @@ -1,2 +1,2 @@ fn x()\n\
             \x20    1      1  keep\n\
             \x20    2        -old\n\
             \x20           2 +new\n\n"
        );
        assert_eq!(r.reviewed, vec!["src/a.rs"]);
    }

    #[test]
    fn files_over_budget_are_listed_not_dropped() {
        let big = FileDiff::from_github(
            "big.rs".into(),
            None,
            "added",
            Some(&format!("@@ -0,0 +1,500 @@\n{}", "+x\n".repeat(500))),
            500,
            0,
        );
        let small = FileDiff::from_github(
            "s.rs".into(),
            None,
            "added",
            Some("@@ -0,0 +1 @@\n+y"),
            1,
            0,
        );
        let bin = FileDiff::from_github("logo.png".into(), None, "added", None, 0, 0);
        let r = render_files(&[big, small, bin], 1_000);
        assert_eq!(r.reviewed, vec!["s.rs"]);
        let skipped: Vec<_> = r.skipped.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(skipped, vec!["big.rs", "logo.png"]);
    }
}
