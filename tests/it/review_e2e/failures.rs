//! A review when the model or GitHub fails: a visible comment, a retry after `retry-after`,
//! and no second review when an answer is lost.

use super::*;

#[tokio::test]
async fn model_failure_posts_a_visible_comment() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(14));
    app.openai.push(Reply::Error {
        status: 429,
        code: "insufficient_quota",
        retry_after: None,
    });
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(14, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert!(app.github.reviews().is_empty());
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert_eq!(comments[0].issue, 14);
    assert!(
        comments[0]
            .body
            .contains("could not review this pull request")
    );
    assert!(comments[0].body.contains("quota"), "{}", comments[0].body);
    // No retry of a quota error.
    assert_eq!(app.openai.requests().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn repeated_model_outages_end_in_a_comment_after_the_last_attempt() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(15));
    // 3 client attempts per job run, 2 job runs: 6 server errors.
    for _ in 0..6 {
        app.openai.push(Reply::Error {
            status: 503,
            code: "server_error",
            retry_after: None,
        });
    }
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(15, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(app.openai.requests().len(), 6);
    assert!(app.github.reviews().is_empty());
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].body.contains("It failed 2 times"),
        "{}",
        comments[0].body
    );
    app.stop().await;
}

#[tokio::test]
async fn rate_limited_model_call_is_retried_after_retry_after() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(16));
    app.openai.push(Reply::Error {
        status: 429,
        code: "rate_limit_exceeded",
        retry_after: Some(0),
    });
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/limiter.rs",
        "RIGHT",
        12,
        12,
        1,
        None,
    )])));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(16, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(app.openai.requests().len(), 2);
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].comments.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn review_created_but_answer_lost_is_not_posted_twice() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(17));
    app.github.fail_next(support::fake_github::Fault {
        method: http::Method::POST,
        path_suffix: "/pulls/17/reviews".into(),
        status: 502,
        body: json!({"message": "Server Error"}),
        headers: vec![],
        after_effect: true,
    });
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(17, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    assert!(app.github.comments().is_empty());
    app.stop().await;
}
