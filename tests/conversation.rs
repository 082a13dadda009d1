//! Talking to the reviewer: `@codex ask` in the pull request's conversation.

mod support;

use serde_json::json;
use support::*;

const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

#[tokio::test]
async fn a_question_is_answered_in_a_comment_with_the_diff_as_context() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        31,
        HEAD,
        vec![File::new(
            "src/limiter.rs",
            "modified",
            Some("@@ -1,2 +1,2 @@\n fn check() {\n-    a()\n+    lock_then_a()"),
        )],
    ));
    app.openai.push(Reply::Review(json!({
        "answer": "The lock keeps two requests from passing the check at once. Ask @admin if unsure."
    })));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(31, "@codex ask why is the lock needed here?", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;

    let requests = app.openai.all_requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["text"]["format"]["name"], "answer");
    assert!(
        request["instructions"]
            .as_str()
            .unwrap()
            .starts_with("You answer a question a maintainer asked about a pull request")
    );
    let message = request["input"][0]["content"].as_str().unwrap();
    assert!(message.contains("+    lock_then_a()"), "{message}");
    assert!(
        message
            .trim_end()
            .ends_with("The question:\nwhy is the lock needed here?")
    );
    assert!(
        app.github.reviews().is_empty(),
        "a question posts no review"
    );
    let comments = app.github.comments();
    let answer = &comments.last().unwrap().body;
    assert!(
        answer.contains("> why is the lock needed here?\n"),
        "{answer}"
    );
    assert!(
        answer.contains("The lock keeps two requests from passing"),
        "{answer}"
    );
    assert!(!answer.contains("@admin"), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn an_outsiders_question_is_not_answered() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        32,
        HEAD,
        vec![File::new("a.rs", "added", Some("@@ -0,0 +1 @@\n+x"))],
    ));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(32, "@codex ask what does this do?", "NONE"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert!(app.openai.all_requests().is_empty());
    assert!(app.github.comments().is_empty());
    app.stop().await;
}
