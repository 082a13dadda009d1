//! Every model answer is paid for where it happens: kept in the store as it arrives, whatever
//! becomes of the conversation, the verification or the review (failed, asked again without
//! tools, quiet, superseded by a push, its lease lost), and the summary, the run's record and the spend caps
//! read those same figures.

use crate::support;
use serde_json::json;
use support::*;

/// What one answer of the fake costs: 810 fresh input tokens at $1.25, 1,024 cached at
/// $0.125 and 412 output at $10 per million, in USD billionths.
const PER_ANSWER: i64 = 5_260_500;

const A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const PATCH: &str = "@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}";

fn pull(number: u64, head: &str, config: Option<&str>) -> Pull {
    let mut p = Pull::new(
        REPO,
        number,
        head,
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    );
    p.contents.insert(
        "src/lib.rs".into(),
        "fn a() {}\nfn b() {}\nfn c() {}\n".into(),
    );
    if let Some(config) = config {
        p.base_sha = format!("{number:040x}");
        p.base_contents
            .insert(".github/codex-review.yml".into(), config.into());
    }
    p
}

/// USD billionths the spend caps see for the test installation.
async fn spent(app: &TestApp) -> i64 {
    let store = &app.running().store;
    store
        .spent_nanos(INSTALLATION as i64, None, 0)
        .await
        .unwrap()
}

/// The latest finished runs' `(outcome, model calls, USD millionths)`, oldest first, the
/// attempts that were retried included.
async fn runs(app: &TestApp) -> Vec<(String, i64, Option<i64>)> {
    let store = &app.running().store;
    let mut all = store.recent_runs(50, true).await.unwrap();
    all.extend(store.recent_runs(50, false).await.unwrap());
    all.sort_by_key(|r| (r.finished_at, r.job_id));
    all.dedup();
    all.into_iter()
        .map(|r| (r.outcome, r.model_calls, r.cost_micros))
        .collect()
}

#[tokio::test]
async fn a_conversation_that_fails_after_paid_turns_and_its_retry_without_tools_are_all_paid_for() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(1, A, None));
    // A turn that reads a file, an answer cut short, cut short again with twice the budget:
    // the part fails with tools and is asked once more without them.
    app.openai.push(Reply::ToolCalls(vec![(
        "read_file",
        json!({"path": "src/lib.rs", "start_line": null, "end_line": null}),
    )]));
    app.openai.push(Reply::Incomplete);
    app.openai.push(Reply::Incomplete);
    app.openai.push(Reply::Review(review_with(vec![])));
    app.comment(1, "@codex review").await;

    let requests = app.openai.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        requests[3]["tools"].is_null(),
        "the last is asked without tools"
    );
    assert_eq!(spent(&app).await, 4 * PER_ANSWER);
    let body = &app.github.reviews()[0].body;
    assert!(
        body.contains("4 model calls) with `gpt-5.1-codex` · tokens: 7336 in (4096 cached), 1648 out (1024 reasoning) · ≈ $0.0210"),
        "{body}"
    );
    assert_eq!(runs(&app).await, [("posted".to_owned(), 4, Some(21_042))]);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_failed_verification_is_paid_for() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(1, A, None));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    // Not JSON, asked again once, not JSON again: the verification fails, billed twice.
    app.openai.push_verify(Reply::Text("keep them all"));
    app.openai.push_verify(Reply::Text("keep them all, really"));
    app.comment(1, "@codex review").await;

    assert_eq!(app.openai.verify_requests().len(), 2);
    assert_eq!(spent(&app).await, 3 * PER_ANSWER);
    let body = &app.github.reviews()[0].body;
    assert!(
        body.contains("3 model calls)")
            && body.contains("≈ $0.0158 (review $0.0053 + verification $0.0105)"),
        "{body}"
    );
    assert_eq!(runs(&app).await, [("posted".to_owned(), 3, Some(15_782))]);
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("codex_review_model_cost_usd_total 0.015782"),
        "{metrics}"
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_quiet_re_review_is_paid_for() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(
        1,
        A,
        Some("auto_review:\n  on: [opened, synchronize]\n"),
    ));
    app.deliver("pull_request", &pull_request_payload("opened", 1, A, false))
        .await;
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 1).unwrap();
        pull.head_sha = B.into();
        pull.commits.push(B.into());
    }
    app.deliver(
        "pull_request",
        &pull_request_payload("synchronize", 1, B, false),
    )
    .await;
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1, "the re-review stays quiet");
    assert_eq!(app.openai.requests().len(), 2);
    assert_eq!(spent(&app).await, 2 * PER_ANSWER);
    assert_eq!(
        runs(&app).await,
        [
            ("posted".to_owned(), 1, Some(5_261)),
            ("quiet".to_owned(), 1, Some(5_261)),
        ]
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_review_superseded_by_a_push_is_paid_for_and_the_new_head_reviewed() {
    let app = TestApp::start().await;
    app.github.add_pull(pull(1, A, None));
    // The push lands while the model answers about the old head.
    let github = app.github.clone();
    app.openai.respond_with(move |_| {
        let mut st = github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 1).unwrap();
        if pull.head_sha == A {
            pull.head_sha = B.into();
            pull.commits.push(B.into());
        }
        Reply::Review(fake_openai::clean_review())
    });
    app.comment(1, "@codex review").await;

    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert!(reviews[0].body.contains(&B[..7]), "{}", reviews[0].body);
    assert_eq!(app.openai.requests().len(), 2);
    assert_eq!(spent(&app).await, 2 * PER_ANSWER);
    assert_eq!(
        runs(&app).await,
        [
            ("retry".to_owned(), 1, Some(5_261)),
            ("posted".to_owned(), 1, Some(5_261)),
        ]
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn an_api_review_run_again_after_a_push_says_what_every_attempt_cost() {
    let app = TestApp::start_with(Options {
        env: vec![("API_TOKENS", crate::spend::API_TOKEN.to_owned())],
        ..Options::default()
    })
    .await;
    app.github.add_pull(pull(1, A, None));
    let github = app.github.clone();
    app.openai.respond_with(move |_| {
        let mut st = github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 1).unwrap();
        if pull.head_sha == A {
            pull.head_sha = B.into();
            pull.commits.push(B.into());
        }
        Reply::Review(fake_openai::clean_review())
    });
    let review = crate::spend::api_review(&app, crate::spend::API_TOKEN, 1).await;
    assert_eq!(review["status"], "done", "{review}");
    assert_eq!(review["head_sha"], B);
    assert_eq!(review["usage"]["model_calls"], 2, "{review}");
    assert_eq!(review["usage"]["input_tokens"], 2 * 1_834);
    assert_eq!(review["cost_usd"], 0.010521);
    assert_eq!(spent(&app).await, 2 * PER_ANSWER);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_run_that_lost_its_lease_is_paid_for() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    // One job at a time each: the replica that lost the job cannot take it back.
    let replica = |name: &str, fakes| Options {
        database_url: Some(db.url.clone()),
        fakes,
        env: vec![
            ("CODEX_REVIEW_INSTANCE", name.to_owned()),
            ("CODEX_REVIEW_WORKERS", "1".to_owned()),
        ],
        ..Options::default()
    };
    let a = TestApp::start_with(replica("replica-a", None)).await;
    a.github.add_pull(pull(1, A, None));
    // The first answer comes after another replica took the job over; the second after the
    // first replica gave it up.
    let late = |secs| {
        Reply::Delay(
            std::time::Duration::from_secs(secs),
            Box::new(Reply::Review(fake_openai::clean_review())),
        )
    };
    a.openai.push(late(3));
    a.openai.push(late(5));
    let (status, _) = a
        .deliver(
            "issue_comment",
            &comment_payload(1, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    let openai = a.openai.clone();
    wait_for("the first replica's model call", || {
        openai.requests().len() == 1
    })
    .await;
    a.running().store.release_owned("replica-a").await.unwrap();
    let b = TestApp::start_with(replica("replica-b", Some(a.fakes()))).await;
    wait_for("the second replica's model call", || {
        openai.requests().len() == 2
    })
    .await;
    b.settle().await;
    assert_eq!(b.github.reviews().len(), 1);
    assert_eq!(spent(&b).await, 2 * PER_ANSWER);
    assert_eq!(
        runs(&b).await,
        [
            ("retry".to_owned(), 1, Some(5_261)),
            ("posted".to_owned(), 1, Some(5_261)),
        ]
    );
    b.assert_no_violations();
    a.stop().await;
    b.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_cap_reached_by_failed_calls_stops_the_next_review() {
    let app = TestApp::start_with(Options {
        env: vec![("CODEX_REVIEW_DAILY_USD_CAP", "0.01".into())],
        ..Options::default()
    })
    .await;
    app.github.add_pull(pull(1, A, None));
    app.github.add_pull(pull(2, B, None));
    // Two answers that are no review: the review fails, at $0.0105.
    app.openai.push(Reply::Text("no findings"));
    app.openai.push(Reply::Text("still no findings"));
    app.comment(1, "@codex review").await;
    assert!(app.github.reviews().is_empty());
    assert_eq!(spent(&app).await, 2 * PER_ANSWER);

    app.comment(2, "@codex review").await;
    assert_eq!(app.openai.requests().len(), 2, "no model call past the cap");
    let refused = app.github.comments().last().unwrap().body.clone();
    assert!(
        refused.contains("The daily spend cap is reached: $0.01 of $0.01"),
        "{refused}"
    );
    app.assert_no_violations();
    app.stop().await;
}

/// The rows the caps, the hourly limits and the operator page's chart read, on both
/// backends.
async fn answers_feed_the_caps_the_limits_and_the_chart(backend: Backend) {
    use codex_review::store::{Store, UsageRecord, UsageTotals, now_ms};
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    let (now, day) = (now_ms(), 86_400_000);
    let answer = |job: i64, repo: &str, person: &str, nanos: Option<i64>, at: i64| UsageRecord {
        job_id: job,
        installation_id: 9,
        repo: repo.into(),
        pr_number: 7,
        person: Some(person.into()),
        model: "gpt-5.1-codex".into(),
        purpose: "review".into(),
        input_tokens: 1_000,
        cached_tokens: 400,
        output_tokens: 100,
        reasoning_tokens: 50,
        cost_nanos: nanos,
        billed_at: at,
    };
    for row in [
        answer(1, "octo/a", "alice", Some(400_000_000), now - 3 * day),
        answer(1, "octo/a", "alice", Some(100_000_000), now - 3 * day + 1),
        // One job, two answers (a failed attempt and its retry): one run, paid twice.
        answer(2, "octo/b", "alice", Some(20_000_000), now - 10),
        answer(2, "octo/b", "alice", Some(5_000_000), now - 5),
        answer(3, "octo/b", "api:0123abcd", Some(1_000_000), now - 1),
        answer(4, "octo/b", "carol", None, now - 1),
        answer(5, "octo/old", "alice", Some(9_000_000_000), now - 40 * day),
    ] {
        store.record_usage(&row).await.unwrap();
    }
    let month = now - 30 * day;
    assert_eq!(
        store.spent_nanos(9, None, month).await.unwrap(),
        526_000_000
    );
    assert_eq!(
        store.spent_nanos(9, Some("octo/b"), month).await.unwrap(),
        26_000_000
    );
    assert_eq!(store.spent_nanos(8, None, month).await.unwrap(), 0);
    assert_eq!(
        store.spent_per_installation(month).await.unwrap(),
        [(9, 526_000_000)]
    );
    let costs = store.cost_per_day(month).await.unwrap();
    let a_day = (now - 3 * day) / day;
    assert!(
        costs.contains(&("octo/a".to_string(), a_day, 500_000)),
        "{costs:?}"
    );
    assert_eq!(costs.len(), 2, "{costs:?}");
    let hour = now - 3_600_000;
    assert_eq!(store.model_runs_of_pr("octo/b", 7, hour).await.unwrap(), 3);
    assert_eq!(
        store.model_runs_of_person(9, "alice", hour).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .model_runs_of_person(9, "api:0123abcd", hour)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.model_runs_of_person(9, "bob", hour).await.unwrap(), 0);
    assert_eq!(
        store.usage_of_job(2).await.unwrap(),
        UsageTotals {
            responses: 2,
            input_tokens: 2_000,
            cached_tokens: 800,
            output_tokens: 200,
            cost_nanos: 25_000_000,
        }
    );
    // A short retention keeps a month: a monthly cap still sees it.
    store.prune(std::time::Duration::ZERO).await.unwrap();
    assert_eq!(store.usage_of_job(5).await.unwrap().responses, 0);
    assert_eq!(store.usage_of_job(1).await.unwrap().responses, 2);
    store.close().await;
    db.drop_db().await;
}

both_backends!(answers_feed_the_caps_the_limits_and_the_chart);
