//! Pull mode: GitHub cannot reach the service, so the service reads the App's delivery log and
//! takes each delivery in as if it had arrived at `/webhook`: reviewed once, across restarts
//! and replicas, and a delivery GitHub lists but cannot return yet is read again.

use crate::support;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

/// A delivery GitHub logged `ago_secs` ago and could not send (nothing listens at the URL).
fn logged(id: u64, guid: &str, event: &str, ago_secs: u64) -> Value {
    json!({
        "id": id, "guid": guid,
        "delivered_at": codex_review::when::rfc3339_ago(Duration::from_secs(ago_secs)),
        "redelivery": false, "duration": 10.0, "status": "failed to connect",
        "status_code": 0, "event": event, "action": "created",
        "installation_id": INSTALLATION, "repository_id": 1
    })
}

fn guid(n: u64) -> String {
    format!("5a1e0000-0000-11ee-8000-{n:012x}")
}

fn pull_with_file(pr: u64) -> Pull {
    Pull::new(
        REPO,
        pr,
        &format!("{:040x}", 0xe000 + pr),
        vec![File::new(
            "src/lib.rs",
            "added",
            Some("@@ -0,0 +1,2 @@\n+a\n+b"),
        )],
    )
}

/// Logs `deliveries` (newest first, as GitHub lists them) with their payloads.
fn log(github: &FakeGitHub, deliveries: Vec<(Value, String, Value)>) {
    let mut st = github.state();
    for (item, event, payload) in deliveries {
        let guid = item["guid"].as_str().unwrap().to_owned();
        st.hook_payloads.insert(guid, (event, payload));
        st.hook_deliveries.push(item);
    }
}

/// Passes over the delivery log so far, from `/metrics`.
async fn polls(app: &TestApp) -> u64 {
    let (_, text) = app.get("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix("codex_review_pull_polls_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A service in pull mode against `github` and `openai` (on `db`, or a fresh SQLite file),
/// reading the log every 100 ms.
fn pull_mode(github: &FakeGitHub, openai: &FakeOpenAi, db: Option<&TestDb>) -> Options {
    let mut options = Options {
        fakes: Some((github.clone(), openai.clone())),
        database_url: db.map(|db| db.url.clone()),
        ..Options::default()
    };
    options.env.extend([
        ("CODEX_REVIEW_DELIVERIES", "pull".to_owned()),
        ("CODEX_REVIEW_PULL_EVERY", "100ms".to_owned()),
        // Pull mode needs no redelivery: were it asked for, the test would see it.
        ("CODEX_REVIEW_REDELIVER_HOURS", "24".to_owned()),
    ]);
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_github_could_not_send_are_read_from_its_log_and_only_triggers_cost_a_call() {
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    github.add_pull(pull_with_file(80));
    github.add_pull(pull_with_file(81));
    let mut ready = pull_request_payload(
        "ready_for_review",
        81,
        &format!("{:040x}", 0xe000 + 81),
        false,
    );
    ready["pull_request"]["title"] = json!("Add a limiter");
    let mut closed =
        pull_request_payload("ready_for_review", 82, &format!("{:040x}", 0xe052), false);
    closed["action"] = json!("closed");
    log(
        &github,
        vec![
            // A redelivery of the comment, asked for by hand on GitHub: the same delivery.
            (
                logged(16, &guid(1), "issue_comment", 10),
                "issue_comment".into(),
                comment_payload(80, "@codex review", "MEMBER"),
            ),
            (
                logged(15, &guid(5), "pull_request", 20),
                "pull_request".into(),
                closed,
            ),
            (
                logged(14, &guid(4), "pull_request", 30),
                "pull_request".into(),
                ready,
            ),
            (
                logged(13, &guid(3), "issue_comment", 40),
                "issue_comment".into(),
                comment_payload(80, "Thanks, looks good!", "MEMBER"),
            ),
            (
                logged(12, &guid(2), "ping", 50),
                "ping".into(),
                json!({"zen": "Keep it logically awesome.", "hook_id": 42}),
            ),
            (
                logged(11, &guid(1), "issue_comment", 60),
                "issue_comment".into(),
                comment_payload(80, "@codex review", "MEMBER"),
            ),
        ],
    );
    openai.push(Reply::Review(review_with(vec![])));
    openai.push(Reply::Review(review_with(vec![])));
    let app = TestApp::start_with(pull_mode(&github, &openai, None)).await;
    wait_for("both reviews", || app.github.reviews().len() == 2).await;
    wait_for("every delivery read", || {
        app.github.state().hook_delivery_reads.len() >= 5
    })
    .await;
    // Three more passes: nothing is read or reviewed twice.
    let reads_then = app.github.state().hook_delivery_reads.len();
    let polls_then = polls(&app).await;
    for _ in 0..200 {
        if polls(&app).await >= polls_then + 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(polls(&app).await >= polls_then + 3, "the log is read again");
    app.settle().await;
    let mut prs: Vec<u64> = app.github.reviews().iter().map(|r| r.pr).collect();
    prs.sort();
    assert_eq!(prs, vec![80, 81], "each trigger reviewed once");
    assert_eq!(
        app.openai.requests().len(),
        2,
        "only the triggers cost a call"
    );
    let (reads, redeliveries) = {
        let st = app.github.state();
        (
            st.hook_delivery_reads.clone(),
            st.redelivery_requests.clone(),
        )
    };
    // Five deliveries, one read each; the redelivery of the comment is not read again.
    assert_eq!(reads.len(), reads_then);
    let mut sorted = reads.clone();
    sorted.sort();
    assert_eq!(sorted, vec![11, 12, 13, 14, 15], "{reads:?}");
    assert!(redeliveries.is_empty(), "nothing to redeliver in pull mode");
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("codex_review_pull_deliveries_total 5\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("codex_review_pull_read_failures_total 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("codex_review_pull_lag_seconds "),
        "{metrics}"
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_delivery_github_cannot_return_is_read_again_until_it_can() {
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    github.add_pull(pull_with_file(83));
    log(
        &github,
        vec![(
            logged(21, &guid(21), "issue_comment", 5),
            "issue_comment".into(),
            comment_payload(83, "@codex review", "MEMBER"),
        )],
    );
    github.state().hook_delivery_failures.insert(21, 2);
    openai.push(Reply::Review(review_with(vec![])));
    let app = TestApp::start_with(pull_mode(&github, &openai, None)).await;
    wait_for("the review", || app.github.reviews().len() == 1).await;
    app.settle().await;
    assert_eq!(app.github.state().hook_delivery_reads, vec![21, 21, 21]);
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("codex_review_pull_read_failures_total 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("codex_review_pull_given_up_total 0\n"),
        "{metrics}"
    );
    assert_eq!(app.running().store.log_miss_count().await.unwrap(), 0);
    app.assert_no_violations();
    app.stop().await;
}

/// Four comments on four pull requests, logged newest first.
fn four_triggers(github: &FakeGitHub) {
    for pr in 90..94 {
        github.add_pull(pull_with_file(pr));
    }
    log(
        github,
        (90..94u64)
            .rev()
            .map(|pr| {
                (
                    logged(pr, &guid(pr), "issue_comment", 100 - pr),
                    "issue_comment".into(),
                    comment_payload(pr, "@codex review", "MEMBER"),
                )
            })
            .collect(),
    );
}

both_backends!(a_restart_in_the_middle_of_a_pass_loses_nothing_and_repeats_nothing);

async fn a_restart_in_the_middle_of_a_pass_loses_nothing_and_repeats_nothing(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    four_triggers(&github);
    for _ in 0..4 {
        openai.push(Reply::Review(review_with(vec![])));
    }
    // GitHub answers slowly: the service stops while the pass is under way.
    github.state().delay = Duration::from_millis(150);
    let options = || {
        let mut options = pull_mode(&github, &openai, Some(&db));
        // A job left behind by the stop is taken back soon.
        options.tuning.worker.lease = Duration::from_secs(3);
        options
    };
    let first = TestApp::start_with(options()).await;
    wait_for("the first delivery read", || {
        !github.state().hook_delivery_reads.is_empty()
    })
    .await;
    // GitHub fast again, so the review under way finishes within the shutdown's grace.
    github.state().delay = Duration::ZERO;
    first.stop().await;
    let stopped_after = github.state().hook_delivery_reads.len();
    assert!(
        stopped_after < 4,
        "the pass was not interrupted: {stopped_after} reads"
    );

    let second = TestApp::start_with(options()).await;
    wait_for("four reviews", || second.github.reviews().len() == 4).await;
    second.settle().await;
    let mut prs: Vec<u64> = second.github.reviews().iter().map(|r| r.pr).collect();
    prs.sort();
    assert_eq!(prs, vec![90, 91, 92, 93]);
    assert_eq!(second.openai.requests().len(), 4);
    assert_eq!(second.running().store.log_cursor().await.unwrap(), Some(93));
    second.assert_no_violations();
    second.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_take_each_delivery_once() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    four_triggers(&github);
    for _ in 0..4 {
        openai.push(Reply::Review(review_with(vec![])));
    }
    let options = || pull_mode(&github, &openai, Some(&db));
    let (a, b) = tokio::join!(
        TestApp::start_with(options()),
        TestApp::start_with(options())
    );
    wait_for("four reviews", || a.github.reviews().len() >= 4).await;
    a.settle().await;
    b.settle().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut prs: Vec<u64> = a.github.reviews().iter().map(|r| r.pr).collect();
    prs.sort();
    assert_eq!(prs, vec![90, 91, 92, 93], "one review per delivery");
    assert_eq!(a.openai.requests().len(), 4);
    a.assert_no_violations();
    a.stop().await;
    b.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_address_the_setup_page_registers_an_app_that_reads_its_log() {
    use crate::setup::{attr, browser, come_back, fresh, register};
    let fresh = fresh().await;
    let (github, openai, base, key) = (&fresh.github, &fresh.openai, &fresh.base, &fresh.setup.key);
    let http = browser();
    let query = "public_url=http%3A%2F%2Flocalhost%3A3000&pull=1";
    let confirm = http
        .get(format!("{base}/setup?key={key}&{query}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The page says how deliveries will arrive, and does not warn that GitHub cannot reach
    // the address: that is the point.
    assert!(confirm.contains("id=\"pull-mode\""), "{confirm}");
    assert!(!confirm.contains("id=\"unreachable\""), "{confirm}");
    let asked = http
        .get(format!("{base}/setup?key={key}&pull=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        asked.contains("GitHub cannot reach this machine"),
        "{asked}"
    );
    assert_eq!(attr(&asked, "id=\"pull\"", "value"), "1");
    let (manifest, back, cookie) = register(&http, base, key, query).await;
    assert_eq!(
        manifest["hook_attributes"]["url"],
        "http://localhost:3000/webhook"
    );

    // GitHub logs a comment it cannot deliver; the service, once set up, reads it.
    github.add_pull(pull_with_file(84));
    log(
        github,
        vec![(
            logged(31, &guid(31), "issue_comment", 3),
            "issue_comment".into(),
            comment_payload(84, "@codex review", "MEMBER"),
        )],
    );
    openai.push(Reply::Review(review_with(vec![])));
    assert_eq!(come_back(&http, &back, &cookie).await.status(), 200);
    let credentials = fresh.dir.path().join("data/codex-review.credentials.json");
    let stored: Value = serde_json::from_slice(&std::fs::read(&credentials).unwrap()).unwrap();
    assert_eq!(stored["deliveries"], "pull");
    let running = fresh
        .setup
        .configured()
        .await
        .unwrap()
        .expect("normal mode");
    wait_for("the review of the logged comment", || {
        github.reviews().iter().any(|r| r.pr == 84)
    })
    .await;
    assert_eq!(github.state().hook_delivery_reads, vec![31]);
    running.shutdown().await.unwrap();
    assert!(github.state().violations.is_empty());
    assert!(openai.state().violations.is_empty());
}
