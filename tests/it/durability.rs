//! Exactly one review per trigger, on SQLite and on PostgreSQL: redelivery storms, two
//! replicas draining one queue, a worker killed mid-job, lost answers, pushes during a
//! review, re-reviews, and shutdown.

use crate::support;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

const HEAD: &str = "1111111111111111111111111111111111111111";
const NEW_HEAD: &str = "2222222222222222222222222222222222222222";
const PATCH: &str = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";

fn small_pull(number: u64) -> Pull {
    Pull::new(
        REPO,
        number,
        HEAD,
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    )
}

async fn app_on(
    db: &TestDb,
    fakes: Option<(FakeGitHub, FakeOpenAi)>,
    env: Vec<(&'static str, String)>,
) -> TestApp {
    app_leasing(db, fakes, env, Duration::from_secs(2)).await
}

/// An instance whose jobs are leased for `lease` (short: a killed worker's job is taken
/// back soon; long: a busy machine does not make a live worker's lease expire).
async fn app_leasing(
    db: &TestDb,
    fakes: Option<(FakeGitHub, FakeOpenAi)>,
    env: Vec<(&'static str, String)>,
    lease: Duration,
) -> TestApp {
    let mut options = Options {
        database_url: Some(db.url.clone()),
        fakes,
        env,
        ..Options::default()
    };
    options.tuning.worker.lease = lease;
    TestApp::start_with(options).await
}

async fn redelivery_storm_reviews_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_on(&db, None, vec![]).await;
    app.github.add_pull(small_pull(1));
    let payload = comment_payload(1, "@codex review", "MEMBER");
    let id = "5ad3ad60-0000-11ee-8000-000000000001";
    let storm = (0..100).map(|_| app.deliver_as("issue_comment", id, &payload));
    let statuses: Vec<u16> = futures_join_all(storm)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 99);
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    assert_eq!(app.openai.requests().len(), 1);
    assert_eq!(
        app.running().store.job_counts().await.unwrap(),
        vec![("done".to_string(), 1)]
    );
    app.stop().await;
    db.drop_db().await;
}

async fn two_instances_drain_200_jobs_each_exactly_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let env = || {
        vec![
            ("CODEX_REVIEW_WORKERS", "4".to_string()),
            ("CODEX_REVIEW_INSTALLATION_CONCURRENCY", "8".to_string()),
            // One person asks for all 200: past the per-person limit on purpose.
            ("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR", "0".to_string()),
        ]
    };
    // No worker dies here: a lease long enough that a loaded machine (CI runs the suites side
    // by side) never lets a live worker's job go to the other instance.
    let lease = Duration::from_secs(20);
    let a = app_leasing(&db, None, env(), lease).await;
    let b = app_leasing(&db, Some(a.fakes()), env(), lease).await;
    for pr in 1..=200 {
        a.github.add_pull(small_pull(pr));
    }
    let started = Instant::now();
    let deliveries = (1..=200u64).map(|pr| {
        let mut payload = comment_payload(pr, "@codex review", "MEMBER");
        payload["installation"]["id"] = json!(pr % 4 + 1);
        let target = if pr % 2 == 0 { &a } else { &b };
        async move { target.deliver("issue_comment", &payload).await }
    });
    let statuses: Vec<u16> = futures_join_all(deliveries)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    a.settle_within(Duration::from_secs(180)).await;
    b.settle_within(Duration::from_secs(180)).await;
    let elapsed = started.elapsed();
    let reviews = a.github.reviews();
    let mut prs: Vec<u64> = reviews.iter().map(|r| r.pr).collect();
    prs.sort();
    prs.dedup();
    let duplicates = reviews.len() - prs.len();
    eprintln!(
        "drain on {backend:?}: 200 jobs by 2 instances in {:.2} s = {:.0} jobs/s, {} reviews, duplicates: {duplicates}, model calls: {}",
        elapsed.as_secs_f64(),
        200.0 / elapsed.as_secs_f64(),
        reviews.len(),
        a.openai.requests().len()
    );
    assert_eq!(prs.len(), 200);
    assert_eq!(duplicates, 0);
    assert_eq!(a.openai.requests().len(), 200);
    assert_eq!(
        a.running().store.job_counts().await.unwrap(),
        vec![("done".to_string(), 200)]
    );
    a.stop().await;
    b.stop().await;
    db.drop_db().await;
}

async fn a_worker_killed_mid_job_is_replaced_and_reviews_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let a = app_on(&db, None, vec![]).await;
    a.github.add_pull(small_pull(3));
    // The first model call hangs: the worker dies while waiting for it.
    a.openai.push(Reply::Delay(
        Duration::from_secs(30),
        Box::new(Reply::Review(review_with(vec![]))),
    ));
    a.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    assert_eq!(
        a.deliver(
            "issue_comment",
            &comment_payload(3, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    let openai = a.openai.clone();
    wait_for("the first model call", || openai.requests().len() == 1).await;
    let fakes = a.fakes();
    a.running.unwrap().kill().await;

    // Another replica takes the job over once the dead worker's lease has expired.
    let b = app_on(&db, Some(fakes), vec![]).await;
    let github = b.github.clone();
    wait_for("the review", || github.reviews().len() == 1).await;
    b.settle().await;
    let reviews = b.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].comments.len(), 1);
    assert_eq!(b.openai.requests().len(), 2);
    b.stop().await;
    db.drop_db().await;
}

async fn a_review_whose_answer_was_lost_is_not_posted_twice(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_on(&db, None, vec![]).await;
    app.github.add_pull(small_pull(4));
    app.github.fail_next(support::fake_github::Fault {
        method: http::Method::POST,
        path_suffix: "/pulls/4/reviews".into(),
        status: 502,
        body: json!({"message": "Server Error"}),
        headers: vec![],
        after_effect: true,
    });
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(4, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    assert!(app.github.comments().is_empty());
    app.stop().await;
    db.drop_db().await;
}

async fn a_push_during_a_review_never_posts_a_stale_review(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_on(&db, None, vec![]).await;
    app.github.add_pull(small_pull(5));
    app.github.add_pull(small_pull(6));
    let slow = || {
        Reply::Delay(
            Duration::from_millis(400),
            Box::new(Reply::Review(review_with(vec![finding(
                "src/lib.rs",
                "RIGHT",
                2,
                2,
                1,
                None,
            )]))),
        )
    };
    app.openai.push(slow());
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        3,
        3,
        1,
        None,
    )])));

    // A person's request: reviewed again on the new head.
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(5, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    let openai = app.openai.clone();
    wait_for("the model call", || openai.requests().len() == 1).await;
    push(&app, 5).await;
    app.settle().await;
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    assert_eq!(reviews[0].commit_id, NEW_HEAD);
    assert_eq!(reviews[0].comments[0]["line"], json!(3));

    // An automatic review: dropped, the push is newer.
    app.openai.push(slow());
    assert_eq!(
        app.deliver(
            "pull_request",
            &pull_request_payload("ready_for_review", 6, HEAD, false)
        )
        .await
        .0,
        202
    );
    let openai = app.openai.clone();
    wait_for("the model call", || openai.requests().len() == 3).await;
    push(&app, 6).await;
    app.settle().await;
    assert!(app.github.reviews().iter().all(|r| r.pr != 6));
    app.stop().await;
    db.drop_db().await;
}

/// New commits on PR `pr`: the fake's head moves and GitHub sends `synchronize`.
async fn push(app: &TestApp, pr: u64) {
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == pr).unwrap();
        pull.head_sha = NEW_HEAD.into();
        pull.commits.push(NEW_HEAD.into());
    }
    let payload = pull_request_payload("synchronize", pr, NEW_HEAD, false);
    // Queued for the configuration to decide (by default pushes are not reviewed).
    assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
}

async fn a_re_review_covers_new_commits_and_posts_only_new_findings(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_on(&db, None, vec![]).await;
    app.github.add_pull(small_pull(7));
    let first = || finding("src/lib.rs", "RIGHT", 2, 2, 1, None);
    app.openai.push(Reply::Review(review_with(vec![
        first(),
        finding("src/lib.rs", "RIGHT", 3, 3, 2, None),
    ])));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(7, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    assert_eq!(app.github.reviews()[0].comments.len(), 2);

    // New commits change line 3 of src/lib.rs and add a file; the last reviewed head is an
    // ancestor of the new one.
    let added = File::new(
        "src/new.rs",
        "added",
        Some("@@ -0,0 +1,2 @@\n+fn new() {}\n+fn other() {}"),
    );
    let lib_since = File::new(
        "src/lib.rs",
        "modified",
        Some("@@ -1,4 +1,4 @@\n a\n B\n-C\n+C2\n d"),
    );
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 7).unwrap();
        pull.head_sha = NEW_HEAD.into();
        pull.commits.push(NEW_HEAD.into());
        pull.files = vec![
            File::new(
                "src/lib.rs",
                "modified",
                Some("@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C2\n d"),
            ),
            added.clone(),
        ];
        pull.compares.insert(
            format!("{HEAD}...{NEW_HEAD}"),
            ("ahead".into(), vec![lib_since, added]),
        );
    }
    // The model repeats the first finding (line 2, whose code did not change) and finds a
    // new one.
    app.openai.push(Reply::Review(review_with(vec![
        first(),
        finding("src/new.rs", "RIGHT", 1, 1, 1, None),
    ])));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(7, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    let message = app.openai.requests()[1]["input"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("Changes since commit 1111111"),
        "{message}"
    );
    assert!(message.contains("=== FILE src/new.rs") && message.contains("+C2"));
    assert!(
        !message.contains("-b\n"),
        "the earlier change is not shown again: {message}"
    );
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 2);
    let second = &reviews[1];
    assert_eq!(second.commit_id, NEW_HEAD);
    assert_eq!(second.comments.len(), 1);
    assert_eq!(second.comments[0]["path"], json!("src/new.rs"));
    assert!(
        second
            .body
            .contains("1 finding already reported in an earlier review was not repeated"),
        "{}",
        second.body
    );
    assert!(second.body.contains("Reviewed the changes since 1111111"));

    // `full` reviews everything again.
    app.openai.push(Reply::Review(review_with(vec![])));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(7, "@codex review full", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    let message = app.openai.requests()[2]["input"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("=== FILE src/lib.rs") && message.contains("=== FILE src/new.rs"));
    app.assert_no_violations();
    app.stop().await;
    db.drop_db().await;
}

async fn after_a_force_push_everything_is_reviewed(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = app_on(&db, None, vec![]).await;
    app.github.add_pull(small_pull(8));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(8, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    {
        // The old head is gone: GitHub answers 404 to the comparison.
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 8).unwrap();
        pull.head_sha = NEW_HEAD.into();
        pull.commits = vec![NEW_HEAD.into()];
    }
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(8, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    let message = app.openai.requests()[1]["input"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("Changed files:") && message.contains("=== FILE src/lib.rs"));
    assert_eq!(app.github.reviews().len(), 2);
    app.stop().await;
    db.drop_db().await;
}

async fn shutdown_lets_running_jobs_finish_or_hands_them_back(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // A job that finishes within the grace period is completed.
    let app = app_on(&db, None, vec![]).await;
    app.github.add_pull(small_pull(9));
    app.github.add_pull(small_pull(10));
    app.openai.push(Reply::Delay(
        Duration::from_millis(300),
        Box::new(Reply::Review(review_with(vec![]))),
    ));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(9, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    let openai = app.openai.clone();
    wait_for("the model call", || openai.requests().len() == 1).await;
    let fakes = app.fakes();
    app.stop().await;
    assert_eq!(fakes.0.reviews().len(), 1);

    // One that does not is handed back, and the next replica does it.
    let mut options = Options {
        database_url: Some(db.url.clone()),
        fakes: Some(fakes.clone()),
        ..Options::default()
    };
    options.tuning.shutdown_grace = Duration::from_millis(100);
    let app = TestApp::start_with(options).await;
    app.openai.push(Reply::Delay(
        Duration::from_secs(30),
        Box::new(Reply::Review(review_with(vec![]))),
    ));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(10, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    let openai = app.openai.clone();
    wait_for("the model call", || openai.requests().len() == 2).await;
    let store = codex_review::store::Store::connect(&db.url).await.unwrap();
    app.stop().await;
    assert_eq!(
        store.job_counts().await.unwrap(),
        vec![("done".to_string(), 1), ("queued".to_string(), 1)]
    );
    let next = app_on(&db, Some(fakes.clone()), vec![]).await;
    next.settle().await;
    assert_eq!(fakes.0.reviews().len(), 2);
    next.stop().await;
    store.close().await;
    db.drop_db().await;
}

/// Runs futures concurrently (no extra dependency for one helper).
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    join_vec(futures.into_iter().map(Box::pin).collect()).await
}

async fn join_vec<F: std::future::Future>(futures: Vec<std::pin::Pin<Box<F>>>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<Option<std::pin::Pin<Box<F>>>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..futures.len()).map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (i, slot) in futures.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        outputs[i] = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(outputs.iter_mut().map(|o| o.take().unwrap()).collect())
        }
    })
    .await
}

both_backends!(
    redelivery_storm_reviews_once,
    two_instances_drain_200_jobs_each_exactly_once,
    a_worker_killed_mid_job_is_replaced_and_reviews_once,
    a_review_whose_answer_was_lost_is_not_posted_twice,
    a_push_during_a_review_never_posts_a_stale_review,
    a_re_review_covers_new_commits_and_posts_only_new_findings,
    after_a_force_push_everything_is_reviewed,
    shutdown_lets_running_jobs_finish_or_hands_them_back,
);
