//! `--runs K`: each case run K times. A model samples, so one run of 20 cases moves by a
//! finding or two from one day to the next; K runs say how much. For each figure, the mean of
//! the K runs' figures and a 95% interval from a bootstrap over cases (the cases are drawn
//! again with replacement, each with all its K runs, and the figure taken again); per
//! expected finding, in how many of the K runs it was found.
//!
//! The bootstrap draws from a generator with a fixed seed: the same runs always give the
//! same interval.

use serde::{Deserialize, Serialize};

use super::dataset::Case;
use super::score::{CaseRun, Totals, percentile, totals};

/// Resamples of the bootstrap.
pub const RESAMPLES: usize = 1000;
/// The generator's seed.
const SEED: u64 = 0x5eed_0f36;

/// A figure over K runs: the mean of the runs' figures (those that have one), and the 95%
/// interval (`None` where the figure is "n/a" in every run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub mean: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// How often one expected finding was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub case: String,
    pub path: String,
    pub line: u32,
    pub found: usize,
    pub runs: usize,
}

/// A configuration's K runs, summed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeats {
    pub runs: usize,
    pub figures: Vec<Figure>,
    pub found: Vec<Found>,
}

type Read = fn(&Totals) -> Option<f64>;

/// The figures given a mean and an interval, by name.
const FIGURES: [(&str, Read); 6] = [
    ("recall", |t| t.recall),
    ("P0–P1 recall", |t| t.urgent_recall),
    ("precision", |t| t.precision),
    ("F1", |t| t.f1),
    ("clean cases with a finding", |t| t.false_alarm_share),
    ("cost per case", |t| {
        t.dollars_total
            .filter(|_| t.cases > 0)
            .map(|d| d / t.cases as f64)
    }),
];

/// `by_run[k][i]`: run k of case `cases[i]`, scored.
pub fn repeats(cases: &[Case], by_run: &[Vec<CaseRun>]) -> Repeats {
    let n = cases.len();
    // The mean over runs of a figure of the cases `picked` (indexes, repeats allowed).
    let mean_of = |read: Read, picked: &[usize]| -> Option<f64> {
        let values: Vec<f64> = by_run
            .iter()
            .filter_map(|run| read(&totals("", picked.iter().map(|&i| &run[i]))))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let all: Vec<usize> = (0..n).collect();
    let mut rng = fastrand::Rng::with_seed(SEED);
    let resamples: Vec<Vec<usize>> = (0..RESAMPLES)
        .map(|_| (0..n).map(|_| rng.usize(..n.max(1))).collect())
        .collect();
    let figures = FIGURES
        .iter()
        .map(|(name, read)| {
            let drawn: Vec<f64> = match n {
                0 => Vec::new(),
                _ => resamples
                    .iter()
                    .filter_map(|picked| mean_of(*read, picked))
                    .collect(),
            };
            let bound = |p: f64| (!drawn.is_empty()).then(|| percentile(&drawn, p));
            Figure {
                name: (*name).to_owned(),
                mean: mean_of(*read, &all),
                low: bound(2.5),
                high: bound(97.5),
            }
        })
        .collect();
    let found = cases
        .iter()
        .enumerate()
        .flat_map(|(i, case)| {
            case.expected.iter().enumerate().map(move |(e, expected)| {
                let found = by_run
                    .iter()
                    .filter(|run| {
                        run[i]
                            .score
                            .as_ref()
                            .is_some_and(|s| s.pairs.iter().any(|(x, _)| *x == e))
                    })
                    .count();
                Found {
                    case: case.id.clone(),
                    path: expected.path.clone(),
                    line: expected.start_line,
                    found,
                    runs: by_run.len(),
                }
            })
        })
        .collect();
    Repeats {
        runs: by_run.len(),
        figures,
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Side;
    use crate::eval::dataset::{Expected, Source};
    use crate::eval::score::CaseScore;

    fn case(id: &str) -> Case {
        Case {
            id: id.into(),
            source: Source::PullRequest("https://github.com/o/r/pull/1".into()),
            title: None,
            description: None,
            expected: vec![Expected {
                path: "a.rs".into(),
                start_line: 3,
                end_line: 3,
                side: Side::Right,
                description: "d".into(),
                priority: Some(1),
            }],
            clean: false,
            origin: None,
        }
    }

    fn run(id: &str, found: bool, dollars: f64) -> CaseRun {
        CaseRun {
            score: Some(CaseScore {
                id: id.into(),
                clean: false,
                expected: 1,
                reported: 1,
                matched: usize::from(found),
                pairs: if found { vec![(0, 0)] } else { Vec::new() },
                urgent: 1,
                urgent_matched: usize::from(found),
            }),
            error: None,
            dollars: Some(dollars),
            ..CaseRun::failed(id, String::new())
        }
    }

    #[test]
    fn means_intervals_and_found_in_k_of_k() {
        let cases = [case("a"), case("b")];
        // `a` found in both runs, `b` in the first only.
        let by_run = vec![
            vec![run("a", true, 0.01), run("b", true, 0.03)],
            vec![run("a", true, 0.01), run("b", false, 0.03)],
        ];
        let r = repeats(&cases, &by_run);
        let recall = &r.figures[0];
        assert_eq!(recall.name, "recall");
        // Runs: 2/2 and 1/2.
        assert_eq!(recall.mean, Some(0.75));
        // `b` drawn twice: (1 + 0)/2 = 0.5; `a` twice: 1. Each is a quarter of the draws.
        assert_eq!((recall.low, recall.high), (Some(0.5), Some(1.0)));
        let cost = &r.figures[5];
        assert!((cost.mean.unwrap() - 0.02).abs() < 1e-12);
        assert!((cost.low.unwrap() - 0.01).abs() < 1e-12);
        assert!((cost.high.unwrap() - 0.03).abs() < 1e-12);
        // Nothing clean: n/a throughout.
        assert_eq!(
            (r.figures[4].mean, r.figures[4].low, r.figures[4].high),
            (None, None, None)
        );
        let found: Vec<(&str, usize, usize)> = r
            .found
            .iter()
            .map(|f| (f.case.as_str(), f.found, f.runs))
            .collect();
        assert_eq!(found, [("a", 2, 2), ("b", 1, 2)]);
        // The seed is fixed: the same runs, the same intervals.
        assert_eq!(repeats(&cases, &by_run), r);
    }

    #[test]
    fn the_same_figure_in_every_case_has_no_spread() {
        let cases = [case("a"), case("b"), case("c")];
        let by_run = vec![
            vec![
                run("a", true, 0.01),
                run("b", true, 0.01),
                run("c", true, 0.01),
            ],
            vec![
                run("a", true, 0.01),
                run("b", true, 0.01),
                run("c", true, 0.01),
            ],
        ];
        let r = repeats(&cases, &by_run);
        assert_eq!(
            (r.figures[0].mean, r.figures[0].low, r.figures[0].high),
            (Some(1.0), Some(1.0), Some(1.0))
        );
    }
}
