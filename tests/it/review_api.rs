//! The review API end to end over HTTP: requests and answers checked against `openapi.yaml`,
//! reviews posted once through the durable queue, on both store backends.

use crate::support;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const TOKEN: &str = "api-token-0123456789abcdef";
const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

async fn api_app(db: Option<&TestDb>) -> TestApp {
    TestApp::start_with(Options {
        env: vec![("API_TOKENS", format!("other-token-0123456789,{TOKEN}"))],
        database_url: db.map(|d| d.url.clone()),
        ..Options::default()
    })
    .await
}

fn pull(number: u64) -> Pull {
    Pull::new(
        REPO,
        number,
        HEAD,
        vec![File::new(
            "src/lib.rs",
            "modified",
            Some("@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}"),
        )],
    )
}

fn pr_url(app: &TestApp, number: u64) -> String {
    format!("http://{}/{REPO}/pull/{number}", app.github.addr)
}

/// Sends a request to the API; checks the body (when `valid`) and the answer against the
/// description. A body the test sends on purpose as invalid must be invalid there too.
async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&Value, bool)>,
    key: Option<&str>,
) -> (u16, Value) {
    let template = if path.starts_with("/v1/reviews/") {
        "/v1/reviews/{id}"
    } else {
        "/v1/reviews"
    };
    let mut req = app
        .http
        .request(method.parse().unwrap(), format!("{}{path}", app.url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    if let Some((body, valid)) = body {
        let problems = openapi::request_problems(method, template, body);
        assert_eq!(problems.is_empty(), valid, "{body}: {problems:?}");
        req = req.json(body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    let problems = openapi::response_problems(method, template, status, &answer);
    assert!(
        problems.is_empty(),
        "{method} {path} {status} {answer}: {problems:?}"
    );
    (status, answer)
}

async fn wait_finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let (status, review) = call(
            app,
            "GET",
            &format!("/v1/reviews/{id}"),
            Some(TOKEN),
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{review}");
        if matches!(
            review["status"].as_str(),
            Some("done" | "failed" | "skipped")
        ) {
            return review;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the review {id} did not finish");
}

async fn a_review_through_the_api_is_posted_once_and_readable(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = api_app(Some(&db)).await;
    app.github.add_pull(pull(5));
    app.openai.push(Reply::Review(review_with(vec![
        finding("src/lib.rs", "RIGHT", 2, 2, 1, Some("fn b() -> u8 { 0 }")),
        // Below the default confidence threshold: dropped, with why.
        json!({
            "title": "Maybe rename b",
            "body": "b is short.",
            "confidence_score": 0.05,
            "priority": 3,
            "code_location": {"file_path": "src/lib.rs", "side": "RIGHT", "line_range": {"start": 2, "end": 2}},
            "suggestion": null
        }),
    ])));
    let body = json!({"pull_request_url": pr_url(&app, 5), "focus_areas": ["security"]});
    let (status, accepted) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(TOKEN),
        Some((&body, true)),
        Some("deploy-42"),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["status"], "queued");
    let id = accepted["id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["url"], format!("/v1/reviews/{id}"));

    let review = wait_finished(&app, &id).await;
    assert_eq!(review["status"], "done", "{review}");
    assert_eq!(review["head_sha"], HEAD);
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert_eq!(
        review["review_url"],
        format!("{}#pullrequestreview-{}", pr_url(&app, 5), reviews[0].id)
    );
    let findings = review["result"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{review}");
    assert_eq!(findings[0]["placement"], "inline");
    assert_eq!(findings[0]["start_line"], 2);
    assert_eq!(findings[1]["placement"], "dropped");
    assert!(
        findings[1]["reason"]
            .as_str()
            .unwrap()
            .contains("thresholds"),
        "{review}"
    );
    assert!(review["usage"]["model_calls"].as_i64().unwrap() >= 1);
    assert!(review["cost_usd"].as_f64().unwrap() > 0.0);
    // The focus areas reached the model.
    let asked = app.openai.requests()[0].to_string();
    assert!(asked.contains("security"));

    // The same key and body: the same review, and nothing new runs.
    let (status, again) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(TOKEN),
        Some((&body, true)),
        Some("deploy-42"),
    )
    .await;
    assert_eq!((status, again["id"].as_str()), (202, Some(id.as_str())));
    assert_eq!(again["status"], "done");
    // The same key with another body is refused.
    let other = json!({"pull_request_url": pr_url(&app, 5), "full": true});
    let (status, refused) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(TOKEN),
        Some((&other, true)),
        Some("deploy-42"),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    assert_eq!(app.openai.requests().len(), 1);
    app.assert_no_violations();
    app.stop().await;
    db.drop_db().await;
}

async fn post_false_returns_the_result_and_leaves_the_pr_untouched(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = api_app(Some(&db)).await;
    app.github.add_pull(pull(6));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        0,
        None,
    )])));
    let body = json!({"pull_request_url": pr_url(&app, 6), "post": false});
    let (status, accepted) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(TOKEN),
        Some((&body, true)),
        None,
    )
    .await;
    assert_eq!(status, 202);
    let review = wait_finished(&app, accepted["id"].as_str().unwrap()).await;
    assert_eq!(review["status"], "done", "{review}");
    assert_eq!(review["post"], false);
    assert_eq!(review["review_url"], Value::Null);
    assert_eq!(review["result"]["findings"][0]["placement"], "inline");
    assert_eq!(review["result"]["findings"][0]["priority"], 0);
    {
        let st = app.github.state();
        assert!(st.reviews.is_empty(), "a review was posted");
        assert!(st.comments.is_empty(), "a comment was posted");
        assert!(st.check_runs.is_empty(), "a check run was made");
        assert!(st.check_run_updates.is_empty());
    }
    app.assert_no_violations();
    app.stop().await;
    db.drop_db().await;
}

both_backends!(
    a_review_through_the_api_is_posted_once_and_readable,
    post_false_returns_the_result_and_leaves_the_pr_untouched,
);

#[tokio::test]
async fn refusals_are_clear_and_described() {
    let app = api_app(None).await;
    app.github.add_pull(pull(7));
    let good = json!({"pull_request_url": pr_url(&app, 7)});
    let post = |token: Option<&'static str>, body: Value, valid: bool| {
        let app = &app;
        async move {
            call(
                app,
                "POST",
                "/v1/reviews",
                token,
                Some((&body, valid)),
                None,
            )
            .await
        }
    };
    let (status, answer) = post(None, good.clone(), true).await;
    assert_eq!(status, 401, "{answer}");
    let (status, _) = post(Some("api-token-0123456789abcdeX"), good.clone(), true).await;
    assert_eq!(status, 401);
    let (status, answer) = post(
        Some(TOKEN),
        json!({"pull_request_url": pr_url(&app, 7), "model": "gpt-4", "temperature": 0}),
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], "unknown_fields");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("model, temperature"), "{message}");
    let (status, answer) = post(
        Some(TOKEN),
        json!({"pull_request_url": pr_url(&app, 7), "sandbox_config": {"network": false}}),
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("never runs repository code")
    );
    let (status, answer) = post(
        Some(TOKEN),
        json!({"pull_request_url": format!("https://gitlab.example.com/{REPO}/pull/7")}),
        true,
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("foreign_host"))
    );
    let (status, answer) = post(
        Some(TOKEN),
        json!({"pull_request_url": format!("http://{}/{REPO}/issues/7", app.github.addr)}),
        true,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a pull request")
    );
    // The App is not installed on the repository: 404 with the reason.
    let (status, answer) = post(
        Some(TOKEN),
        json!({"pull_request_url": format!("http://{}/someone/else/pull/1", app.github.addr)}),
        true,
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not installed on someone/else")
    );
    // Over 64 KiB.
    let huge = json!({"pull_request_url": pr_url(&app, 7), "focus_areas": vec!["x"; 20_000]});
    let (status, answer) = post(Some(TOKEN), huge, false).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    let (status, _) = call(
        &app,
        "GET",
        "/v1/reviews/rev_000000000000000000000000",
        Some(TOKEN),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        "GET",
        "/v1/reviews/rev_000000000000000000000000",
        None,
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
    // Nothing was queued by any of them.
    assert_eq!(app.running().store.job_counts().await.unwrap(), vec![]);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_failure_carries_the_explanation_the_pr_gets() {
    let app = api_app(None).await;
    app.github.add_pull(pull(8));
    app.openai.push(Reply::Error {
        status: 401,
        code: "invalid_api_key",
        retry_after: None,
    });
    let body = json!({"pull_request_url": pr_url(&app, 8)});
    let (_, accepted) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(TOKEN),
        Some((&body, true)),
        None,
    )
    .await;
    let review = wait_finished(&app, accepted["id"].as_str().unwrap()).await;
    assert_eq!(review["status"], "failed", "{review}");
    let comment = app.github.comments()[0].body.clone();
    let advice = review["error"]["advice"].as_str().unwrap();
    assert!(advice.contains("OPENAI_API_KEY"), "{advice}");
    assert!(comment.contains(advice), "{comment}");
    assert!(comment.contains(review["error"]["message"].as_str().unwrap()));
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_review_in_progress_reads_as_running() {
    let app = api_app(None).await;
    app.github.add_pull(pull(10));
    app.openai.push(Reply::Delay(
        Duration::from_millis(800),
        Box::new(Reply::Review(review_with(vec![]))),
    ));
    let body = json!({"pull_request_url": pr_url(&app, 10)});
    let (_, accepted) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(TOKEN),
        Some((&body, true)),
        None,
    )
    .await;
    let path = format!("/v1/reviews/{}", accepted["id"].as_str().unwrap());
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (_, review) = call(&app, "GET", &path, Some(TOKEN), None, None).await;
        let status = review["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "done" {
            assert_eq!(review["result"]["findings"], json!([]));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.contains(&"running".to_owned()), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("done"), "{seen:?}");
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn without_api_tokens_there_is_no_api() {
    let app = TestApp::start().await;
    let res = app
        .http
        .post(format!("{}/v1/reviews", app.url))
        .bearer_auth(TOKEN)
        .json(&json!({"pull_request_url": "https://github.com/a/b/pull/1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_cli_asks_a_running_service_and_prints_the_findings() {
    let app = api_app(None).await;
    app.github.add_pull(pull(9));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    let args = codex_review::cli::parse_args(&[
        pr_url(&app, 9),
        "--server".into(),
        app.url.clone(),
        "--focus".into(),
        "security".into(),
    ])
    .unwrap();
    let env = |name: &str| (name == "CODEX_REVIEW_API_TOKEN").then(|| TOKEN.to_owned());
    let mut out = Vec::new();
    codex_review::cli::review(&args, env, || unreachable!(), &mut out)
        .await
        .unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("[P1] src/lib.rs:2"), "{printed}");
    // Without --post the service only returns the result.
    assert!(app.github.reviews().is_empty());
    assert!(!printed.contains("Posted:"));
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_token_reviews_only_its_repositories_and_reads_only_its_reviews() {
    let scoped = "scoped-token-0123456789";
    let app = TestApp::start_with(Options {
        env: vec![(
            "API_TOKENS",
            format!("{TOKEN}, {scoped}:someone/else Codertocat/*"),
        )],
        ..Options::default()
    })
    .await;
    let outsider = "outsider-token-0123456789";
    let app_outside = TestApp::start_with(Options {
        env: vec![("API_TOKENS", format!("{outsider}:acme/web"))],
        ..Options::default()
    })
    .await;
    app.github.add_pull(pull(20));
    app_outside.github.add_pull(pull(20));
    app.openai.push(Reply::Review(review_with(vec![])));

    // Outside its scope: 403 with the reason, nothing stored, GitHub not asked.
    let body = json!({"pull_request_url": pr_url(&app_outside, 20), "post": false});
    let (status, refused) = call(
        &app_outside,
        "POST",
        "/v1/reviews",
        Some(outsider),
        Some((&body, true)),
        Some("k-1"),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("acme/web") && message.contains(REPO),
        "{message}"
    );
    assert!(app_outside.github.state().calls.is_empty());

    // In scope (owner/*, any case): accepted.
    let body = json!({"pull_request_url": pr_url(&app, 20), "post": false});
    let (status, accepted) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(scoped),
        Some((&body, true)),
        Some("same-key"),
    )
    .await;
    assert_eq!(status, 202);
    let id = accepted["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/reviews/{id}");
    // Another token cannot read it, nor reach it through the same Idempotency-Key: that key
    // is its own, and makes its own review.
    let (status, _) = call(&app, "GET", &path, Some(TOKEN), None, None).await;
    assert_eq!(status, 404);
    app.openai.push(Reply::Review(review_with(vec![])));
    let (status, other) = call(
        &app,
        "POST",
        "/v1/reviews",
        Some(TOKEN),
        Some((&body, true)),
        Some("same-key"),
    )
    .await;
    assert_eq!(status, 202);
    assert_ne!(other["id"], accepted["id"]);
    let (status, mine) = call(&app, "GET", &path, Some(scoped), None, None).await;
    assert_eq!(status, 200);
    assert_eq!(mine["id"], id.as_str());
    app.settle().await;
    app.assert_no_violations();
    app_outside.assert_no_violations();
    app.stop().await;
    app_outside.stop().await;
}
