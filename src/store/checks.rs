//! The `codex-review` check run of each reviewed head, so retries and re-reviews of one SHA
//! update one check run instead of stacking new ones.

use sqlx::Row;

use super::db::{Store, now_ms};
use crate::ids::{CommitSha, PrNumber, RepoName};

impl Store {
    /// The check run created for `sha`, if any.
    pub async fn check_run(&self, repo: &RepoName, sha: &CommitSha) -> anyhow::Result<Option<u64>> {
        let row =
            sqlx::query("SELECT check_run_id FROM check_runs WHERE repo = $1 AND head_sha = $2")
                .bind(repo.as_str())
                .bind(sha.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .map(|id| id as u64))
    }

    /// Remembers the check run of `sha` (the first one stays if two were created at once).
    pub async fn remember_check_run(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
        pr: PrNumber,
        id: u64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO check_runs (repo, head_sha, pr_number, check_run_id, completed, updated_at)
             VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (repo, head_sha) DO NOTHING",
        )
        .bind(repo.as_str())
        .bind(sha.as_str())
        .bind(pr.0 as i64)
        .bind(id as i64)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that the check run of `sha` is in progress again.
    pub async fn set_check_in_progress(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE check_runs SET completed = 0, updated_at = $1
             WHERE repo = $2 AND head_sha = $3",
        )
        .bind(now_ms())
        .bind(repo.as_str())
        .bind(sha.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the completion of the check run of `sha`.
    pub async fn set_check_completed(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
        completion: (&str, &str, &str),
    ) -> anyhow::Result<()> {
        let (conclusion, title, summary) = completion;
        sqlx::query(
            "UPDATE check_runs SET completed = 1, conclusion = $1, title = $2, summary = $3,
                    updated_at = $4
             WHERE repo = $5 AND head_sha = $6",
        )
        .bind(conclusion)
        .bind(title)
        .bind(summary)
        .bind(now_ms())
        .bind(repo.as_str())
        .bind(sha.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The last completion of the check run of `sha`: `(conclusion, title, summary)`.
    pub async fn check_completion(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
    ) -> anyhow::Result<Option<(String, String, String)>> {
        let row = sqlx::query(
            "SELECT conclusion, title, summary FROM check_runs
             WHERE repo = $1 AND head_sha = $2 AND conclusion IS NOT NULL",
        )
        .bind(repo.as_str())
        .bind(sha.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// The most recent check run of this PR still in progress: `(head SHA, id)`.
    pub async fn open_check_run(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> anyhow::Result<Option<(CommitSha, u64)>> {
        let row = sqlx::query(
            "SELECT head_sha, check_run_id FROM check_runs
             WHERE repo = $1 AND pr_number = $2 AND completed = 0
             ORDER BY updated_at DESC LIMIT 1",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sha: String = row.try_get(0)?;
        let id = row.try_get::<i64, _>(1)? as u64;
        Ok(CommitSha::parse(&sha).map(|sha| (sha, id)))
    }
}
