//! Cost per day and repository as a stacked bar chart, drawn on the server as SVG (no script,
//! no external assets): one bar per day of the last 30, one colour per repository (the five
//! costliest, the rest as "others").

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::server::html::escape;
use crate::when;

/// Days the chart covers, today included.
pub const DAYS: i64 = 30;
/// Repositories with a colour of their own.
const NAMED: usize = 5;
/// Colours a colour-blind reader can tell apart (Okabe and Ito), the last for "others".
pub(crate) const COLOURS: [&str; NAMED + 1] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#999999",
];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// The chart's SVG and its legend (HTML), from `(repository, day, USD millionths)` rows;
/// `today` is the last day shown (days since the Unix epoch).
pub fn cost_chart(rows: &[(String, i64, i64)], today: i64) -> (String, String) {
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

    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / DAYS as f64;
    let mut svg = format!(
        "<svg id=\"cost-chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
role=\"img\" aria-labelledby=\"cost-chart-title\" xmlns=\"http://www.w3.org/2000/svg\">\
<title id=\"cost-chart-title\">Model cost per day, last {DAYS} days, by repository</title>"
    );
    for step in 0..=4 {
        let value = scale_max * step / 4;
        let y = TOP + plot_h - plot_h * step as f64 / 4.0;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
<text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            label = usd(value),
        );
    }
    for (i, day) in days.iter().enumerate() {
        let day_index = first + i as i64;
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let mut base = TOP + plot_h;
        for (s, micros) in day.iter().enumerate().filter(|(_, m)| **m > 0) {
            let h = plot_h * *micros as f64 / scale_max as f64;
            base -= h;
            let name = named.get(s).copied().unwrap_or("others");
            let _ = write!(
                svg,
                "<rect class=\"bar\" data-day=\"{date}\" x=\"{x:.1}\" y=\"{base:.1}\" width=\"{w:.1}\" \
height=\"{h:.1}\" fill=\"{colour}\"><title>{date} · {name}: {cost}</title></rect>",
                date = when::date(day_index),
                w = slot * 0.7,
                colour = COLOURS[s],
                name = escape(name),
                cost = usd(*micros),
            );
        }
        if i % 5 == 4 || i == 0 {
            let _ = write!(
                svg,
                "<text x=\"{cx:.1}\" y=\"{y}\" text-anchor=\"middle\">{label}</text>",
                cx = LEFT + slot * (i as f64 + 0.5),
                y = HEIGHT - 8.0,
                label = when::month_day(day_index),
            );
        }
    }
    svg.push_str("</svg>");

    let mut legend = String::from("<ul class=\"legend\" id=\"cost-legend\">");
    let others: i64 = ranked.iter().skip(NAMED).map(|(_, m)| m).sum();
    let entries = ranked
        .iter()
        .take(NAMED)
        .map(|(r, m)| (escape(r), *m))
        .chain((others > 0).then(|| ("others".to_owned(), others)));
    for (s, (name, micros)) in entries.enumerate() {
        let _ = write!(
            legend,
            "<li><svg width=\"12\" height=\"12\" viewBox=\"0 0 12 12\" aria-hidden=\"true\">\
<rect width=\"12\" height=\"12\" fill=\"{}\"/></svg> {name}: {}</li>",
            COLOURS[s.min(NAMED)],
            usd(micros)
        );
    }
    legend.push_str("</ul>");
    (svg, legend)
}

/// `$0.42`, `$12.30`, `$0.0031`: USD from millionths, with cents unless it is less.
pub fn usd(micros: i64) -> String {
    let dollars = micros as f64 / 1e6;
    if micros != 0 && micros.abs() < 10_000 {
        format!("${dollars:.4}")
    } else {
        format!("${dollars:.2}")
    }
}

/// The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least `n`.
pub(crate) fn nice_ceiling(n: i64) -> i64 {
    let mut power = 1i64;
    while power.saturating_mul(10) <= n {
        power = power.saturating_mul(10);
    }
    [power, power * 2, power * 5 / 2, power * 5]
        .into_iter()
        .find(|c| *c >= n)
        .unwrap_or(power.saturating_mul(10))
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

    #[test]
    fn axis_ceilings_are_round() {
        assert_eq!(nice_ceiling(10_000), 10_000);
        assert_eq!(nice_ceiling(12_000), 20_000);
        assert_eq!(nice_ceiling(2_100_000), 2_500_000);
        assert_eq!(nice_ceiling(3_000_000), 5_000_000);
        assert_eq!(usd(1_500_000), "$1.50");
        assert_eq!(usd(3_100), "$0.0031");
    }
}
