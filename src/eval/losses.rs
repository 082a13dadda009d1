//! Where findings went: from a case's [`Trace`], the stage that lost each expected finding,
//! the stages each false finding passed, and the true and false findings each stage
//! removed. At each stage its findings are scored as the posted ones are (a maximum
//! matching, with the slack): a stage removed as many true findings as it lowered the
//! matched count, and the rest of what it removed was false; an expected finding was lost
//! by the first stage whose output no longer matches it.

use super::dataset::Case;
pub use super::fates::{FalseFinding, Fate, Losses, StageRow};
use super::score::{CaseScore, score};
use crate::model::Finding;
use crate::pipeline::trace::{ANSWERED, Trace};

fn same(a: &Finding, b: &Finding) -> bool {
    a.code_location.file_path == b.code_location.file_path && a.title == b.title
}

/// The losses of `case` from its trace.
pub fn losses(case: &Case, trace: &Trace, slack: u32) -> Losses {
    let stages = &trace.stages;
    let scores: Vec<CaseScore> = stages
        .iter()
        .map(|s| score(case, &s.findings, slack))
        .collect();
    let mut rows: Vec<StageRow> = Vec::new();
    for (i, pair) in stages.windows(2).enumerate() {
        let (before, after) = (&pair[0], &pair[1]);
        let removed = before
            .findings
            .iter()
            .filter(|f| !after.findings.iter().any(|g| same(f, g)))
            .count();
        let true_removed = scores[i].matched.saturating_sub(scores[i + 1].matched);
        rows.push(StageRow {
            stage: after.stage.clone(),
            true_removed,
            false_removed: removed.saturating_sub(true_removed),
        });
    }
    let fates = case
        .expected
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let held = |s: &usize| scores[*s].pairs.iter().any(|(x, _)| *x == i);
            let last = (0..stages.len()).rev().find(held);
            let (lost_at, reason) = match last {
                None => (Some(ANSWERED.to_owned()), None),
                Some(s) if s + 1 == stages.len() => (None, None),
                Some(s) => {
                    let reason = scores[s]
                        .pairs
                        .iter()
                        .filter(|(x, _)| *x == i)
                        .map(|(_, r)| &stages[s].findings[*r])
                        .find_map(|f| trace.reason(&f.code_location.file_path, &f.title));
                    (Some(stages[s + 1].stage.clone()), reason.map(str::to_owned))
                }
            };
            Fate {
                expected: i,
                lost_at,
                reason,
            }
        })
        .collect();
    let false_findings = stages
        .first()
        .zip(scores.first())
        .map(|(answered, scored)| {
            answered
                .findings
                .iter()
                .enumerate()
                .filter(|(r, _)| !scored.pairs.iter().any(|(_, x)| x == r))
                .map(|(_, f)| FalseFinding {
                    path: f.code_location.file_path.clone(),
                    line: f.code_location.line_range.start,
                    title: f.title.clone(),
                    passed: stages
                        .iter()
                        .take_while(|s| s.findings.iter().any(|g| same(f, g)))
                        .map(|s| s.stage.clone())
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    Losses {
        fates,
        false_findings,
        stages: rows,
    }
}

/// The rows of several cases added up, stage by stage.
pub fn add_up<'a>(all: impl IntoIterator<Item = &'a Losses>) -> Vec<StageRow> {
    let mut total: Vec<StageRow> = Vec::new();
    for losses in all {
        for row in &losses.stages {
            match total.iter_mut().find(|t| t.stage == row.stage) {
                Some(t) => {
                    t.true_removed += row.true_removed;
                    t.false_removed += row.false_removed;
                }
                None => total.push(row.clone()),
            }
        }
    }
    total
}
