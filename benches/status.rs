//! What the operator page (`GET /status`) asks the database, on a busy SQLite file.
//!
//! `cargo bench --features bench --bench status`: 200,000 deliveries over the 14 days of the default retention
//! (about 14,000 a day) and 30,000 runs over 31 days across 40 repositories, each with three
//! model answers; the page's five queries (recent runs, failures, cost per day, deliveries of
//! the last day by event, the queue) measured one by one and together, and what the gate
//! reads before each model call (the hourly limits and the spend caps).

use std::time::Duration;

use codex_review::store::{RunRecord, Store, now_ms};
use criterion::{Criterion, criterion_group, criterion_main};

const DELIVERIES: i64 = 200_000;
const RUNS: i64 = 30_000;
const DAY_MS: i64 = 86_400_000;

async fn filled(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", dir.join("status.db").display());
    let store = Store::connect(&url).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let now = now_ms();
    let events = [
        "issue_comment",
        "pull_request",
        "check_run",
        "push",
        "pull_request_review_comment",
    ];
    for i in 0..DELIVERIES {
        let outcome = if i % 3 == 0 {
            "queued"
        } else {
            "ignored: not a command"
        };
        sqlx::query(
            "INSERT INTO deliveries (delivery_id, event, action, outcome, received_at)
             VALUES ($1, $2, 'created', $3, $4)",
        )
        .bind(format!("00000000-0000-11ee-8000-{i:012x}"))
        .bind(events[(i % 5) as usize])
        .bind(outcome)
        .bind(now - 14 * DAY_MS + i * (14 * DAY_MS / DELIVERIES))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    // Three answers per run, as the meter keeps them.
    for i in 0..RUNS * 3 {
        let run = i / 3;
        sqlx::query(
            "INSERT INTO model_usage (job_id, installation_id, repo, pr_number, person, model,
                 purpose, input_tokens, cached_tokens, output_tokens, reasoning_tokens,
                 cost_nanos, billed_at)
             VALUES ($1, $2, $3, $4, $5, 'gpt-5.1-codex', 'codex_review', 13000, 7000, 1000,
                     600, 20000000, $6)",
        )
        .bind(run)
        .bind(run % 4 + 1)
        .bind(format!("octo/repo-{}", run % 40))
        .bind(run % 500)
        .bind(format!("person-{}", run % 25))
        .bind(now - 31 * DAY_MS + run * (31 * DAY_MS / RUNS) - 90_000 + (i % 3) * 30_000)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
    for i in 0..RUNS {
        let finished = now - 31 * DAY_MS + i * (31 * DAY_MS / RUNS);
        store
            .record_run(&RunRecord {
                job_id: i,
                repo: format!("octo/repo-{}", i % 40),
                pr_number: i % 500,
                head_sha: Some("6dcb09b5b57875f334f61aebed695e2e4193db5e".into()),
                trigger_kind: "comment".into(),
                outcome: if i % 50 == 0 { "failed" } else { "posted" }.into(),
                detail: "posted review 1 (2 inline, 1 in summary)".into(),
                findings: [0, 1, 2, 1],
                model_calls: 3,
                input_tokens: 40_000,
                cached_tokens: 20_000,
                output_tokens: 3_000,
                cost_micros: Some(60_000),
                started_at: finished - 90_000,
                finished_at: finished,
                installation_id: Some(i % 4 + 1),
                person: Some(format!("person-{}", i % 25)),
                ..RunRecord::default()
            })
            .await
            .unwrap();
    }
    store
}

fn status(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(filled(dir.path()));
    let now = now_ms();
    let mut group = c.benchmark_group("status_page_queries");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("recent_runs_50", |b| {
        b.iter(|| rt.block_on(store.recent_runs(50, false)).unwrap())
    });
    group.bench_function("recent_failures_20", |b| {
        b.iter(|| rt.block_on(store.recent_runs(20, true)).unwrap())
    });
    group.bench_function("cost_per_day_30d", |b| {
        b.iter(|| rt.block_on(store.cost_per_day(now - 30 * DAY_MS)).unwrap())
    });
    group.bench_function("deliveries_by_event_24h", |b| {
        b.iter(|| {
            rt.block_on(store.deliveries_by_event(now - DAY_MS))
                .unwrap()
        })
    });
    // What the gate reads before every model call: the hourly limits and the four caps.
    group.bench_function("spend_limits_of_one_job", |b| {
        let (day, month) = (
            codex_review::when::day_bounds(now).0,
            codex_review::when::month_bounds(now).0,
        );
        b.iter(|| {
            rt.block_on(async {
                tokio::try_join!(
                    store.model_runs_of_pr("octo/repo-7", 7, now - 3_600_000),
                    store.model_runs_of_person(2, "person-7", now - 3_600_000),
                    store.spent_nanos(2, None, day),
                    store.spent_nanos(2, None, month),
                    store.spent_nanos(2, Some("octo/repo-7"), day),
                    store.spent_nanos(2, Some("octo/repo-7"), month),
                )
                .unwrap()
            })
        })
    });
    group.bench_function("all_at_once", |b| {
        b.iter(|| {
            rt.block_on(async {
                tokio::try_join!(
                    store.recent_runs(50, false),
                    store.recent_runs(20, true),
                    store.cost_per_day(now - 30 * DAY_MS),
                    store.deliveries_by_event(now - DAY_MS),
                    store.live_job_counts(),
                    store.oldest_queued_age(),
                )
                .unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, status);
criterion_main!(benches);
