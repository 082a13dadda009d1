//! What a review asks of GitHub: the calls one review of a 40-file pull request makes, and the
//! round trips made one after another before its review is posted (with each answer delayed,
//! calls made at once overlap; calls made in turn do not). The file contents the model is
//! shown come from the head's snapshot when the review has one; the contents API only serves
//! a review without tools.

use std::time::Duration;

use crate::support;
use support::fake_github::Call;
use support::*;

/// The 40-file pull request and one modified file, on its own base commit.
fn forty_files(number: u64) -> Pull {
    let mut pull = forty_file_pull(number);
    // A modified file whose line far from its hunk the model sees only with the file's text.
    let lib: String = (1..=60)
        .map(|l| match l {
            50 => "// FAR_FROM_THE_HUNK\n".to_owned(),
            _ => format!("fn f{l}() {{}}\n"),
        })
        .collect();
    pull.files.push(File::new(
        "src/module_lib.rs",
        "modified",
        Some("@@ -1,2 +1,2 @@\n-fn f0() {}\n+fn f1() {}\n fn f2() {}"),
    ));
    pull.contents.insert("src/module_lib.rs".into(), lib);
    pull
}

/// The longest chain of calls each made after the previous one was answered: the round
/// trips a review waited for one after another.
fn rounds(calls: &[Call]) -> usize {
    // The check run's progress updates go out on their own task and nothing waits for them:
    // only its last update, the completion, is in the review's path. (Under load, a slow
    // model leaves gaps that they would otherwise fill, as rounds of their own.)
    let is_check_update =
        |c: &Call| c.method == axum::http::Method::PATCH && c.path.contains("/check-runs/");
    let last_update = calls.iter().rposition(is_check_update);
    let mut by_end: Vec<&Call> = calls
        .iter()
        .enumerate()
        .filter(|(i, c)| !is_check_update(c) || Some(*i) == last_update)
        .map(|(_, c)| c)
        .collect();
    by_end.sort_by_key(|c| c.answered);
    let mut chain = 0;
    let mut free_at = None;
    for call in by_end {
        if free_at.is_none_or(|t| call.arrived >= t) {
            chain += 1;
            free_at = Some(call.answered);
        }
    }
    chain
}

/// The calls of one review of pull request `number`, from its delivery to its posted review.
async fn one_review(app: &TestApp, number: u64) -> Vec<Call> {
    let before = app.github.calls().len();
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/module_00.rs",
        "RIGHT",
        3,
        3,
        1,
        None,
    )])));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(number, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    let calls = app.github.calls()[before..].to_vec();
    let posted = calls
        .iter()
        .position(|c| c.method == "POST" && c.path.ends_with(&format!("/pulls/{number}/reviews")))
        .expect("a review was posted");
    calls[..=posted].to_vec()
}

/// Whether a request to the model showed `src/module_lib.rs` beyond its hunk.
fn the_model_saw_the_whole_file(app: &TestApp) -> bool {
    app.openai.requests().iter().any(|r| {
        r["input"][0]["content"]
            .as_str()
            .is_some_and(|m| m.contains("FAR_FROM_THE_HUNK"))
    })
}

fn contents_reads(calls: &[Call]) -> usize {
    calls
        .iter()
        .filter(|c| c.path.contains("/contents/src/module_"))
        .count()
}

#[tokio::test]
async fn a_review_reads_its_files_from_the_snapshot_in_few_calls_and_rounds() {
    let app = TestApp::start().await;
    // The installation's token and the App's identity, as a running service has them.
    app.github.add_pull(forty_files(1));
    one_review(&app, 1).await;
    app.github.state().delay = Duration::from_millis(100);
    app.github.add_pull(forty_files(2));
    let calls = one_review(&app, 2).await;
    let start = calls[0].arrived;
    let listed: Vec<String> = calls
        .iter()
        .map(|c| {
            let at = |t: std::time::Instant| t.duration_since(start).as_millis();
            format!(
                "{} {} ({}–{} ms)",
                c.method,
                c.path,
                at(c.arrived),
                at(c.answered)
            )
        })
        .collect();
    eprintln!(
        "one review of 40 files: {} GitHub calls, {} round trips in turn before it is posted:\n{}",
        calls.len(),
        rounds(&calls),
        listed.join("\n")
    );
    assert_eq!(contents_reads(&calls), 0, "{listed:#?}");
    assert!(the_model_saw_the_whole_file(&app), "read from the snapshot");
    assert!(calls.len() <= 20, "{} calls: {listed:#?}", calls.len());
    assert!(
        rounds(&calls) <= 6,
        "{} rounds: {listed:#?}",
        rounds(&calls)
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn without_tools_the_files_are_read_through_the_contents_api() {
    let app = TestApp::start().await;
    let mut pull = forty_files(3);
    pull.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  tools: false\n".into(),
    );
    app.github.add_pull(pull);
    let calls = one_review(&app, 3).await;
    assert_eq!(contents_reads(&calls), 41);
    assert!(the_model_saw_the_whole_file(&app));
    app.assert_no_violations();
    app.stop().await;
}
