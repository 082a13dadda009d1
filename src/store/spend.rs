//! What the model cost, one row per answer of the model API as it arrives, and read back for
//! the spend caps, the hourly limits and the operator page: jobs that called the model per
//! pull request and per person in the last hour, and dollars per installation and
//! repository since a time.

use anyhow::Context as _;
use sqlx::Row as _;

use super::db::Store;

/// One answer of the model API, and whom it is charged to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRecord {
    pub job_id: i64,
    pub installation_id: i64,
    pub repo: String,
    pub pr_number: i64,
    /// Whom the per-person limit charges (a login, or `api:` and a token's id).
    pub person: Option<String>,
    pub model: String,
    /// The call's output format (a review, a verification, an answer).
    pub purpose: String,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    /// USD billionths; `None` when the model's price is unknown.
    pub cost_nanos: Option<i64>,
    /// When the answer arrived (milliseconds since the Unix epoch).
    pub billed_at: i64,
}

/// The sum of a job's recorded answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub responses: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    pub cost_nanos: i64,
}

impl Store {
    /// Keeps one answer's usage.
    pub async fn record_usage(&self, usage: &UsageRecord) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO model_usage (job_id, installation_id, repo, pr_number, person, model,
                 purpose, input_tokens, cached_tokens, output_tokens, reasoning_tokens,
                 cost_nanos, billed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(usage.job_id)
        .bind(usage.installation_id)
        .bind(&usage.repo)
        .bind(usage.pr_number)
        .bind(&usage.person)
        .bind(&usage.model)
        .bind(&usage.purpose)
        .bind(usage.input_tokens)
        .bind(usage.cached_tokens)
        .bind(usage.output_tokens)
        .bind(usage.reasoning_tokens)
        .bind(usage.cost_nanos)
        .bind(usage.billed_at)
        .execute(&self.pool)
        .await
        .context("recording a model answer's usage")?;
        Ok(())
    }

    /// What the answers charged to `job_id` add up to, all its attempts.
    pub async fn usage_of_job(&self, job_id: i64) -> anyhow::Result<UsageTotals> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT),
                    CAST(COALESCE(SUM(cached_tokens), 0) AS BIGINT),
                    CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT),
                    CAST(COALESCE(SUM(cost_nanos), 0) AS BIGINT)
             FROM model_usage WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(UsageTotals {
            responses: row.try_get(0)?,
            input_tokens: row.try_get(1)?,
            cached_tokens: row.try_get(2)?,
            output_tokens: row.try_get(3)?,
            cost_nanos: row.try_get(4)?,
        })
    }

    /// Jobs that called the model for pull request `pr` of `repo` since `since_ms`.
    pub async fn model_runs_of_pr(
        &self,
        repo: &str,
        pr: i64,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT job_id) FROM model_usage
             WHERE repo = $1 AND pr_number = $2 AND billed_at >= $3",
        )
        .bind(repo)
        .bind(pr)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Jobs that called the model caused by `person` in `installation` since `since_ms`.
    pub async fn model_runs_of_person(
        &self,
        installation: i64,
        person: &str,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT job_id) FROM model_usage
             WHERE person = $1 AND installation_id = $2 AND billed_at >= $3",
        )
        .bind(person)
        .bind(installation)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// USD billionths spent since `since_ms` by `installation`, or by one of its repositories.
    pub async fn spent_nanos(
        &self,
        installation: i64,
        repo: Option<&str>,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let sum = "SELECT CAST(COALESCE(SUM(cost_nanos), 0) AS BIGINT) FROM model_usage
                   WHERE installation_id = $1 AND billed_at >= $2";
        let row = match repo {
            None => {
                sqlx::query(sum)
                    .bind(installation)
                    .bind(since_ms)
                    .fetch_one(&self.pool)
                    .await?
            }
            Some(repo) => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{sum} AND repo = $3")))
                    .bind(installation)
                    .bind(since_ms)
                    .bind(repo)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(row.try_get(0)?)
    }

    /// `(installation, USD billionths)` spent since `since_ms`, per installation.
    pub async fn spent_per_installation(&self, since_ms: i64) -> anyhow::Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT installation_id, CAST(SUM(cost_nanos) AS BIGINT) FROM model_usage
             WHERE cost_nanos IS NOT NULL AND billed_at >= $1
             GROUP BY installation_id ORDER BY installation_id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// `(repository, day since the epoch, USD millionths)` of the answers billed since
    /// `since_ms`.
    pub async fn cost_per_day(&self, since_ms: i64) -> anyhow::Result<Vec<(String, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT repo, billed_at / 86400000 AS day, CAST(SUM(cost_nanos) AS BIGINT)
             FROM model_usage
             WHERE billed_at >= $1 AND cost_nanos IS NOT NULL
             GROUP BY repo, billed_at / 86400000
             ORDER BY day, repo",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let nanos: i64 = r.try_get(2)?;
                Ok((r.try_get(0)?, r.try_get(1)?, (nanos + 500) / 1_000))
            })
            .collect()
    }

    /// Deletes the usage billed before `cutoff_ms`; how many rows.
    pub(super) async fn prune_usage(&self, cutoff_ms: i64) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM model_usage WHERE billed_at < $1")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await
            .context("pruning model usage")?;
        Ok(done.rows_affected())
    }
}
