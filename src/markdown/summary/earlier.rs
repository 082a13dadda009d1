//! The summary's lines about earlier findings: fixed, outdated and reopened since the last
//! review. Titles and paths are the model's.

use super::findings::place;
use crate::untrusted;

/// Earlier findings this review settled, each `(title, path, line)`.
#[derive(Debug, Clone, Copy)]
pub struct Settled<'a> {
    /// Judged fixed: their threads are resolved.
    pub fixed: &'a [(String, String, u32)],
    /// Their lines were deleted: their threads are resolved.
    pub outdated: &'a [(String, String, u32)],
    /// Marked fixed before and reported again: their threads are unresolved.
    pub reopened: &'a [(String, String, u32)],
}

/// The section on the earlier findings `settled` (empty when none was).
pub fn settled(settled: &Settled<'_>) -> String {
    let mut s = String::new();
    for (heading, done, list) in [
        ("Fixed since the last review", "resolved", settled.fixed),
        (
            "No longer in the code (lines deleted)",
            "resolved",
            settled.outdated,
        ),
        (
            "Reported again after it was marked fixed",
            "reopened",
            settled.reopened,
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        s.push_str(&format!("**{heading}** (threads {done})\n\n"));
        // A resolved finding is struck through.
        let strike = if done == "resolved" { "~~" } else { "" };
        for (title, path, line) in list {
            s.push_str(&format!(
                "- {strike}{}{strike} — {}\n",
                untrusted::line(title.trim(), 200),
                place(path, line)
            ));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(title: &str) -> Vec<(String, String, u32)> {
        vec![(title.to_owned(), "src/a.rs".to_owned(), 3)]
    }

    #[test]
    fn fixed_findings_are_struck_and_reopened_ones_are_not() {
        let (fixed, reopened) = (one(" Off by one "), one("Leak"));
        let text = settled(&Settled {
            fixed: &fixed,
            outdated: &[],
            reopened: &reopened,
        });
        assert_eq!(
            text,
            "**Fixed since the last review** (threads resolved)\n\n\
             - ~~Off by one~~ — `src/a.rs:3`\n\n\
             **Reported again after it was marked fixed** (threads reopened)\n\n\
             - Leak — `src/a.rs:3`\n\n"
        );
        let none = settled(&Settled {
            fixed: &[],
            outdated: &[],
            reopened: &[],
        });
        assert_eq!(none, "");
    }

    #[test]
    fn a_hostile_title_neither_mentions_nor_breaks_the_strike() {
        let outdated = one("~~x~~ @org/team <img src=x>");
        let text = settled(&Settled {
            fixed: &[],
            outdated: &outdated,
            reopened: &[],
        });
        assert!(!text.contains("@org") && !text.contains("<img"), "{text}");
        assert!(text.contains("- ~~\\~\\~x\\~\\~"), "{text}");
    }
}
