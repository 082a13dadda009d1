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
    /// Expected findings of priority P0 or P1, and how many of them were matched.
    #[serde(default)]
    pub urgent: usize,
    #[serde(default)]
    pub urgent_matched: usize,
}

impl CaseScore {
    /// Reported findings that match nothing (false positives and duplicates).
    pub fn noise(&self) -> usize {
        self.reported - self.matched
    }

    pub fn missed(&self) -> usize {
        self.expected - self.matched
    }

    /// Keeps only the matches `keep` confirms (a judge's), and counts again.
    pub fn keep_pairs(&mut self, case: &Case, keep: impl Fn(&(usize, usize)) -> bool) {
        self.pairs.retain(keep);
        self.matched = self.pairs.len();
        self.urgent_matched = self
            .pairs
            .iter()
            .filter(|(e, _)| is_urgent(&case.expected[*e]))
            .count();
    }
}

fn is_urgent(e: &Expected) -> bool {
    e.priority.is_some_and(|p| p <= 1)
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
        urgent: case.expected.iter().filter(|e| is_urgent(e)).count(),
        urgent_matched: pairs
            .iter()
            .filter(|(e, _)| is_urgent(&case.expected[*e]))
            .count(),
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
    /// The case failed because its cassette no longer answers its requests (`error` names
    /// the turn).
    #[serde(default)]
    pub stale: bool,
    /// Which run of the case this is (1 for the first; `--runs K` makes K).
    #[serde(default)]
    pub run: u32,
    /// The findings the review posted (what is scored: a replay scores them again).
    #[serde(default)]
    pub reported: Vec<Finding>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `None` when the model has no price.
    pub dollars: Option<f64>,
    pub seconds: f64,
    /// What the run was of: a stored run whose stamp differs is run again.
    #[serde(default)]
    pub stamp: Option<Stamp>,
    /// The findings after each stage of the pipeline (none for a failed case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::pipeline::trace::Trace>,
    /// Where the findings went, from the trace (scored again with the case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub losses: Option<crate::eval::fates::Losses>,
    /// What `--judge` made of the matches (judged again with the case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged: Option<crate::eval::judge::Judged>,
}

/// What a stored run was of: SHA-256 of the dataset line (as read) and of the configuration
/// (its file and the `--set` keys), and the version of the binary that ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub dataset_line: String,
    pub configuration: String,
    pub version: String,
}

impl Stamp {
    /// The stamp of `case` run under the configuration of `config` (its file's text, `None`
    /// for each case's own) with `sets` (one `KEY=VALUE` a line).
    pub fn of(case: &Case, config: Option<&str>, sets: &str) -> Self {
        use sha2::{Digest, Sha256};
        let hex = |bytes: &[u8]| -> String {
            Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let line = serde_json::to_string(case).expect("a case serializes");
        let config = match config {
            Some(text) => format!("file\n{text}\nset\n{sets}"),
            None => format!("own\nset\n{sets}"),
        };
        Stamp {
            dataset_line: hex(line.as_bytes()),
            configuration: hex(config.as_bytes()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl CaseRun {
    /// A case that failed before it asked anything.
    pub fn failed(id: &str, error: String) -> Self {
        CaseRun {
            id: id.to_owned(),
            score: None,
            error: Some(error),
            stale: false,
            run: 1,
            reported: Vec::new(),
            input_tokens: 0,
            output_tokens: 0,
            dollars: Some(0.0),
            seconds: 0.0,
            stamp: None,
            trace: None,
            losses: None,
            judged: None,
        }
    }
}

/// A configuration's figures over a dataset. A failed case counts: each of its expected
/// findings is a miss, and what it spent is spent. A ratio with nothing to divide by is
/// `None` ("n/a"), never a flattering 100%.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub config: String,
    pub cases: usize,
    pub failed: usize,
    pub expected: usize,
    pub matched: usize,
    pub reported: usize,
    /// Matched over expected (`None`: no finding was expected).
    pub recall: Option<f64>,
    /// Matched over reported (`None`: nothing was reported).
    pub precision: Option<f64>,
    /// Their harmonic mean (`None` when either is).
    pub f1: Option<f64>,
    /// Recall over the expected findings of priority P0 or P1.
    pub urgent_expected: usize,
    pub urgent_matched: usize,
    pub urgent_recall: Option<f64>,
    /// Clean cases that ran, and those of them with at least one finding reported.
    pub clean_cases: usize,
    pub clean_with_findings: usize,
    /// The share of clean cases with a finding (`None`: no clean case ran).
    pub false_alarm_share: Option<f64>,
    /// Findings reported per clean case that ran.
    pub noise_per_clean_case: f64,
    pub tokens_p50: u64,
    pub tokens_p95: u64,
    pub dollars_p50: Option<f64>,
    pub dollars_p95: Option<f64>,
    pub dollars_total: Option<f64>,
    pub seconds_p50: f64,
    pub seconds_p95: f64,
}

/// `a / b`, `None` when `b` is 0.
fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Adds up `runs`, failed ones included (scored as having reported nothing).
pub fn totals<'a>(config: &str, runs: impl IntoIterator<Item = &'a CaseRun>) -> Totals {
    let runs: Vec<&CaseRun> = runs.into_iter().collect();
    let scored: Vec<&CaseScore> = runs.iter().filter_map(|r| r.score.as_ref()).collect();
    let sum = |f: fn(&CaseScore) -> usize| scored.iter().map(|s| f(s)).sum::<usize>();
    let (expected, matched, reported) =
        (sum(|s| s.expected), sum(|s| s.matched), sum(|s| s.reported));
    let (recall, precision) = (ratio(matched, expected), ratio(matched, reported));
    let f1 = match (recall, precision) {
        (Some(r), Some(p)) if r + p > 0.0 => Some(2.0 * r * p / (r + p)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    let (urgent_expected, urgent_matched) = (sum(|s| s.urgent), sum(|s| s.urgent_matched));
    let clean: Vec<&CaseScore> = runs
        .iter()
        .filter(|r| r.error.is_none())
        .filter_map(|r| r.score.as_ref())
        .filter(|s| s.clean)
        .collect();
    let clean_with_findings = clean.iter().filter(|s| s.reported > 0).count();
    let noise_per_clean_case = ratio(clean.iter().map(|s| s.reported).sum(), clean.len());
    let tokens: Vec<f64> = runs
        .iter()
        .map(|r| (r.input_tokens + r.output_tokens) as f64)
        .collect();
    let seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
    let dollars: Option<Vec<f64>> = runs.iter().map(|r| r.dollars).collect();
    Totals {
        config: config.to_owned(),
        cases: runs.len(),
        failed: runs.iter().filter(|r| r.error.is_some()).count(),
        expected,
        matched,
        reported,
        recall,
        precision,
        f1,
        urgent_expected,
        urgent_matched,
        urgent_recall: ratio(urgent_matched, urgent_expected),
        clean_cases: clean.len(),
        clean_with_findings,
        false_alarm_share: ratio(clean_with_findings, clean.len()),
        noise_per_clean_case: noise_per_clean_case.unwrap_or(0.0),
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
        let run = |id: &str, s: CaseScore, failed: bool, dollars: f64, seconds: f64| CaseRun {
            id: id.into(),
            error: failed.then(|| "the model call failed".to_owned()),
            stale: false,
            run: 1,
            score: Some(s),
            reported: Vec::new(),
            input_tokens: 1000,
            output_tokens: 100,
            dollars: Some(dollars),
            seconds,
            stamp: None,
            trace: None,
            losses: None,
            judged: None,
        };
        let mut urgent = expected("a.rs", 1, 1, Side::Right);
        urgent.priority = Some(1);
        let bug = case(vec![urgent, expected("b.rs", 1, 1, Side::Right)]);
        let hit = score(
            &bug,
            &[
                reported("a.rs", 1, 1, Side::Right),
                reported("c.rs", 1, 1, Side::Right),
            ],
            0,
        );
        assert_eq!((hit.urgent, hit.urgent_matched), (1, 1));
        let clean = score(&case(vec![]), &[reported("a.rs", 1, 1, Side::Right)], 0);
        let quiet = score(&case(vec![]), &[], 0);
        // The failed case expected two findings: both are misses, and it cost.
        let broken = score(&bug, &[], 0);
        let t = totals(
            "default",
            &[
                run("bug", hit, false, 0.02, 10.0),
                run("clean", clean, false, 0.01, 4.0),
                run("quiet", quiet, false, 0.01, 4.0),
                run("broken", broken, true, 0.03, 1.0),
            ],
        );
        assert_eq!(
            (t.cases, t.failed, t.expected, t.matched, t.reported),
            (4, 1, 4, 1, 3)
        );
        assert_eq!(t.recall, Some(0.25));
        assert_eq!(
            (t.urgent_expected, t.urgent_matched, t.urgent_recall),
            (2, 1, Some(0.5))
        );
        assert!((t.precision.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((t.f1.unwrap() - 2.0 / 7.0).abs() < 1e-12);
        assert_eq!((t.clean_cases, t.clean_with_findings), (2, 1));
        assert_eq!(t.false_alarm_share, Some(0.5));
        assert_eq!(t.noise_per_clean_case, 0.5);
        assert_eq!(t.dollars_total, Some(0.07));
        assert_eq!((t.seconds_p50, t.seconds_p95), (4.0, 10.0));
        assert_eq!(t.tokens_p50, 1100);
    }

    #[test]
    fn nothing_reported_is_no_precision_and_nothing_expected_is_no_recall() {
        let quiet = CaseRun {
            score: Some(score(&case(vec![]), &[], 0)),
            ..CaseRun::failed("quiet", String::new())
        };
        let quiet = CaseRun {
            error: None,
            ..quiet
        };
        let t = totals("silent", &[quiet]);
        assert_eq!((t.recall, t.precision, t.f1), (None, None, None));
        assert_eq!(t.false_alarm_share, Some(0.0));
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
