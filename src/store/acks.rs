//! Acknowledgements: the 👀 a person sees on their command at once. A command comment is
//! stored with an acknowledgement row in the same transaction as its job; the loop that makes
//! them is `worker::acks`. Rows survive a crash and are taken up at start.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::Row;

use super::db::{Backend, Store, now_ms};
use crate::event::{ReviewRequest, Trigger};
use crate::ids::JobId;

/// How long a claimed acknowledgement is held before another loop may take it.
const HOLD: Duration = Duration::from_secs(30);
/// How long a new acknowledgement is left to a free review worker (which then decides for
/// it, sharing the calls) before the acknowledgement loop takes it: it acts when every worker
/// is busy.
pub(crate) const GRACE: Duration = Duration::from_millis(150);
/// Attempts before an acknowledgement is given up (the review still runs).
const MAX_ATTEMPTS: i64 = 5;

/// One acknowledgement to make.
#[derive(Debug, Clone)]
pub struct Ack {
    pub id: i64,
    /// The job this comment created (not one it joined): cancelled when the author may not
    /// run commands.
    pub job: Option<JobId>,
    pub request: ReviewRequest,
    pub attempts: i64,
    /// When the comment's delivery was stored (ms since the epoch).
    pub created_at: i64,
}

/// How an acknowledgement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckResult {
    /// Reacted.
    Done,
    /// The author may not run commands: no reaction.
    Denied,
    /// A transient failure: try again after the delay.
    Retry(Duration),
    /// A permanent failure (logged).
    Failed(String),
}

/// Where the acknowledgement of a job's own comment stands, as its worker finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckState {
    /// The worker took it over (no loop had started it): the worker reacts once it has
    /// decided the author may run commands.
    Worker,
    /// The acknowledgement loop is deciding right now.
    InFlight,
    /// Reacted: the author may run commands.
    Done,
    /// The author may not run commands.
    Denied,
    /// No acknowledgement (not a comment, or stored before acknowledgements existed).
    None,
}

/// Stores the acknowledgement of a command comment inside the delivery's transaction.
pub(super) async fn insert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    req: &ReviewRequest,
    job: Option<JobId>,
    now: i64,
) -> anyhow::Result<()> {
    let Trigger::Comment { comment_id, .. } = &req.trigger else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO acks (job_id, repo, comment_id, request, state, attempts, run_after,
                           claimed_until, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $5, $5)
         ON CONFLICT (repo, comment_id) DO NOTHING",
    )
    .bind(job.map(|j| j.0 as i64))
    .bind(req.repo.as_str())
    .bind(comment_id.0 as i64)
    .bind(serde_json::to_string(req)?)
    .bind(now)
    .execute(&mut **tx)
    .await
    .context("storing the acknowledgement")?;
    Ok(())
}

/// [`Store::take_ack`] on `conn` (the claim's transaction, so claiming a job and taking its
/// acknowledgement cost one disk sync).
pub(super) async fn take_ack_in(
    conn: &mut sqlx::AnyConnection,
    job: JobId,
    now: i64,
) -> anyhow::Result<AckState> {
    let taken = sqlx::query(
        "UPDATE acks SET state = 'worker', updated_at = $1
         WHERE job_id = $2 AND state = 'pending' AND claimed_until < $1
         RETURNING id",
    )
    .bind(now)
    .bind(job.0 as i64)
    .fetch_optional(&mut *conn)
    .await?;
    if taken.is_some() {
        return Ok(AckState::Worker);
    }
    let row = sqlx::query("SELECT state FROM acks WHERE job_id = $1")
        .bind(job.0 as i64)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(AckState::None);
    };
    let state: String = row.try_get(0)?;
    Ok(match state.as_str() {
        "pending" => AckState::InFlight,
        "done" => AckState::Done,
        "denied" => AckState::Denied,
        // Taken by an earlier attempt of this job, or given up: the worker decides.
        _ => AckState::Worker,
    })
}

impl Store {
    /// Claims up to `limit` due acknowledgements for [`HOLD`].
    pub async fn claim_acks(&self, limit: usize) -> anyhow::Result<Vec<Ack>> {
        let now = now_ms();
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE acks SET claimed_until = $1, attempts = attempts + 1, updated_at = $2
             WHERE id IN (SELECT id FROM acks
                          WHERE state = 'pending' AND run_after <= $2 AND claimed_until < $2
                            AND created_at <= $4
                          ORDER BY id LIMIT $3{lock})
             RETURNING id, job_id, request, attempts, created_at"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now + HOLD.as_millis() as i64)
            .bind(now)
            .bind(limit as i64)
            .bind(now - GRACE.as_millis() as i64)
            .fetch_all(&self.pool)
            .await
            .context("claiming acknowledgements")?;
        let mut acks = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get(0)?;
            let job: Option<i64> = row.try_get(1)?;
            let request: String = row.try_get(2)?;
            match serde_json::from_str::<ReviewRequest>(&request) {
                Ok(request) => acks.push(Ack {
                    id,
                    job: job.map(|j| JobId(j as u64)),
                    request,
                    attempts: row.try_get(3)?,
                    created_at: row.try_get(4)?,
                }),
                Err(e) => {
                    self.finish_ack(id, &format!("failed: unreadable: {e}"))
                        .await?
                }
            }
        }
        Ok(acks)
    }

    /// The acknowledgement of `job`'s own comment, taken over by the job's worker when no
    /// loop has started it: one of them decides, never both.
    pub async fn take_ack(&self, job: JobId) -> anyhow::Result<AckState> {
        let mut conn = self.pool.acquire().await?;
        take_ack_in(&mut conn, job, now_ms()).await
    }

    /// Ends an acknowledgement in `state` (`done`, `denied`, `failed: ...`).
    pub async fn finish_ack(&self, id: i64, state: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE acks SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(state)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Cancels a job that no worker has started (its author may not run commands). True when
    /// it was still queued.
    pub async fn cancel_queued(&self, job: JobId, why: &str) -> anyhow::Result<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', outcome = $1, updated_at = $2
             WHERE id = $3 AND state = 'queued'",
        )
        .bind(why)
        .bind(now_ms())
        .bind(job.0 as i64)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}

impl Store {
    /// Records the results of finished acknowledgements in one transaction.
    pub(crate) async fn record_acks(&self, batch: &[(Ack, AckResult)]) -> anyhow::Result<()> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for (ack, result) in batch {
            let (state, run_after) = match result {
                AckResult::Done => ("done".to_owned(), None),
                AckResult::Denied => ("denied".to_owned(), None),
                AckResult::Retry(_) if ack.attempts >= MAX_ATTEMPTS => {
                    tracing::warn!("acknowledgement given up after its last attempt");
                    ("failed: out of attempts".to_owned(), None)
                }
                AckResult::Retry(delay) => {
                    ("pending".to_owned(), Some(now + delay.as_millis() as i64))
                }
                AckResult::Failed(why) => {
                    tracing::warn!(why, "acknowledgement failed");
                    (format!("failed: {why}"), None)
                }
            };
            sqlx::query(
                "UPDATE acks SET state = $1, run_after = COALESCE($2, run_after),
                        claimed_until = 0, updated_at = $3
                 WHERE id = $4",
            )
            .bind(&state)
            .bind(run_after)
            .bind(now)
            .bind(ack.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
