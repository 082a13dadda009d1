//! The conclude stage: the review's verdict and overall explanation, made to describe the
//! findings that are posted.
//!
//! The verdict always follows what the pull request holds once this review is posted: changes
//! are needed while a P0 or P1 is posted, or still open from an earlier review (not judged
//! fixed, not outdated); otherwise the patch is correct.
//!
//! The model wrote its explanation before the place, filter and verify stages took findings
//! out or lowered them, and a review in parts joins each part's words, some about findings
//! that were merged away. When any of that happened, or the verdict is not the model's, its
//! words would describe findings nobody will see (seen: "no issues found" above "7 planted
//! findings" after all seven were dropped; "patch is incorrect" over P2-only findings after a
//! P1 was lowered), so they are replaced by a template that names what is posted and why the
//! rest went. When nothing changed, the model's verdict and explanation stand.

use super::filter::ALREADY_POSTED;
use super::place::Placement;
use super::result::Drops;
use crate::markdown;
use crate::model::prompt::one_line;
use crate::model::{Finding, ReviewOutput};

/// Titles of posted findings named in the explanation at most.
const NAMED: usize = 3;

/// What remains of the model's answer after the place, filter and verify stages.
pub struct Remains<'a> {
    pub placement: &'a Placement,
    /// Why the findings not posted went.
    pub drops: &'a Drops,
    /// Findings verification kept at a lower priority: `(title, from, to)`.
    pub lowered: &'a [(String, i64, i64)],
    /// Findings of earlier reviews still open at P0 or P1 after this one (neither judged fixed
    /// nor outdated).
    pub open_urgent_earlier: usize,
    /// The conversations the answer was merged from (one per part).
    pub parts: usize,
}

/// Sets the verdict of `output` from what remains, and rewrites its explanation when the
/// model's no longer describes it.
pub fn conclude(output: &mut ReviewOutput, remains: &Remains<'_>) {
    let placement = remains.placement;
    let posted: Vec<&Finding> = placement
        .inline
        .iter()
        .map(|p| &p.finding)
        .chain(placement.summary_only.iter().map(|u| &u.finding))
        .collect();
    let reported = output.findings.len();
    let still_open = remains
        .drops
        .each()
        .filter(|(_, why)| *why == ALREADY_POSTED)
        .map(|(p, _)| p);
    let worst = posted.iter().map(|f| f.priority).chain(still_open).min();
    let incorrect = worst.is_some_and(|p| p <= 1) || remains.open_urgent_earlier > 0;
    let verdict = if incorrect {
        "patch is incorrect"
    } else {
        "patch is correct"
    };
    let removed = posted.len() < reported;
    let rewrite = removed
        || !remains.lowered.is_empty()
        || output.overall_correctness != verdict
        || (remains.parts > 1 && reported > 0);
    output.overall_correctness = verdict.into();
    if rewrite {
        output.overall_explanation = explanation(&posted, reported, remains);
    }
}

/// "2 of the 7 findings the model reported are posted (5 not confirmed by verification).
/// Posted: ...", then what verification lowered and what earlier reviews left open.
fn explanation(posted: &[&Finding], reported: usize, remains: &Remains<'_>) -> String {
    let findings = if reported == 1 { "finding" } else { "findings" };
    let mut text = if reported == 0 {
        "The model reported no new finding.".to_owned()
    } else if posted.is_empty() {
        let why = left_out(reported, remains.drops);
        format!("None of the {reported} {findings} the model reported is posted ({why}).")
    } else if posted.len() == reported {
        // All posted: they are listed right below, so they are counted, not named.
        let all = match reported {
            1 => "the one finding the model reported is posted".to_owned(),
            n => format!("all {n} findings the model reported are posted"),
        };
        match remains.parts {
            0 | 1 => format!("{}.", capitalized(&all)),
            n => format!("The change was reviewed in {n} parts; {all}."),
        }
    } else {
        let verb = if posted.len() == 1 { "is" } else { "are" };
        let why = left_out(reported - posted.len(), remains.drops);
        format!(
            "{} of the {reported} {findings} the model reported {verb} posted ({why}). Posted: {}.",
            posted.len(),
            named(posted)
        )
    };
    if !remains.lowered.is_empty() {
        let lowered: Vec<String> = remains
            .lowered
            .iter()
            .take(NAMED)
            .map(|(title, from, to)| format!("{} (P{from} to P{to})", one_line(title)))
            .collect();
        let more = match remains.lowered.len().saturating_sub(NAMED) {
            0 => String::new(),
            n => format!("; and {n} more"),
        };
        text.push_str(&format!(
            " Verification lowered the priority of {}: {}{more}.",
            remains.lowered.len(),
            lowered.join("; ")
        ));
    }
    match remains.open_urgent_earlier {
        0 => {}
        1 => text.push_str(" A P0 or P1 finding of an earlier review is still open."),
        n => text.push_str(&format!(
            " {n} P0 or P1 findings of earlier reviews are still open."
        )),
    }
    text
}

/// `s` with its first letter upper-case.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The most urgent posted findings: `[P1] title (`path:line`)`, at most [`NAMED`].
fn named(posted: &[&Finding]) -> String {
    let mut named: Vec<&Finding> = posted.to_vec();
    named.sort_by_key(|f| f.priority);
    let list: Vec<String> = named
        .iter()
        .take(NAMED)
        .map(|f| {
            // The explanation is sanitised as a whole when posted; the place is shown as
            // code, as the summary shows places, so that no path reads as Markdown.
            let at = markdown::summary::place(
                &f.code_location.file_path,
                f.code_location.line_range.start,
            );
            format!("[P{}] {} ({at})", f.priority, one_line(&f.title))
        })
        .collect();
    let more = match posted.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    format!("{}{more}", list.join("; "))
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
    use crate::pipeline::place::{Placed, Unplaced};

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

    fn remains<'a>(placement: &'a Placement, drops: &'a Drops) -> Remains<'a> {
        Remains {
            placement,
            drops,
            lowered: &[],
            open_urgent_earlier: 0,
            parts: 1,
        }
    }

    #[test]
    fn nothing_taken_out_keeps_the_models_words() {
        let f = finding("Overflow", 1, 3);
        let mut out = output(vec![f.clone()]);
        let placement = Placement {
            inline: vec![placed(&f)],
            ..Placement::default()
        };
        conclude(&mut out, &remains(&placement, &Drops::default()));
        assert_eq!(
            out.overall_explanation,
            "Seven planted findings break the build."
        );
        assert_eq!(out.overall_correctness, "patch is incorrect");
    }

    #[test]
    fn a_p1_lowered_to_p2_leaves_no_stale_verdict() {
        // The verifier lowered the only P1: the posted finding is a P2.
        let lowered = finding("Overflow", 2, 3);
        let mut out = output(vec![finding("Overflow", 1, 3)]);
        let placement = Placement {
            inline: vec![placed(&lowered)],
            ..Placement::default()
        };
        let drops = Drops::default();
        let changes = [("Overflow".to_owned(), 1, 2)];
        conclude(
            &mut out,
            &Remains {
                lowered: &changes,
                ..remains(&placement, &drops)
            },
        );
        assert_eq!(out.overall_correctness, "patch is correct");
        assert_eq!(
            out.overall_explanation,
            "The one finding the model reported is posted. Verification lowered the priority \
             of 1: Overflow (P1 to P2)."
        );
        // A P1 of an earlier review still open keeps the patch incorrect, and says so.
        let mut out = output(vec![finding("Overflow", 1, 3)]);
        conclude(
            &mut out,
            &Remains {
                lowered: &changes,
                open_urgent_earlier: 1,
                ..remains(&placement, &drops)
            },
        );
        assert_eq!(out.overall_correctness, "patch is incorrect");
        assert!(
            out.overall_explanation
                .ends_with("A P0 or P1 finding of an earlier review is still open."),
            "{}",
            out.overall_explanation
        );
    }

    #[test]
    fn a_review_in_parts_speaks_only_of_what_is_posted() {
        // Part 2 also reported the overflow, merged into part 1's finding; its leak was a hunch
        // the model left out of its findings.
        let kept = finding("Overflow", 1, 3);
        let mut out = output(vec![kept.clone()]);
        out.overall_explanation =
            "Part 1: an overflow.\n\nPart 2: the overflow too, and a leak.".into();
        let placement = Placement {
            inline: vec![placed(&kept)],
            ..Placement::default()
        };
        let drops = Drops::default();
        conclude(
            &mut out,
            &Remains {
                parts: 2,
                ..remains(&placement, &drops)
            },
        );
        assert_eq!(
            out.overall_explanation,
            "The change was reviewed in 2 parts; the one finding the model reported is posted."
        );
        // No finding at all: the model's words about nothing found stand.
        let mut out = output(Vec::new());
        out.overall_correctness = "patch is correct".into();
        let empty = Placement::default();
        conclude(
            &mut out,
            &Remains {
                parts: 2,
                ..remains(&empty, &drops)
            },
        );
        assert_eq!(
            out.overall_explanation,
            "Seven planted findings break the build."
        );
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
        conclude(&mut out, &remains(&placement, &drops));
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
        conclude(&mut out, &remains(&placement, &drops));
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
        conclude(&mut out, &remains(&placement, &drops));
        assert_eq!(out.overall_correctness, "patch is correct");
        drops.add(&urgent, ALREADY_POSTED);
        conclude(&mut out, &remains(&placement, &drops));
        assert_eq!(out.overall_correctness, "patch is incorrect");
    }
}
