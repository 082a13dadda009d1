//! The conclude stage: the review's verdict and overall explanation, made to describe the
//! findings that are posted.
//!
//! The model wrote its explanation before the place, filter and verify stages took findings
//! out. When they did, its words are about findings nobody will see (seen: "no issues found"
//! above "7 planted findings" after all seven were dropped), so they are replaced by a
//! template that names what remains and why the rest went, and the verdict is derived from
//! what remains: changes are needed while a P0 or P1 is posted or still open from an
//! earlier review. When nothing was taken out, the model's verdict and explanation stand.

use super::place::Placement;
use super::result::Drops;
use crate::model::prompt::one_line;
use crate::model::{Finding, ReviewOutput};
use crate::untrusted;

/// The reason [`super::filter`] gives a finding an earlier review already posted: it is
/// still there, so it still counts for the verdict.
pub const ALREADY_POSTED: &str = "already posted on this pull request";

/// Titles of posted findings named in the explanation at most.
const NAMED: usize = 3;

/// Rewrites the verdict and explanation of `output` when the findings posted (`placement`)
/// are fewer than those it reported; `drops` says why the others went.
pub fn conclude(output: &mut ReviewOutput, placement: &Placement, drops: &Drops) {
    let posted: Vec<&Finding> = placement
        .inline
        .iter()
        .map(|p| &p.finding)
        .chain(placement.summary_only.iter().map(|u| &u.finding))
        .collect();
    let reported = output.findings.len();
    if posted.len() >= reported {
        return;
    }
    let still_open = drops
        .each()
        .filter(|(_, why)| *why == ALREADY_POSTED)
        .map(|(p, _)| p);
    let worst = posted.iter().map(|f| f.priority).chain(still_open).min();
    output.overall_correctness = if worst.is_some_and(|p| p <= 1) {
        "patch is incorrect"
    } else {
        "patch is correct"
    }
    .into();
    output.overall_explanation = explanation(&posted, reported, drops);
}

/// "2 of the 7 findings the model reported are posted (5 not confirmed by verification).
/// The most urgent: ..." or "None of the 7 ... is posted (...)".
fn explanation(posted: &[&Finding], reported: usize, drops: &Drops) -> String {
    let findings = if reported == 1 { "finding" } else { "findings" };
    let why = left_out(reported - posted.len(), drops);
    if posted.is_empty() {
        return format!("None of the {reported} {findings} the model reported is posted ({why}).");
    }
    let verb = if posted.len() == 1 { "is" } else { "are" };
    let mut named: Vec<&Finding> = posted.to_vec();
    named.sort_by_key(|f| f.priority);
    let list: Vec<String> = named
        .iter()
        .take(NAMED)
        .map(|f| {
            // The explanation is sanitised as a whole when posted; the place is shown as
            // code, through the same sanitizer, so that no path reads as Markdown.
            let at = format!(
                "{}:{}",
                f.code_location.file_path, f.code_location.line_range.start
            );
            format!(
                "[P{}] {} ({})",
                f.priority,
                one_line(&f.title),
                untrusted::code(&at, 300)
            )
        })
        .collect();
    let more = match posted.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    format!(
        "{} of the {reported} {findings} the model reported {verb} posted ({why}). Posted: {}{more}.",
        posted.len(),
        list.join("; ")
    )
}

/// "5 not confirmed by verification, 1 below the repository's thresholds": the drops by
/// reason (the part before a colon or a parenthesis), the rest as malformed.
fn left_out(count: usize, drops: &Drops) -> String {
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for (_, why) in drops.each() {
        let short = why.split([':', '(']).next().unwrap_or(why).trim();
        match reasons.iter_mut().find(|(r, _)| *r == short) {
            Some((_, n)) => *n += 1,
            None => reasons.push((short, 1)),
        }
    }
    let named: usize = reasons.iter().map(|(_, n)| n).sum();
    let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    if count > named {
        parts.push(format!(
            "{} malformed or on a file not in the repository",
            count - named
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Side;
    use crate::model::{CodeLocation, LineRange};
    use crate::review::place::{Placed, Unplaced};

    fn finding(title: &str, priority: i64, line: i64) -> Finding {
        Finding {
            title: title.into(),
            body: "b".into(),
            confidence_score: 0.9,
            priority,
            code_location: CodeLocation {
                file_path: "src/a.rs".into(),
                side: Side::Right,
                line_range: LineRange {
                    start: line,
                    end: line,
                },
            },
            suggestion: None,
        }
    }

    fn output(findings: Vec<Finding>) -> ReviewOutput {
        ReviewOutput {
            findings,
            overall_correctness: "patch is incorrect".into(),
            overall_explanation: "Seven planted findings break the build.".into(),
            overall_confidence_score: 0.8,
            fixed_finding_ids: Vec::new(),
        }
    }

    fn placed(f: &Finding) -> Placed {
        let line = f.code_location.line_range.start as u32;
        Placed {
            finding: f.clone(),
            path: f.code_location.file_path.clone(),
            side: Side::Right,
            start: line,
            end: line,
            clamped: false,
        }
    }

    #[test]
    fn nothing_taken_out_keeps_the_models_words() {
        let f = finding("Overflow", 2, 3);
        let mut out = output(vec![f.clone()]);
        let placement = Placement {
            inline: vec![placed(&f)],
            ..Placement::default()
        };
        conclude(&mut out, &placement, &Drops::default());
        assert_eq!(
            out.overall_explanation,
            "Seven planted findings break the build."
        );
        assert_eq!(out.overall_correctness, "patch is incorrect");
    }

    #[test]
    fn all_dropped_says_none_is_posted_and_why_and_the_patch_is_not_blocked() {
        let findings: Vec<Finding> = (0..7).map(|i| finding(&format!("F{i}"), 0, i)).collect();
        let mut out = output(findings.clone());
        let mut drops = Drops::default();
        for f in &findings[..5] {
            drops.add(
                f,
                "not confirmed by verification: the code does not do that",
            );
        }
        drops.add(&findings[5], "dismissed on this pull request");
        let placement = Placement {
            invalid: 1,
            ..Placement::default()
        };
        conclude(&mut out, &placement, &drops);
        assert_eq!(out.overall_correctness, "patch is correct");
        assert_eq!(
            out.overall_explanation,
            "None of the 7 findings the model reported is posted (5 not confirmed by \
             verification, 1 dismissed on this pull request, 1 malformed or on a file not in \
             the repository)."
        );
        assert!(!out.overall_explanation.contains("planted"));
    }

    #[test]
    fn some_dropped_names_what_remains_and_the_verdict_follows_it() {
        let (low, urgent, wrong) = (
            finding("Log line", 3, 9),
            finding("Limit bypass", 1, 4),
            finding("Undefined name", 0, 2),
        );
        let mut out = output(vec![low.clone(), urgent.clone(), wrong.clone()]);
        out.overall_correctness = "patch is correct".into();
        let mut drops = Drops::default();
        drops.add(&wrong, "not confirmed by verification: it is defined");
        let placement = Placement {
            inline: vec![placed(&low)],
            summary_only: vec![Unplaced {
                finding: urgent.clone(),
                reason: "x",
            }],
            ..Placement::default()
        };
        conclude(&mut out, &placement, &drops);
        assert_eq!(out.overall_correctness, "patch is incorrect");
        assert_eq!(
            out.overall_explanation,
            "2 of the 3 findings the model reported are posted (1 not confirmed by \
             verification). Posted: [P1] Limit bypass (`src/a.rs:4`); [P3] Log line (`src/a.rs:9`)."
        );
        // Only low findings left, or one still open from an earlier review.
        let mut out = output(vec![low.clone(), wrong.clone()]);
        let placement = Placement {
            inline: vec![placed(&low)],
            ..Placement::default()
        };
        conclude(&mut out, &placement, &drops);
        assert_eq!(out.overall_correctness, "patch is correct");
        drops.add(&urgent, ALREADY_POSTED);
        conclude(&mut out, &placement, &drops);
        assert_eq!(out.overall_correctness, "patch is incorrect");
    }
}
