//! The model's faults, each against the fake Responses API, and what the user sees; the
//! request itself as a checked-in snapshot.

use crate::support;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const HEAD: &str = "4444444444444444444444444444444444444444";
const PATCH: &str = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";

async fn app_with(env: Vec<(&'static str, String)>) -> TestApp {
    let app = TestApp::start_with(Options {
        env,
        ..Options::default()
    })
    .await;
    app.github.add_pull(Pull::new(
        REPO,
        1,
        HEAD,
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    ));
    app
}

async fn review_once(app: &TestApp) {
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(1, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
}

fn one_finding() -> Reply {
    Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )]))
}

fn error(status: u16, code: &'static str) -> Reply {
    Reply::Error {
        status,
        code,
        retry_after: None,
    }
}

#[tokio::test]
async fn a_server_error_then_success_posts_the_review() {
    let app = app_with(vec![]).await;
    app.openai.push(error(500, "server_error"));
    app.openai.push(error(502, "server_error"));
    app.openai.push(one_finding());
    review_once(&app).await;
    assert_eq!(app.openai.requests().len(), 3);
    assert_eq!(app.github.reviews()[0].comments.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let app = app_with(vec![("CODEX_REVIEW_MODEL_TIMEOUT_SECS", "1".into())]).await;
    app.openai.push(Reply::Delay(
        Duration::from_secs(3),
        Box::new(one_finding()),
    ));
    app.openai.push(one_finding());
    review_once(&app).await;
    assert_eq!(app.openai.requests().len(), 2);
    assert_eq!(app.github.reviews().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_answer_cut_short_is_asked_again_with_a_larger_budget() {
    let app = app_with(vec![]).await;
    app.openai.push(Reply::Incomplete);
    app.openai.push(one_finding());
    review_once(&app).await;
    let requests = app.openai.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["max_output_tokens"], json!(32_000));
    assert_eq!(requests[1]["max_output_tokens"], json!(64_000));
    assert_eq!(app.github.reviews()[0].comments.len(), 1);
    // The answer cut short was billed: its tokens are in the footer with the others (each
    // answer of the fake reports 1,834 input and 412 output tokens).
    let body = app.github.reviews()[0].body.clone();
    let answers = app.openai.all_requests().len() as u64;
    assert!(
        body.contains(&format!("tokens: {} in", 1_834 * answers))
            && body.contains(&format!("{} out", 412 * answers)),
        "{answers} answers: {body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_streamed_answer_is_read_from_its_events() {
    let app = app_with(vec![("CODEX_REVIEW_STREAM", "true".into())]).await;
    app.openai.push(Reply::Incomplete);
    app.openai.push(one_finding());
    review_once(&app).await;
    let requests = app.openai.requests();
    assert_eq!(requests[0]["stream"], json!(true));
    // The incomplete event leads to the retry with a larger budget, as without streaming.
    assert_eq!(requests.len(), 2);
    assert_eq!(app.github.reviews()[0].comments.len(), 1);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_refusal_is_a_visible_note() {
    let app = app_with(vec![]).await;
    app.openai.push(Reply::Refusal("I can't help with that."));
    review_once(&app).await;
    assert!(app.github.reviews().is_empty());
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .contains("the model declined to review: I can't help with that."),
        "{}",
        comments[0].body
    );
    app.stop().await;
}

#[tokio::test]
async fn invalid_json_is_asked_again_once_then_reported() {
    let app = app_with(vec![]).await;
    app.openai.push(Reply::Text("{\"findings\": [ oops"));
    app.openai.push(one_finding());
    review_once(&app).await;
    assert_eq!(app.openai.requests().len(), 2);
    assert_eq!(app.github.reviews().len(), 1);

    app.github.add_pull(Pull::new(
        REPO,
        2,
        HEAD,
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    ));
    app.openai.push(Reply::Text("not json at all"));
    app.openai.push(Reply::Text("{\"findings\": 3}"));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(2, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(app.openai.requests().len(), 4);
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .contains("the model's answer was not a valid review"),
        "{}",
        comments[0].body
    );
    app.stop().await;
}

#[tokio::test]
async fn an_exhausted_quota_is_not_retried_and_says_so() {
    let app = app_with(vec![]).await;
    app.openai.push(error(429, "insufficient_quota"));
    review_once(&app).await;
    assert_eq!(app.openai.requests().len(), 1);
    assert!(app.github.comments()[0].body.contains("run out of quota"));
    app.stop().await;
}

#[tokio::test]
async fn tokens_and_cost_are_in_the_footer_and_the_metrics() {
    let app = app_with(vec![
        ("OPENAI_ORGANIZATION", "org-test".into()),
        ("OPENAI_PROJECT", "proj_test".into()),
    ])
    .await;
    app.openai.push(one_finding());
    review_once(&app).await;
    let body = &app.github.reviews()[0].body;
    // The fake reports 1,834 input (1,024 cached) and 412 output tokens per request: at $1.25 /
    // $0.125 / $10 per million that is $0.0052605, for the review and for its verification.
    assert!(
        body.contains("2 model calls) with `gpt-5.1-codex` · tokens: 3668 in (2048 cached), 824 out (512 reasoning) · ≈ $0.0105 (review $0.0053 + verification $0.0053)"),
        "{body}"
    );
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("codex_review_model_cost_usd_total 0.010521"),
        "{metrics}"
    );
    assert!(metrics.contains("codex_review_model_tokens_total{kind=\"cached\"} 2048"));
    for line in [
        "codex_review_model_calls_total{outcome=\"ok\"} 2",
        "codex_review_github_calls_total{call=\"create review\",status=\"2xx\"} 1",
        "codex_review_github_calls_total{call=\"get pull request\",status=\"2xx\"}",
        "codex_review_review_duration_seconds_count 1",
        "codex_review_reviews_total{outcome=\"posted\"} 1",
        "codex_review_jobs{state=\"queued\"} 0",
        "codex_review_jobs{state=\"running\"} 0",
        "codex_review_oldest_queued_job_age_seconds 0.0\n",
        "codex_review_webhook_deliveries_total{event=\"issue_comment\",outcome=\"queued\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
    assert_eq!(
        app.openai.state().headers[0],
        (Some("org-test".into()), Some("proj_test".into()))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_request_for_a_small_pr_matches_its_snapshot() {
    let app = app_with(vec![]).await;
    review_once(&app).await;
    let mut request: Value = app.openai.requests()[0].clone();
    // The fence tag around untrusted data is random by design.
    let message = request["input"][0]["content"].as_str().unwrap().to_owned();
    let begin = message.find("BEGIN UNTRUSTED PULL REQUEST DATA ").unwrap() + 34;
    let tag = message[begin..begin + 16].to_owned();
    request["input"][0]["content"] = json!(message.replace(&tag, "<random tag>"));
    insta::assert_snapshot!(
        "small_pr_request",
        serde_json::to_string_pretty(&request).unwrap()
    );
    app.assert_no_violations();
    app.stop().await;
}

#[test]
fn every_reasoning_effort_openai_lists_is_accepted_and_valid() {
    let doc: Value = serde_json::from_str(include_str!(
        "../fixtures/openai-create-response.schema.json"
    ))
    .unwrap();
    let listed: Vec<String> = doc["components"]["schemas"]["ReasoningEffort"]["anyOf"][0]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(listed.contains(&"none".to_string()));
    let mut accepted: Vec<&str> = codex_review::settings::REASONING_EFFORTS.to_vec();
    accepted.sort_unstable();
    let mut listed_sorted: Vec<&str> = listed.iter().map(String::as_str).collect();
    listed_sorted.sort_unstable();
    assert_eq!(accepted, listed_sorted);
    for effort in &listed {
        let settings = codex_review::settings::OpenAiSettings::from_lookup(|k| match k {
            "OPENAI_API_KEY" => Some("sk-x".into()),
            "CODEX_REVIEW_REASONING_EFFORT" => Some(effort.clone()),
            _ => None,
        })
        .unwrap();
        install_crypto();
        let client = codex_review::model::ModelClient::new(
            &settings,
            codex_review::retry::RetryPolicy::default(),
        )
        .unwrap();
        let body = client.request_body(&codex_review::model::client_call("i", "m"), 1000);
        assert_eq!(body["reasoning"]["effort"], json!(effort));
        let errors = spec::check_openai_request(&body);
        assert!(errors.is_empty(), "{effort}: {errors:?}");
    }
}
