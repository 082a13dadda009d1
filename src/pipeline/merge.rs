//! One review out of the answers of several parts: each finding said once, one verdict and
//! one overall explanation.
//!
//! A large pull request is reviewed in parts, and every part sees a list of the files shown
//! elsewhere; parts often report the same problem (seen: one finding seven times in a 92-file
//! review). Two findings are the same when they point at the same file and side with
//! overlapping lines, or carry the same normalised title in the same file.

use crate::model::{Finding, ReviewOutput, normalize_title};

/// Whether `a` and `b` report the same problem.
fn same_problem(a: &Finding, b: &Finding) -> bool {
    let (la, lb) = (&a.code_location, &b.code_location);
    if la.file_path != lb.file_path {
        return false;
    }
    let overlap = la.side == lb.side
        && la.line_range.start <= lb.line_range.end
        && lb.line_range.start <= la.line_range.end;
    overlap || normalize_title(&a.title) == normalize_title(&b.title)
}

/// The findings of several parts (`(part, finding)`), with each problem once. A finding joins
/// the first group that has a member from another part reporting the same problem and none
/// from its own part (one answer's findings are distinct by the model's own account: two
/// problems on one line stay two). Each group keeps its most urgent member (then the most
/// confident, then the first), with a suggestion from a member at the same place if it has
/// none. Groups stay in the order of their first member.
pub fn dedupe_findings(findings: Vec<(usize, Finding)>) -> Vec<Finding> {
    let mut groups: Vec<Vec<(usize, Finding)>> = Vec::with_capacity(findings.len());
    for (part, finding) in findings {
        let home = groups.iter_mut().find(|g| {
            g.iter().all(|(p, _)| *p != part) && g.iter().any(|(_, m)| same_problem(m, &finding))
        });
        match home {
            Some(group) => group.push((part, finding)),
            None => groups.push(vec![(part, finding)]),
        }
    }
    groups
        .into_iter()
        .filter_map(|group| {
            let mut group: Vec<Finding> = group.into_iter().map(|(_, f)| f).collect();
            let best = (0..group.len()).min_by(|&a, &b| {
                // A priority outside 0..3 is malformed (dropped later): never the keeper.
                let key = |f: &Finding| {
                    let p = if (0..=3).contains(&f.priority) {
                        f.priority
                    } else {
                        i64::MAX
                    };
                    (p, -f.confidence_score)
                };
                key(&group[a])
                    .partial_cmp(&key(&group[b]))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })?;
            let mut kept = group.swap_remove(best);
            if kept.suggestion.is_none() {
                kept.suggestion = group
                    .into_iter()
                    .find(|m| m.code_location == kept.code_location && m.suggestion.is_some())
                    .and_then(|m| m.suggestion);
            }
            Some(kept)
        })
        .collect()
}

/// Characters of the joined explanations of a multi-part review at most.
const MAX_EXPLANATION: usize = 1_500;

/// The merge stage: the parts' answers as one, with what they cost.
pub fn stage(asked: super::ask::Asked) -> super::ask::Answer {
    super::ask::Answer {
        output: merge_parts(asked.outputs),
        usage: asked.usage,
        calls: asked.calls,
        turns: asked.turns,
    }
}

/// The parts' answers as one: findings deduplicated, "incorrect" if any part says so, the
/// lowest confidence, and one explanation that covers every part (see [`explanation`]).
pub fn merge_parts(parts: Vec<ReviewOutput>) -> ReviewOutput {
    let explanation = explanation(&parts);
    let incorrect = parts
        .iter()
        .any(|o| o.overall_correctness == "patch is incorrect");
    let confidence = parts
        .iter()
        .map(|o| o.overall_confidence_score)
        .fold(1.0, f64::min);
    let mut fixed_finding_ids: Vec<String> = Vec::new();
    for id in parts.iter().flat_map(|o| o.fixed_finding_ids.iter()) {
        if !fixed_finding_ids.contains(id) {
            fixed_finding_ids.push(id.clone());
        }
    }
    let findings = parts
        .into_iter()
        .enumerate()
        .flat_map(|(i, o)| o.findings.into_iter().map(move |f| (i, f)))
        .collect();
    ReviewOutput {
        findings: dedupe_findings(findings),
        overall_correctness: if incorrect {
            "patch is incorrect"
        } else {
            "patch is correct"
        }
        .into(),
        overall_explanation: explanation,
        overall_confidence_score: confidence,
        fixed_finding_ids,
    }
}

/// A bounded join of the parts' explanations: those of the parts that found something, the
/// most severe first (an "incorrect" verdict with the most urgent finding, then the most
/// findings), each once, up to [`MAX_EXPLANATION`] characters; then how many parts found
/// nothing. When no part found anything, the first explanation speaks for all.
fn explanation(parts: &[ReviewOutput]) -> String {
    if parts.len() == 1 {
        return parts[0].overall_explanation.trim().to_owned();
    }
    let severity = |o: &ReviewOutput| {
        let worst = o.findings.iter().map(|f| f.priority).min();
        (
            o.overall_correctness != "patch is incorrect",
            worst.unwrap_or(i64::MAX),
            std::cmp::Reverse(o.findings.len()),
        )
    };
    let mut found: Vec<&ReviewOutput> = parts.iter().filter(|o| !o.findings.is_empty()).collect();
    let clean = parts.len() - found.len();
    if found.is_empty() {
        let mut said = parts.iter().map(|o| o.overall_explanation.trim());
        return said.find(|e| !e.is_empty()).unwrap_or("").to_owned();
    }
    found.sort_by_key(|o| severity(o));
    let mut shown: Vec<&str> = Vec::new();
    let mut left_out = 0;
    let mut length = 0;
    for text in found.iter().map(|o| o.overall_explanation.trim()) {
        if text.is_empty() || shown.contains(&text) {
            continue;
        }
        if length + text.len() > MAX_EXPLANATION && !shown.is_empty() {
            left_out += 1;
            continue;
        }
        length += text.len();
        shown.push(text);
    }
    let mut out = shown.join("\n\n");
    if left_out > 0 {
        let s = if left_out == 1 { "" } else { "s" };
        out.push_str(&format!(
            "\n\n(The explanations of {left_out} more part{s} are left out.)"
        ));
    }
    if clean > 0 {
        out.push_str(&format!(
            "\n\nThe review ran in {} parts; {clean} of them found nothing to report.",
            parts.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Side;
    use crate::model::{CodeLocation, LineRange};

    fn f(path: &str, start: i64, end: i64, title: &str, priority: i64) -> Finding {
        Finding {
            title: title.into(),
            body: "b".into(),
            confidence_score: 0.5,
            priority,
            code_location: CodeLocation {
                file_path: path.into(),
                side: Side::Right,
                line_range: LineRange { start, end },
            },
            suggestion: None,
        }
    }

    fn output(correct: bool, explanation: &str, findings: Vec<Finding>) -> ReviewOutput {
        ReviewOutput {
            findings,
            overall_correctness: if correct {
                "patch is correct"
            } else {
                "patch is incorrect"
            }
            .into(),
            overall_explanation: explanation.into(),
            overall_confidence_score: 0.8,
            fixed_finding_ids: Vec::new(),
        }
    }

    #[test]
    fn the_same_place_or_title_in_one_file_is_one_finding() {
        let kept = dedupe_findings(vec![
            (0, f("a.rs", 10, 12, "Unchecked index", 2)),
            (1, f("a.rs", 12, 14, "Index may panic", 1)),
            (2, f("a.rs", 40, 40, "unchecked  INDEX!", 3)),
            (0, f("b.rs", 10, 12, "Unchecked index", 2)),
            (1, f("a.rs", 20, 20, "Leaks a file handle", 2)),
            // Two problems on one line in one answer stay two.
            (3, f("c.rs", 5, 5, "Overflows", 1)),
            (3, f("c.rs", 5, 5, "Panics on empty input", 1)),
        ]);
        let got: Vec<_> = kept
            .iter()
            .map(|k| {
                (
                    k.code_location.file_path.as_str(),
                    k.title.as_str(),
                    k.priority,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a.rs", "Index may panic", 1),
                ("b.rs", "Unchecked index", 2),
                ("a.rs", "Leaks a file handle", 2),
                ("c.rs", "Overflows", 1),
                ("c.rs", "Panics on empty input", 1),
            ]
        );
    }

    #[test]
    fn parts_give_one_verdict_and_one_explanation_covering_them_all() {
        let merged = merge_parts(vec![
            output(true, "Part one is fine.", vec![]),
            output(
                false,
                "The limiter can be bypassed.",
                vec![f("a.rs", 1, 1, "x", 0)],
            ),
            output(false, "A log line is noisy.", vec![f("a.rs", 1, 1, "x", 3)]),
        ]);
        assert_eq!(merged.overall_correctness, "patch is incorrect");
        assert_eq!(
            merged.overall_explanation,
            "The limiter can be bypassed.\n\nA log line is noisy.\n\n\
             The review ran in 3 parts; 1 of them found nothing to report."
        );
        assert_eq!(merged.findings.len(), 1);
        assert_eq!(merged.findings[0].priority, 0);
    }
}
