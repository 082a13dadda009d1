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

#[tokio::test]
async fn a_repository_choosing_a_model_without_a_price_is_refused_with_a_comment_and_no_model_call()
{
    let app = TestApp::start().await;
    let config = "review:\n  model: my-own-llm\n";
    app.github.add_pull(pull(1, Some(config)));
    app.comment(1, "@codex review").await;
    let refused = last_comment(&app);
    assert!(
        refused.contains("`review.model` in `.github/codex-review.yml` on the base branch names `my-own-llm`, a model without a price"),
        "{refused}"
    );
    assert!(refused.contains("CODEX_REVIEW_PRICES"), "{refused}");
    // An automatic review says it once per pull request.
    let head = pull(1, None).head_sha;
    for action in ["opened", "ready_for_review"] {
        let (status, _) = app
            .deliver(
                "pull_request",
                &pull_request_payload(action, 1, &head, false),
            )
            .await;
        assert_eq!(status, 202);
        app.settle().await;
    }
    let notices = app
        .github
        .comments()
        .iter()
        .filter(|c| {
            c.body
                .contains("did not review this pull request**: `review.model`")
        })
        .count();
    assert_eq!(notices, 1);
    assert!(app.github.reviews().is_empty());
    assert!(app.openai.all_requests().is_empty(), "no model call");
    app.assert_no_violations();
    app.stop().await;

    // Priced by the operator, it is used.
    let app = TestApp::start_with(Options {
        env: vec![("CODEX_REVIEW_PRICES", "my-own-llm=1/0.1/4".into())],
        ..Options::default()
    })
    .await;
    app.github.add_pull(pull(1, Some(config)));
    app.openai.push(Reply::Review(review_with(vec![])));
    app.comment(1, "@codex review").await;
    assert_eq!(app.github.reviews().len(), 1);
    assert_eq!(app.openai.requests()[0]["model"], "my-own-llm");
    app.assert_no_violations();
    app.stop().await;
}

/// A "Re-run" of the check on pull request `pr`, clicked by `login`.
fn rerun_payload(pr: u64, check_run_id: u64, login: &str) -> serde_json::Value {
    let head = pull(pr, None).head_sha;
    let mut payload = spec::webhook("check_run.rerequested");
    payload["check_run"]["id"] = json!(check_run_id);
    payload["check_run"]["name"] = json!("codex-review");
    payload["check_run"]["head_sha"] = json!(head);
    let repo = json!({"id": 1, "url": "https://api.github.com/x", "name": "Hello-World"});
    payload["check_run"]["pull_requests"] = json!([{"number": pr, "id": 1, "url": "https://api.github.com/x",
        "head": {"ref": "f", "sha": head, "repo": repo}, "base": {"ref": "main", "sha": "b", "repo": repo}}]);
    payload["installation"] = json!({"id": INSTALLATION, "node_id": "x"});
    payload["repository"]["full_name"] = json!(REPO);
    payload["sender"]["login"] = json!(login);
    payload
}

#[tokio::test]
async fn a_check_re_run_counts_against_the_person_who_clicked_it() {
    let app = TestApp::start_with(Options {
        env: vec![("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR", "1".into())],
        ..Options::default()
    })
    .await;
    app.github.add_pull(pull(1, None));
    app.github.add_pull(pull(2, None));
    for (id, pr, login) in [(901, 1, "octocat"), (902, 2, "octocat"), (903, 2, "hubot")] {
        let (status, _) = app
            .deliver("check_run", &rerun_payload(pr, id, login))
            .await;
        assert_eq!(status, 202);
        app.settle().await;
    }
    // octocat's second re-run is over their hour's limit; hubot's is not.
    assert_eq!(app.openai.requests().len(), 2);
    let reviewed: Vec<u64> = app.github.reviews().iter().map(|r| r.pr).collect();
    assert_eq!(reviewed, [1, 2]);
    let people = app.running().store.recent_runs(10, false).await.unwrap();
    let people: Vec<Option<String>> = people.into_iter().rev().map(|r| r.person).collect();
    assert_eq!(
        people,
        [
            Some("octocat".into()),
            Some("octocat".into()),
            Some("hubot".into())
        ]
    );
    app.assert_no_violations();
    app.stop().await;
}

pub const API_TOKEN: &str = "api-token-0123456789abcdef";
const OTHER_TOKEN: &str = "other-token-0123456789";

/// Asks the review API for a review of `pr` with `token`, and waits for its end; returns
/// the review as the API gives it.
pub async fn api_review(app: &TestApp, token: &str, pr: u64) -> serde_json::Value {
    let body = json!({"pull_request_url": format!("http://{}/{REPO}/pull/{pr}", app.github.addr)});
    assert!(openapi::request_problems("POST", "/v1/reviews", &body).is_empty());
    let res = app
        .http
        .post(format!("{}/v1/reviews", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let accepted: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{accepted}");
    let problems = openapi::response_problems("POST", "/v1/reviews", status, &accepted);
    assert!(problems.is_empty(), "{problems:?}");
    let id = accepted["id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let res = app
            .http
            .get(format!("{}/v1/reviews/{id}", app.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let review: serde_json::Value = res.json().await.unwrap();
        let problems = openapi::response_problems("GET", "/v1/reviews/{id}", 200, &review);
        assert!(problems.is_empty(), "{problems:?}");
        if let Some("done" | "failed" | "skipped") = review["status"].as_str() {
            return review;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the review {id} did not finish");
}

#[tokio::test]
async fn an_api_review_counts_against_its_tokens_limit() {
    let app = TestApp::start_with(Options {
        env: vec![
            ("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR", "1".into()),
            ("API_TOKENS", format!("{OTHER_TOKEN},{API_TOKEN}")),
        ],
        ..Options::default()
    })
    .await;
    for n in 1..=3 {
        app.github.add_pull(pull(n, None));
    }
    assert_eq!(api_review(&app, API_TOKEN, 1).await["status"], "done");
    let limited = api_review(&app, API_TOKEN, 2).await;
    assert_eq!(limited["status"], "skipped");
    let detail = limited["detail"].as_str().unwrap();
    assert!(
        detail.contains("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR"),
        "{detail}"
    );
    // Another token has an hour of its own.
    assert_eq!(api_review(&app, OTHER_TOKEN, 3).await["status"], "done");
    assert_eq!(app.openai.requests().len(), 2);
    app.assert_no_violations();
    app.stop().await;
}
