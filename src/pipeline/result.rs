//! The structured result of a review, as the review API returns it: every finding the model
//! reported with where it went (inline, in the summary, or dropped) and why.

use serde_json::{Value, json};

use super::place::Placement;
use crate::model::{Finding, ReviewOutput};

/// Findings taken out of the placement between the model's answer and the post, with why.
#[derive(Debug, Default)]
pub struct Drops {
    before: Vec<(String, String, i64)>,
    /// `(path, title, priority, reason)` of each finding dropped.
    dropped: Vec<(String, String, i64, String)>,
}

/// What names a finding across the stages.
fn id(f: &Finding) -> (String, String) {
    (f.code_location.file_path.clone(), f.title.clone())
}

fn ids(p: &Placement) -> Vec<(String, String, i64)> {
    p.inline
        .iter()
        .map(|x| &x.finding)
        .chain(p.summary_only.iter().map(|u| &u.finding))
        .map(|f| {
            let (path, title) = id(f);
            (path, title, f.priority)
        })
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
        for (path, title, priority) in std::mem::take(&mut self.before) {
            if !now.iter().any(|(p, t, _)| *p == path && *t == title) {
                self.dropped
                    .push((path, title, priority, reason.to_owned()));
            }
        }
    }

    /// Adds a finding dropped for `reason` (verification).
    pub fn add(&mut self, finding: &Finding, reason: &str) {
        let (path, title) = id(finding);
        let priority = finding.priority;
        self.dropped
            .push((path, title, priority, reason.to_owned()));
    }

    fn reason(&self, f: &Finding) -> Option<&str> {
        let (path, title) = id(f);
        self.dropped
            .iter()
            .find(|(p, t, _, _)| *p == path && *t == title)
            .map(|(_, _, _, r)| r.as_str())
    }

    /// The path, title and reason of every finding dropped, in the order they were dropped.
    pub fn notes(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.dropped
            .iter()
            .map(|(p, t, _, r)| (p.as_str(), t.as_str(), r.as_str()))
    }

    /// The priority and reason of every finding dropped, in the order they were dropped.
    pub fn each(&self) -> impl Iterator<Item = (i64, &str)> {
        self.dropped.iter().map(|(_, _, p, r)| (*p, r.as_str()))
    }
}

/// Every finding of `output` with its placement, and the model's verdict.
pub fn result(output: &ReviewOutput, placement: &Placement, drops: &Drops) -> Value {
    let findings: Vec<Value> = output
        .findings
        .iter()
        .map(|f| {
            // The priority as posted: the verification may have lowered it.
            let (placement, line, reason, priority) =
                if let Some(p) = placement.inline.iter().find(|p| id(&p.finding) == id(f)) {
                    ("inline", Some((p.start, p.end)), None, p.finding.priority)
                } else if let Some(u) = placement
                    .summary_only
                    .iter()
                    .find(|u| id(&u.finding) == id(f))
                {
                    let reason = Some(u.reason.to_owned());
                    ("summary", None, reason, u.finding.priority)
                } else {
                    let reason = drops.reason(f).unwrap_or(
                        "malformed: its file, lines or fields do not fit the pull request",
                    );
                    ("dropped", None, Some(reason.to_owned()), f.priority)
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
                "priority": priority,
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
