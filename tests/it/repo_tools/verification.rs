//! The verify stage with the repository's tools: what it drops, its request, and a
//! repository that turns it off.

use super::*;

#[tokio::test]
async fn findings_the_verification_drops_are_counted_and_listed_with_the_reason() {
    let app = TestApp::start().await;
    let mut pr = pull(9);
    pr.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  verify_priority: 1\n".into(),
    );
    app.github.add_pull(pr);
    let mut wrong = finding("src/login.rs", "RIGHT", 2, 2, 1, None);
    wrong["title"] = json!("login is undefined");
    let mut low = finding("src/login.rs", "RIGHT", 1, 1, 2, None);
    low["title"] = json!("Import order");
    app.openai.push(Reply::Review(review_with(vec![
        arity_finding(),
        wrong,
        low,
    ])));
    app.openai.push_verify(Reply::Review(json!({"verdicts": [
        {"id": "F1", "keep": true, "reason": "rate.rs shows one parameter."},
        {"id": "F2", "keep": false, "reason": "login is defined on line 2 of src/login.rs; ask @octocat."},
        {"id": "F9", "keep": false, "reason": "An id that was not shown is ignored."}
    ]})));

    review_comment(&app, 9).await;

    let verify = app.openai.verify_requests();
    assert_eq!(verify.len(), 1);
    let message = verify[0]["input"][0]["content"].as_str().unwrap();
    // Only P0 and P1 are verified under `verify_priority: 1`.
    assert!(message.contains("[F1] check_limit takes one argument"));
    assert!(message.contains("[F2] login is undefined"));
    assert!(!message.contains("Import order"));
    let reviews = app.github.reviews();
    let review = &reviews[0];
    let titles: Vec<&str> = review
        .comments
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.iter().all(|t| !t.contains("login is undefined")));
    let body = &review.body;
    assert!(
        body.contains("<details><summary>1 finding dropped after verification</summary>"),
        "{body}"
    );
    assert!(body.contains("- **[P1] login is undefined** — `src/login.rs:2`: login is defined on line 2 of src/login.rs; ask @\u{2060}octocat."), "{body}");
    assert!(body.contains("(review $"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_repository_can_turn_the_tools_and_the_verification_off() {
    let app = TestApp::start().await;
    let mut pr = pull(10);
    pr.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  tools: false\n  verify: false\n".into(),
    );
    app.github.add_pull(pr);
    app.openai
        .push(Reply::Review(review_with(vec![arity_finding()])));

    review_comment(&app, 10).await;

    let requests = app.openai.all_requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].get("tools").is_none());
    assert!(requests[0].get("include").is_none());
    assert!(
        !requests[0]["instructions"]
            .as_str()
            .unwrap()
            .contains("Tools:")
    );
    assert!(
        app.github
            .calls()
            .iter()
            .all(|c| !c.path.contains("/tarball/")),
        "no archive is fetched"
    );
    let body = &app.github.reviews()[0].body;
    assert!(!body.contains("What the reviewer looked at"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_verification_request_is_a_valid_strict_request() {
    // Covered by every test above through the fakes' protocol checks; here the verification
    // is the only call with tools: the budget is shared, and its format name is its own.
    let app = TestApp::start().await;
    app.github.add_pull(pull(12));
    app.openai
        .push(Reply::Review(review_with(vec![arity_finding()])));
    app.openai.push_verify(Reply::ToolCalls(vec![(
        "read_file",
        json!({"path": "src/rate.rs", "start_line": null, "end_line": null}),
    )]));
    review_comment(&app, 12).await;
    let verify = app.openai.verify_requests();
    assert_eq!(verify.len(), 2, "a turn with tools, then the verdicts");
    assert_eq!(verify[0]["text"]["format"]["name"], VERIFY_FORMAT);
    assert_eq!(outputs(&verify[1]).len(), 1);
    assert_eq!(app.github.reviews()[0].comments.len(), 1);
    app.stop().await;
}
