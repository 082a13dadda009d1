//! A ceiling on model spend: every job that calls the model counts against the hourly limits
//! (per pull request, per person), and dollar caps per installation and per repository stop
//! the model with one comment that names the cap and when it resets; `/metrics` and `/status`
//! show spend against each cap.

use crate::support;
use serde_json::json;
use support::*;

const STATUS_TOKEN: &str = "status-token-0123456789abcdef";

fn pull(number: u64, config: Option<&str>) -> Pull {
    let mut p = Pull::new(
        REPO,
        number,
        &format!("{number:a>40}"),
        vec![File::new(
            "src/lib.rs",
            "modified",
            Some("@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}"),
        )],
    );
    if let Some(config) = config {
        p.base_sha = format!("{number:040x}");
        p.base_contents
            .insert(".github/codex-review.yml".into(), config.into());
    }
    p
}

fn answer() -> Reply {
    Reply::Review(json!({"answer": "It adds b."}))
}

fn last_comment(app: &TestApp) -> String {
    app.github.comments().last().unwrap().body.clone()
}

#[tokio::test]
async fn every_job_that_calls_the_model_counts_against_the_hourly_limits() {
    let app = TestApp::start_with(Options {
        env: vec![("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR", "3".into())],
        ..Options::default()
    })
    .await;
    app.github
        .add_pull(pull(1, Some("triggers:\n  max_per_pr_per_hour: 2\n")));
    app.github.add_pull(pull(2, None));
    // Two questions use up the pull request's hour: a review is refused after them.
    app.openai.push(answer());
    app.openai.push(answer());
    app.comment(1, "@codex ask what does this do?").await;
    app.comment(1, "@codex ask and why?").await;
    app.comment(1, "@codex review").await;
    assert!(app.github.reviews().is_empty());
    let refused = last_comment(&app);
    assert!(refused.contains("2 model runs"), "{refused}");
    assert!(
        refused.contains("triggers.max_per_pr_per_hour"),
        "{refused}"
    );
    assert_eq!(app.openai.requests().len(), 2);

    // The same person elsewhere: a third run is allowed, a fourth is not.
    app.openai.push(Reply::Review(review_with(vec![])));
    app.comment(2, "@codex review").await;
    assert_eq!(app.github.reviews().len(), 1);
    app.comment(2, "@codex ask and now?").await;
    let refused = last_comment(&app);
    assert!(
        refused.contains("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR"),
        "{refused}"
    );
    assert_eq!(app.openai.requests().len(), 3);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_dollar_cap_stops_the_model_once_reached_and_says_when_it_resets() {
    // One review with one finding and its verification costs about $0.0105 at the fake's
    // usage: the second review reaches the cap, the third is refused.
    let app = TestApp::start_with(Options {
        env: vec![
            ("CODEX_REVIEW_DAILY_USD_CAP", "0.015".into()),
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
        ],
        ..Options::default()
    })
    .await;
    for n in 1..=4 {
        app.github.add_pull(pull(n, None));
    }
    for n in 1..=2 {
        app.openai.push(Reply::Review(review_with(vec![finding(
            "src/lib.rs",
            "RIGHT",
            2,
            2,
            1,
            None,
        )])));
        app.comment(n, "@codex review").await;
    }
    assert_eq!(app.github.reviews().len(), 2);
    let calls = app.openai.requests().len();
    app.comment(3, "@codex review").await;
    assert_eq!(
        app.openai.requests().len(),
        calls,
        "no model call past the cap"
    );
    let refused = last_comment(&app);
    assert!(
        refused.contains("The daily spend cap is reached"),
        "{refused}"
    );
    assert!(refused.contains("of $0.01 spent"), "{refused}");
    assert!(refused.contains("CODEX_REVIEW_DAILY_USD_CAP"), "{refused}");
    assert!(refused.contains(" 00:00 UTC (in "), "{refused}");

    // An automatic review says it once per pull request and window.
    let head = pull(4, None).head_sha;
    for action in ["opened", "ready_for_review"] {
        let (status, _) = app
            .deliver(
                "pull_request",
                &pull_request_payload(action, 4, &head, false),
            )
            .await;
        assert_eq!(status, 202);
        app.settle().await;
    }
    let notices: Vec<String> = app
        .github
        .comments()
        .iter()
        .filter(|c| c.body.contains("Codex review is paused here"))
        .map(|c| c.body.clone())
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(app.openai.requests().len(), calls);

    // The operator sees spend against the cap.
    let (_, metrics) = app.get("/metrics").await;
    let spent = metrics
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "codex_review_spend_usd{{installation=\"{INSTALLATION}\",window=\"daily\"}}"
            ))
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    let usd: f64 = spent.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((0.015..0.05).contains(&usd), "{spent}");
    assert!(
        metrics.contains(&format!(
            "codex_review_spend_cap_usd{{installation=\"{INSTALLATION}\",window=\"daily\"}} 0.015"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "codex_review_spend_cap_usd{{installation=\"{INSTALLATION}\",window=\"monthly\"}} 2000"
        )),
        "{metrics}"
    );
    let res = app
        .http
        .get(format!("{}/status", app.url))
        .bearer_auth(STATUS_TOKEN)
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    let table = &html[html.find("id=\"spend\"").expect("a spend table")..];
    assert!(
        table.contains("<tr class=\"bad\"><td>installation"),
        "{table}"
    );
    assert!(
        table.contains("$0.015") || table.contains("$0.01"),
        "{table}"
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_repository_can_cap_its_own_spend() {
    let app = TestApp::start().await;
    let config = "spend:\n  daily_usd: 0.01\n";
    app.github.add_pull(pull(1, Some(config)));
    app.github.add_pull(pull(2, Some(config)));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    app.comment(1, "@codex review").await;
    assert_eq!(app.github.reviews().len(), 1);
    app.comment(2, "@codex review").await;
    assert_eq!(app.github.reviews().len(), 1, "{:#?}", app.github.reviews());
    let refused = last_comment(&app);
    assert!(
        refused.contains("`spend.daily_usd` of this repository"),
        "{refused}"
    );
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains(&format!(
            "codex_review_spend_cap_usd{{repository=\"{REPO}\",window=\"daily\"}} 0.01"
        )),
        "{metrics}"
    );
    app.assert_no_violations();
    app.stop().await;
}
