//! Limits that hold: GitHub's body size on the 422 fallback, notices counted only once
//! posted, GitHub rate limits that reset later, and the model call's deadline.

use crate::support;
use std::time::Duration;

use serde_json::{Value, json};
use support::fake_github::Fault;
use support::*;

const HEAD: &str = "abababababababababababababababababababab";

/// Lines 1-40 added.
fn long_file() -> String {
    let body: String = (1..=40).map(|i| format!("+let v{i} = {i};\n")).collect();
    format!("@@ -0,0 +1,40 @@\n{body}")
}

fn long_finding(line: u64, title: &str) -> Value {
    let mut f = finding("src/big.rs", "RIGHT", line, line, 1, None);
    f["title"] = json!(title);
    f["body"] = json!(format!("{title}: {}", "why this matters. ".repeat(400)));
    f
}

#[tokio::test]
async fn the_fallback_review_after_a_422_stays_under_githubs_body_limit() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        11,
        HEAD,
        vec![File::new("src/big.rs", "added", Some(&long_file()))],
    ));
    // Ten long inline findings, and thirty more on lines outside the diff (summary only),
    // whose text alone fills the summary.
    let mut findings: Vec<Value> = (1..=10)
        .map(|i| long_finding(i, &format!("Inline {i}")))
        .collect();
    findings.extend((100..130).map(|i| long_finding(i, &format!("Outside {i}"))));
    app.openai.push(Reply::Review(review_with(findings)));
    app.github.fail_next(Fault {
        method: http::Method::POST,
        path_suffix: "/pulls/11/reviews".into(),
        status: 422,
        body: json!({"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}),
        headers: vec![],
        after_effect: false,
    });
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(11, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1, "{:#?}", app.github.comments());
    let body = &reviews[0].body;
    assert!(
        body.chars().count() <= 65_536,
        "{} chars",
        body.chars().count()
    );
    assert!(body.contains("Inline comments that GitHub refused"));
    assert!(reviews[0].comments.is_empty());
}

#[tokio::test]
async fn a_notice_github_refused_is_posted_on_the_next_attempt() {
    let app = TestApp::start().await;
    let mut pull = Pull::new(
        REPO,
        12,
        HEAD,
        vec![File::new(
            "src/a.rs",
            "modified",
            Some("@@ -1 +1 @@\n-a\n+b"),
        )],
    );
    pull.base_sha = "e".repeat(40);
    pull.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  min_prority: 2\n".into(),
    );
    app.github.add_pull(pull);
    // The first attempt to post the notice fails; GitHub did not create it.
    app.github.fail_next(Fault {
        method: http::Method::POST,
        path_suffix: "/issues/12/comments".into(),
        status: 502,
        body: json!({"message": "Server Error"}),
        headers: vec![],
        after_effect: false,
    });
    let payload = pull_request_payload("opened", 12, HEAD, false);
    assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
    app.settle().await;
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(comments[0].body.contains("is invalid"));
    // And only once: another push on the same base posts nothing more.
    let payload = pull_request_payload("opened", 12, HEAD, false);
    assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
    app.settle().await;
    assert_eq!(app.github.comments().len(), 1);
}

#[tokio::test]
async fn a_rate_limit_that_resets_later_requeues_the_job_without_spending_attempts() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        13,
        HEAD,
        vec![File::new(
            "src/a.rs",
            "modified",
            Some("@@ -1 +1 @@\n-a\n+b"),
        )],
    ));
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3_600;
    // Three times exhausted: more than the test's two attempts could survive.
    for _ in 0..3 {
        app.github.fail_next(Fault {
            method: http::Method::GET,
            path_suffix: "/pulls/13".into(),
            status: 403,
            body: json!({"message": "API rate limit exceeded for installation ID 1."}),
            headers: vec![
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), reset.to_string()),
            ],
            after_effect: false,
        });
    }
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(13, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    let store = app.running().store.clone();
    // The job waits for the reset: queued, not failed, no failure comment, one call made.
    let mut queued = false;
    for _ in 0..200 {
        if store.job_counts().await.unwrap() == vec![("queued".to_string(), 1)]
            && app
                .github
                .calls()
                .iter()
                .any(|c| c.path.ends_with("/pulls/13"))
        {
            queued = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(queued, "{:?}", store.job_counts().await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.job_counts().await.unwrap(),
        vec![("queued".to_string(), 1)]
    );
    let pulls = app
        .github
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("/pulls/13"))
        .count();
    // One read (the free worker decides for the acknowledgement too): the job waits for the
    // reset instead of spending its attempts on retries.
    assert_eq!(pulls, 1, "{:?}", app.github.calls());
    assert!(app.github.comments().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_model_deadline_bounds_a_request_in_flight() {
    let mut options = Options::default();
    options.env.extend([
        ("CODEX_REVIEW_MODEL_TIMEOUT_SECS", "60".to_string()),
        ("CODEX_REVIEW_MODEL_DEADLINE_SECS", "1".to_string()),
    ]);
    let app = TestApp::start_with(options).await;
    app.github.add_pull(Pull::new(
        REPO,
        14,
        HEAD,
        vec![File::new(
            "src/a.rs",
            "modified",
            Some("@@ -1 +1 @@\n-a\n+b"),
        )],
    ));
    // Both attempts hang far past the deadline (and within the request timeout).
    for _ in 0..2 {
        app.openai.push(Reply::Delay(
            Duration::from_secs(30),
            Box::new(Reply::Review(review_with(vec![]))),
        ));
    }
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(14, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0]
            .body
            .contains("no answer within the call's deadline of 1 s"),
        "{}",
        comments[0].body
    );
    assert_eq!(app.openai.requests().len(), 2);
}
