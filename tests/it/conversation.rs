//! Talking to the reviewer: `@codex ask` in the pull request's conversation.

use crate::support;
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

/// A reply to `root` on `pr`: added to the fake's thread, as GitHub keeps it, and the
/// `pull_request_review_comment` delivery from GitHub's example that announces it.
fn thread_reply(
    app: &TestApp,
    pr: u64,
    root: u64,
    body: &str,
    association: &str,
) -> serde_json::Value {
    let id = u64::from(fastrand::u32(..));
    {
        let mut st = app.github.state();
        let thread = st
            .threads
            .iter_mut()
            .find(|t| t.comments[0].id == root)
            .unwrap();
        thread.comments.push(support::fake_github::ThreadComment {
            id,
            body: body.into(),
            author: "maintainer".into(),
            association: association.into(),
            review_id: None,
        });
    }
    let mut payload = support::spec::webhook("pull_request_review_comment.created");
    payload["pull_request"]["number"] = json!(pr);
    payload["comment"]["id"] = json!(id);
    payload["comment"]["in_reply_to_id"] = json!(root);
    payload["comment"]["body"] = json!(body);
    payload["comment"]["author_association"] = json!(association);
    payload["comment"]["user"]["login"] = json!("maintainer");
    payload["sender"]["login"] = json!("maintainer");
    payload["installation"] = json!({"id": INSTALLATION, "node_id": "x"});
    payload["repository"]["full_name"] = json!(REPO);
    payload
}

#[tokio::test]
async fn a_reply_to_an_inline_comment_is_answered_in_its_thread() {
    reply_in_thread(TestApp::start().await).await;
}

/// On GitHub Enterprise Server, GraphQL is at `/api/graphql`, beside `/api/v3`.
#[tokio::test]
async fn threads_are_read_through_enterprise_servers_graphql_endpoint() {
    let options = Options {
        api_prefix: "/api/v3",
        ..Options::default()
    };
    reply_in_thread(TestApp::start_with(options).await).await;
}

async fn reply_in_thread(app: TestApp) {
    let mut pull = Pull::new(
        REPO,
        33,
        HEAD,
        vec![File::new(
            "src/limiter.rs",
            "added",
            Some("@@ -0,0 +1,3 @@\n+fn check(n: u32) -> bool {\n+    n <= MAX\n+}"),
        )],
    );
    pull.contents.insert(
        "src/limiter.rs".into(),
        "fn check(n: u32) -> bool {\n    n <= MAX\n}\n".into(),
    );
    app.github.add_pull(pull);
    let mut f = finding("src/limiter.rs", "RIGHT", 2, 2, 1, None);
    f["title"] = json!("Off by one: the limit lets one more through");
    app.openai.push(Reply::Review(review_with(vec![f])));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(33, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    let root = app.github.state().threads[0].comments[0].id;

    // Someone who may not run commands: nothing.
    let (status, _) = app
        .deliver(
            "pull_request_review_comment",
            &thread_reply(&app, 33, root, "@codex really?", "NONE"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert_eq!(app.github.state().threads[0].comments.len(), 2, "no answer");

    app.openai.push(Reply::Review(json!({
        "answer": "`n <= MAX` admits `MAX + 1` values of `n` from 0; `<` keeps it to MAX. cc @octocat"
    })));
    let (status, _) = app
        .deliver(
            "pull_request_review_comment",
            &thread_reply(
                &app,
                33,
                root,
                "@codex why is this off by one? MAX is inclusive.",
                "MEMBER",
            ),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;

    let requests = app.openai.requests();
    let asked = requests.last().unwrap();
    assert_eq!(asked["text"]["format"]["name"], "answer");
    let message = asked["input"][0]["content"].as_str().unwrap();
    assert!(
        message.contains("Off by one: the limit lets one more through"),
        "{message}"
    );
    assert!(message.contains("2:     n <= MAX"), "{message}");
    assert!(
        message.contains("maintainer: @codex why is this off by one? MAX is inclusive."),
        "{message}"
    );
    let thread = app.github.state().threads[0].clone();
    assert_eq!(thread.comments.len(), 4, "one answer, in the thread");
    let answer = &thread.comments[3].body;
    assert!(answer.contains("admits `MAX + 1` values"), "{answer}");
    assert!(!answer.contains("@octocat"), "{answer}");
    assert_eq!(app.github.reviews().len(), 1, "a reply posts no review");

    // `@codex dismiss` in the thread: dismissed at once, without the model.
    let before = app.openai.all_requests().len();
    let (status, _) = app
        .deliver(
            "pull_request_review_comment",
            &thread_reply(
                &app,
                33,
                root,
                "@codex dismiss MAX is inclusive by design.",
                "MEMBER",
            ),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert_eq!(app.openai.all_requests().len(), before);
    let thread = app.github.state().threads[0].clone();
    assert!(
        thread
            .comments
            .last()
            .unwrap()
            .body
            .starts_with("Dismissed: this finding will not be posted again"),
        "{:?}",
        thread.comments.last()
    );
    // And it stays out of later reviews.
    let mut f = finding("src/limiter.rs", "RIGHT", 2, 2, 1, None);
    f["title"] = json!("Off by one: the limit lets one more through");
    let mut other = finding("src/limiter.rs", "RIGHT", 1, 1, 2, None);
    other["title"] = json!("check is not public");
    app.openai
        .push(Reply::Review(review_with(vec![f.clone(), other])));
    review_full(&app).await;
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 2);
    assert_eq!(reviews[1].comments.len(), 1, "only the new finding");
    assert!(
        reviews[1]
            .body
            .contains("1 finding dismissed earlier on this pull request was not repeated."),
        "{}",
        reviews[1].body
    );
    // Even when the line changed (so the finding is not a repeat of a posted one) and GitHub's
    // GraphQL API fails on every attempt to read the threads.
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 33).unwrap();
        pull.files = vec![File::new(
            "src/limiter.rs",
            "added",
            Some("@@ -0,0 +1,3 @@\n+fn check(n: u32) -> bool {\n+    n <= MAX && n > 0\n+}"),
        )];
    }
    for _ in 0..3 {
        app.github.fail_next(support::fake_github::Fault {
            method: reqwest::Method::POST,
            path_suffix: "/graphql".into(),
            status: 502,
            body: json!({"message": "Server Error"}),
            headers: Vec::new(),
            after_effect: false,
        });
    }
    app.openai.push(Reply::Review(review_with(vec![f])));
    review_full(&app).await;
    assert!(
        app.github.state().faults.is_empty(),
        "the threads were asked for"
    );
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 3);
    assert!(reviews[2].comments.is_empty(), "{:?}", reviews[2].comments);
    app.stop().await;
}

async fn review_full(app: &TestApp) {
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(33, "@codex review full", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
}

/// GitHub takes the answer but the app never hears back (a 502 after the effect): the job
/// runs again, finds its answer by its marker, and neither asks the model nor answers again.
fn lost_answer(app: &TestApp, path_suffix: String) {
    app.github.fail_next(support::fake_github::Fault {
        method: reqwest::Method::POST,
        path_suffix,
        status: 502,
        body: json!({"message": "Server Error"}),
        headers: Vec::new(),
        after_effect: true,
    });
    for _ in 0..2 {
        app.openai
            .push(Reply::Review(json!({"answer": "It adds b."})));
    }
}

#[tokio::test]
async fn a_question_whose_answer_was_lost_is_answered_once() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        34,
        HEAD,
        vec![File::new(
            "src/lib.rs",
            "modified",
            Some("@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}"),
        )],
    ));
    lost_answer(&app, "/issues/34/comments".into());
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(34, "@codex ask what does b do?", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert!(
        app.github.state().faults.is_empty(),
        "the answer was posted"
    );
    let answers: Vec<String> = app
        .github
        .comments()
        .into_iter()
        .map(|c| c.body)
        .filter(|b| b.contains("It adds b."))
        .collect();
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_eq!(
        app.openai.all_requests().len(),
        1,
        "the model was asked once"
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_reply_in_a_thread_whose_answer_was_lost_is_given_once() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        35,
        HEAD,
        vec![File::new(
            "src/lib.rs",
            "modified",
            Some("@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}"),
        )],
    ));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    app.deliver(
        "issue_comment",
        &comment_payload(35, "@codex review", "MEMBER"),
    )
    .await;
    app.settle().await;
    let root = app.github.state().threads[0].comments[0].id;
    let asked_before = app.openai.all_requests().len();
    lost_answer(&app, format!("/comments/{root}/replies"));
    let (status, _) = app
        .deliver(
            "pull_request_review_comment",
            &thread_reply(&app, 35, root, "@codex why is b a problem?", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert!(app.github.state().faults.is_empty(), "the reply was posted");
    let thread = app.github.state().threads[0].clone();
    let answers = thread
        .comments
        .iter()
        .filter(|c| c.body.contains("It adds b."))
        .count();
    assert_eq!(answers, 1, "{:#?}", thread.comments);
    assert_eq!(app.openai.all_requests().len(), asked_before + 1);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_reply_shows_the_findings_lines_where_they_are_now() {
    const LATER: &str = "7dcb09b5b57875f334f61aebed695e2e4193db5e";
    let app = TestApp::start().await;
    let mut pull = Pull::new(
        REPO,
        36,
        HEAD,
        vec![File::new(
            "src/limiter.rs",
            "added",
            Some("@@ -0,0 +1,3 @@\n+fn check(n: u32) -> bool {\n+    n <= MAX\n+}"),
        )],
    );
    pull.contents.insert(
        "src/limiter.rs".into(),
        "fn check(n: u32) -> bool {\n    n <= MAX\n}\n".into(),
    );
    app.github.add_pull(pull);
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/limiter.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    app.deliver(
        "issue_comment",
        &comment_payload(36, "@codex review", "MEMBER"),
    )
    .await;
    app.settle().await;
    let root = app.github.state().threads[0].comments[0].id;
    // A push puts 30 lines above the finding: its line 2 is now line 32.
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 36).unwrap();
        pull.head_sha = LATER.into();
        pull.contents.insert(
            "src/limiter.rs".into(),
            format!(
                "{}fn check(n: u32) -> bool {{\n    n <= MAX\n}}\n",
                "// note\n".repeat(30)
            ),
        );
        pull.compares.insert(
            format!("{HEAD}...{LATER}"),
            (
                "ahead".into(),
                vec![File::new(
                    "src/limiter.rs",
                    "modified",
                    Some(&format!(
                        "@@ -1,2 +1,32 @@\n{} fn check(n: u32) -> bool {{\n     n <= MAX",
                        "+// note\n".repeat(30)
                    )),
                )],
            ),
        );
    }
    app.openai.push(Reply::Review(
        json!({"answer": "It admits MAX + 1 values."}),
    ));
    app.deliver(
        "pull_request_review_comment",
        &thread_reply(&app, 36, root, "@codex is this still wrong?", "MEMBER"),
    )
    .await;
    app.settle().await;
    let asked = app.openai.requests().last().unwrap().clone();
    let message = asked["input"][0]["content"].as_str().unwrap();
    assert!(message.contains("32:     n <= MAX"), "{message}");
    assert!(message.contains("lines 22-42 at the head"), "{message}");
    app.assert_no_violations();
    app.stop().await;
}
