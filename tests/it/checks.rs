//! The `codex-review` check run: in progress during the review, completed with its result,
//! a gate when the repository asks for one, and "Re-run" reviews again.

use crate::support;
use serde_json::json;
use support::*;

const HEAD: &str = "5555555555555555555555555555555555555555";
const PATCH: &str = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";

fn pull(number: u64, config: Option<&str>) -> Pull {
    // Each pull request its own head: a check run belongs to a commit.
    let head = if number == 1 || number == 4 {
        HEAD.to_owned()
    } else {
        format!("{number:c>40}")
    };
    let mut p = Pull::new(
        REPO,
        number,
        &head,
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    );
    if let Some(config) = config {
        p.base_sha = format!("{number:040x}");
        p.base_contents
            .insert(".github/codex-review.yml".into(), config.into());
    }
    p
}

async fn ask(app: &TestApp, pr: u64) {
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(pr, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
}

fn run_of(app: &TestApp, n: usize) -> support::fake_github::CheckRun {
    app.github.state().check_runs[n].clone()
}

#[tokio::test]
async fn a_review_completes_a_neutral_check_run_on_its_head() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(1, None));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        0,
        None,
    )])));
    ask(&app, 1).await;
    let run = run_of(&app, 0);
    assert_eq!(
        (run.name.as_str(), run.head_sha.as_str()),
        ("codex-review", HEAD)
    );
    assert_eq!(
        (run.status.as_str(), run.conclusion.as_deref()),
        ("completed", Some("neutral"))
    );
    assert_eq!(run.title.as_deref(), Some("1 finding"));
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn the_gate_fails_the_check_on_urgent_findings_only() {
    let app = TestApp::start().await;
    let config = "gate:\n  fail_on_priority: 1\n";
    app.github.add_pull(pull(2, Some(config)));
    app.github.add_pull(pull(3, Some(config)));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    ask(&app, 2).await;
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        2,
        None,
    )])));
    ask(&app, 3).await;
    let failed = run_of(&app, 0);
    assert_eq!(failed.conclusion.as_deref(), Some("failure"));
    assert!(
        failed
            .summary
            .unwrap()
            .contains("`gate.fail_on_priority: 1`")
    );
    assert_eq!(run_of(&app, 1).conclusion.as_deref(), Some("success"));
    app.stop().await;
}

#[tokio::test]
async fn re_running_the_check_reviews_again() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(4, None));
    ask(&app, 4).await;
    let first = run_of(&app, 0);
    let mut payload = spec::webhook("check_run.rerequested");
    payload["check_run"]["id"] = json!(first.id);
    payload["check_run"]["name"] = json!("codex-review");
    payload["check_run"]["head_sha"] = json!(HEAD);
    payload["check_run"]["pull_requests"] = json!([{"number": 4, "id": 1, "url": "https://api.github.com/x",
        "head": {"ref": "f", "sha": HEAD, "repo": {"id": 1, "url": "https://api.github.com/x", "name": "Hello-World"}},
        "base": {"ref": "main", "sha": "b", "repo": {"id": 1, "url": "https://api.github.com/x", "name": "Hello-World"}}}]);
    payload["installation"] = json!({"id": INSTALLATION, "node_id": "x"});
    payload["repository"]["full_name"] = json!(REPO);
    assert_eq!(app.deliver("check_run", &payload).await.0, 202);
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 2);
    // One check run per head SHA: the re-run reuses it and completes it again.
    let runs = app.github.state().check_runs.clone();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].status, "completed");
    // Another app's check is not ours to re-run.
    payload["check_run"]["name"] = json!("ci");
    assert_eq!(app.deliver("check_run", &payload).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_review_that_keeps_failing_fails_its_one_check_run_under_a_gate() {
    let app = TestApp::start().await;
    app.github
        .add_pull(pull(5, Some("gate:\n  fail_on_priority: 1\n")));
    app.github.add_pull(pull(6, None));
    // Every model call fails: each attempt retries its call, then the job is retried, then
    // given up.
    for _ in 0..12 {
        app.openai.push(Reply::Error {
            status: 500,
            code: "server_error",
            retry_after: None,
        });
    }
    ask(&app, 5).await;
    ask(&app, 6).await;
    let runs = app.github.state().check_runs.clone();
    // One check run per head, reused by the retry.
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let gated = runs
        .iter()
        .find(|r| r.head_sha == pull(5, None).head_sha)
        .unwrap();
    assert_eq!(
        (gated.status.as_str(), gated.conclusion.as_deref()),
        ("completed", Some("failure"))
    );
    assert_eq!(gated.title.as_deref(), Some("Review failed"));
    let plain = runs
        .iter()
        .find(|r| r.head_sha == pull(6, None).head_sha)
        .unwrap();
    assert_eq!(plain.conclusion.as_deref(), Some("neutral"));
    assert_eq!(plain.title.as_deref(), Some("Review failed"));
    assert_eq!(app.github.comments().len(), 2, "one failure comment each");
    app.stop().await;
}

#[tokio::test]
async fn a_head_the_configuration_does_not_review_gets_a_skipped_check_under_a_gate() {
    let app = TestApp::start().await;
    let off = "gate:\n  fail_on_priority: 1\nauto_review:\n  enabled: false\n";
    let filtered = "gate:\n  fail_on_priority: 1\npaths:\n  exclude: [\"src/**\"]\n";
    app.github.add_pull(pull(7, Some(off)));
    app.github.add_pull(pull(8, Some(filtered)));
    app.github
        .add_pull(pull(9, Some("auto_review:\n  enabled: false\n")));
    for n in [7, 8, 9] {
        let head = pull(n, None).head_sha;
        let (status, _) = app
            .deliver(
                "pull_request",
                &pull_request_payload("opened", n, &head, false),
            )
            .await;
        assert_eq!(status, 202);
    }
    app.settle().await;
    let runs = app.github.state().check_runs.clone();
    let of = |n: u64| {
        let head = pull(n, None).head_sha;
        runs.iter().find(|r| r.head_sha == head).cloned()
    };
    let off = of(7).expect("a check for the head automatic reviews skip");
    assert_eq!(
        (off.status.as_str(), off.conclusion.as_deref()),
        ("completed", Some("skipped"))
    );
    assert!(
        off.summary
            .unwrap()
            .contains("automatic reviews are turned off")
    );
    let filtered = of(8).expect("a check for the head whose files are all filtered");
    assert_eq!(filtered.conclusion.as_deref(), Some("skipped"));
    assert_eq!(filtered.title.as_deref(), Some("Nothing to review"));
    // Without a gate, nothing asks for a check.
    assert!(of(9).is_none());
    assert_eq!(app.openai.requests().len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_long_review_keeps_its_check_run_saying_where_it_is() {
    let mut options = Options::default();
    options
        .env
        .push(("CODEX_REVIEW_CHUNK_TOKENS", "1000".into()));
    options.env.push(("CODEX_REVIEW_MAX_CALLS", "20".into()));
    let app = TestApp::start_with(options).await;
    // Three files of about 1,500 bytes of patch each: one part per file.
    let files: Vec<File> = (0..3)
        .map(|i| {
            let body: String = (0..60).map(|l| format!("+let v{l} = {i};\n")).collect();
            File::new(
                &format!("src/f{i}.rs"),
                "added",
                Some(&format!("@@ -0,0 +1,60 @@\n{}", body.trim_end())),
            )
        })
        .collect();
    let head = "9".repeat(40);
    app.github.add_pull(Pull::new(REPO, 61, &head, files));
    app.openai.respond_with(|_| {
        Reply::Review(review_with(vec![finding(
            "src/f0.rs",
            "RIGHT",
            2,
            2,
            1,
            None,
        )]))
    });
    ask(&app, 61).await;
    assert!(
        app.openai.requests().len() >= 3,
        "{} parts",
        app.openai.requests().len()
    );
    let titles: Vec<String> = app
        .github
        .state()
        .check_run_updates
        .iter()
        .filter_map(|(_, _, t)| t.clone())
        .collect();
    // Updates are coalesced (the latest wins), so not every part shows; some do.
    assert!(
        titles.iter().any(|t| t.starts_with("Reviewing: ")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t == "Verifying 1 finding"),
        "{titles:?}"
    );
    // The completion comes last: no progress lands after it.
    let last = app
        .github
        .state()
        .check_run_updates
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last.1, "completed", "{titles:?}");
    app.stop().await;
}

/// A push to pull request `pr` that touches only `README.md`: the head moves from `from` to
/// `to`, and GitHub sends `synchronize`.
async fn push_unrelated(app: &TestApp, pr: u64, from: &str, to: &str) {
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == pr).unwrap();
        pull.head_sha = to.into();
        pull.commits.push(to.into());
        let readme = File::new("README.md", "modified", Some("@@ -1 +1,2 @@\n a\n+b"));
        if !pull.files.iter().any(|f| f.filename == "README.md") {
            pull.files.push(readme.clone());
        }
        pull.compares
            .insert(format!("{from}...{to}"), ("ahead".into(), vec![readme]));
    }
    let payload = pull_request_payload("synchronize", pr, to, false);
    assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
    app.settle().await;
}

fn run_on(app: &TestApp, head: &str) -> support::fake_github::CheckRun {
    let runs = app.github.state().check_runs.clone();
    runs.into_iter()
        .find(|r| r.head_sha == head)
        .unwrap_or_else(|| panic!("no check run on {head}"))
}

#[tokio::test]
async fn the_gate_holds_on_later_pushes_while_a_finding_is_open() {
    let app = TestApp::start().await;
    let config = "gate:\n  fail_on_priority: 1\nauto_review:\n  on: [opened, synchronize]\n";
    let mut p = pull(10, Some(config));
    let a = p.head_sha.clone();
    p.contents
        .insert("src/lib.rs".into(), "a\nB\nC\nd\n".into());
    app.github.add_pull(p);
    {
        let mut st = app.github.state();
        st.permissions.insert("maintainer".into(), "write".into());
        st.permissions.insert("drive-by".into(), "read".into());
    }
    let mut urgent = finding("src/lib.rs", "RIGHT", 2, 2, 1, None);
    urgent["title"] = json!("Token compared with ==");
    app.openai.push(Reply::Review(review_with(vec![urgent])));
    ask(&app, 10).await;
    assert_eq!(run_on(&app, &a).conclusion.as_deref(), Some("failure"));
    let review = app.github.reviews()[0].clone();
    assert_eq!(review.comments.len(), 1);

    // A push that touches another file: the re-review finds nothing new. The finding is still
    // open, so the check of the new head fails too, and says which finding holds it.
    let b = "b".repeat(40);
    app.openai.push(Reply::Review(review_with(vec![])));
    push_unrelated(&app, 10, &a, &b).await;
    let held = run_on(&app, &b);
    assert_eq!(held.conclusion.as_deref(), Some("failure"), "{held:#?}");
    assert_eq!(held.title.as_deref(), Some("1 open finding at P1 or above"));
    let summary = held.summary.clone().unwrap();
    let comment_id = app.github.state().threads[0].comments[0].id;
    assert!(summary.contains("Token compared with =="), "{summary}");
    assert!(
        summary.contains(&format!("#discussion_r{comment_id})")),
        "{summary}"
    );
    assert!(summary.contains("`src/lib.rs:2`"), "{summary}");

    // A 👎 from someone who may not run commands changes nothing.
    app.github
        .state()
        .review_reactions
        .push((comment_id, "-1".into(), "drive-by".into()));
    let c = "c".repeat(40);
    app.openai.push(Reply::Review(review_with(vec![])));
    push_unrelated(&app, 10, &b, &c).await;
    assert_eq!(run_on(&app, &c).conclusion.as_deref(), Some("failure"));

    // A maintainer's "won't fix" dismisses it: the next head passes.
    app.github.state().threads[0]
        .comments
        .push(support::fake_github::ThreadComment {
            id: 95_001,
            body: "Won't fix: both sides are constant-length hashes.".into(),
            author: "maintainer".into(),
            association: "MEMBER".into(),
            review_id: Some(review.id),
        });
    let d = "d".repeat(40);
    app.openai.push(Reply::Review(review_with(vec![])));
    push_unrelated(&app, 10, &c, &d).await;
    let passed = run_on(&app, &d);
    assert_eq!(passed.conclusion.as_deref(), Some("success"), "{passed:#?}");
    app.stop().await;
}

#[tokio::test]
async fn pausing_does_not_turn_the_gate_green_while_a_finding_is_open() {
    let app = TestApp::start().await;
    let config = "gate:\n  fail_on_priority: 1\nauto_review:\n  on: [opened, synchronize]\n";
    let p = pull(12, Some(config));
    let a = p.head_sha.clone();
    app.github.add_pull(p);
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        0,
        None,
    )])));
    ask(&app, 12).await;
    assert_eq!(run_on(&app, &a).conclusion.as_deref(), Some("failure"));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(12, "@codex pause", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    let b = "e".repeat(40);
    push_unrelated(&app, 12, &a, &b).await;
    let paused = run_on(&app, &b);
    assert_eq!(paused.conclusion.as_deref(), Some("failure"), "{paused:#?}");
    assert!(paused.summary.unwrap().contains("paused"));
    assert_eq!(app.openai.requests().len(), 1);
    app.stop().await;
}
