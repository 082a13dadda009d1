//! Cost per day and repository as a stacked bar chart, drawn on the server as SVG (no script,
//! no external assets): one bar per day of the last 30, one colour per repository (the five
//! costliest, the rest as "others").

use std::collections::HashMap;

use maud::{Markup, html};

use crate::chart::{COLOURS, nice_ceiling, px, usd};
use crate::when;

/// Days the chart covers, today included.
pub const DAYS: i64 = 30;
/// Repositories with a colour of their own; the last colour is for "others".
const NAMED: usize = COLOURS.len() - 1;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// The chart's SVG and its legend (HTML), from `(repository, day, USD millionths)` rows;
/// `today` is the last day shown (days since the Unix epoch).
pub fn cost_chart(rows: &[(String, i64, i64)], today: i64) -> (Markup, Markup) {
    let first = today - (DAYS - 1);
    let rows: Vec<&(String, i64, i64)> = rows
        .iter()
        .filter(|(_, day, micros)| (first..=today).contains(day) && *micros > 0)
        .collect();
    // The costliest repositories get their own colour.
    let mut totals: HashMap<&str, i64> = HashMap::new();
    for (repo, _, micros) in &rows {
        *totals.entry(repo.as_str()).or_default() += micros;
    }
    let mut ranked: Vec<(&str, i64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let named: Vec<&str> = ranked.iter().take(NAMED).map(|(r, _)| *r).collect();
    let series = |repo: &str| named.iter().position(|n| *n == repo).unwrap_or(NAMED);
    // Per day, per series.
    let mut days = vec![[0i64; NAMED + 1]; DAYS as usize];
    for (repo, day, micros) in &rows {
        days[(day - first) as usize][series(repo)] += micros;
    }
    let peak = days
        .iter()
        .map(|d| d.iter().sum::<i64>())
        .max()
        .unwrap_or(0);
    let scale_max = nice_ceiling(peak.max(10_000));
    let svg = html! {
        svg id="cost-chart" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width=(WIDTH)
            height=(HEIGHT) role="img" aria-labelledby="cost-chart-title"
            xmlns="http://www.w3.org/2000/svg" {
            title id="cost-chart-title" {
                "Model cost per day, last " (DAYS) " days, by repository"
            }
            (axis(scale_max))
            @for (i, day) in days.iter().enumerate() {
                (bars(first + i as i64, i, day, &named, scale_max))
            }
        }
    };
    let others: i64 = ranked.iter().skip(NAMED).map(|(_, m)| m).sum();
    let entries = ranked
        .iter()
        .take(NAMED)
        .copied()
        .chain((others > 0).then_some(("others", others)));
    let legend = html! {
        ul.legend id="cost-legend" {
            @for (s, (name, micros)) in entries.enumerate() {
                li {
                    svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" {
                        rect width="12" height="12" fill=(COLOURS[s.min(NAMED)]) {}
                    }
                    " " (name) ": " (usd(micros))
                }
            }
        }
    };
    (svg, legend)
}

const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

/// The grid lines and their dollar labels, up to `scale_max` (USD millionths).
fn axis(scale_max: i64) -> Markup {
    html! {
        @for step in 0..=4 {
            @let y = TOP + PLOT_H - PLOT_H * step as f64 / 4.0;
            line.grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(px(y)) y2=(px(y)) {}
            text x=(LEFT - 6.0) y=(px(y + 4.0)) text-anchor="end" { (usd(scale_max * step / 4)) }
        }
    }
}

/// Day `i` of the chart (`day_index` since the epoch): a bar per series that spent, stacked,
/// and every fifth day's date under the axis.
fn bars(
    day_index: i64,
    i: usize,
    day: &[i64; NAMED + 1],
    named: &[&str],
    scale_max: i64,
) -> Markup {
    let slot = PLOT_W / DAYS as f64;
    let x = LEFT + slot * i as f64 + slot * 0.15;
    let mut base = TOP + PLOT_H;
    let mut stacked = Vec::new();
    for (s, micros) in day.iter().enumerate().filter(|(_, m)| **m > 0) {
        let h = PLOT_H * *micros as f64 / scale_max as f64;
        base -= h;
        stacked.push((s, *micros, base, h));
    }
    let date = when::date(day_index);
    html! {
        @for (s, micros, y, h) in stacked {
            rect.bar data-day=(date) x=(px(x)) y=(px(y)) width=(px(slot * 0.7)) height=(px(h))
                fill=(COLOURS[s]) {
                title { (date) " · " (named.get(s).copied().unwrap_or("others")) ": " (usd(micros)) }
            }
        }
        @if i % 5 == 4 || i == 0 {
            text x=(px(LEFT + slot * (i as f64 + 0.5))) y=(HEIGHT - 8.0) text-anchor="middle" {
                (when::month_day(day_index))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_per_day_and_the_costliest_repositories_get_colours() {
        let today = 20_787;
        let mut rows = vec![
            ("acme/api".to_owned(), today, 1_500_000),
            ("acme/web".to_owned(), today, 500_000),
            ("acme/api".to_owned(), today - 3, 250_000),
            // Older than the window: not drawn.
            ("acme/old".to_owned(), today - 40, 9_000_000),
        ];
        for i in 0..6 {
            rows.push((format!("small/r{i}"), today - 1, 1_000 + i));
        }
        let (svg, legend) = cost_chart(&rows, today);
        let (svg, legend) = (svg.into_string(), legend.into_string());
        assert_eq!(
            svg.matches("class=\"bar\"").count(),
            3 + 6.min(NAMED - 2) + 1
        );
        assert!(svg.contains("2026-11-30 · acme/api: $1.50"));
        assert!(!svg.contains("acme/old"));
        assert!(legend.contains("others"));
        assert!(legend.starts_with("<ul class=\"legend\""));
        assert!(svg.contains(">$2.00<") || svg.contains(">$2.50<"), "{svg}");
    }
}
