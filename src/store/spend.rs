//! What the model cost, read back from the recorded runs for the spend caps and limits: jobs
//! that called the model per pull request and per person in the last hour, and dollars per
//! installation and repository since a time.

use sqlx::Row as _;

use super::db::Store;

impl Store {
    /// Runs that called the model for pull request `pr` of `repo` since `since_ms`.
    pub async fn model_runs_of_pr(
        &self,
        repo: &str,
        pr: i64,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM review_runs
             WHERE repo = $1 AND pr_number = $2 AND finished_at >= $3 AND model_calls > 0",
        )
        .bind(repo)
        .bind(pr)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Runs that called the model caused by `person` in `installation` since `since_ms`.
    pub async fn model_runs_of_person(
        &self,
        installation: i64,
        person: &str,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM review_runs
             WHERE person = $1 AND installation_id = $2 AND finished_at >= $3
               AND model_calls > 0",
        )
        .bind(person)
        .bind(installation)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// USD millionths spent since `since_ms` by `installation`, or by one of its repositories.
    pub async fn spent_micros(
        &self,
        installation: i64,
        repo: Option<&str>,
        since_ms: i64,
    ) -> anyhow::Result<i64> {
        let sum = "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM review_runs
                   WHERE installation_id = $1 AND finished_at >= $2";
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

    /// `(installation, USD millionths)` spent since `since_ms`, per installation.
    pub async fn spent_per_installation(&self, since_ms: i64) -> anyhow::Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT installation_id, CAST(SUM(cost_micros) AS BIGINT) FROM review_runs
             WHERE installation_id IS NOT NULL AND cost_micros IS NOT NULL AND finished_at >= $1
             GROUP BY installation_id ORDER BY installation_id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
