//! Recovery after a crash, on SQLite and on PostgreSQL: a restarted instance takes its own
//! jobs back at once, a job that keeps killing its worker ends with a comment, and pushes
//! during a review are not failures.

use crate::support;
use std::time::Duration;

use serde_json::Value;
use support::*;

const HEAD: &str = "1111111111111111111111111111111111111111";
const PATCH: &str = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";

fn small_pull(number: u64) -> Pull {
    Pull::new(
        REPO,
        number,
        HEAD,
        vec![File::new("src/lib.rs", "modified", Some(PATCH))],
    )
}

/// An instance on `db` named `instance`, whose leases last an hour: only a restart under the
/// same name (or the lease's expiry) can move its jobs.
async fn instance(
    db: &TestDb,
    name: &str,
    fakes: Option<(FakeGitHub, FakeOpenAi)>,
    max_lease_losses: u32,
) -> TestApp {
    let mut options = Options {
        database_url: Some(db.url.clone()),
        fakes,
        env: vec![("CODEX_REVIEW_INSTANCE", name.to_owned())],
        ..Options::default()
    };
    options.tuning.worker.lease = Duration::from_secs(3600);
    options.tuning.worker.max_lease_losses = max_lease_losses;
    TestApp::start_with(options).await
}

/// Starts a review of PR 3 whose first model call hangs, and kills the instance during it.
async fn killed_mid_review(
    db: &TestDb,
    name: &str,
    max_lease_losses: u32,
) -> (FakeGitHub, FakeOpenAi) {
    let a = instance(db, name, None, max_lease_losses).await;
    a.github.add_pull(small_pull(3));
    a.openai.push(Reply::Delay(
        Duration::from_secs(60),
        Box::new(Reply::Review(review_with(vec![]))),
    ));
    let (status, _) = a
        .deliver(
            "issue_comment",
            &comment_payload(3, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    let openai = a.openai.clone();
    wait_for("the first model call", || openai.requests().len() == 1).await;
    let fakes = a.fakes();
    let mut a = a;
    a.running.take().unwrap().kill().await;
    fakes
}

async fn a_restarted_instance_takes_its_own_job_back_at_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let fakes = killed_mid_review(&db, "fly-machine-1", 3).await;
    fakes.1.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    // The lease has an hour to run: only taking its own job back lets the restart go on.
    let b = instance(&db, "fly-machine-1", Some(fakes), 3).await;
    b.settle().await;
    let reviews = b.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].comments.len(), 1);
    assert_eq!(b.openai.requests().len(), 2);
    b.stop().await;
    db.drop_db().await;
}

async fn another_instance_waits_for_the_lease(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let fakes = killed_mid_review(&db, "fly-machine-1", 3).await;
    let b = instance(&db, "fly-machine-2", Some(fakes), 3).await;
    // A live instance of another name must not take a job whose lease still runs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = b.running().store.job_counts().await.unwrap();
    assert_eq!(counts, vec![("running".to_string(), 1)]);
    assert_eq!(b.openai.requests().len(), 1);
    b.stop().await;
    db.drop_db().await;
}

async fn a_job_that_keeps_killing_its_worker_ends_with_a_comment(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // One crash is allowed here: the restart finds the job has lost its worker once and
    // gives it up instead of running it again.
    let fakes = killed_mid_review(&db, "fly-machine-1", 1).await;
    let b = instance(&db, "fly-machine-1", Some(fakes), 1).await;
    b.settle().await;
    assert_eq!(b.github.reviews().len(), 0);
    assert_eq!(b.openai.requests().len(), 1, "not run again");
    let comments = b.github.comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0]
            .body
            .contains("stopped 1 time before it finished"),
        "{}",
        comments[0].body
    );
    let counts = b.running().store.job_counts().await.unwrap();
    assert_eq!(counts, vec![("failed".to_string(), 1)]);
    b.stop().await;
    db.drop_db().await;
}

async fn three_pushes_during_a_review_are_not_three_failures(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = instance(&db, "solo", None, 3).await;
    app.github.add_pull(small_pull(4));
    // Each of the first three model calls sees a new push land while it thinks.
    let github = app.github.clone();
    app.openai.respond_with(move |_request: &Value| {
        let mut st = github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 4).unwrap();
        let pushes = pull.commits.len();
        if pushes <= 3 {
            let next = format!("{pushes:0>40}");
            pull.head_sha = next.clone();
            pull.commits.push(next);
        }
        Reply::Review(review_with(vec![]))
    });
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(4, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    // Tests allow two attempts: three head moves would have failed the job before.
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1, "{:#?}", app.github.comments());
    assert_eq!(reviews[0].commit_id, format!("{:0>40}", 3));
    assert_eq!(app.github.comments().len(), 0);
    assert_eq!(app.openai.requests().len(), 4);
    let counts = app.running().store.job_counts().await.unwrap();
    assert_eq!(counts, vec![("done".to_string(), 1)]);
    app.stop().await;
    db.drop_db().await;
}

both_backends!(
    a_restarted_instance_takes_its_own_job_back_at_once,
    another_instance_waits_for_the_lease,
    a_job_that_keeps_killing_its_worker_ends_with_a_comment,
    three_pushes_during_a_review_are_not_three_failures,
);
