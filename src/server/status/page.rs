//! The status page's data and its HTML.

use std::fmt::Write as _;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;

use super::{StatusConfig, chart};
use crate::review::spend::Standing;
use crate::server::html::{escape, page};
use crate::store::{DeliveryCount, RunRecord, Store, now_ms};
use crate::when;

/// Rows of each table.
const RECENT: i64 = 50;
const FAILURES: i64 = 20;
const DAY_MS: i64 = 86_400_000;

/// Everything the page shows, read at once.
pub struct StatusData {
    pub now_ms: i64,
    pub runs: Vec<RunRecord>,
    pub failures: Vec<RunRecord>,
    pub costs: Vec<(String, i64, i64)>,
    pub deliveries: Vec<DeliveryCount>,
    pub queued: i64,
    pub running: i64,
    pub oldest_queued: Duration,
    /// Spend against each cap.
    pub spend: Vec<Standing>,
}

pub async fn gather(
    store: &Store,
    caps: &crate::settings::SpendCaps,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<StatusData> {
    let now = now_ms();
    let today = now.div_euclid(DAY_MS);
    let (runs, failures, costs, deliveries, live, oldest, spend) = tokio::try_join!(
        store.recent_runs(RECENT, false),
        store.recent_runs(FAILURES, true),
        store.cost_per_day((today - (chart::DAYS - 1)) * DAY_MS),
        store.deliveries_by_event(now - DAY_MS),
        store.live_job_counts(),
        store.oldest_queued_age(),
        crate::review::spend::standings(store, caps, metrics),
    )?;
    Ok(StatusData {
        now_ms: now,
        runs,
        failures,
        costs,
        deliveries,
        queued: live[0].1,
        running: live[1].1,
        oldest_queued: oldest,
        spend,
    })
}

pub fn render(data: &StatusData, config: &StatusConfig) -> Response {
    let web = config.web_url.trim_end_matches('/');
    let today = data.now_ms.div_euclid(DAY_MS);
    let mut body = header(data, config, today);

    body.push_str("<h2>Recent reviews</h2>\n");
    if data.runs.is_empty() {
        body.push_str("<p class=\"muted\">No review has run yet.</p>\n");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"reviews\"><thead><tr><th>Finished (UTC)</th>\
<th>Repository</th><th>PR</th><th>Head</th><th>Outcome</th><th class=\"num\">P0</th>\
<th class=\"num\">P1</th><th class=\"num\">P2</th><th class=\"num\">P3</th>\
<th class=\"num\">Model calls</th><th class=\"num\">Tokens in / cached / out</th>\
<th class=\"num\">Cost</th><th class=\"num\">Duration</th></tr></thead><tbody>\n",
        );
        for run in &data.runs {
            let _ = writeln!(
                body,
                "<tr class=\"review-row\"><td>{finished}</td><td>{repo}</td><td>{pr}</td><td>{head}</td>\
<td title=\"{detail}\">{outcome}</td><td class=\"num\">{p0}</td><td class=\"num\">{p1}</td>\
<td class=\"num\">{p2}</td><td class=\"num\">{p3}</td><td class=\"num\">{calls}</td>\
<td class=\"num\">{input} / {cached} / {output}</td><td class=\"num\">{cost}</td>\
<td class=\"num\">{took}</td></tr>",
                finished = when::minute(run.finished_at),
                repo = escape(&run.repo),
                pr = pr_link(web, run),
                head = head_link(web, run),
                detail = escape(&run.detail),
                outcome = escape(&run.outcome.replace('_', " ")),
                p0 = run.findings[0],
                p1 = run.findings[1],
                p2 = run.findings[2],
                p3 = run.findings[3],
                calls = run.model_calls,
                input = run.input_tokens,
                cached = run.cached_tokens,
                output = run.output_tokens,
                cost = run.cost_micros.map_or("—".to_owned(), chart::usd),
                took = when::duration(run.finished_at - run.started_at),
            );
        }
        body.push_str("</tbody></table></div>\n");
    }

    body.push_str("<h2>Recent failures</h2>\n");
    if data.failures.is_empty() {
        body.push_str("<p class=\"good\" id=\"no-failures\">No failures.</p>\n");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"failures\"><thead><tr><th>When (UTC)</th>\
<th>Repository</th><th>PR</th><th>What</th><th>Error</th></tr></thead><tbody>\n",
        );
        for run in &data.failures {
            let _ = writeln!(
                body,
                "<tr class=\"failure-row\"><td>{when}</td><td>{repo}</td><td>{pr}</td><td>{what}</td>\
<td class=\"wrap\">{error}</td></tr>",
                when = when::minute(run.finished_at),
                repo = escape(&run.repo),
                pr = pr_link(web, run),
                what = if run.outcome == "failed" {
                    "given up"
                } else {
                    "will retry"
                },
                error = escape(&run.detail),
            );
        }
        body.push_str("</tbody></table></div>\n");
    }

    let (svg, legend) = chart::cost_chart(&data.costs, today);
    let _ = write!(
        body,
        "<h2>Cost per day, last {} days</h2>\n<div class=\"scroll\">{svg}</div>\n{legend}\n",
        chart::DAYS
    );

    spend_table(&mut body, &data.spend);

    body.push_str("<h2>Deliveries, last 24 hours</h2>\n");
    if data.deliveries.is_empty() {
        body.push_str("<p class=\"muted\">No delivery in the last 24 hours.</p>\n");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"deliveries\"><thead><tr><th>Event</th>\
<th class=\"num\">Received</th><th class=\"num\">Acted on</th></tr></thead><tbody>\n",
        );
        for d in &data.deliveries {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&d.event),
                d.total,
                d.acted_on
            );
        }
        body.push_str("</tbody></table></div>\n");
    }
    page(StatusCode::OK, "codex-review status", &body, "'self'")
}

/// The title, the instance, the sign-out button and the cards (queue, deliveries, cost).
fn header(data: &StatusData, config: &StatusConfig, today: i64) -> String {
    let month: i64 = data.costs.iter().map(|(_, _, m)| m).sum();
    let cost_today: i64 = data
        .costs
        .iter()
        .filter(|(_, day, _)| *day == today)
        .map(|(_, _, m)| m)
        .sum();
    let delivered: i64 = data.deliveries.iter().map(|d| d.total).sum();
    format!(
        "<h1>codex-review status</h1>\n\
<div class=\"head\"><p class=\"muted\">Instance <code>{instance}</code> · version {version} · {now} UTC</p>\
<form method=\"post\" action=\"/status/logout\"><p><button class=\"quiet\" type=\"submit\">Sign out</button></p></form></div>\n\
<div class=\"cards\" id=\"queue\">\
<div class=\"box\"><div class=\"muted\">Queued</div><div class=\"big\" id=\"queued\">{queued}</div></div>\
<div class=\"box\"><div class=\"muted\">Running</div><div class=\"big\" id=\"running\">{running}</div></div>\
<div class=\"box\"><div class=\"muted\">Oldest queued</div><div class=\"big\">{oldest}</div></div>\
<div class=\"box\"><div class=\"muted\">Deliveries, 24 h</div><div class=\"big\">{delivered}</div></div>\
<div class=\"box\"><div class=\"muted\">Cost today / 30 days</div><div class=\"big\">{cost_today} / {month}</div></div>\
</div>\n",
        instance = escape(&config.instance),
        version = env!("CARGO_PKG_VERSION"),
        now = when::minute(data.now_ms),
        queued = data.queued,
        running = data.running,
        oldest = if data.queued == 0 {
            "—".to_owned()
        } else {
            when::duration(data.oldest_queued.as_millis() as i64)
        },
        cost_today = chart::usd(cost_today),
        month = chart::usd(month),
    )
}

/// Spend against each cap: installations that spent this month, repositories with caps.
fn spend_table(body: &mut String, rows: &[Standing]) {
    body.push_str("<h2>Spend against caps</h2>\n");
    if rows.is_empty() {
        body.push_str("<p class=\"muted\">Nothing spent this month.</p>\n");
        return;
    }
    body.push_str(
        "<div class=\"scroll\"><table id=\"spend\"><thead><tr><th>Installation or repository</th>\
<th>Window</th><th class=\"num\">Spent</th><th class=\"num\">Cap</th><th class=\"num\">Used</th>\
<th>Resets (UTC)</th></tr></thead><tbody>\n",
    );
    for r in rows {
        let (cap, used) = match r.cap_usd {
            Some(cap) => (
                format!("${cap:.2}"),
                format!("{:.0}%", 100.0 * r.spent_usd / cap),
            ),
            None => ("none".to_owned(), "—".to_owned()),
        };
        let class = if r.cap_usd.is_some_and(|cap| r.spent_usd >= cap) {
            " class=\"bad\""
        } else {
            ""
        };
        let _ = writeln!(
            body,
            "<tr{class}><td>{} {}</td><td>{}</td><td class=\"num\">${:.2}</td><td class=\"num\">{cap}</td>\
<td class=\"num\">{used}</td><td>{}</td></tr>",
            r.scope,
            escape(&r.name),
            r.window,
            r.spent_usd,
            when::minute(r.resets_at),
        );
    }
    body.push_str("</tbody></table></div>\n");
}

fn pr_link(web: &str, run: &RunRecord) -> String {
    format!(
        "<a href=\"{}\">#{}</a>",
        escape(&format!("{web}/{}/pull/{}", run.repo, run.pr_number)),
        run.pr_number
    )
}

fn head_link(web: &str, run: &RunRecord) -> String {
    match &run.head_sha {
        Some(sha) => format!(
            "<a href=\"{}\"><code>{}</code></a>",
            escape(&format!("{web}/{}/commit/{sha}", run.repo)),
            escape(sha.get(..7).unwrap_or(sha))
        ),
        None => "—".into(),
    }
}
