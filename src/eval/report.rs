//! The eval's report: Markdown for people, JSON for tools, and an SVG chart of recall against
//! the cost of a review, one point per configuration, drawn with the parts the status page's
//! chart uses too (its colours and scale), in maud's `html!`, which escapes every name.

use std::fmt::Write as _;

use maud::html;
use serde::Serialize;

use super::dataset::Case;
use super::losses::add_up;
use super::repeats::{RESAMPLES, Repeats};
use super::score::{CaseRun, Totals};
use crate::chart::{COLOURS, nice_ceiling, px, usd};

/// One configuration's run over the dataset.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRun {
    /// Every case run added up (with `--runs K`, each case K times).
    pub totals: Totals,
    pub cases: Vec<CaseRun>,
    /// With `--runs K` (K > 1): the means, intervals and findings found in k of K.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeats: Option<Repeats>,
}

fn dollars(d: Option<f64>) -> String {
    d.map_or_else(|| "unknown".to_owned(), |d| usd((d * 1e6).round() as i64))
}

fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// A share as a percentage with its parts, or "n/a" when there is nothing to divide by.
fn share(x: Option<f64>, a: usize, b: usize) -> String {
    match x {
        Some(x) => format!("{} ({a}/{b})", percent(x)),
        None => format!("n/a ({a}/{b})"),
    }
}

/// The report as Markdown: a table of the configurations, then each one's cases.
pub fn markdown(runs: &[ConfigRun], note: &str) -> String {
    let mut s = String::from("# Review quality\n\n");
    if !note.is_empty() {
        let _ = writeln!(s, "{note}\n");
    }
    s.push_str(
        "| configuration | cases | failed | recall | P0–P1 recall | precision | F1 | clean cases with a finding | findings per clean case | tokens p50 / p95 | cost p50 / p95 | cost in all | seconds p50 / p95 |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for run in runs {
        let t = &run.totals;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} / {} | {} / {} | {} | {:.1} / {:.1} |",
            t.config.replace('|', "\\|"),
            t.cases,
            t.failed,
            share(t.recall, t.matched, t.expected),
            share(t.urgent_recall, t.urgent_matched, t.urgent_expected),
            share(t.precision, t.matched, t.reported),
            t.f1.map_or("n/a".to_owned(), |f| format!("{f:.3}")),
            share(t.false_alarm_share, t.clean_with_findings, t.clean_cases),
            t.noise_per_clean_case,
            t.tokens_p50,
            t.tokens_p95,
            dollars(t.dollars_p50),
            dollars(t.dollars_p95),
            dollars(t.dollars_total),
            t.seconds_p50,
            t.seconds_p95,
        );
    }
    for run in runs {
        let _ = writeln!(s, "\n## {}\n", run.totals.config);
        s.push_str(
            "| case | expected | matched | reported | noise | tokens | cost | seconds | error |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for case in &run.cases {
            let (expected, matched, reported, noise) = match &case.score {
                Some(sc) => (
                    if sc.clean {
                        "clean".to_owned()
                    } else {
                        sc.expected.to_string()
                    },
                    sc.matched.to_string(),
                    sc.reported.to_string(),
                    sc.noise().to_string(),
                ),
                None => Default::default(),
            };
            let error = case
                .error
                .as_deref()
                .map(|e| e.replace(['|', '\n'], " "))
                .unwrap_or_default();
            let id = match run.repeats {
                Some(_) => format!("{} (run {})", case.id, case.run),
                None => case.id.clone(),
            };
            let _ = writeln!(
                s,
                "| {id} | {expected} | {matched} | {reported} | {noise} | {} | {} | {:.1} | {error} |",
                case.input_tokens + case.output_tokens,
                dollars(case.dollars),
                case.seconds,
            );
        }
    }
    s
}

/// With `--runs K`: each configuration's figures as the mean of its K runs with a 95%
/// interval, and in how many runs each expected finding was found. Empty for one run.
pub fn repeated(runs: &[ConfigRun]) -> String {
    let Some(k) = runs.iter().find_map(|r| r.repeats.as_ref()).map(|r| r.runs) else {
        return String::new();
    };
    let mut s = format!(
        "\n# Over {k} runs\n\nEach case ran {k} times; the tables above add up every run. \
         Here each figure is the mean of the runs' figures, with a 95% interval from \
         {RESAMPLES} draws of the cases with replacement (a fixed seed: the same runs give \
         the same interval).\n\n\
         | configuration | figure | mean | 95% interval |\n|---|---|---|---|\n"
    );
    let runs_with = || {
        runs.iter()
            .filter_map(|r| Some((&r.totals.config, r.repeats.as_ref()?)))
    };
    for (config, repeats) in runs_with() {
        for f in &repeats.figures {
            let show = |x: Option<f64>| match (x, f.name.starts_with("cost")) {
                (None, _) => "n/a".to_owned(),
                (Some(x), true) => dollars(Some(x)),
                (Some(x), false) => percent(x),
            };
            let interval = match (f.low, f.high) {
                (Some(_), Some(_)) => format!("{} – {}", show(f.low), show(f.high)),
                _ => "n/a".to_owned(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {interval} |",
                config.replace('|', "\\|"),
                f.name,
                show(f.mean)
            );
        }
    }
    for (config, repeats) in runs_with() {
        let _ = writeln!(s, "\n## {config}: found in k of {k}\n");
        for f in &repeats.found {
            let _ = writeln!(
                s,
                "- {}: expected `{}:{}`: found in {} of {}",
                f.case, f.path, f.line, f.found, f.runs
            );
        }
    }
    s
}

/// With `--judge`: per configuration, the matches the judge confirmed, what its verdicts
/// cost, and each match it did not confirm with its reason. Empty without a judge.
pub fn judged(runs: &[ConfigRun], cases: &[Case]) -> String {
    let mut s = String::new();
    for run in runs {
        let all: Vec<(&CaseRun, &crate::eval::judge::Judged)> = run
            .cases
            .iter()
            .filter_map(|c| Some((c, c.judged.as_ref()?)))
            .collect();
        let Some((_, first)) = all.first() else {
            continue;
        };
        if s.is_empty() {
            s.push_str("\n# The judge\n");
        }
        let sum = |f: fn(&crate::eval::judge::Judged) -> usize| {
            all.iter().map(|(_, j)| f(j)).sum::<usize>()
        };
        let (confirmed, rejected, asked) = (
            sum(|j| j.confirmed),
            sum(|j| j.rejected.len()),
            sum(|j| j.asked),
        );
        let tokens: u64 = all
            .iter()
            .map(|(_, j)| j.input_tokens + j.output_tokens)
            .sum();
        let cost: Option<f64> = all.iter().map(|(_, j)| j.dollars).sum();
        let _ = writeln!(
            s,
            "\n## {}\n\n{} confirmed {confirmed} of {} matches ({asked} asked in this run, the others judged before), \
             for {tokens} tokens and {}.\n",
            run.totals.config,
            first.model,
            confirmed + rejected,
            cost.map_or("an unknown cost".to_owned(), |d| format!("${d:.4}")),
        );
        for (c, j) in &all {
            let Some(case) = cases.iter().find(|x| x.id == c.id) else {
                continue;
            };
            for (e, why) in &j.rejected {
                let e = &case.expected[*e];
                let _ = writeln!(
                    s,
                    "- {}: expected `{}:{}`: matched by place, not confirmed: {}",
                    c.id,
                    e.path,
                    e.start_line,
                    why.replace('\n', " ")
                );
            }
        }
    }
    s
}

/// Where findings went, per configuration: the true and false findings each stage removed,
/// then, per case, the stage that lost each expected finding and the stages each false
/// finding passed.
pub fn stages(runs: &[ConfigRun], cases: &[Case]) -> String {
    let mut s = String::from("\n# Where findings went\n");
    for run in runs {
        let _ = writeln!(s, "\n## {}\n", run.totals.config);
        let rows = add_up(run.cases.iter().filter_map(|c| c.losses.as_ref()));
        s.push_str("| stage | true findings removed | false findings removed |\n|---|---|---|\n");
        for row in &rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                row.stage, row.true_removed, row.false_removed
            );
        }
        s.push('\n');
        for row in rows.iter().filter(|r| r.true_removed + r.false_removed > 0) {
            let _ = writeln!(
                s,
                "The {} stage removed {} true and {} false findings.",
                row.stage, row.true_removed, row.false_removed
            );
        }
        for run in &run.cases {
            let Some(losses) = &run.losses else { continue };
            let Some(case) = cases.iter().find(|c| c.id == run.id) else {
                continue;
            };
            s.push('\n');
            for fate in &losses.fates {
                let e = &case.expected[fate.expected];
                let went = match (&fate.lost_at, &fate.reason) {
                    (None, _) => "posted".to_owned(),
                    (Some(stage), _) if stage == crate::pipeline::trace::ANSWERED => {
                        "never reported by the model".to_owned()
                    }
                    (Some(stage), Some(why)) => format!("lost at {stage}: {why}"),
                    (Some(stage), None) => format!("lost at {stage}"),
                };
                let _ = writeln!(
                    s,
                    "- {}: expected `{}:{}`: {}",
                    run.id,
                    e.path,
                    e.start_line,
                    went.replace('\n', " ")
                );
            }
            for f in &losses.false_findings {
                let _ = writeln!(
                    s,
                    "- {}: false finding `{}:{}` passed {}",
                    run.id,
                    f.path,
                    f.line,
                    f.passed.join(", ")
                );
            }
        }
    }
    s
}

/// The report as JSON: every configuration's totals and cases.
pub fn json(runs: &[ConfigRun]) -> String {
    serde_json::to_string_pretty(&serde_json::json!({ "configurations": runs }))
        .expect("a report serializes")
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// Recall (up) against the median cost of a review (right), one labelled point per
/// configuration; configurations without a price are left out of the chart.
pub fn chart(runs: &[ConfigRun]) -> String {
    let points: Vec<(&str, f64, f64)> = runs
        .iter()
        .filter_map(|r| {
            let t = &r.totals;
            t.dollars_p50
                .zip(t.recall)
                .map(|(d, recall)| (t.config.as_str(), d, recall))
        })
        .collect();
    let peak = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let scale = nice_ceiling(((peak * 1e6).ceil() as i64).max(1_000));
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let svg = html! {
        svg id="eval-chart" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width=(WIDTH) height=(HEIGHT)
            role="img" aria-labelledby="eval-chart-title" xmlns="http://www.w3.org/2000/svg"
            font-family="sans-serif" font-size="11" {
            title id="eval-chart-title" {
                "Recall against the median cost of a review, per configuration"
            }
            @for step in 0..=4 {
                @let y = TOP + plot_h - plot_h * step as f64 / 4.0;
                @let x = LEFT + plot_w * step as f64 / 4.0;
                line stroke="#ddd" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(px(y)) y2=(px(y)) {}
                text x=(LEFT - 6.0) y=(px(y + 4.0)) text-anchor="end" { (step * 25) "%" }
                text x=(px(x)) y=(TOP + plot_h + 16.0) text-anchor="middle" {
                    (usd(scale * step / 4))
                }
            }
            text x=(px(LEFT + plot_w / 2.0)) y=(HEIGHT - 6.0) text-anchor="middle" {
                "median cost of a review"
            }
            @for (i, (name, cost, recall)) in points.iter().enumerate() {
                @let x = LEFT + plot_w * (cost * 1e6) / scale as f64;
                @let y = TOP + plot_h * (1.0 - recall);
                circle class="point" cx=(px(x)) cy=(px(y)) r="5" fill=(COLOURS[i % COLOURS.len()]) {
                    title {
                        (name) ": recall " (percent(*recall)) ", "
                        (usd((cost * 1e6).round() as i64)) " a review"
                    }
                }
                text x=(px(x + 8.0)) y=(px(y + 4.0)) { (name) }
            }
        }
    };
    svg.into_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::score::{CaseScore, totals};

    fn runs() -> Vec<ConfigRun> {
        let case = |id: &str, matched, reported, dollars| CaseRun {
            id: id.into(),
            score: Some(CaseScore {
                id: id.into(),
                clean: false,
                expected: 1,
                reported,
                matched,
                pairs: Vec::new(),
                urgent: 0,
                urgent_matched: 0,
            }),
            error: None,
            stale: false,
            run: 1,
            reported: Vec::new(),
            input_tokens: 2000,
            output_tokens: 300,
            dollars: Some(dollars),
            seconds: 12.0,
            stamp: None,
            trace: None,
            losses: None,
            judged: None,
        };
        let failed = CaseRun {
            id: "broken".into(),
            score: Some(CaseScore {
                id: "broken".into(),
                clean: false,
                expected: 1,
                reported: 0,
                matched: 0,
                pairs: Vec::new(),
                urgent: 1,
                urgent_matched: 0,
            }),
            error: Some("model | failed\nbadly".into()),
            stale: false,
            run: 1,
            reported: Vec::new(),
            input_tokens: 0,
            output_tokens: 0,
            dollars: Some(0.0),
            seconds: 0.5,
            stamp: None,
            trace: None,
            losses: None,
            judged: None,
        };
        ["gpt-5.1-codex", "mini <no tools>"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let cases = vec![
                    case("a", 1, 1, 0.04 / (i + 1) as f64),
                    case("b", 1 - i, 2, 0.02),
                    failed.clone(),
                ];
                ConfigRun {
                    totals: totals(name, &cases),
                    cases,
                    repeats: None,
                }
            })
            .collect()
    }

    #[test]
    fn markdown_has_a_row_per_configuration_and_per_case() {
        let md = markdown(&runs(), "Scripted answers.");
        assert!(md.contains("Scripted answers."));
        // The failed case's expected finding is a miss; no clean case ran.
        assert!(
            md.contains("| gpt-5.1-codex | 3 | 1 | 66.7% (2/3) | 0.0% (0/1) | 66.7% (2/3) | 0.667 | n/a (0/0) | 0.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| mini <no tools> | 3 | 1 | 33.3% (1/3) |"),
            "{md}"
        );
        assert!(
            md.contains("| broken | 1 | 0 | 0 | 0 | 0 | $0.00 | 0.5 | model   failed badly |"),
            "{md}"
        );
        assert!(
            md.contains("| a | 1 | 1 | 1 | 0 | 2300 | $0.04 | 12.0 |  |"),
            "{md}"
        );
    }

    #[test]
    fn the_chart_has_a_point_per_priced_configuration_with_names_escaped() {
        let svg = chart(&runs());
        assert_eq!(svg.matches("<circle class=\"point\"").count(), 2);
        assert!(svg.contains("mini &lt;no tools&gt;: recall 33.3%"), "{svg}");
        assert!(!svg.contains("<no tools>"));
        assert!(svg.starts_with("<svg id=\"eval-chart\""), "{svg}");
        assert!(svg.ends_with("</svg>\n"), "{svg}");
        let json: serde_json::Value = serde_json::from_str(&json(&runs())).unwrap();
        assert_eq!(json["configurations"][1]["totals"]["recall"], 1.0 / 3.0);
    }

    #[test]
    fn markup_in_a_configuration_name_is_text_in_the_chart() {
        let mut runs = runs();
        runs[0].totals.config = "<script>alert(1)</script>".into();
        let svg = chart(&runs);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(
            svg.contains(">&lt;script&gt;alert(1)&lt;/script&gt;</text>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;: recall"),
            "{svg}"
        );
    }
}
