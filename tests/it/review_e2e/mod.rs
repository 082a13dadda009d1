//! End to end: signed deliveries into the running service, reviews out on the fake GitHub.

mod failures;

use crate::support;
use serde_json::json;
use support::*;

const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

/// Old lines 10-16 and 40-42, new lines 10-18 and 42-45.
const LIMITER_PATCH: &str = "@@ -10,7 +10,9 @@ impl Limiter {
     pub fn check(&self, key: &str) -> bool {
-        let count = self.counts.get(key);
+        let mut counts = self.counts.lock().unwrap();
+        let count = counts.entry(key.to_string()).or_insert(0);
+        *count += 1;
         if count > self.max {
             return false;
         }
         true
     }
@@ -40,3 +42,4 @@ impl Drop for Limiter {
     fn drop(&mut self) {
         self.flush();
+        self.flush();
     }";

fn limiter_pull(number: u64) -> Pull {
    Pull::new(
        REPO,
        number,
        HEAD,
        vec![
            File::new("src/limiter.rs", "modified", Some(LIMITER_PATCH)),
            File::new("docs/logo.png", "added", None),
        ],
    )
}

fn inline(review: &support::fake_github::Review) -> Vec<(String, String, u64, Option<u64>)> {
    review
        .comments
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_owned(),
                c["side"].as_str().unwrap().to_owned(),
                c["line"].as_u64().unwrap(),
                c["start_line"].as_u64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn comment_trigger_posts_inline_comments_on_the_right_lines() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(7));
    app.openai.push(Reply::Review(review_with(vec![
        finding(
            "src/limiter.rs",
            "RIGHT",
            12,
            12,
            0,
            Some("        let count = counts.entry(key.to_owned()).or_insert(0);"),
        ),
        finding("src/limiter.rs", "RIGHT", 14, 14, 2, None),
        finding("src/limiter.rs", "LEFT", 11, 11, 1, None),
        finding("src/limiter.rs", "RIGHT", 11, 13, 1, None),
        finding("src/limiter.rs", "RIGHT", 30, 31, 2, None),
    ])));

    let payload = comment_payload(
        7,
        "Looks close.\n\n@codex review security performance",
        "MEMBER",
    );
    let comment_id = payload["comment"]["id"].as_u64().unwrap();
    let (status, _) = app.deliver("issue_comment", &payload).await;
    assert_eq!(status, 202);
    app.settle().await;

    // 👀 on the trigger.
    let reactions = app.github.state().reactions.clone();
    assert_eq!(
        reactions,
        vec![(REPO.to_string(), comment_id, "eyes".to_string())]
    );

    // One review, a COMMENT on the reviewed head.
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    let review = &reviews[0];
    assert_eq!(review.state, "COMMENTED");
    assert_eq!(review.commit_id, HEAD);
    assert!(review.body.contains(&format!(
        "<!-- codex-review sha={HEAD} trigger=comment-{comment_id} -->"
    )));

    // Most important first: P0 added line, P1 deleted line (LEFT), P1 range, P2 context line.
    assert_eq!(
        inline(review),
        vec![
            ("src/limiter.rs".into(), "RIGHT".into(), 12, None),
            ("src/limiter.rs".into(), "LEFT".into(), 11, None),
            ("src/limiter.rs".into(), "RIGHT".into(), 13, Some(11)),
            ("src/limiter.rs".into(), "RIGHT".into(), 14, None),
        ]
    );
    let first = review.comments[0]["body"].as_str().unwrap();
    assert!(
        first.starts_with("**[P0] Problem at src/limiter.rs:12**"),
        "{first}"
    );
    assert!(
        first.contains(
            "```suggestion\n        let count = counts.entry(key.to_owned()).or_insert(0);\n```"
        ),
        "{first}"
    );
    assert_eq!(review.comments[2]["start_side"], json!("RIGHT"));

    // The off-diff finding is in the summary with its location; counts and focus too.
    assert!(
        review.body.contains("Problem at src/limiter.rs:30"),
        "{}",
        review.body
    );
    assert!(
        review
            .body
            .contains("`src/limiter.rs` lines 30–31 (RIGHT); its lines are outside the diff")
    );
    assert!(review.body.contains("| 1 | 2 | 2 | 0 |"), "{}", review.body);
    assert!(review.body.contains("Focus: security, performance."));
    assert!(
        review
            .body
            .contains("`docs/logo.png`: binary or empty file")
    );

    // The model saw the diff with explicit numbers, the PR as untrusted data, the focus.
    let requests = app.openai.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req["model"], json!("gpt-5.1-codex"));
    assert_eq!(req["store"], json!(false));
    assert_eq!(req["reasoning"]["effort"], json!("medium"));
    assert_eq!(req["text"]["format"]["type"], json!("json_schema"));
    assert_eq!(req["text"]["format"]["strict"], json!(true));
    let message = req["input"][0]["content"].as_str().unwrap();
    assert!(message.contains("BEGIN UNTRUSTED PULL REQUEST DATA"));
    assert!(
        message.contains("    11        -        let count = self.counts.get(key);"),
        "{message}"
    );
    assert!(message.contains(
        "           12 +        let count = counts.entry(key.to_string()).or_insert(0);"
    ));
    assert!(
        message
            .trim_end()
            .ends_with("look for these first: security, performance, correctness.")
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn zero_findings_post_a_short_review() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(8));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(8, "@codex review", "OWNER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert!(reviews[0].comments.is_empty());
    assert!(
        reviews[0].body.contains("no issues found"),
        "{}",
        reviews[0].body
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn ready_for_review_and_ready_opened_prs_are_reviewed_without_a_comment() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(9));
    app.github.add_pull(limiter_pull(10));
    let mut draft = limiter_pull(11);
    draft.draft = true;
    app.github.add_pull(draft);
    let (s1, _) = app
        .deliver(
            "pull_request",
            &pull_request_payload("ready_for_review", 9, HEAD, false),
        )
        .await;
    let (s2, _) = app
        .deliver(
            "pull_request",
            &pull_request_payload("opened", 10, HEAD, false),
        )
        .await;
    let (s3, body) = app
        .deliver(
            "pull_request",
            &pull_request_payload("opened", 11, HEAD, true),
        )
        .await;
    // The draft is queued, and the base branch's configuration (default: no drafts) skips it.
    assert_eq!((s1, s2, s3), (202, 202, 202), "{body}");
    app.settle().await;
    let mut prs: Vec<u64> = app.github.reviews().iter().map(|r| r.pr).collect();
    prs.sort();
    assert_eq!(prs, vec![9, 10]);
    assert!(app.github.state().reactions.is_empty());
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn redelivered_webhook_reviews_once() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(12));
    let payload = comment_payload(12, "@codex review", "COLLABORATOR");
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    assert_eq!(app.deliver_as("issue_comment", id, &payload).await.0, 202);
    app.settle().await;
    let (status, body) = app.deliver_as("issue_comment", id, &payload).await;
    assert_eq!((status, body.trim()), (200, "duplicate delivery"));
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    assert_eq!(app.openai.requests().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn untrusted_bot_and_issue_comments_cost_nothing() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(13));
    let mut bot = comment_payload(13, "@codex review", "MEMBER");
    bot["comment"]["user"]["type"] = json!("Bot");
    bot["comment"]["user"]["login"] = json!("codex-review[bot]");
    let mut on_issue = comment_payload(13, "@codex review", "MEMBER");
    on_issue["issue"]
        .as_object_mut()
        .unwrap()
        .remove("pull_request");
    let mut edited = comment_payload(13, "@codex review", "MEMBER");
    edited["action"] = json!("edited");
    let quoted = comment_payload(13, "> @codex review\nno thanks", "MEMBER");
    for payload in [bot, on_issue, edited, quoted] {
        let (status, body) = app.deliver("issue_comment", &payload).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.starts_with("ignored"), "{body}");
    }
    app.settle().await;
    assert!(app.github.calls().is_empty(), "{:?}", app.github.calls());
    // An outside contributor's command is checked against the base branch's configuration
    // (default: owners, members, collaborators): no reaction, no model call, no reply.
    let contributor = comment_payload(13, "@codex review", "CONTRIBUTOR");
    assert_eq!(app.deliver("issue_comment", &contributor).await.0, 202);
    let no_association = {
        let mut p = comment_payload(13, "@codex review", "NONE");
        p["comment"]
            .as_object_mut()
            .unwrap()
            .remove("author_association");
        p["comment"]["user"]["login"] = json!("stranger");
        p
    };
    assert_eq!(app.deliver("issue_comment", &no_association).await.0, 202);
    app.settle().await;
    assert!(app.openai.requests().is_empty());
    assert!(app.github.reviews().is_empty() && app.github.comments().is_empty());
    assert!(app.github.state().reactions.is_empty());
    // Without an association GitHub was asked for the author's permission.
    assert!(
        app.github
            .calls()
            .iter()
            .any(|c| c.path.ends_with("/permission"))
    );
    app.stop().await;
}

#[tokio::test]
async fn enterprise_api_base_with_a_path_works() {
    let app = TestApp::start_with(Options {
        api_prefix: "/api/v3",
        ..Options::default()
    })
    .await;
    app.github.add_pull(limiter_pull(18));
    app.github.add_pull(limiter_pull(19));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(18, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(19, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 2);
    // One installation token for both reviews: the installation client is cached.
    assert_eq!(app.github.state().token_requests, 1);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn many_files_are_read_page_by_page() {
    let app = TestApp::start().await;
    let files: Vec<File> = (0..250)
        .map(|i| {
            File::new(
                &format!("src/m{i:03}.rs"),
                "added",
                Some("@@ -0,0 +1,2 @@\n+fn a() {}\n+fn b() {}"),
            )
        })
        .collect();
    app.github.add_pull(Pull::new(REPO, 20, HEAD, files));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/m249.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(20, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    let pages: Vec<String> = app
        .github
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("/files"))
        .map(|c| c.query.clone())
        .collect();
    assert_eq!(
        pages,
        vec![
            "per_page=100&page=1",
            "per_page=100&page=2",
            "per_page=100&page=3"
        ]
    );
    let reviews = app.github.reviews();
    assert_eq!(reviews[0].comments.len(), 1);
    assert_eq!(reviews[0].comments[0]["path"], json!("src/m249.rs"));
    app.stop().await;
}

#[tokio::test]
async fn model_text_cannot_mention_people_or_forge_the_marker() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(21));
    let mut f = finding("src/limiter.rs", "RIGHT", 12, 12, 1, None);
    f["body"] = json!(
        "cc @octocat <!-- codex-review sha=0000000000000000000000000000000000000000 trigger=x -->"
    );
    let mut review = review_with(vec![f]);
    review["overall_explanation"] = json!("ping @admins");
    app.openai.push(Reply::Review(review));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(21, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    let r = &app.github.reviews()[0];
    let all: String = std::iter::once(r.body.clone())
        .chain(
            r.comments
                .iter()
                .map(|c| c["body"].as_str().unwrap().to_owned()),
        )
        .collect();
    assert!(!all.contains("@octocat") && !all.contains("@admins"));
    assert_eq!(all.matches("<!--").count(), 1, "{all}");
    app.stop().await;
}

#[tokio::test]
async fn a_pull_request_without_line_changes_gets_a_review_without_a_model_call() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        22,
        HEAD,
        vec![File::new("assets/logo.png", "added", None)],
    ));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(22, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert!(app.openai.requests().is_empty());
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert!(
        reviews[0].body.contains("nothing to review"),
        "{}",
        reviews[0].body
    );
    assert!(
        reviews[0]
            .body
            .contains("`assets/logo.png`: binary or empty file")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refused_review_is_posted_again_with_its_comments_in_the_summary() {
    let app = TestApp::start().await;
    app.github.add_pull(limiter_pull(23));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/limiter.rs",
        "RIGHT",
        12,
        12,
        1,
        None,
    )])));
    // GitHub refuses the first attempt as if a line could not be resolved.
    app.github.fail_next(support::fake_github::Fault {
        method: http::Method::POST,
        path_suffix: "/pulls/23/reviews".into(),
        status: 422,
        body: json!({"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}),
        headers: vec![],
        after_effect: false,
    });
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(23, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert!(reviews[0].comments.is_empty());
    assert!(
        reviews[0]
            .body
            .contains("Inline comments that GitHub refused")
    );
    assert!(reviews[0].body.contains("Problem at src/limiter.rs:12"));
    app.stop().await;
}
