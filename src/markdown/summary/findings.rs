//! The findings the summary lists itself: those that could not sit on the diff, each with
//! its place (linked when its file is outside the diff) and why. Titles, bodies and paths
//! are the model's.

use std::fmt::Write;

use crate::model::Finding;
use crate::untrusted;

/// A finding posted in the summary only.
pub struct Unplaced<'a> {
    pub finding: &'a Finding,
    /// Why it is not on the diff (the app's words).
    pub reason: &'a str,
    /// The web address of files at the head (`…/blob/SHA`) when the finding is on a file the
    /// change does not touch: its place links there.
    pub link_base: Option<&'a str>,
}

/// A place in the code, `path:line`, as a code span (so that no path reads as Markdown).
pub fn place(path: &str, line: impl std::fmt::Display) -> String {
    untrusted::code(&format!("{path}:{line}"), 300)
}

/// A link to `path` lines `start..=end` at the head (`base` is `…/blob/SHA`).
pub fn file_link(base: &str, path: &str, start: i64, end: i64) -> String {
    let mut encoded = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_') {
            encoded.push(b as char);
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    let lines = if end > start {
        format!("#L{start}-L{end}")
    } else {
        format!("#L{start}")
    };
    format!("{base}/{encoded}{lines}")
}

/// `**[P1] title**`: a finding's priority and title, as its entry in a list starts.
pub(super) fn titled(finding: &Finding) -> String {
    format!(
        "**[P{}] {}**",
        finding.priority,
        untrusted::line(finding.title.trim(), 200)
    )
}

/// The findings that could not be placed on the diff, each with why.
pub(super) fn unplaced(s: &mut String, unplaced: &[Unplaced<'_>]) {
    if unplaced.is_empty() {
        return;
    }
    let _ = writeln!(s, "**Findings that could not be placed on the diff**\n");
    for u in unplaced {
        let loc = &u.finding.code_location;
        let mut at = format!(
            "{} lines {}–{} ({})",
            untrusted::code(&loc.file_path, 300),
            loc.line_range.start,
            loc.line_range.end,
            loc.side.as_str()
        );
        if let Some(base) = u.link_base {
            let link = file_link(
                base,
                &loc.file_path,
                loc.line_range.start.max(1),
                loc.line_range.end.max(1),
            );
            at = format!("[{at}]({link})");
        }
        let _ = writeln!(
            s,
            "- {} — {at}; {}.\n  {}",
            titled(u.finding),
            u.reason,
            untrusted::text(u.finding.body.trim(), 4_000).replace('\n', "\n  ")
        );
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_the_path() {
        assert_eq!(
            file_link("https://github.com/o/r/blob/abc", "src/a b(1).rs", 3, 5),
            "https://github.com/o/r/blob/abc/src/a%20b%281%29.rs#L3-L5"
        );
        assert_eq!(
            file_link("https://github.com/o/r/blob/abc", "x.rs", 7, 7),
            "https://github.com/o/r/blob/abc/x.rs#L7"
        );
    }

    #[test]
    fn a_place_is_one_code_span_without_mentions() {
        assert_eq!(place("src/a.rs", 3), "`src/a.rs:3`");
        assert_eq!(place("@org/x`y.rs", 1), "``@\u{2060}org/x`y.rs:1``");
    }
}
