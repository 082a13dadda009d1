//! The structured result of a review, as the review API returns it: every finding the model
//! reported with where it went (inline, in the summary, or dropped) and why.

use serde_json::{Value, json};

use super::place::Placement;
use crate::model::{Finding, ReviewOutput};

/// Findings taken out of the placement between the model's answer and the post, with why.
#[derive(Debug, Default)]
pub struct Drops {
    before: Vec<(String, String)>,
    dropped: Vec<(String, String, String)>,
}

/// What names a finding across the stages.
fn id(f: &Finding) -> (String, String) {
    (f.code_location.file_path.clone(), f.title.clone())
}

fn ids(p: &Placement) -> Vec<(String, String)> {
    p.inline
        .iter()
        .map(|x| id(&x.finding))
        .chain(p.summary_only.iter().map(|u| id(&u.finding)))
        .collect()
}

impl Drops {
    /// Notes what `placement` holds before a stage that may drop findings.
    pub fn before(&mut self, placement: &Placement) {
        self.before = ids(placement);
    }

    /// Notes what the stage since [`Drops::before`] dropped, for `reason`.
    pub fn after(&mut self, placement: &Placement, reason: &str) {
        let now = ids(placement);
        for (path, title) in std::mem::take(&mut self.before) {
            if !now.contains(&(path.clone(), title.clone())) {
                self.dropped.push((path, title, reason.to_owned()));
            }
        }
    }

    /// Adds a finding dropped for `reason` (verification).
    pub fn add(&mut self, finding: &Finding, reason: &str) {
        let (path, title) = id(finding);
        self.dropped.push((path, title, reason.to_owned()));
    }

    fn reason(&self, f: &Finding) -> Option<&str> {
        let (path, title) = id(f);
        self.dropped
            .iter()
            .find(|(p, t, _)| *p == path && *t == title)
            .map(|(_, _, r)| r.as_str())
    }
}

/// Every finding of `output` with its placement, and the model's verdict.
pub fn result(output: &ReviewOutput, placement: &Placement, drops: &Drops) -> Value {
    let findings: Vec<Value> = output
        .findings
        .iter()
        .map(|f| {
            let (placement, line, reason) =
                if let Some(p) = placement.inline.iter().find(|p| id(&p.finding) == id(f)) {
                    ("inline", Some((p.start, p.end)), None)
                } else if let Some(u) = placement
                    .summary_only
                    .iter()
                    .find(|u| id(&u.finding) == id(f))
                {
                    ("summary", None, Some(u.reason.to_owned()))
                } else {
                    let reason = drops.reason(f).unwrap_or(
                        "malformed: its file, lines or fields do not fit the pull request",
                    );
                    ("dropped", None, Some(reason.to_owned()))
                };
            let (start, end) = line.map_or(
                (
                    f.code_location.line_range.start,
                    f.code_location.line_range.end,
                ),
                |(s, e)| (i64::from(s), i64::from(e)),
            );
            json!({
                "title": f.title,
                "body": f.body,
                "priority": f.priority,
                "confidence_score": f.confidence_score,
                "path": f.code_location.file_path,
                "side": f.code_location.side,
                "start_line": start,
                "end_line": end,
                "suggestion": f.suggestion,
                "placement": placement,
                "reason": reason,
            })
        })
        .collect();
    json!({
        "overall_correctness": output.overall_correctness,
        "overall_explanation": output.overall_explanation,
        "overall_confidence_score": output.overall_confidence_score,
        "findings": findings,
    })
}
