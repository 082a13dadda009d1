//! What each finished run of a job did, for the operator page: the recent reviews and
//! failures, and the deliveries of the last day (the cost per day is the usage's, `spend`).

use anyhow::Context as _;
use sqlx::Row as _;

use super::db::{Store, now_ms};

/// One finished run of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecord {
    pub job_id: i64,
    pub repo: String,
    pub pr_number: i64,
    pub head_sha: Option<String>,
    /// `comment`, `pull_request` or `check_run`.
    pub trigger_kind: String,
    /// `posted`, `already_posted`, `quiet`, `skipped`, `replied`, `retry` or `failed`.
    pub outcome: String,
    /// What happened, or the error.
    pub detail: String,
    pub review_id: Option<i64>,
    /// Findings posted, by priority P0 to P3.
    pub findings: [i64; 4],
    pub model_calls: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    /// USD millionths; `None` when the model's price is unknown.
    pub cost_micros: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub started_at: i64,
    pub finished_at: i64,
    /// The installation the run spent for (the spend caps).
    pub installation_id: Option<i64>,
    /// The person who caused it (the per-person limit).
    pub person: Option<String>,
}

/// Deliveries of one event in a window, and how many of them became work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryCount {
    pub event: String,
    pub total: i64,
    /// Deliveries stored as a job or a command (the others were ignored).
    pub acted_on: i64,
}

const COLUMNS: &str = "job_id, repo, pr_number, head_sha, trigger_kind, outcome, detail, review_id,
     p0, p1, p2, p3, model_calls, input_tokens, cached_tokens, output_tokens, cost_micros,
     started_at, finished_at, installation_id, person";

fn run_of(r: &sqlx::any::AnyRow) -> anyhow::Result<RunRecord> {
    Ok(RunRecord {
        job_id: r.try_get(0)?,
        repo: r.try_get(1)?,
        pr_number: r.try_get(2)?,
        head_sha: r.try_get(3)?,
        trigger_kind: r.try_get(4)?,
        outcome: r.try_get(5)?,
        detail: r.try_get(6)?,
        review_id: r.try_get(7)?,
        findings: [r.try_get(8)?, r.try_get(9)?, r.try_get(10)?, r.try_get(11)?],
        model_calls: r.try_get(12)?,
        input_tokens: r.try_get(13)?,
        cached_tokens: r.try_get(14)?,
        output_tokens: r.try_get(15)?,
        cost_micros: r.try_get(16)?,
        started_at: r.try_get(17)?,
        finished_at: r.try_get(18)?,
        installation_id: r.try_get(19)?,
        person: r.try_get(20)?,
    })
}

impl Store {
    /// Keeps `run` for the operator page.
    pub async fn record_run(&self, run: &RunRecord) -> anyhow::Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO review_runs ({COLUMNS}) VALUES
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
              $20, $21)"
        )))
        .bind(run.job_id)
        .bind(&run.repo)
        .bind(run.pr_number)
        .bind(&run.head_sha)
        .bind(&run.trigger_kind)
        .bind(&run.outcome)
        .bind(&run.detail)
        .bind(run.review_id)
        .bind(run.findings[0])
        .bind(run.findings[1])
        .bind(run.findings[2])
        .bind(run.findings[3])
        .bind(run.model_calls)
        .bind(run.input_tokens)
        .bind(run.cached_tokens)
        .bind(run.output_tokens)
        .bind(run.cost_micros)
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.installation_id)
        .bind(&run.person)
        .execute(&self.pool)
        .await
        .context("recording a run")?;
        Ok(())
    }

    /// The latest runs, newest first: with `failures`, the failed attempts (`retry`,
    /// `failed`); without, the runs that ended the job (every outcome but `retry`).
    pub async fn recent_runs(&self, limit: i64, failures: bool) -> anyhow::Result<Vec<RunRecord>> {
        let filter = if failures {
            "WHERE outcome IN ('retry', 'failed')"
        } else {
            "WHERE outcome <> 'retry'"
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM review_runs {filter} ORDER BY finished_at DESC, id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_of).collect()
    }

    /// Deliveries received since `since_ms`, by event, most frequent first.
    pub async fn deliveries_by_event(&self, since_ms: i64) -> anyhow::Result<Vec<DeliveryCount>> {
        let rows = sqlx::query(
            "SELECT event, COUNT(*), SUM(CASE WHEN outcome LIKE 'ignored%' OR outcome = 'ping' THEN 0 ELSE 1 END)
             FROM deliveries WHERE received_at >= $1
             GROUP BY event ORDER BY COUNT(*) DESC, event",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryCount {
                    event: r.try_get(0)?,
                    total: r.try_get(1)?,
                    acted_on: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Deletes runs finished before `cutoff_ms`; how many.
    pub(super) async fn prune_runs(&self, cutoff_ms: i64) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM review_runs WHERE finished_at < $1")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await
            .context("pruning runs")?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// When the status page was last signed out of (milliseconds), if ever.
    pub async fn status_signed_out_at(&self) -> anyhow::Result<Option<i64>> {
        let row = sqlx::query("SELECT MAX(signed_out_at) FROM status_signouts")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// Signs the status page out: every session issued until now ends.
    pub async fn sign_out_status(&self) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO status_signouts (signed_out_at) VALUES ($1)")
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
