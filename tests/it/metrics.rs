//! `/metrics` as Prometheus reads it: the text parses with a Prometheus text parser, and after
//! one review its histograms hold what the review did, in the buckets the service declares.

use crate::support;

use codex_review::metrics::buckets;
use prometheus_parse::{HistogramCount, Sample, Scrape, Value};
use support::*;

const HEAD: &str = "5555555555555555555555555555555555555555";
const PATCH: &str = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";

/// The scrape, parsed; its content type must be Prometheus's text format.
async fn scrape(app: &TestApp) -> Scrape {
    let res = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The histograms named `name`, one per label set.
fn histograms<'a>(scrape: &'a Scrape, name: &str) -> Vec<(&'a Sample, &'a [HistogramCount])> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter_map(|s| match &s.value {
            Value::Histogram(counts) => Some((s, counts.as_slice())),
            _ => None,
        })
        .collect()
}

/// The value of the sample `name` (a counter's, a gauge's, or a histogram's `_count`) with
/// `label` (none: the only one).
fn value(scrape: &Scrape, name: &str, label: Option<(&str, &str)>) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .filter_map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {label:?}: {found:?}");
    found[0]
}

/// Checks that `counts` has the bounds `bounds` then `+Inf`, cumulative counts, and `total`
/// in all.
fn assert_buckets(name: &str, counts: &[HistogramCount], bounds: &[f64], total: f64) {
    let les: Vec<f64> = counts.iter().map(|c| c.less_than).collect();
    let mut want = bounds.to_vec();
    want.push(f64::INFINITY);
    assert_eq!(les, want, "{name}");
    assert!(
        counts.windows(2).all(|w| w[0].count <= w[1].count),
        "{name}: {counts:?}"
    );
    assert_eq!(counts.last().map(|c| c.count), Some(total), "{name}");
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_with_the_histograms_of_a_review() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        1,
        HEAD,
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    ));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(1, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    let scrape = scrape(&app).await;

    // One job: it waited once, ran once, and its command got one 👀.
    for (name, bounds) in [
        ("codex_review_review_duration_seconds", &buckets::REVIEW[..]),
        ("codex_review_queue_wait_seconds", &buckets::QUEUE[..]),
        ("codex_review_ack_latency_seconds", &buckets::ACK[..]),
    ] {
        let found = histograms(&scrape, name);
        assert_eq!(found.len(), 1, "{name}");
        assert_buckets(name, found[0].1, bounds, 1.0);
        assert_eq!(value(&scrape, &format!("{name}_count"), None), 1.0);
    }
    let eyes = app.github.state().reactions.len();
    assert_eq!(eyes, 1);

    // Each model request once: the review and its verification.
    let requests = app.openai.all_requests().len() as f64;
    assert_eq!(requests, 2.0);
    let name = "codex_review_model_call_duration_seconds";
    let model = histograms(&scrape, name);
    assert_eq!(model.len(), 1);
    assert_buckets(name, model[0].1, &buckets::MODEL, requests);
    let ok = value(
        &scrape,
        "codex_review_model_calls_total",
        Some(("outcome", "ok")),
    );
    assert_eq!(ok, requests);

    // Each GitHub request in its call's histogram, as many as the counter counted.
    let name = "codex_review_github_call_duration_seconds";
    let github = histograms(&scrape, name);
    assert!(
        github
            .iter()
            .any(|(s, _)| s.labels.get("call") == Some("get pull request")),
        "{github:?}"
    );
    for (sample, counts) in &github {
        let call = sample.labels.get("call").unwrap();
        let counted: f64 = scrape
            .samples
            .iter()
            .filter(|s| s.metric == "codex_review_github_calls_total")
            .filter(|s| s.labels.get("call") == Some(call))
            .map(|s| match s.value {
                Value::Counter(v) => v,
                _ => 0.0,
            })
            .sum();
        assert_buckets(name, counts, &buckets::GITHUB, counted);
    }

    // The counters kept their names.
    let posted = value(
        &scrape,
        "codex_review_reviews_total",
        Some(("outcome", "posted")),
    );
    assert_eq!(posted, 1.0);
    assert_eq!(
        value(&scrape, "codex_review_jobs", Some(("state", "queued"))),
        0.0
    );
    app.assert_no_violations();
    app.stop().await;
}
