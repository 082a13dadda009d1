//! The 👀 acknowledgement: added at once even when every review worker is busy, and an
//! author who may not run commands costs no GitHub call beyond deciding that.

use crate::support;
use std::time::Duration;

use support::*;

const PATCH: &str = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";

fn pull(number: u64) -> Pull {
    let mut p = Pull::new(
        REPO,
        number,
        &format!("{number:d>40}"),
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    );
    p.base_sha = base_of(number);
    p
}

fn base_of(number: u64) -> String {
    format!("{number:e>40}")
}

/// One review worker, busy with PR 1 whose model call hangs for a while.
async fn busy_app() -> TestApp {
    let mut options = Options::default();
    options.env.push(("CODEX_REVIEW_WORKERS", "1".into()));
    let app = TestApp::start_with(options).await;
    app.github.add_pull(pull(1));
    app.openai.push(Reply::Delay(
        Duration::from_secs(3),
        Box::new(Reply::Review(review_with(vec![]))),
    ));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(1, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    wait_for("the busy review's model call", || {
        app.openai.requests().len() == 1
    })
    .await;
    app
}

/// The calls made about PR `pr` (whose command is comment `comment`).
fn calls_for(app: &TestApp, pr: u64, comment: u64) -> Vec<String> {
    app.github
        .calls()
        .iter()
        .filter(|c| {
            c.path.ends_with(&format!("/pulls/{pr}"))
                || c.path.contains(&format!("/pulls/{pr}/"))
                || c.path.contains(&format!("/issues/{pr}/"))
                || c.query.contains(&base_of(pr))
                || c.path.contains(&format!("/comments/{comment}/"))
                || c.path.ends_with("/permission")
        })
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

#[tokio::test]
async fn the_eyes_appear_while_every_worker_is_busy() {
    let app = busy_app().await;
    app.github.add_pull(pull(2));
    let payload = comment_payload(2, "@codex review", "MEMBER");
    let comment = payload["comment"]["id"].as_u64().unwrap();
    assert_eq!(app.deliver("issue_comment", &payload).await.0, 202);
    let github = app.github.clone();
    wait_for("the 👀 on the second comment", || {
        github
            .state()
            .reactions
            .iter()
            .any(|(_, c, k)| *c == comment && k == "eyes")
    })
    .await;
    // It came while the only worker was still busy with the first review.
    assert!(app.github.reviews().is_empty());
    assert_eq!(app.openai.requests().len(), 1);
    app.openai.push(Reply::Review(review_with(vec![])));
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 2);
    // One reaction per comment: the worker did not add another.
    let reactions = app.github.state().reactions.clone();
    assert_eq!(
        reactions.iter().filter(|(_, c, _)| *c == comment).count(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn an_outsiders_command_costs_only_the_calls_that_decide_it_while_workers_are_busy() {
    let app = busy_app().await;
    app.github.add_pull(pull(3));
    let payload = comment_payload(3, "@codex review", "CONTRIBUTOR");
    let comment = payload["comment"]["id"].as_u64().unwrap();
    let (status, _) = app.deliver("issue_comment", &payload).await;
    assert_eq!(status, 202);
    app.openai.push(Reply::Review(review_with(vec![])));
    app.settle().await;
    assert!(
        app.github
            .state()
            .reactions
            .iter()
            .all(|(_, c, _)| *c != comment)
    );
    let calls = calls_for(&app, 3, comment);
    assert_eq!(
        calls,
        vec![
            format!("GET /repos/{REPO}/pulls/3"),
            format!("GET /repos/{REPO}/contents/.github/codex-review.yml"),
        ],
        "{calls:#?}"
    );
    let counts = app.running().store.job_counts().await.unwrap();
    assert!(counts.contains(&("cancelled".to_string(), 1)), "{counts:?}");
    app.stop().await;
}

#[tokio::test]
async fn an_outsiders_command_costs_only_the_calls_that_decide_it_when_a_worker_is_free() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(4));
    let payload = comment_payload(4, "@codex review", "CONTRIBUTOR");
    let comment = payload["comment"]["id"].as_u64().unwrap();
    let (status, _) = app.deliver("issue_comment", &payload).await;
    assert_eq!(status, 202);
    app.settle().await;
    // Let the acknowledgement loop finish too.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(app.github.state().reactions.is_empty());
    let calls = calls_for(&app, 4, comment);
    assert_eq!(
        calls,
        vec![
            format!("GET /repos/{REPO}/pulls/4"),
            format!("GET /repos/{REPO}/contents/.github/codex-review.yml"),
        ],
        "{calls:#?}"
    );
    assert!(app.openai.requests().is_empty());
    app.stop().await;
}
