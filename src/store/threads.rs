//! The lifecycle of posted findings across pushes: the review thread each inline finding lives in,
//! and its state: `open`, `fixed`, `dismissed` or `outdated`.

use anyhow::Context as _;
use sqlx::Row;

use super::db::{Store, now_ms};
use crate::ids::{PrNumber, RepoName};

/// A finding posted inline, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFinding {
    /// The app's short id of the finding (the `[ID]` the model is shown).
    pub id: String,
    pub fingerprint: String,
    pub path: String,
    pub side: String,
    pub start: u32,
    pub end: u32,
    pub title: String,
    pub body: String,
    /// The head it was posted on (its lines are in that commit's numbering).
    pub head_sha: String,
    pub comment_id: u64,
    pub thread_id: String,
    pub state: String,
}

/// A state a finding moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingState {
    Fixed,
    Dismissed,
    Outdated,
}

impl FindingState {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Fixed => "fixed",
            FindingState::Dismissed => "dismissed",
            FindingState::Outdated => "outdated",
        }
    }
}

impl Store {
    /// Links posted findings to their review comment and thread: `(fingerprint, comment id,
    /// thread node id)`.
    pub async fn attach_threads(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        threads: &[(String, u64, String)],
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (fingerprint, comment, thread) in threads {
            sqlx::query(
                "UPDATE findings SET comment_id = $1, thread_id = $2
                 WHERE repo = $3 AND pr_number = $4 AND fingerprint = $5",
            )
            .bind(*comment as i64)
            .bind(thread)
            .bind(repo.as_str())
            .bind(pr.0 as i64)
            .bind(fingerprint)
            .execute(&mut *tx)
            .await
            .context("linking a finding to its thread")?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The PR's findings that live in a review thread, in one state (`open`, ...).
    pub async fn threaded_findings(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        state: &str,
    ) -> anyhow::Result<Vec<StoredFinding>> {
        self.findings_where(repo, pr, state, "thread_id IS NOT NULL")
            .await
    }

    /// The PR's open findings posted in a review's summary only (no thread): they stay open
    /// until a review says they are fixed.
    pub async fn open_summary_findings(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> anyhow::Result<Vec<StoredFinding>> {
        self.findings_where(repo, pr, "open", "thread_id IS NULL")
            .await
    }

    async fn findings_where(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        state: &str,
        threaded: &'static str,
    ) -> anyhow::Result<Vec<StoredFinding>> {
        let sql = format!(
            "SELECT short_id, fingerprint, path, side, start_line, end_line, title, body,
                    head_sha, comment_id, thread_id, state
             FROM findings
             WHERE repo = $1 AND pr_number = $2 AND state = $3 AND {threaded}
             ORDER BY posted_at, fingerprint"
        );
        // `threaded` is one of the two constant conditions above, never input.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_str())
            .bind(pr.0 as i64)
            .bind(state)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredFinding {
                    id: r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                    fingerprint: r.try_get(1)?,
                    path: r.try_get(2)?,
                    side: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                    start: r.try_get::<Option<i64>, _>(4)?.unwrap_or(0) as u32,
                    end: r.try_get::<Option<i64>, _>(5)?.unwrap_or(0) as u32,
                    title: r.try_get(6)?,
                    body: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                    head_sha: r.try_get(8)?,
                    comment_id: r.try_get::<Option<i64>, _>(9)?.unwrap_or(0) as u64,
                    thread_id: r.try_get::<Option<String>, _>(10)?.unwrap_or_default(),
                    state: r.try_get(11)?,
                })
            })
            .collect()
    }

    /// The finding posted as review comment `comment`, whatever its state.
    pub async fn finding_by_comment(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        comment: u64,
    ) -> anyhow::Result<Option<StoredFinding>> {
        for state in ["open", "fixed", "dismissed", "outdated"] {
            let found = self
                .threaded_findings(repo, pr, state)
                .await?
                .into_iter()
                .find(|f| f.comment_id == comment);
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Moves a finding to `state`, with who and why (a dismissal's reason).
    pub async fn set_finding_state(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        fingerprint: &str,
        state: FindingState,
        reason: Option<&str>,
        by: Option<&str>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE findings SET state = $1, state_reason = $2, state_by = $3, state_at = $4
             WHERE repo = $5 AND pr_number = $6 AND fingerprint = $7",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(by)
        .bind(now_ms())
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .bind(fingerprint)
        .execute(&self.pool)
        .await
        .context("saving a finding's state")?;
        Ok(())
    }

    /// `(path, title)` of the PR's dismissed findings: never posted again on this PR.
    pub async fn dismissed_findings(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT path, title FROM findings
             WHERE repo = $1 AND pr_number = $2 AND state = 'dismissed'",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

/// An open finding that holds the merge gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingFinding {
    pub id: String,
    pub title: String,
    pub path: String,
    pub line: u32,
    pub priority: i64,
    /// Its review comment (the thread's first), when it was posted inline.
    pub comment_id: Option<u64>,
}

impl Store {
    /// Notes that the findings with these fingerprints were reported again on `head` (a later
    /// review dropped them as already posted: they are still there).
    pub async fn mark_seen(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        fingerprints: &[String],
        head: &str,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for fingerprint in fingerprints {
            sqlx::query(
                "UPDATE findings SET seen_sha = $1
                 WHERE repo = $2 AND pr_number = $3 AND fingerprint = $4",
            )
            .bind(head)
            .bind(repo.as_str())
            .bind(pr.0 as i64)
            .bind(fingerprint)
            .execute(&mut *tx)
            .await
            .context("noting a finding seen again")?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The PR's open findings at `limit` or more urgent that hold the gate, most
    /// urgent first: those in a review thread until fixed, outdated or dismissed, and those
    /// posted in a summary until a review says they are fixed (the model repeating them or
    /// not does not decide).
    pub async fn holding_findings(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        limit: u8,
    ) -> anyhow::Result<Vec<HoldingFinding>> {
        let rows = sqlx::query(
            "SELECT short_id, title, path, start_line, priority, comment_id FROM findings
             WHERE repo = $1 AND pr_number = $2 AND state = 'open' AND priority <= $3
             ORDER BY priority, posted_at, fingerprint",
        )
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HoldingFinding {
                    id: r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                    title: r.try_get(1)?,
                    path: r.try_get(2)?,
                    line: r.try_get::<Option<i64>, _>(3)?.unwrap_or(0) as u32,
                    priority: r.try_get::<Option<i64>, _>(4)?.unwrap_or(0),
                    comment_id: r.try_get::<Option<i64>, _>(5)?.map(|c| c as u64),
                })
            })
            .collect()
    }
}

/// A repository learning: the reason a maintainer gave when dismissing a finding, in their
/// own words (the finding's title, written by the model, is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learning {
    /// The number `@codex forget N` takes.
    pub id: i64,
    pub reason: String,
    pub author: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl Store {
    /// Remembers a learning of `repo`: `author`'s `reason`.
    pub async fn add_learning(
        &self,
        repo: &RepoName,
        reason: &str,
        author: &str,
    ) -> anyhow::Result<()> {
        // The same lesson from the same person is kept once (a job run again after a
        // failure repeats its steps).
        sqlx::query(
            "INSERT INTO learnings (repo, title, reason, author, created_at)
             SELECT $1, '', $2, $3, $4
             WHERE NOT EXISTS (SELECT 1 FROM learnings
                               WHERE repo = $1 AND reason = $2 AND author = $3)",
        )
        .bind(repo.as_str())
        .bind(reason)
        .bind(author)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .context("saving a learning")?;
        Ok(())
    }

    /// The most recent learnings of `repo`, newest first.
    pub async fn learnings(&self, repo: &RepoName, limit: i64) -> anyhow::Result<Vec<Learning>> {
        let rows = sqlx::query(
            "SELECT id, reason, author, created_at FROM learnings
             WHERE repo = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(repo.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Learning {
                    id: r.try_get(0)?,
                    reason: r.try_get(1)?,
                    author: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Removes learning `id` of `repo`; false when there is none.
    pub async fn forget_learning(&self, repo: &RepoName, id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM learnings WHERE repo = $1 AND id = $2")
            .bind(repo.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .context("removing a learning")?;
        Ok(done.rows_affected() > 0)
    }
}
