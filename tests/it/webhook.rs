//! The webhook contract: 401 / 400 / 413 / 2xx, stored before the answer.

use crate::support;
use codex_review::server::sign;
use serde_json::json;
use support::*;

#[tokio::test]
async fn bad_or_missing_signature_gets_401_and_touches_nothing() {
    let app = TestApp::start().await;
    app.github
        .add_pull(Pull::new(REPO, 1, &"a".repeat(40), vec![]));
    let body = serde_json::to_vec(&comment_payload(1, "@codex review", "OWNER")).unwrap();
    let good = sign(SECRET, &body);
    let wrong = sign("not-the-secret", &body);
    let truncated = &good[..good.len() - 2];
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("x-hub-signature-256", wrong.as_str())],
        vec![("x-hub-signature-256", truncated)],
        vec![("x-hub-signature-256", "sha256=")],
        vec![("x-hub-signature-256", "garbage")],
        vec![(
            "x-hub-signature",
            "sha1=0000000000000000000000000000000000000000",
        )],
    ];
    for extra in cases {
        let mut headers = vec![
            ("x-github-event", "issue_comment"),
            ("x-github-delivery", "d-1"),
        ];
        headers.extend(extra.iter().copied());
        let (status, _) = app.post_webhook(&headers, body.clone()).await;
        assert_eq!(status, 401, "{extra:?}");
    }
    // A body changed after signing fails too.
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let headers = [
        ("x-github-event", "issue_comment"),
        ("x-github-delivery", "d-2"),
        ("x-hub-signature-256", good.as_str()),
    ];
    assert_eq!(app.post_webhook(&headers, tampered).await.0, 401);

    app.settle().await;
    assert!(app.github.calls().is_empty(), "{:?}", app.github.calls());
    assert!(app.openai.requests().is_empty());
    assert_eq!(app.running().store.delivery_count().await.unwrap(), 0);
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("codex_review_webhook_signature_failures_total 7"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn signed_non_json_gets_400_and_oversized_bodies_413() {
    let app = TestApp::start().await;
    let body = b"payload=%7B%7D".to_vec();
    let sig = sign(SECRET, &body);
    let headers = [
        ("x-github-event", "push"),
        ("x-github-delivery", "d-3"),
        ("x-hub-signature-256", sig.as_str()),
    ];
    assert_eq!(app.post_webhook(&headers, body).await.0, 400);

    let big = vec![b' '; 25 * 1024 * 1024 + 1];
    let sig = sign(SECRET, &big);
    let headers = [
        ("x-github-event", "push"),
        ("x-github-delivery", "d-4"),
        ("x-hub-signature-256", sig.as_str()),
    ];
    assert_eq!(app.post_webhook(&headers, big).await.0, 413);
    assert_eq!(app.running().store.delivery_count().await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn ping_and_unhandled_events_get_2xx_and_are_stored() {
    let app = TestApp::start().await;
    let (status, body) = app.deliver("ping", &spec::webhook("ping")).await;
    assert_eq!((status, body.trim()), (200, "ping"));
    let (status, body) = app.deliver("star", &json!({"action": "created"})).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("ignored"), "{body}");
    assert_eq!(app.running().store.delivery_count().await.unwrap(), 2);
    app.stop().await;
}

#[tokio::test]
async fn the_previous_secret_still_verifies_during_rotation() {
    let app = TestApp::start().await;
    let body = serde_json::to_vec(&spec::webhook("ping")).unwrap();
    let sig = sign("old-secret", &body);
    let headers = [
        ("x-github-event", "ping"),
        ("x-github-delivery", "d-5"),
        ("x-hub-signature-256", sig.as_str()),
    ];
    assert_eq!(app.post_webhook(&headers, body).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn signed_delivery_without_github_headers_is_a_bad_request() {
    let app = TestApp::start().await;
    let body = serde_json::to_vec(&spec::webhook("ping")).unwrap();
    let sig = sign(SECRET, &body);
    assert_eq!(
        app.post_webhook(&[("x-hub-signature-256", sig.as_str())], body.clone())
            .await
            .0,
        400
    );
    let headers = [
        ("x-github-event", "ping"),
        ("x-hub-signature-256", sig.as_str()),
    ];
    assert_eq!(app.post_webhook(&headers, body).await.0, 400);
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/healthz").await, (200, "ok".into()));
    assert_eq!(app.get("/readyz").await, (200, "ready".into()));
    app.deliver("ping", &spec::webhook("ping")).await;
    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics
            .contains("codex_review_webhook_deliveries_total{event=\"ping\",outcome=\"ping\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE codex_review_jobs gauge"));
    app.stop().await;
}

#[tokio::test]
async fn a_delivery_is_stored_before_the_answer() {
    let app = TestApp::start().await;
    // No pull request exists on the fake: the job can only fail later, but the answer
    // already says it is queued, and the database holds it.
    let (status, body) = app
        .deliver(
            "issue_comment",
            &comment_payload(99, "@codex review", "OWNER"),
        )
        .await;
    assert_eq!(status, 202);
    assert!(body.starts_with("queued job"), "{body}");
    assert_eq!(app.running().store.delivery_count().await.unwrap(), 1);
    app.settle().await;
    // The PR is gone (404): a permanent failure, reported on the PR once.
    let counts = app.running().store.job_counts().await.unwrap();
    assert_eq!(counts, vec![("failed".to_string(), 1)]);
    app.stop().await;
}
