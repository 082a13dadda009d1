//! `codex-review review URL --server https://HOST`: the review is asked of a running service
//! through its review API (token from `CODEX_REVIEW_API_TOKEN`), waited for, and printed as
//! the local mode prints it.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::ReviewArgs;
use super::print::printable;

/// How often the review's status is read.
const POLL: Duration = Duration::from_secs(2);
/// How long the command waits for the review at most.
const WAIT: Duration = Duration::from_secs(45 * 60);

pub async fn review(
    server: &str,
    pull_request_url: &str,
    args: &ReviewArgs,
    env: &impl Fn(&str) -> Option<String>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let token = env("CODEX_REVIEW_API_TOKEN")
        .filter(|t| !t.trim().is_empty())
        .context(
            "CODEX_REVIEW_API_TOKEN is required with --server (one of the service's API_TOKENS)",
        )?;
    let token = token.trim().to_owned();
    let server = server.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()?;
    let body = json!({
        "pull_request_url": pull_request_url,
        "focus_areas": args.focus,
        "post": args.post,
    });
    // A request sent again after a network failure makes no second review.
    let key = crate::ids::random_hex(16)?;
    let mut attempt = 0;
    let created = loop {
        attempt += 1;
        let sent = http
            .post(format!("{server}/v1/reviews"))
            .bearer_auth(&token)
            .header("idempotency-key", &key)
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(response) => break answer(response).await?,
            Err(e) if attempt < 3 => {
                eprintln!("codex-review: {server} could not be reached ({e}); trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e).context(format!("cannot reach {server}")),
        }
    };
    let id = created["id"]
        .as_str()
        .context("the service's answer has no review id")?
        .to_owned();
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let review = loop {
        let response = http
            .get(format!("{server}/v1/reviews/{id}"))
            .bearer_auth(&token)
            .send()
            .await;
        let review = match response {
            Ok(r) => answer(r).await?,
            Err(e) => {
                eprintln!("codex-review: {server} could not be reached ({e}); still waiting");
                Value::Null
            }
        };
        let status = review["status"].as_str().unwrap_or("queued");
        if matches!(status, "done" | "failed" | "skipped") {
            if terminal {
                eprint!("\r\x1b[K");
            }
            break review;
        }
        if started.elapsed() > WAIT {
            bail!(
                "the review {id} did not finish within {} minutes",
                WAIT.as_secs() / 60
            );
        }
        if terminal {
            eprint!("\r{status} on {server}: {} s", started.elapsed().as_secs());
        }
        tokio::time::sleep(POLL).await;
    };
    match review["status"].as_str() {
        Some("failed") => bail!(
            "{} {}",
            review["error"]["message"]
                .as_str()
                .unwrap_or("the review failed"),
            review["error"]["advice"].as_str().unwrap_or("")
        ),
        Some("skipped") => {
            writeln!(
                out,
                "Not reviewed: {}",
                printable(review["detail"].as_str().unwrap_or("skipped"))
            )?;
            Ok(())
        }
        _ if args.json => {
            writeln!(out, "{}", serde_json::to_string_pretty(&review["result"])?)?;
            Ok(())
        }
        _ => print(out, &review).map_err(Into::into),
    }
}

/// The JSON of a 2xx answer, or the service's error as an error.
async fn answer(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    bail!(
        "the service answered {status}: {}",
        body["error"]["message"]
            .as_str()
            .unwrap_or("no explanation")
    )
}

/// Prints a finished review as the local mode does.
fn print(out: &mut impl Write, review: &Value) -> std::io::Result<()> {
    let result = &review["result"];
    let findings = result["findings"].as_array().cloned().unwrap_or_default();
    let shown: Vec<&Value> = findings
        .iter()
        .filter(|f| f["placement"] != "dropped")
        .collect();
    writeln!(
        out,
        "{} — {} finding(s)",
        printable(result["overall_correctness"].as_str().unwrap_or("reviewed")),
        shown.len()
    )?;
    if let Some(why) = result["overall_explanation"]
        .as_str()
        .filter(|t| !t.trim().is_empty())
    {
        writeln!(out, "{}", printable(why.trim()))?;
    }
    let mut sorted = shown;
    sorted.sort_by_key(|f| f["priority"].as_i64().unwrap_or(3));
    for f in sorted {
        let (start, end) = (
            f["start_line"].as_i64().unwrap_or(0),
            f["end_line"].as_i64().unwrap_or(0),
        );
        let range = if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        };
        let reason = f["reason"]
            .as_str()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        super::print::print_finding(
            out,
            f["priority"].as_i64().unwrap_or(3),
            &format!("{}:{range}{reason}", f["path"].as_str().unwrap_or("?")),
            f["title"].as_str().unwrap_or(""),
            f["body"].as_str().unwrap_or(""),
            f["suggestion"].as_str(),
        )?;
    }
    let dropped = findings.len()
        - findings
            .iter()
            .filter(|f| f["placement"] != "dropped")
            .count();
    if dropped > 0 {
        writeln!(out, "\n{dropped} finding(s) dropped (see --json for why).")?;
    }
    if let Some(url) = review["review_url"].as_str() {
        writeln!(out, "\nPosted: {url}")?;
    }
    if let Some(cost) = review["cost_usd"].as_f64() {
        writeln!(
            out,
            "{} model call(s), about ${cost:.2}.",
            review["usage"]["model_calls"].as_i64().unwrap_or(0)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_from_the_service_prints_without_terminal_escapes() {
        let review = json!({
            "result": {
                "overall_correctness": "patch is \u{1b}[32mcorrect",
                "overall_explanation": "\u{1b}]0;owned\u{7}Fine.\u{1b}[2J",
                "findings": [{
                    "priority": 1, "start_line": 2, "end_line": 2, "placement": "inline",
                    "path": "src/\u{1b}[8ma.rs", "title": "T\u{9b}1A", "body": "b\r"
                }]
            }
        });
        let mut out = Vec::new();
        print(&mut out, &review).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "patch is correct — 1 finding(s)\nFine.\n\n[P1] src/a.rs:2  T\n    b\n"
        );
    }
}
