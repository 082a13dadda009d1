//! The job store on both backends: SQLite files always, PostgreSQL when TEST_DATABASE_URL
//! points at a server (a fresh database per test).

mod support;

use std::time::Duration;

use codex_review::event::{ReviewRequest, Trigger};
use codex_review::ids::{CommentId, DeliveryId, InstallationId, PrNumber, RepoName};
use codex_review::jobs::{DeliveryRecord, Recorded, Store};
use sqlx::Connection;

fn request(pr: u64) -> ReviewRequest {
    ReviewRequest {
        installation: InstallationId(1),
        repo: RepoName::parse("octo/hello").unwrap(),
        pr: PrNumber(pr),
        trigger: Trigger::Comment {
            comment_id: CommentId(pr * 10),
            author: "alice".into(),
        },
        focus_areas: vec!["security".into()],
    }
}

/// A database for one test, dropped at the end (Postgres) or a temp file (SQLite).
struct TestDb {
    url: String,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        TestDb {
            url,
            admin: None,
            _dir: Some(dir),
        }
    }

    async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL store tests");
            return None;
        };
        let name = format!("codex_review_test_{:016x}", fastrand::u64(..));
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        Some(TestDb {
            url: format!("{base}/{name}"),
            admin: Some((admin_url, name)),
            _dir: None,
        })
    }

    async fn drop_db(self) {
        if let Some((admin_url, name)) = self.admin {
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

async fn deliveries_are_stored_once_and_jobs_claimed_once(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let id = DeliveryId::parse("d-1").unwrap();
    let req = request(1);
    let record = || DeliveryRecord {
        id: &id,
        event: "issue_comment",
        action: Some("created"),
        outcome: "queued",
        job: Some(&req),
    };
    let first = store.record_delivery(record()).await.unwrap();
    assert!(matches!(first, Recorded::New(Some(_))));
    assert_eq!(
        store.record_delivery(record()).await.unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(store.delivery_count().await.unwrap(), 1);

    let job = store
        .claim("w1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.request, req);
    assert_eq!(job.attempt, 1);
    assert!(
        store
            .claim("w2", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .heartbeat(job.id, "w1", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .heartbeat(job.id, "w2", Duration::from_secs(60))
            .await
            .unwrap()
    );
    store.complete(job.id, "posted review 1").await.unwrap();
    assert_eq!(
        store.job_counts().await.unwrap(),
        vec![("done".to_string(), 1)]
    );
    store.close().await;
}

async fn an_expired_lease_is_claimed_again(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let id = DeliveryId::parse("d-2").unwrap();
    let req = request(2);
    store
        .record_delivery(DeliveryRecord {
            id: &id,
            event: "issue_comment",
            action: None,
            outcome: "queued",
            job: Some(&req),
        })
        .await
        .unwrap();
    let first = store
        .claim("dead-worker", Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = store
        .claim("live-worker", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempt), (first.id, 2));
    // The dead worker's heartbeat no longer holds the job.
    assert!(
        !store
            .heartbeat(first.id, "dead-worker", Duration::from_secs(60))
            .await
            .unwrap()
    );
    store
        .retry_later(again.id, Duration::from_secs(3600), "GitHub answered 502")
        .await
        .unwrap();
    assert!(
        store
            .claim("live-worker", Duration::from_secs(60))
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
}

async fn released_jobs_go_back_to_the_queue(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let id = DeliveryId::parse("d-3").unwrap();
    let req = request(3);
    store
        .record_delivery(DeliveryRecord {
            id: &id,
            event: "pull_request",
            action: Some("opened"),
            outcome: "queued",
            job: Some(&req),
        })
        .await
        .unwrap();
    let job = store
        .claim("stopping", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    store.release_owned("stopping").await.unwrap();
    let again = store
        .claim("other", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempt), (job.id, 1));
    store.close().await;
}

async fn migrations_are_idempotent(db: &TestDb) {
    Store::connect(&db.url).await.unwrap().close().await;
    let store = Store::connect(&db.url).await.unwrap();
    assert!(store.ping().await);
    store.close().await;
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = super::TestDb::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                    db.drop_db().await;
                }
            )*
        }
    };
}

both_backends!(
    deliveries_are_stored_once_and_jobs_claimed_once,
    an_expired_lease_is_claimed_again,
    released_jobs_go_back_to_the_queue,
    migrations_are_idempotent,
);
