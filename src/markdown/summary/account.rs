//! The summary's account of how the review was made: what the verification dropped or
//! lowered, the files the tool budget left without tools, and what the reviewer looked at.
//! Paths, patterns, titles and reasons come from the model: sanitised like every model text.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::findings::{place, titled};
use super::plural_s;
use crate::codebase::Trace;
use crate::model::Finding;
use crate::untrusted::{self, code};

/// Entries listed per kind at most (the counts are always given).
const MAX_LISTED: usize = 50;

/// Files listed at most where the tools were limited.
const TOOLS_LIMITED_LISTED: usize = 10;

/// What the verification did, as the summary tells it.
pub struct Verified<'a> {
    /// Why nothing could be verified (the call failed): every finding was kept.
    pub failed: Option<&'a str>,
    /// Findings kept at a lower priority: `(title, from, to)`.
    pub lowered: &'a [(String, i64, i64)],
    /// Findings the verification dropped.
    pub dropped: Vec<Dropped<'a>>,
}

/// A finding the verification dropped, and why.
pub struct Dropped<'a> {
    pub finding: &'a Finding,
    pub reason: &'a str,
}

/// "N findings dropped after verification", with each one and the reason, collapsed.
pub(super) fn verification(s: &mut String, v: &Verified<'_>) {
    if let Some(error) = v.failed {
        let _ = writeln!(
            s,
            "⚠️ The findings could not be verified ({}); they are posted unverified.\n",
            untrusted::text(error, 500)
        );
        return;
    }
    for (title, from, to) in v.lowered.iter().take(MAX_LISTED) {
        let _ = writeln!(
            s,
            "- Verification lowered **{}** from P{from} to P{to}.",
            untrusted::line(title.trim(), 200)
        );
    }
    if !v.lowered.is_empty() {
        s.push('\n');
    }
    if v.dropped.is_empty() {
        return;
    }
    let n = v.dropped.len();
    let _ = writeln!(
        s,
        "<details><summary>{n} finding{} dropped after verification</summary>\n",
        plural_s(n)
    );
    for d in v.dropped.iter().take(MAX_LISTED) {
        let loc = &d.finding.code_location;
        let _ = writeln!(
            s,
            "- {} — {}: {}",
            titled(d.finding),
            place(&loc.file_path, loc.line_range.start),
            untrusted::line(d.reason.trim(), 600)
        );
    }
    s.push_str("\n</details>\n\n");
}

/// "The tools were limited: ...", naming the files read without tools.
pub(super) fn tools_limited(s: &mut String, files: &[String]) {
    if files.is_empty() {
        return;
    }
    let listed: Vec<String> = files
        .iter()
        .take(TOOLS_LIMITED_LISTED)
        .map(|f| code(f, 300))
        .collect();
    let more = match files.len().saturating_sub(TOOLS_LIMITED_LISTED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let _ = writeln!(
        s,
        "The tools were limited: the review's tool budget (`review.budget`, \
         `CODEX_REVIEW_TOOL_CALLS`, `CODEX_REVIEW_TOOL_INPUT_TOKENS`) could not give every part \
         its share, so the model did not read the repository for {} file{}: {}{more}.\n",
        files.len(),
        plural_s(files.len()),
        listed.join(", ")
    );
}

/// "What the reviewer looked at": files read and searches made, with counts, collapsed.
pub(super) fn looked_at(s: &mut String, trace: &Trace) {
    if trace.is_empty() {
        return;
    }
    let reads: u32 = trace.read.values().sum();
    let searches: u32 = trace.searched.values().sum();
    let mut head = vec![
        counted(trace.read.len(), "file", "files") + " read",
        counted(searches as usize, "search", "searches"),
    ];
    if trace.listed > 0 {
        head.push(counted(trace.listed as usize, "listing", "listings"));
    }
    if trace.refused > 0 {
        head.push(counted(
            trace.refused as usize,
            "refused call",
            "refused calls",
        ));
    }
    let _ = writeln!(
        s,
        "<details><summary>What the reviewer looked at: {}</summary>\n",
        head.join(", ")
    );
    if !trace.read.is_empty() {
        let _ = writeln!(s, "Read ({reads} call{}):", plural_s(reads as usize));
        list(s, &trace.read);
    }
    if !trace.searched.is_empty() {
        let _ = writeln!(s, "Searched:");
        list(s, &trace.searched);
    }
    s.push_str("\n</details>\n\n");
}

/// Each item as code, with its count when above one.
fn list(s: &mut String, items: &BTreeMap<String, u32>) {
    for (what, n) in items.iter().take(MAX_LISTED) {
        let times = if *n > 1 {
            format!(" ×{n}")
        } else {
            String::new()
        };
        let _ = writeln!(s, "- {}{times}", code(what, 200));
    }
    if items.len() > MAX_LISTED {
        let _ = writeln!(s, "- … and {} more", items.len() - MAX_LISTED);
    }
    s.push('\n');
}

/// `n` and the noun, `one` or `many`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_lists_paths_and_patterns_without_mentions() {
        let mut t = Trace::default();
        t.read.insert("src/lib.rs".into(), 2);
        t.searched.insert("@admin`x".into(), 1);
        t.refused = 1;
        let mut s = String::new();
        looked_at(&mut s, &t);
        assert!(s.contains("1 file read, 1 search, 1 refused call"), "{s}");
        assert!(s.contains("- `src/lib.rs` ×2"));
        assert!(!s.contains("@admin"), "{s}");
        // One code span holds the pattern, backtick and all.
        assert!(s.contains("- ``@\u{2060}admin`x``\n"), "{s}");
    }

    #[test]
    fn a_failed_verification_says_so_and_lists_nothing() {
        let lowered = [("t".to_owned(), 1, 2)];
        let v = Verified {
            failed: Some("timed out <!-- x -->"),
            lowered: &lowered,
            dropped: Vec::new(),
        };
        let mut s = String::new();
        verification(&mut s, &v);
        assert!(s.starts_with("⚠️ The findings could not be verified (timed out "));
        assert!(!s.contains("<!--") && !s.contains("lowered"), "{s}");
    }
}
