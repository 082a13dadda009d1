//! The summary's account of how the review was made: the findings the verification dropped,
//! what the reviewer looked at with its tools, and links to files outside the diff. Paths and
//! patterns come from the model: they are sanitised like every model text.

use std::fmt::Write;

use super::verify::Verification;
use crate::codebase::Trace;
use crate::untrusted::{self, code, text as sanitize};

/// Entries listed per kind at most (the counts are always given).
const MAX_LISTED: usize = 50;

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

/// "N findings dropped after verification", with each one and the reason, collapsed.
pub fn verification(s: &mut String, v: &Verification) {
    if let Some(error) = &v.failed {
        let _ = writeln!(
            s,
            "⚠️ The findings could not be verified ({}); they are posted unverified.\n",
            sanitize(error, 500)
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
        if n == 1 { "" } else { "s" }
    );
    for d in v.dropped.iter().take(MAX_LISTED) {
        let loc = &d.finding.code_location;
        let _ = writeln!(
            s,
            "- **[P{}] {}** — {}: {}",
            d.finding.priority,
            untrusted::line(d.finding.title.trim(), 200),
            code(&format!("{}:{}", loc.file_path, loc.line_range.start), 300),
            untrusted::line(d.reason.trim(), 600)
        );
    }
    s.push_str("\n</details>\n\n");
}

/// "What the reviewer looked at": files read and searches made, with counts, collapsed.
pub fn looked_at(s: &mut String, trace: &Trace) {
    if trace.is_empty() {
        return;
    }
    let reads: u32 = trace.read.values().sum();
    let searches: u32 = trace.searched.values().sum();
    let mut head = vec![
        plural(trace.read.len(), "file", "files") + " read",
        plural(searches as usize, "search", "searches"),
    ];
    if trace.listed > 0 {
        head.push(plural(trace.listed as usize, "listing", "listings"));
    }
    if trace.refused > 0 {
        head.push(plural(
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
        let _ = writeln!(
            s,
            "Read ({reads} call{}):",
            if reads == 1 { "" } else { "s" }
        );
        list(s, &trace.read);
    }
    if !trace.searched.is_empty() {
        let _ = writeln!(s, "Searched:");
        list(s, &trace.searched);
    }
    s.push_str("\n</details>\n\n");
}

fn list(s: &mut String, items: &std::collections::BTreeMap<String, u32>) {
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

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
}
