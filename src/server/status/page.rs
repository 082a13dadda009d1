//! The status page's data and its HTML.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{StatusConfig, chart};
use crate::chart::usd;
use crate::review::spend::Standing;
use crate::server::html::page;
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
    caps: &crate::review::spend::SpendCaps,
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
    let (svg, legend) = chart::cost_chart(&data.costs, today);
    let body = html! {
        (header(data, config, today))
        h2 { "Recent reviews" }
        @if data.runs.is_empty() {
            p.muted { "No review has run yet." }
        } @else {
            div.scroll { table id="reviews" {
                thead { tr {
                    th { "Finished (UTC)" } th { "Repository" } th { "PR" } th { "Head" }
                    th { "Outcome" } th.num { "P0" } th.num { "P1" } th.num { "P2" }
                    th.num { "P3" } th.num { "Model calls" }
                    th.num { "Tokens in / cached / out" } th.num { "Cost" }
                    th.num { "Duration" }
                } }
                tbody { @for run in &data.runs { (review_row(web, run)) } }
            } }
        }
        h2 { "Recent failures" }
        @if data.failures.is_empty() {
            p.good id="no-failures" { "No failures." }
        } @else {
            div.scroll { table id="failures" {
                thead { tr {
                    th { "When (UTC)" } th { "Repository" } th { "PR" } th { "What" }
                    th { "Error" }
                } }
                tbody { @for run in &data.failures {
                    tr.failure-row {
                        td { (when::minute(run.finished_at)) }
                        td { (run.repo) }
                        td { (pr_link(web, run)) }
                        td { @if run.outcome == "failed" { "given up" } @else { "will retry" } }
                        td.wrap { (run.detail) }
                    }
                } }
            } }
        }
        h2 { "Cost per day, last " (chart::DAYS) " days" }
        div.scroll { (svg) }
        (legend)
        (spend_table(&data.spend))
        h2 { "Deliveries, last 24 hours" }
        @if data.deliveries.is_empty() {
            p.muted { "No delivery in the last 24 hours." }
        } @else {
            div.scroll { table id="deliveries" {
                thead { tr { th { "Event" } th.num { "Received" } th.num { "Acted on" } } }
                tbody { @for d in &data.deliveries {
                    tr { td { (d.event) } td.num { (d.total) } td.num { (d.acted_on) } }
                } }
            } }
        }
    };
    page(StatusCode::OK, "codex-review status", body, "'self'")
}

/// One row of the recent reviews.
fn review_row(web: &str, run: &RunRecord) -> Markup {
    html! {
        tr.review-row {
            td { (when::minute(run.finished_at)) }
            td { (run.repo) }
            td { (pr_link(web, run)) }
            td { (head_link(web, run)) }
            td title=(run.detail) { (run.outcome.replace('_', " ")) }
            @for n in run.findings { td.num { (n) } }
            td.num { (run.model_calls) }
            td.num { (run.input_tokens) " / " (run.cached_tokens) " / " (run.output_tokens) }
            td.num { (run.cost_micros.map_or("—".to_owned(), usd)) }
            td.num { (when::duration(run.finished_at - run.started_at)) }
        }
    }
}

/// The title, the instance, the sign-out button and the cards (queue, deliveries, cost).
fn header(data: &StatusData, config: &StatusConfig, today: i64) -> Markup {
    let month: i64 = data.costs.iter().map(|(_, _, m)| m).sum();
    let cost_today: i64 = data
        .costs
        .iter()
        .filter(|(_, day, _)| *day == today)
        .map(|(_, _, m)| m)
        .sum();
    let delivered: i64 = data.deliveries.iter().map(|d| d.total).sum();
    let oldest = if data.queued == 0 {
        "—".to_owned()
    } else {
        when::duration(data.oldest_queued.as_millis() as i64)
    };
    html! {
        h1 { "codex-review status" }
        div.head {
            p.muted {
                "Instance " code { (config.instance) } " · version " (env!("CARGO_PKG_VERSION"))
                " · " (when::minute(data.now_ms)) " UTC"
            }
            form method="post" action="/status/logout" {
                p { button.quiet type="submit" { "Sign out" } }
            }
        }
        div.cards id="queue" {
            (card("Queued", Some("queued"), &data.queued.to_string()))
            (card("Running", Some("running"), &data.running.to_string()))
            (card("Oldest queued", None, &oldest))
            (card("Deliveries, 24 h", None, &delivered.to_string()))
            (card(
                "Cost today / 30 days",
                None,
                &format!("{} / {}", usd(cost_today), usd(month)),
            ))
        }
    }
}

/// One of the header's cards: what it counts, and the figure (with an id for the tests).
fn card(what: &str, id: Option<&str>, figure: &str) -> Markup {
    html! {
        div.box { div.muted { (what) } div.big id=[id] { (figure) } }
    }
}

/// Spend against each cap: installations that spent this month, repositories with caps.
fn spend_table(rows: &[Standing]) -> Markup {
    html! {
        h2 { "Spend against caps" }
        @if rows.is_empty() {
            p.muted { "Nothing spent this month." }
        } @else {
            div.scroll { table id="spend" {
                thead { tr {
                    th { "Installation or repository" } th { "Window" } th.num { "Spent" }
                    th.num { "Cap" } th.num { "Used" } th { "Resets (UTC)" }
                } }
                tbody { @for r in rows { (spend_row(r)) } }
            } }
        }
    }
}

fn spend_row(r: &Standing) -> Markup {
    let (cap, used) = match r.cap_usd {
        Some(cap) => (
            format!("${cap:.2}"),
            format!("{:.0}%", 100.0 * r.spent_usd / cap),
        ),
        None => ("none".to_owned(), "—".to_owned()),
    };
    let over = r.cap_usd.is_some_and(|cap| r.spent_usd >= cap);
    html! {
        tr class=[over.then_some("bad")] {
            td { (r.scope) " " (r.name) }
            td { (r.window) }
            td.num { (format!("${:.2}", r.spent_usd)) }
            td.num { (cap) }
            td.num { (used) }
            td { (when::minute(r.resets_at)) }
        }
    }
}

fn pr_link(web: &str, run: &RunRecord) -> Markup {
    html! {
        a href={ (web) "/" (run.repo) "/pull/" (run.pr_number) } { "#" (run.pr_number) }
    }
}

fn head_link(web: &str, run: &RunRecord) -> Markup {
    html! {
        @match &run.head_sha {
            Some(sha) => a href={ (web) "/" (run.repo) "/commit/" (sha) } {
                code { (sha.get(..7).unwrap_or(sha)) }
            },
            None => "—",
        }
    }
}
