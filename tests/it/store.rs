//! The job store on both backends: SQLite files always, PostgreSQL when TEST_DATABASE_URL
//! points at a server (a fresh database per test).

use crate::support;
use std::time::Duration;

use codex_review::event::{Command, ReviewRequest, Trigger};
use codex_review::ids::{CommentId, CommitSha, DeliveryId, InstallationId, PrNumber, RepoName};
use codex_review::store::{
    DeliveryRecord, Effect, PostedFinding, PostedReview, Pruned, Recorded, Store, Supersede,
};
use support::{Backend, TestDb};

fn comment_request(pr: u64, comment: u64) -> ReviewRequest {
    ReviewRequest {
        installation: InstallationId(1),
        repo: RepoName::parse("octo/hello").unwrap(),
        pr: PrNumber(pr),
        trigger: Trigger::Comment {
            comment_id: CommentId(comment),
            author: "alice".into(),
            association: Some("MEMBER".into()),
            in_thread: false,
        },
        command: Command::Review {
            focus_areas: vec!["security".into()],
            full: false,
        },
    }
}

fn ready_request(pr: u64, installation: u64, head: &str) -> ReviewRequest {
    ReviewRequest {
        installation: InstallationId(installation),
        repo: RepoName::parse("octo/hello").unwrap(),
        pr: PrNumber(pr),
        trigger: Trigger::PullRequest {
            action: "ready_for_review".into(),
            head_sha: CommitSha::parse(head),
            author: "bob".into(),
            association: Some("MEMBER".into()),
        },
        command: Command::review(),
    }
}

async fn enqueue(store: &Store, delivery: &str, req: &ReviewRequest) -> Recorded {
    let id = DeliveryId::parse(delivery).unwrap();
    store
        .record_delivery(DeliveryRecord {
            id: &id,
            event: "issue_comment",
            action: Some("created"),
            outcome: "queued",
            effect: Effect::enqueue(req),
        })
        .await
        .unwrap()
}

async fn open(backend: Backend) -> Option<(TestDb, Store)> {
    let db = TestDb::new(backend).await?;
    let store = Store::connect(&db.url).await.unwrap();
    Some((db, store))
}

const LEASE: Duration = Duration::from_secs(60);

async fn deliveries_are_stored_once_and_jobs_claimed_once(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let req = comment_request(1, 10);
    let Recorded::Queued(job_id) = enqueue(&store, "d-1", &req).await else {
        panic!()
    };
    assert_eq!(enqueue(&store, "d-1", &req).await, Recorded::Duplicate);
    assert_eq!(store.delivery_count().await.unwrap(), 1);

    let job = store.claim("w1", LEASE, 2).await.unwrap().unwrap();
    assert_eq!((job.id, job.attempt), (job_id, 1));
    assert_eq!(job.request, req);
    assert!(store.claim("w2", LEASE, 2).await.unwrap().is_none());
    assert!(store.heartbeat(job.id, "w1", LEASE).await.unwrap());
    assert!(!store.heartbeat(job.id, "w2", LEASE).await.unwrap());
    store
        .complete(job.id, "w1", "posted review 1")
        .await
        .unwrap();
    assert_eq!(
        store.job_counts().await.unwrap(),
        vec![("done".to_string(), 1)]
    );
    store.close().await;
    db.drop_db().await;
}

async fn a_second_trigger_for_the_same_work_joins_the_queued_job(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let Recorded::Queued(first) = enqueue(&store, "d-1", &comment_request(1, 10)).await else {
        panic!()
    };
    assert_eq!(
        enqueue(&store, "d-2", &comment_request(1, 11)).await,
        Recorded::Joined(first)
    );
    // Running still joins.
    let job = store.claim("w1", LEASE, 2).await.unwrap().unwrap();
    assert_eq!(job.joined_comments, vec![CommentId(11)]);
    assert_eq!(
        enqueue(&store, "d-3", &comment_request(1, 12)).await,
        Recorded::Joined(first)
    );
    // Other focus areas or another PR are other work.
    let mut other = comment_request(1, 13);
    other.command = Command::Review {
        focus_areas: vec!["performance".into()],
        full: false,
    };
    assert!(matches!(
        enqueue(&store, "d-4", &other).await,
        Recorded::Queued(_)
    ));
    assert!(matches!(
        enqueue(&store, "d-5", &comment_request(2, 14)).await,
        Recorded::Queued(_)
    ));
    // Once done, the same request queues anew.
    store.complete(job.id, "w1", "done").await.unwrap();
    assert!(matches!(
        enqueue(&store, "d-6", &comment_request(1, 15)).await,
        Recorded::Queued(_)
    ));
    store.close().await;
    db.drop_db().await;
}

async fn an_expired_lease_is_claimed_again_and_the_old_owner_is_locked_out(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    enqueue(&store, "d-2", &comment_request(2, 20)).await;
    let first = store
        .claim("dead-worker", Duration::from_millis(1), 2)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = store.claim("live-worker", LEASE, 2).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempt), (first.id, 2));
    assert!(
        !store
            .heartbeat(first.id, "dead-worker", LEASE)
            .await
            .unwrap()
    );
    // The dead worker's late results change nothing.
    store
        .complete(first.id, "dead-worker", "stale")
        .await
        .unwrap();
    store
        .retry_later(first.id, "dead-worker", Duration::ZERO, "stale", true)
        .await
        .unwrap();
    let (state, outcome, _) = store.job_state(again.id).await.unwrap().unwrap();
    assert_eq!((state.as_str(), outcome), ("running", None));
    store
        .retry_later(
            again.id,
            "live-worker",
            Duration::from_secs(3600),
            "GitHub answered 502",
            true,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim("live-worker", LEASE, 2)
            .await
            .unwrap()
            .is_none()
    );
    let (state, _, error) = store.job_state(again.id).await.unwrap().unwrap();
    assert_eq!(
        (state.as_str(), error.as_deref()),
        ("queued", Some("GitHub answered 502"))
    );
    store.close().await;
    db.drop_db().await;
}

async fn released_jobs_go_back_to_the_queue(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    enqueue(&store, "d-3", &comment_request(3, 30)).await;
    let job = store.claim("stopping", LEASE, 2).await.unwrap().unwrap();
    store.release_owned("stopping").await.unwrap();
    let again = store.claim("other", LEASE, 2).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempt), (job.id, 1));
    store.close().await;
    db.drop_db().await;
}

async fn one_busy_installation_does_not_starve_the_others(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let head = "a".repeat(40);
    for pr in 1..=5 {
        enqueue(
            &store,
            &format!("busy-{pr}"),
            &ready_request(pr, 100, &head),
        )
        .await;
    }
    enqueue(&store, "quiet-1", &ready_request(50, 200, &head)).await;
    let mut installations = Vec::new();
    while let Some(job) = store.claim("w", LEASE, 2).await.unwrap() {
        installations.push(job.request.installation.0);
    }
    // Two of the busy installation (its limit), then the quiet one despite its later place.
    assert_eq!(installations, vec![100, 100, 200]);
    store.close().await;
    db.drop_db().await;
}

async fn a_push_cancels_queued_reviews_of_older_heads(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let (old, new) = ("a".repeat(40), "b".repeat(40));
    enqueue(&store, "ready-old", &ready_request(7, 1, &old)).await;
    enqueue(&store, "ready-new", &ready_request(7, 1, &new)).await;
    enqueue(&store, "comment", &comment_request(7, 70)).await;
    let repo = RepoName::parse("octo/hello").unwrap();
    let head = CommitSha::parse(&new).unwrap();
    let id = DeliveryId::parse("push").unwrap();
    let recorded = store
        .record_delivery(DeliveryRecord {
            id: &id,
            event: "pull_request",
            action: Some("synchronize"),
            outcome: "push",
            effect: Effect {
                supersede: Some(Supersede {
                    repo: &repo,
                    pr: PrNumber(7),
                    head_sha: &head,
                }),
                enqueue: None,
            },
        })
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::Stored { cancelled: 1 });
    let mut counts = store.job_counts().await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![("cancelled".to_string(), 1), ("queued".to_string(), 2)]
    );
    store.close().await;
    db.drop_db().await;
}

async fn posted_reviews_and_findings_are_remembered(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let repo = RepoName::parse("octo/hello").unwrap();
    let (a, b) = (
        CommitSha::parse(&"a".repeat(40)).unwrap(),
        CommitSha::parse(&"b".repeat(40)).unwrap(),
    );
    assert_eq!(
        store.last_reviewed_sha(&repo, PrNumber(1)).await.unwrap(),
        None
    );
    let finding = |fp: &str| PostedFinding {
        fingerprint: fp.into(),
        path: "a.rs".into(),
        title: "t".into(),
        side: "RIGHT".into(),
        start: 3,
        end: 4,
        body: "b".into(),
        inline: true,
        priority: 2,
    };
    store
        .record_review(PostedReview {
            repo: &repo,
            pr: PrNumber(1),
            head_sha: &a,
            trigger_id: "comment-1",
            review_id: 5,
            findings: &[finding("f1"), finding("f2")],
        })
        .await
        .unwrap();
    store
        .record_review(PostedReview {
            repo: &repo,
            pr: PrNumber(1),
            head_sha: &b,
            trigger_id: "comment-2",
            review_id: 6,
            findings: &[finding("f2"), finding("f3")],
        })
        .await
        .unwrap();
    assert_eq!(
        store.last_reviewed_sha(&repo, PrNumber(1)).await.unwrap(),
        Some(b)
    );
    let mut fps: Vec<String> = store
        .posted_fingerprints(&repo, PrNumber(1))
        .await
        .unwrap()
        .into_keys()
        .collect();
    fps.sort();
    assert_eq!(fps, vec!["f1", "f2", "f3"]);
    assert!(
        store
            .posted_fingerprints(&repo, PrNumber(2))
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
    db.drop_db().await;
}

async fn migrations_are_idempotent(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    Store::connect(&db.url).await.unwrap().close().await;
    let store = Store::connect(&db.url).await.unwrap();
    assert!(store.ping().await);
    store.close().await;
    db.drop_db().await;
}

async fn old_rows_are_pruned_and_live_ones_kept(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    // A delivery without a job, one whose job finished, one whose job is still queued.
    let ignored = DeliveryId::parse("00000000-0000-11ee-8000-000000000001").unwrap();
    store
        .record_delivery(DeliveryRecord {
            id: &ignored,
            event: "issue_comment",
            action: Some("created"),
            outcome: "ignored: not a command",
            effect: Effect::default(),
        })
        .await
        .unwrap();
    let Recorded::Queued(done) = enqueue(
        &store,
        "00000000-0000-11ee-8000-000000000002",
        &comment_request(1, 11),
    )
    .await
    else {
        panic!("not queued")
    };
    let claimed = store
        .claim("w", Duration::from_secs(30), 8)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, done);
    store.complete(done, "w", "posted").await.unwrap();
    let Recorded::Queued(waiting) = enqueue(
        &store,
        "00000000-0000-11ee-8000-000000000003",
        &comment_request(2, 12),
    )
    .await
    else {
        panic!("not queued")
    };
    // Nothing is old enough yet.
    let pruned = store.prune(Duration::from_secs(3_600)).await.unwrap();
    assert_eq!(pruned, Pruned::default());
    assert_eq!(store.delivery_count().await.unwrap(), 3);

    tokio::time::sleep(Duration::from_millis(5)).await;
    let pruned = store.prune(Duration::ZERO).await.unwrap();
    assert_eq!((pruned.jobs, pruned.deliveries), (1, 2));
    assert_eq!(store.delivery_count().await.unwrap(), 1);
    assert_eq!(
        store.job_counts().await.unwrap(),
        vec![("queued".to_string(), 1)]
    );
    assert!(store.job_state(waiting).await.unwrap().is_some());
    assert_eq!(
        store.live_job_counts().await.unwrap(),
        [("queued", 1), ("running", 0)]
    );
    store.close().await;
    db.drop_db().await;
}

async fn runs_feed_the_status_page(backend: Backend) {
    use codex_review::store::{DeliveryCount, RunRecord, now_ms};
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let now = now_ms();
    let day = 86_400_000;
    let run = |repo: &str, outcome: &str, finished_at: i64, cost: Option<i64>| RunRecord {
        job_id: 1,
        repo: repo.into(),
        pr_number: 7,
        head_sha: cost.map(|_| "6dcb09b5b57875f334f61aebed695e2e4193db5e".into()),
        trigger_kind: "comment".into(),
        outcome: outcome.into(),
        detail: format!("{outcome} run"),
        review_id: None,
        findings: [1, 0, 2, 0],
        model_calls: 3,
        input_tokens: 10_000,
        cached_tokens: 4_000,
        output_tokens: 700,
        cost_micros: cost,
        started_at: finished_at - 5_000,
        finished_at,
        installation_id: Some(9),
        person: Some("alice".into()),
    };
    let rows = [
        run("octo/a", "posted", now - 3 * day, Some(400_000)),
        run("octo/a", "posted", now - 3 * day + 1, Some(100_000)),
        run("octo/b", "quiet", now - day, Some(20_000)),
        run("octo/b", "retry", now - 10, None),
        run("octo/b", "failed", now - 5, None),
        run("octo/old", "posted", now - 40 * day, Some(9_000_000)),
    ];
    for r in &rows {
        store.record_run(r).await.unwrap();
    }
    let recent = store.recent_runs(10, false).await.unwrap();
    let outcomes: Vec<&str> = recent.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["failed", "quiet", "posted", "posted", "posted"]);
    assert_eq!(recent[1], rows[2]);
    let failures = store.recent_runs(10, true).await.unwrap();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[1].head_sha, None);
    // Deliveries of the last day by event: one acted on, one ignored.
    for (i, outcome) in ["queued", "ignored: not a command"].iter().enumerate() {
        let id = DeliveryId::parse(&format!("00000000-0000-11ee-8000-00000000000{i}")).unwrap();
        store
            .record_delivery(DeliveryRecord {
                id: &id,
                event: "issue_comment",
                action: Some("created"),
                outcome,
                effect: Effect::default(),
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store.deliveries_by_event(now - day).await.unwrap(),
        [DeliveryCount {
            event: "issue_comment".into(),
            total: 2,
            acted_on: 1
        }]
    );
    // Runs outlive a short retention: the chart keeps its 30 days.
    store.prune(Duration::ZERO).await.unwrap();
    assert_eq!(store.recent_runs(10, false).await.unwrap().len(), 4);
    store.close().await;
    db.drop_db().await;
}

async fn a_learning_is_kept_once(backend: Backend) {
    let Some((db, store)) = open(backend).await else {
        return;
    };
    let repo = RepoName::parse("octo/hello").unwrap();
    for _ in 0..2 {
        store
            .add_learning(&repo, "overflow is impossible here", "alice")
            .await
            .unwrap();
    }
    store
        .add_learning(&repo, "another reason", "alice")
        .await
        .unwrap();
    let kept = store.learnings(&repo, 10).await.unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    store.close().await;
    db.drop_db().await;
}

both_backends!(
    a_learning_is_kept_once,
    runs_feed_the_status_page,
    old_rows_are_pruned_and_live_ones_kept,
    deliveries_are_stored_once_and_jobs_claimed_once,
    a_second_trigger_for_the_same_work_joins_the_queued_job,
    an_expired_lease_is_claimed_again_and_the_old_owner_is_locked_out,
    released_jobs_go_back_to_the_queue,
    one_busy_installation_does_not_starve_the_others,
    a_push_cancels_queued_reviews_of_older_heads,
    posted_reviews_and_findings_are_remembered,
    migrations_are_idempotent,
);
