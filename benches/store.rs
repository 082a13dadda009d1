//! What `/metrics` asks the database, at 100,000 stored jobs (SQLite, the default).
//!
//! `cargo bench --features bench --bench store` measures the live-job queries `/metrics` runs now (an indexed
//! count of queued and running jobs and the oldest queued one) against the whole-table
//! count by state it ran before, on a file holding 100,000 finished jobs and 10 queued ones.

use std::time::Duration;

use codex_review::metrics::Metrics;
use codex_review::store::Store;
use criterion::{Criterion, criterion_group, criterion_main};

const FINISHED: usize = 100_000;

/// A store of `FINISHED` done jobs and 10 queued ones, written in bulk with plain SQL.
async fn filled(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::connect(&url).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let now = 1_700_000_000_000i64;
    for i in 0..FINISHED + 10 {
        let delivery = format!("00000000-0000-11ee-8000-{i:012x}");
        let state = if i < FINISHED { "done" } else { "queued" };
        sqlx::query(
            "INSERT INTO deliveries (delivery_id, event, action, outcome, received_at)
             VALUES ($1, 'issue_comment', 'created', 'queued', $2)",
        )
        .bind(&delivery)
        .bind(now + i as i64)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO jobs (delivery_id, installation_id, repo, pr_number, request, state,
                               attempts, run_after, created_at, updated_at, dedupe_key)
             VALUES ($1, 1, 'octo/hello', $2, '{}', $3, 1, $4, $4, $4, $5)",
        )
        .bind(&delivery)
        .bind(i as i64)
        .bind(state)
        .bind(now + i as i64)
        .bind(format!("key-{i}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
    store
}

fn metrics(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(filled(dir.path()));
    let m = Metrics::default();
    let mut group = c.benchmark_group("metrics_at_100k_jobs");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("live_queries_and_render", |b| {
        b.iter(|| {
            rt.block_on(async {
                let jobs = store.live_job_counts().await.unwrap();
                let oldest = store.oldest_queued_age().await.unwrap();
                m.render(&jobs, oldest)
            })
        })
    });
    group.bench_function("before_count_by_state", |b| {
        b.iter(|| {
            rt.block_on(async {
                let jobs = store.job_counts().await.unwrap();
                let oldest = store.oldest_queued_age().await.unwrap();
                (jobs, oldest)
            })
        })
    });
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
