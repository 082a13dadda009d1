//! Fingerprints of findings, so a later review of the same PR does not post a finding that
//! is already there, unless the code it points at changed.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::place::Placement;
use crate::diff::{FileDiff, Side};
use crate::model::{Finding, normalize_title};
use crate::store::{KnownFinding, PostedFinding};
use crate::threads::Reopened;

/// The code of `start..=end` on `side`, each line trimmed (indentation changes do not make
/// a finding new).
fn code_at(file: &FileDiff, side: Side, start: u32, end: u32) -> String {
    let mut code = String::new();
    for line in file.hunks.iter().flat_map(|h| h.lines.iter()) {
        let n = match side {
            Side::Left => line.old,
            Side::Right => line.new,
        };
        if n.is_some_and(|n| n >= start && n <= end) {
            code.push_str(file.text(line).trim());
            code.push('\n');
        }
    }
    code
}

/// The fingerprint of a finding placed inline (as `drop_repeated` computes it).
pub fn placed_fingerprint(p: &super::place::Placed, files: &[FileDiff]) -> String {
    let code = files
        .iter()
        .find(|f| f.path == p.path)
        .map_or_else(String::new, |f| code_at(f, p.side, p.start, p.end));
    fingerprint(&p.path, p.side, &p.finding.title, &code)
}

/// The fingerprint of a finding: path, side, normalised title and the code it points at.
pub fn fingerprint(path: &str, side: Side, title: &str, code: &str) -> String {
    let mut h = Sha256::new();
    for part in [path, side.as_str(), &normalize_title(title), code] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

fn remembered(
    finding: &Finding,
    fingerprint: String,
    (side, start, end): (Side, u32, u32),
    inline: bool,
) -> PostedFinding {
    PostedFinding {
        fingerprint,
        path: finding.code_location.file_path.clone(),
        title: finding.title.chars().take(200).collect(),
        side: side.as_str().to_owned(),
        start,
        end,
        body: finding.body.chars().take(4_000).collect(),
        inline,
        priority: finding.priority,
    }
}

/// What became of the findings the PR already knew (by fingerprint).
#[derive(Debug, Default)]
pub struct Repeats {
    /// Still open (or dismissed): dropped, and noted as seen again.
    pub repeated: Vec<String>,
    /// Marked fixed and reported again: dropped from this review, its thread is unresolved
    /// and holds it again.
    pub reopened: Vec<Reopened>,
    /// Marked outdated (or fixed without a thread) and reported again: kept, posted again.
    pub reposted: Vec<String>,
}

/// Sorts out the findings the PR already knows: one still open (or dismissed) is dropped;
/// one marked fixed with a thread is dropped to have its thread unresolved; one marked
/// outdated, or fixed in a summary, stays to be posted again. Returns what became of them and
/// the findings that remain (to remember once posted).
pub fn drop_repeated(
    placement: &mut Placement,
    files: &[FileDiff],
    known: &HashMap<String, KnownFinding>,
) -> (Repeats, Vec<PostedFinding>) {
    let mut repeats = Repeats::default();
    let mut kept = Vec::new();
    let keep =
        |fp: String, finding: &Finding, line: u32, repeats: &mut Repeats| match known.get(&fp) {
            None => Some(fp),
            Some(k) if !k.closed() => {
                repeats.repeated.push(fp);
                None
            }
            Some(KnownFinding {
                state,
                thread_id: Some(thread),
            }) if state == "fixed" => {
                repeats.reopened.push(Reopened {
                    fingerprint: fp,
                    thread_id: thread.clone(),
                    title: finding.title.clone(),
                    path: finding.code_location.file_path.clone(),
                    line,
                });
                None
            }
            Some(_) => {
                repeats.reposted.push(fp.clone());
                Some(fp)
            }
        };
    placement.inline.retain(|p| {
        let fp = placed_fingerprint(p, files);
        let Some(fp) = keep(fp, &p.finding, p.start, &mut repeats) else {
            return false;
        };
        kept.push(remembered(&p.finding, fp, (p.side, p.start, p.end), true));
        true
    });
    placement.summary_only.retain(|u| {
        let loc = &u.finding.code_location;
        let fp = fingerprint(&loc.file_path, loc.side, &u.finding.title, "");
        let line = loc.line_range.start.max(0) as u32;
        let Some(fp) = keep(fp, &u.finding, line, &mut repeats) else {
            return false;
        };
        let range = (
            loc.side,
            loc.line_range.start.max(0) as u32,
            loc.line_range.end.max(0) as u32,
        );
        kept.push(remembered(&u.finding, fp, range, false));
        true
    });
    (repeats, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_wording_case_and_indentation_but_not_code() {
        let a = fingerprint("a.rs", Side::Right, "Check the bound!", "x[i]\n");
        assert_eq!(
            a,
            fingerprint("a.rs", Side::Right, "check  the bound", "x[i]\n")
        );
        assert_ne!(
            a,
            fingerprint("a.rs", Side::Right, "Check the bound", "x[i + 1]\n")
        );
        assert_ne!(
            a,
            fingerprint("b.rs", Side::Right, "Check the bound", "x[i]\n")
        );
        assert_ne!(
            a,
            fingerprint("a.rs", Side::Left, "Check the bound", "x[i]\n")
        );
        let f = FileDiff::from_github(
            "a.rs".into(),
            None,
            "modified",
            Some("@@ -1,2 +1,2 @@\n   keep\n-old\n+    new".into()),
            1,
            1,
        );
        assert_eq!(code_at(&f, Side::Right, 1, 2), "keep\nnew\n");
        assert_eq!(code_at(&f, Side::Left, 2, 2), "old\n");
    }
}
