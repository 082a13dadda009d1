//! The scorer: what a review reported against what a case expects.
//!
//! A reported finding matches an expected one when it is on the same path and side and its
//! line range overlaps the expected range widened by `slack` lines on each side. Each
//! expected finding is matched at most once and each reported one at most once, as many as
//! can be (a maximum matching, so the order of the findings never changes a score); reported
//! findings left over are noise, duplicates of a matched problem included.

use serde::{Deserialize, Serialize};

use super::dataset::{Case, Expected};
use crate::model::Finding;

/// How a case went for one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseScore {
    pub id: String,
    pub clean: bool,
    pub expected: usize,
    pub reported: usize,
    /// Expected findings matched (true positives).
    pub matched: usize,
    /// `(expected, reported)` indexes of each match.
    pub pairs: Vec<(usize, usize)>,
}

impl CaseScore {
    /// Reported findings that match nothing (false positives and duplicates).
    pub fn noise(&self) -> usize {
        self.reported - self.matched
    }

    pub fn missed(&self) -> usize {
        self.expected - self.matched
    }
}

/// Whether `reported` is where `expected` is, within `slack` lines.
pub fn matches(expected: &Expected, reported: &Finding, slack: u32) -> bool {
    let l = &reported.code_location;
    if l.file_path != expected.path || l.side != expected.side {
        return false;
    }
    let (start, end) = (l.line_range.start, l.line_range.end.max(l.line_range.start));
    let from = i64::from(expected.start_line) - i64::from(slack);
    let to = i64::from(expected.end_line) + i64::from(slack);
    start <= to && from <= end
}

/// Scores `reported` against `case`.
pub fn score(case: &Case, reported: &[Finding], slack: u32) -> CaseScore {
    let can: Vec<Vec<usize>> = case
        .expected
        .iter()
        .map(|e| {
            (0..reported.len())
                .filter(|&r| matches(e, &reported[r], slack))
                .collect()
        })
        .collect();
    let pairs = maximum_matching(&can, reported.len());
    CaseScore {
        id: case.id.clone(),
        clean: case.clean,
        expected: case.expected.len(),
        reported: reported.len(),
        matched: pairs.len(),
        pairs,
    }
}

/// The largest set of `(expected, reported)` pairs with each side used once, by augmenting
/// paths (a case has a few findings: the cost is nothing).
fn maximum_matching(can: &[Vec<usize>], reported: usize) -> Vec<(usize, usize)> {
    fn augment(
        e: usize,
        can: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &r in &can[e] {
            if std::mem::replace(&mut seen[r], true) {
                continue;
            }
            if owner[r].is_none_or(|other| augment(other, can, seen, owner)) {
                owner[r] = Some(e);
                return true;
            }
        }
        false
    }
    let mut owner: Vec<Option<usize>> = vec![None; reported];
    for e in 0..can.len() {
        let mut seen = vec![false; reported];
        augment(e, can, &mut seen, &mut owner);
    }
    let mut pairs: Vec<(usize, usize)> = owner
        .iter()
        .enumerate()
        .filter_map(|(r, e)| e.map(|e| (e, r)))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// One case of one configuration's run: its score, or why it failed, and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRun {
    pub id: String,
    pub score: Option<CaseScore>,
    pub error: Option<String>,
    /// The findings the review posted (what is scored: a replay scores them again).
    #[serde(default)]
    pub reported: Vec<Finding>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `None` when the model has no price.
    pub dollars: Option<f64>,
    pub seconds: f64,
}

/// A configuration's figures over a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub config: String,
    pub cases: usize,
    pub failed: usize,
    pub expected: usize,
    pub matched: usize,
    pub reported: usize,
    pub recall: f64,
    pub precision: f64,
    pub f1: f64,
    /// Findings reported per clean case.
    pub noise_per_clean_case: f64,
    pub tokens_p50: u64,
    pub tokens_p95: u64,
    pub dollars_p50: Option<f64>,
    pub dollars_p95: Option<f64>,
    pub dollars_total: Option<f64>,
    pub seconds_p50: f64,
    pub seconds_p95: f64,
}

/// Adds up `runs` (failed cases count as failed, not in the scores).
pub fn totals(config: &str, runs: &[CaseRun]) -> Totals {
    let scored: Vec<&CaseScore> = runs.iter().filter_map(|r| r.score.as_ref()).collect();
    let sum = |f: fn(&CaseScore) -> usize| scored.iter().map(|s| f(s)).sum::<usize>();
    let (expected, matched, reported) =
        (sum(|s| s.expected), sum(|s| s.matched), sum(|s| s.reported));
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let recall = if expected == 0 {
        1.0
    } else {
        ratio(matched, expected)
    };
    let precision = if reported == 0 {
        1.0
    } else {
        ratio(matched, reported)
    };
    let f1 = if recall + precision == 0.0 {
        0.0
    } else {
        2.0 * recall * precision / (recall + precision)
    };
    let clean: Vec<&&CaseScore> = scored.iter().filter(|s| s.clean).collect();
    let noise_per_clean_case = if clean.is_empty() {
        0.0
    } else {
        clean.iter().map(|s| s.reported).sum::<usize>() as f64 / clean.len() as f64
    };
    let ran: Vec<&CaseRun> = runs.iter().filter(|r| r.score.is_some()).collect();
    let tokens: Vec<f64> = ran
        .iter()
        .map(|r| (r.input_tokens + r.output_tokens) as f64)
        .collect();
    let seconds: Vec<f64> = ran.iter().map(|r| r.seconds).collect();
    let dollars: Option<Vec<f64>> = ran.iter().map(|r| r.dollars).collect();
    Totals {
        config: config.to_owned(),
        cases: runs.len(),
        failed: runs.len() - ran.len(),
        expected,
        matched,
        reported,
        recall,
        precision,
        f1,
        noise_per_clean_case,
        tokens_p50: percentile(&tokens, 50.0) as u64,
        tokens_p95: percentile(&tokens, 95.0) as u64,
        dollars_p50: dollars.as_ref().map(|d| percentile(d, 50.0)),
        dollars_p95: dollars.as_ref().map(|d| percentile(d, 95.0)),
        dollars_total: dollars.as_ref().map(|d| d.iter().sum()),
        seconds_p50: percentile(&seconds, 50.0),
        seconds_p95: percentile(&seconds, 95.0),
    }
}

/// The nearest-rank percentile `p` of `values` (0 when there are none).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Side;
    use crate::eval::dataset::Source;
    use crate::model::{CodeLocation, LineRange};

    fn expected(path: &str, start: u32, end: u32, side: Side) -> Expected {
        Expected {
            path: path.into(),
            start_line: start,
            end_line: end,
            side,
            description: "d".into(),
            priority: None,
        }
    }

    fn case(expected: Vec<Expected>) -> Case {
        Case {
            id: "c".into(),
            source: Source::PullRequest("https://github.com/o/r/pull/1".into()),
            title: None,
            description: None,
            clean: expected.is_empty(),
            expected,
            origin: None,
        }
    }

    fn reported(path: &str, start: i64, end: i64, side: Side) -> Finding {
        Finding {
            title: "t".into(),
            body: "b".into(),
            confidence_score: 0.9,
            priority: 1,
            code_location: CodeLocation {
                file_path: path.into(),
                side,
                line_range: LineRange { start, end },
            },
            suggestion: None,
        }
    }

    #[test]
    fn exact_partial_slack_wrong_side_and_wrong_path() {
        let c = case(vec![expected("a.rs", 10, 12, Side::Right)]);
        let at = |start, end, side, path: &str| {
            score(&c, &[reported(path, start, end, side)], 0).matched
        };
        assert_eq!(at(10, 12, Side::Right, "a.rs"), 1, "exact");
        assert_eq!(at(12, 20, Side::Right, "a.rs"), 1, "partial overlap");
        assert_eq!(at(13, 13, Side::Right, "a.rs"), 0, "next line, no slack");
        assert_eq!(
            score(&c, &[reported("a.rs", 13, 13, Side::Right)], 1).matched,
            1,
            "within slack"
        );
        assert_eq!(
            score(&c, &[reported("a.rs", 15, 15, Side::Right)], 2).matched,
            0,
            "past slack"
        );
        assert_eq!(at(10, 12, Side::Left, "a.rs"), 0, "wrong side");
        assert_eq!(at(10, 12, Side::Right, "b.rs"), 0, "wrong path");
    }

    #[test]
    fn an_expected_finding_is_matched_once_and_duplicates_are_noise() {
        let c = case(vec![expected("a.rs", 10, 10, Side::Right)]);
        let s = score(
            &c,
            &[
                reported("a.rs", 10, 10, Side::Right),
                reported("a.rs", 9, 11, Side::Right),
                reported("z.rs", 1, 1, Side::Right),
            ],
            0,
        );
        assert_eq!((s.matched, s.noise(), s.missed()), (1, 2, 0));
    }

    #[test]
    fn the_matching_is_the_largest_whatever_the_order() {
        // The first report could take either expected finding; a greedy pass that gave it
        // the second would leave the other report unmatched.
        let c = case(vec![
            expected("a.rs", 1, 5, Side::Right),
            expected("a.rs", 5, 9, Side::Right),
        ]);
        let reports = [
            reported("a.rs", 5, 5, Side::Right),
            reported("a.rs", 2, 2, Side::Right),
        ];
        assert_eq!(score(&c, &reports, 0).matched, 2);
        let flipped = [reports[1].clone(), reports[0].clone()];
        assert_eq!(score(&c, &flipped, 0).matched, 2);
    }

    #[test]
    fn totals_over_cases_with_a_clean_one_and_a_failure() {
        let run = |id: &str, s: Option<CaseScore>, dollars: f64, seconds: f64| CaseRun {
            id: id.into(),
            error: s.is_none().then(|| "the model call failed".to_owned()),
            score: s,
            reported: Vec::new(),
            input_tokens: 1000,
            output_tokens: 100,
            dollars: Some(dollars),
            seconds,
        };
        let bug = case(vec![
            expected("a.rs", 1, 1, Side::Right),
            expected("b.rs", 1, 1, Side::Right),
        ]);
        let hit = score(
            &bug,
            &[
                reported("a.rs", 1, 1, Side::Right),
                reported("c.rs", 1, 1, Side::Right),
            ],
            0,
        );
        let clean = score(&case(vec![]), &[reported("a.rs", 1, 1, Side::Right)], 0);
        let t = totals(
            "default",
            &[
                run("bug", Some(hit), 0.02, 10.0),
                run("clean", Some(clean), 0.01, 4.0),
                run("broken", None, 0.0, 1.0),
            ],
        );
        assert_eq!(
            (t.cases, t.failed, t.expected, t.matched, t.reported),
            (3, 1, 2, 1, 3)
        );
        assert_eq!(t.recall, 0.5);
        assert!((t.precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((t.f1 - 0.4).abs() < 1e-12);
        assert_eq!(t.noise_per_clean_case, 1.0);
        assert_eq!((t.dollars_p50, t.dollars_p95), (Some(0.01), Some(0.02)));
        assert_eq!((t.seconds_p50, t.seconds_p95), (4.0, 10.0));
        assert_eq!(t.tokens_p50, 1100);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 10.0);
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[3.0], 95.0), 3.0);
    }
}
