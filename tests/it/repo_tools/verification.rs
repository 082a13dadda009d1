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

#[tokio::test]
async fn a_verdict_lowers_an_overstated_priority_and_the_surest_findings_are_verified_first() {
    let app = TestApp::start().await;
    let mut pr = pull(13);
    pr.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  verify_priority: 2\n  min_priority: 2\n".into(),
    );
    app.github.add_pull(pr);
    let mut unsure = finding("src/login.rs", "RIGHT", 2, 2, 1, None);
    unsure["title"] = json!("The bound may overflow");
    unsure["confidence_score"] = json!(0.4);
    let mut sure = finding("src/login.rs", "RIGHT", 3, 3, 1, None);
    sure["title"] = json!("The limit is never reset");
    sure["confidence_score"] = json!(0.95);
    let mut minor = finding("src/login.rs", "RIGHT", 1, 1, 2, None);
    minor["title"] = json!("The import hides a name");
    app.openai
        .push(Reply::Review(review_with(vec![unsure, minor, sure])));
    // F1 is the surest P1, F2 the other P1, F3 the P2.
    app.openai.push_verify(Reply::Review(json!({"verdicts": [
        {"id": "F1", "keep": true, "reason": "Real, but only past 2^32 logins.", "priority": 2},
        {"id": "F2", "keep": true, "reason": "A priority is never raised.", "priority": 0},
        {"id": "F3", "keep": true, "reason": "Cosmetic.", "priority": 3}
    ]})));

    review_comment(&app, 13).await;

    let message = app.openai.verify_requests()[0]["input"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = |title: &str| message.find(title).unwrap_or_else(|| panic!("{message}"));
    assert!(
        message.contains("[F1] The limit is never reset"),
        "{message}"
    );
    assert!(at("[F1] The limit") < at("[F2] The bound") && at("[F2]") < at("[F3] The import"));
    let reviews = app.github.reviews();
    let review = &reviews[0];
    let bodies: Vec<&str> = review
        .comments
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    // F3 lowered to P3 falls below `min_priority: 2`; F1 lowered to P2 follows the P1.
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies[0].contains("The bound may overflow"), "{bodies:?}");
    assert!(bodies[1].contains("The limit is never reset"), "{bodies:?}");
    assert!(bodies[1].contains("P2"), "{bodies:?}");
    let body = &review.body;
    assert!(
        body.contains("Verification lowered **The limit is never reset** from P1 to P2."),
        "{body}"
    );
    assert!(body.contains("| 0 | 1 | 1 | 0 |"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn when_verification_drops_every_finding_the_summary_no_longer_speaks_of_them() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(14));
    let mut planted = review_with(vec![
        arity_finding(),
        finding("src/login.rs", "RIGHT", 2, 2, 1, None),
    ]);
    planted["overall_explanation"] = json!("Harness review of the change: 2 planted findings.");
    app.openai.push(Reply::Review(planted));
    app.openai.push_verify(Reply::Review(json!({"verdicts": [
        {"id": "F1", "keep": false, "reason": "rate.rs takes two arguments.", "priority": null},
        {"id": "F2", "keep": false, "reason": "Not a problem.", "priority": null}
    ]})));

    review_comment(&app, 14).await;

    let body = &app.github.reviews()[0].body;
    assert!(body.contains("### Codex review: no issues found"), "{body}");
    assert!(!body.contains("planted"), "{body}");
    assert!(
        body.contains(
            "None of the 2 findings the model reported is posted (2 not confirmed by verification)."
        ),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn when_verification_drops_some_findings_the_summary_names_what_remains() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(15));
    let mut low = finding("src/login.rs", "RIGHT", 2, 2, 2, None);
    low["title"] = json!("The limit is a magic number");
    let mut planted = review_with(vec![arity_finding(), low]);
    planted["overall_explanation"] = json!("The call does not compile.");
    app.openai.push(Reply::Review(planted));
    app.openai.push_verify(Reply::Review(json!({"verdicts": [
        {"id": "F1", "keep": false, "reason": "rate.rs takes two arguments.", "priority": null},
        {"id": "F2", "keep": true, "reason": "It is.", "priority": null}
    ]})));

    review_comment(&app, 15).await;

    let review = &app.github.reviews()[0];
    let body = &review.body;
    assert_eq!(review.comments.len(), 1);
    // The P0 went: no blocking issue remains, and the explanation says what does.
    assert!(
        body.contains("### Codex review: 1 finding (no blocking issues)"),
        "{body}"
    );
    assert!(!body.contains("does not compile"), "{body}");
    assert!(
        body.contains("1 of the 2 findings the model reported is posted (1 not confirmed by verification). Posted: \\[P2\\] The limit is a magic number (`src/login.rs:2`)."),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_review_whose_only_p1_is_lowered_to_p2_no_longer_says_the_patch_is_incorrect() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(15));
    let mut only = finding("src/login.rs", "RIGHT", 3, 3, 1, None);
    only["title"] = json!("The limit is never reset");
    let mut answer = review_with(vec![only]);
    answer["overall_explanation"] = json!("The P1 limit bug makes this patch incorrect.");
    app.openai.push(Reply::Review(answer));
    app.openai.push_verify(Reply::Review(json!({"verdicts": [
        {"id": "F1", "keep": true, "reason": "Real, but only after a restart.", "priority": 2}
    ]})));

    review_comment(&app, 15).await;

    let body = &app.github.reviews()[0].body;
    assert!(body.contains("### Codex review: 1 finding"), "{body}");
    assert!(!body.contains("changes needed"), "{body}");
    assert!(!body.contains("makes this patch incorrect"), "{body}");
    assert!(
        body.contains(
            "Verification lowered the priority of 1: The limit is never reset (P1 to P2)."
        ),
        "{body}"
    );
    assert!(body.contains("| 0 | 0 | 1 | 0 |"), "{body}");
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn the_verifier_judges_each_finding_against_the_guidelines_of_its_file() {
    let app = TestApp::start().await;
    let mut pr = pull(16);
    pr.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  instructions: Every public function is documented.\n  path_instructions:\n    \
         - path: \"src/login.rs\"\n      instructions: Logins are rate limited per account, never per IP.\n    \
         - path: \"web/**\"\n      instructions: No inline styles.\n"
            .into(),
    );
    pr.base_contents.insert(
        "src/AGENTS.md".into(),
        "## Review guidelines\n\n- Limits come from crate::rate, never literals.\n".into(),
    );
    app.github.add_pull(pr);
    let mut rule = finding("src/login.rs", "RIGHT", 3, 3, 1, None);
    rule["title"] = json!("The limit is a literal, not from crate::rate");
    app.openai.push(Reply::Review(review_with(vec![rule])));
    app.openai.push_verify(Reply::Review(json!({"verdicts": [
        {"id": "F1", "keep": false, "reason": "The guideline 'Limits come from crate::rate' does not apply: 0 is a start value, not a limit.", "priority": null}
    ]})));

    review_comment(&app, 16).await;

    let verify = app.openai.verify_requests();
    let message = verify[0]["input"][0]["content"].as_str().unwrap();
    let begin = message.find("BEGIN UNTRUSTED PULL REQUEST DATA").unwrap();
    let trusted = &message[..begin];
    // The same trusted block as the review's: the repository's guidelines, then those of the
    // finding's paths, and none of a path no finding is on.
    assert!(trusted.contains("Repository guidelines (from the repository's base branch"));
    assert!(trusted.contains("Every public function is documented."));
    assert!(trusted.contains("Logins are rate limited per account, never per IP."));
    assert!(trusted.contains("From src/AGENTS.md:\n- Limits come from crate::rate"));
    assert!(!message.contains("No inline styles."), "{message}");
    let instructions = verify[0]["instructions"].as_str().unwrap();
    assert!(
        instructions.contains("your reason must name the guideline"),
        "{instructions}"
    );
    // The review's own request has the path guidelines after the repository's.
    let review = app.openai.requests()[0]["input"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let (everyone, some) = (
        review.find("Every public function is documented.").unwrap(),
        review
            .find("Guidelines for some paths of this change")
            .unwrap(),
    );
    assert!(everyone < some && some < review.find("BEGIN UNTRUSTED").unwrap());
    // A dropped finding's reason names the guideline on the pull request.
    let body = &app.github.reviews()[0].body;
    assert!(
        body.contains("does not apply: 0 is a start value"),
        "{body}"
    );
    app.assert_no_violations();
    app.stop().await;
}
