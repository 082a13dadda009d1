//! What the app remembers of its own reviews: the SHAs it reviewed and the findings it posted,
//! so a later review covers the new commits and does not repeat itself.

use std::collections::HashMap;

use anyhow::Context as _;
use sqlx::Row;

use super::db::{Store, now_ms};
use crate::ids::{CommitSha, PrNumber, RepoName};

/// A finding as remembered: its fingerprint, its text and where it was posted.
#[derive(Debug, Clone)]
pub struct PostedFinding {
    pub fingerprint: String,
    pub path: String,
    pub title: String,
    /// `RIGHT` or `LEFT`, and the inclusive line range, on the reviewed head's diff.
    pub side: String,
    pub start: u32,
    pub end: u32,
    pub body: String,
    /// Posted inline (it has a review thread) rather than in the summary.
    pub inline: bool,
    /// 0 (must fix) to 3 (low), as posted.
    pub priority: i64,
}

/// A finding of the pull request as the store knows it, by fingerprint: its state and its
/// review thread (none for a finding posted in a summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFinding {
    /// `open`, `fixed`, `dismissed` or `outdated`.
    pub state: String,
    pub thread_id: Option<String>,
}

impl KnownFinding {
    /// Marked fixed or outdated: reported again, it is open again.
    pub fn closed(&self) -> bool {
        matches!(self.state.as_str(), "fixed" | "outdated")
    }
}

/// A posted review to remember.
pub struct PostedReview<'a> {
    pub repo: &'a RepoName,
    pub pr: PrNumber,
    pub head_sha: &'a CommitSha,
    pub trigger_id: &'a str,
    pub review_id: u64,
    pub findings: &'a [PostedFinding],
}

impl Store {
    /// Records a posted review and its findings in one transaction.
    pub async fn record_review(&self, r: PostedReview<'_>) -> anyhow::Result<()> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO posted_reviews (repo, pr_number, head_sha, trigger_id, review_id, posted_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.repo.as_str())
        .bind(r.pr.0 as i64)
        .bind(r.head_sha.as_str())
        .bind(r.trigger_id)
        .bind(r.review_id as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("recording the review")?;
        for f in r.findings {
            sqlx::query(
                "INSERT INTO findings (repo, pr_number, fingerprint, path, title, head_sha,
                                       review_id, posted_at, short_id, side, start_line,
                                       end_line, body, priority, seen_sha)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $6)
                 ON CONFLICT (repo, pr_number, fingerprint) DO UPDATE
                 SET state = 'open', state_reason = NULL, state_by = NULL, state_at = NULL,
                     head_sha = excluded.head_sha, seen_sha = excluded.head_sha,
                     review_id = excluded.review_id, side = excluded.side,
                     start_line = excluded.start_line, end_line = excluded.end_line,
                     priority = excluded.priority, comment_id = NULL, thread_id = NULL
                 WHERE findings.state IN ('fixed', 'outdated')",
            )
            .bind(r.repo.as_str())
            .bind(r.pr.0 as i64)
            .bind(&f.fingerprint)
            .bind(&f.path)
            .bind(&f.title)
            .bind(r.head_sha.as_str())
            .bind(r.review_id as i64)
            .bind(now)
            .bind(&f.fingerprint[..f.fingerprint.len().min(8)])
            .bind(&f.side)
            .bind(i64::from(f.start))
            .bind(i64::from(f.end))
            .bind(&f.body)
            .bind(f.priority)
            .execute(&mut *tx)
            .await
            .context("recording a finding")?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The head SHA of the app's latest review of this PR.
    pub async fn last_reviewed_sha(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> anyhow::Result<Option<CommitSha>> {
        let row = sqlx::query(
            "SELECT head_sha FROM posted_reviews WHERE repo = $1 AND pr_number = $2
             ORDER BY id DESC LIMIT 1",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?
            .and_then(|s| CommitSha::parse(&s)))
    }

    /// The findings already posted on this PR, by fingerprint.
    pub async fn posted_fingerprints(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> anyhow::Result<HashMap<String, KnownFinding>> {
        let rows = sqlx::query(
            "SELECT fingerprint, state, thread_id FROM findings
             WHERE repo = $1 AND pr_number = $2",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let known = KnownFinding {
                    state: r.try_get(1)?,
                    thread_id: r.try_get(2)?,
                };
                Ok((r.try_get::<String, _>(0)?, known))
            })
            .collect()
    }

    /// Opens again a finding marked fixed or outdated that a review of `head` reported again
    /// (its thread is unresolved, so it holds the gate again).
    pub async fn reopen_finding(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        fingerprint: &str,
        head: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE findings SET state = 'open', state_reason = NULL, state_by = NULL,
                                 state_at = $1, seen_sha = $2
             WHERE repo = $3 AND pr_number = $4 AND fingerprint = $5
               AND state IN ('fixed', 'outdated')",
        )
        .bind(now_ms())
        .bind(head)
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .bind(fingerprint)
        .execute(&self.pool)
        .await
        .context("reopening a finding")?;
        Ok(())
    }
}

impl Store {
    /// `@codex pause` (true) or `@codex resume` (false) for one pull request.
    pub async fn set_paused(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        paused: bool,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO pr_settings (repo, pr_number, paused, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo, pr_number) DO UPDATE SET paused = $3, updated_at = $4",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .bind(i64::from(paused))
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .context("saving the pause switch")?;
        Ok(())
    }

    /// Whether automatic reviews of this pull request are paused.
    pub async fn is_paused(&self, repo: &RepoName, pr: PrNumber) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT paused FROM pr_settings WHERE repo = $1 AND pr_number = $2")
            .bind(repo.as_str())
            .bind(pr.0 as i64)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .unwrap_or(0)
            != 0)
    }

    /// Whether a notice of `kind` and `key` was already given on this PR.
    pub async fn notice_given(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        kind: &str,
        key: &str,
    ) -> anyhow::Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM notices
             WHERE repo = $1 AND pr_number = $2 AND kind = $3 AND notice_key = $4",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .bind(kind)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Records that a notice of `kind` and `key` was given on this PR: called once GitHub
    /// has accepted it, so a notice that failed to post is posted on the next attempt.
    pub async fn record_notice(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        kind: &str,
        key: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO notices (repo, pr_number, kind, notice_key, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .bind(kind)
        .bind(key)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
