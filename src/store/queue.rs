//! Deliveries and jobs: stored before the answer, claimed with a lease, finished once.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::Row;

use super::db::{Backend, Store, now_ms};
use crate::event::ReviewRequest;
use crate::ids::{CommentId, CommitSha, DeliveryId, JobId, PrNumber, RepoName};

/// A delivery as the webhook stores it.
pub struct DeliveryRecord<'a> {
    pub id: &'a DeliveryId,
    pub event: &'a str,
    pub action: Option<&'a str>,
    /// `queued`, `ignored: <reason>`, `ping`...
    pub outcome: &'a str,
    pub effect: Effect<'a>,
}

/// What a delivery changes besides being recorded.
#[derive(Default)]
pub struct Effect<'a> {
    /// A push: queued reviews of other heads of this PR are cancelled (first).
    pub supersede: Option<Supersede<'a>>,
    /// Queue a job (or join the same one already queued or running).
    pub enqueue: Option<&'a ReviewRequest>,
}

/// The new head of a pull request.
pub struct Supersede<'a> {
    pub repo: &'a RepoName,
    pub pr: PrNumber,
    pub head_sha: &'a CommitSha,
}

impl<'a> Effect<'a> {
    pub fn enqueue(req: &'a ReviewRequest) -> Self {
        Self {
            supersede: None,
            enqueue: Some(req),
        }
    }
}

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new job was queued.
    Queued(JobId),
    /// The same work was already queued or running: this trigger joined that job.
    Joined(JobId),
    /// Stored; `cancelled` queued jobs were superseded.
    Stored { cancelled: u64 },
    /// The same delivery id was stored before (a redelivery): nothing new was done.
    Duplicate,
}

/// A job a worker holds the lease of.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    pub request: ReviewRequest,
    /// 1 on the first run.
    pub attempt: u32,
    /// Comments that asked for the same review while this job waited.
    pub joined_comments: Vec<CommentId>,
    /// Times a worker died holding this job (its lease expired before it finished).
    pub lease_losses: u32,
    /// Where the acknowledgement of the job's own comment stood when it was claimed.
    pub ack: super::acks::AckState,
    /// How long the job waited for a worker once due.
    pub waited: Duration,
    /// When its delivery was stored (ms since the epoch).
    pub created_at: i64,
}

impl Store {
    /// Stores a delivery and its effect in one transaction. A delivery id seen before is a
    /// redelivery: nothing is written and [`Recorded::Duplicate`] is returned.
    pub async fn record_delivery(&self, d: DeliveryRecord<'_>) -> anyhow::Result<Recorded> {
        self.record_one(&d).await
    }

    async fn record_one(&self, d: &DeliveryRecord<'_>) -> anyhow::Result<Recorded> {
        let mut tx = self.pool.begin().await?;
        let recorded = record_in(&mut tx, d).await?;
        tx.commit().await.context("committing the delivery")?;
        Ok(recorded)
    }

    /// Stores several deliveries in one transaction (one disk sync for all: group commit).
    /// If the batch fails, each is stored on its own so one bad record fails alone.
    pub async fn record_deliveries(
        &self,
        batch: &[DeliveryRecord<'_>],
    ) -> Vec<anyhow::Result<Recorded>> {
        let together = async {
            let mut tx = self.pool.begin().await?;
            let mut out = Vec::with_capacity(batch.len());
            for d in batch {
                out.push(record_in(&mut tx, d).await?);
            }
            tx.commit().await.context("committing the deliveries")?;
            anyhow::Ok(out)
        };
        match together.await {
            Ok(recorded) => recorded.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "a batch of deliveries failed; storing one by one"
                );
                let mut out = Vec::with_capacity(batch.len());
                for d in batch {
                    out.push(self.record_one(d).await);
                }
                out
            }
        }
    }
}

/// Stores one delivery and its effect inside `tx`.
pub(super) async fn record_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    d: &DeliveryRecord<'_>,
) -> anyhow::Result<Recorded> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO deliveries (delivery_id, event, action, outcome, received_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO NOTHING",
    )
    .bind(d.id.as_str())
    .bind(d.event)
    .bind(d.action)
    .bind(d.outcome)
    .bind(now)
    .execute(&mut **tx)
    .await
    .context("storing the delivery")?
    .rows_affected();
    if inserted == 0 {
        return Ok(Recorded::Duplicate);
    }
    let mut cancelled = 0;
    if let Some(Supersede { repo, pr, head_sha }) = &d.effect.supersede {
        cancelled = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', outcome = $1, updated_at = $2
                 WHERE repo = $3 AND pr_number = $4 AND state = 'queued'
                   AND head_sha IS NOT NULL AND head_sha <> $5",
        )
        .bind(format!("superseded by a push of {}", head_sha.short()))
        .bind(now)
        .bind(repo.as_str())
        .bind(pr.0 as i64)
        .bind(head_sha.as_str())
        .execute(&mut **tx)
        .await
        .context("cancelling superseded jobs")?
        .rows_affected();
    }
    let recorded = match d.effect.enqueue {
        None => Recorded::Stored { cancelled },
        Some(req) => {
            let key = req.dedupe_key();
            let new = sqlx::query(
                "INSERT INTO jobs (delivery_id, installation_id, repo, pr_number, request,
                                       state, attempts, run_after, created_at, updated_at,
                                       head_sha, dedupe_key)
                     VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6, $6, $7, $8)
                     ON CONFLICT (dedupe_key) WHERE state IN ('queued', 'running') DO NOTHING
                     RETURNING id",
            )
            .bind(d.id.as_str())
            .bind(req.installation.0 as i64)
            .bind(req.repo.as_str())
            .bind(req.pr.0 as i64)
            .bind(serde_json::to_string(req)?)
            .bind(now)
            .bind(req.head_sha().map(CommitSha::as_str))
            .bind(&key)
            .fetch_optional(&mut **tx)
            .await
            .context("storing the job")?;
            match new {
                Some(row) => Recorded::Queued(JobId(row.try_get::<i64, _>(0)? as u64)),
                None => {
                    let row = sqlx::query(
                        "SELECT id FROM jobs
                             WHERE dedupe_key = $1 AND state IN ('queued', 'running')",
                    )
                    .bind(&key)
                    .fetch_one(&mut **tx)
                    .await
                    .context("finding the job to join")?;
                    let id = row.try_get::<i64, _>(0)?;
                    if let crate::event::Trigger::Comment { comment_id, .. } = &req.trigger {
                        sqlx::query(
                            "UPDATE jobs SET joined_comments = joined_comments || $1
                                 WHERE id = $2",
                        )
                        .bind(format!("{comment_id},"))
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                    }
                    Recorded::Joined(JobId(id as u64))
                }
            }
        }
    };
    if let Some(req) = d.effect.enqueue {
        let own_job = match recorded {
            Recorded::Queued(job) => Some(job),
            _ => None,
        };
        super::acks::insert_in(tx, req, own_job, now).await?;
    }
    if cancelled > 0 {
        tracing::info!(cancelled, "queued reviews of an older head cancelled");
    }
    Ok(recorded)
}

impl Store {
    /// Takes the oldest runnable job (queued and due, or running with an expired lease) whose
    /// installation has fewer than `per_installation` jobs running, and leases it to `owner`.
    pub async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        per_installation: usize,
    ) -> anyhow::Result<Option<ClaimedJob>> {
        let now = now_ms();
        // A job taken from an expired lease lost its worker: counted, so a job that crashes
        // every worker is given up. (SET reads the row as it was: `state` is the old state.)
        const CLAIM: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1,
                    lease_losses = lease_losses + (CASE WHEN state = 'running' THEN 1 ELSE 0 END),
                    lease_owner = $1, lease_until = $2, updated_at = $3
             WHERE id = (SELECT j.id FROM jobs j
                         WHERE ((j.state = 'queued' AND j.run_after <= $3)
                             OR (j.state = 'running' AND j.lease_until < $3))
                           AND (SELECT COUNT(*) FROM jobs r
                                WHERE r.installation_id = j.installation_id
                                  AND r.state = 'running' AND r.lease_until >= $3) < $4
                         ORDER BY j.run_after, j.id LIMIT 1)
             RETURNING id, request, attempts, joined_comments, lease_losses, run_after, created_at";
        let mut tx = self.pool.begin().await.context("claiming a job")?;
        if self.backend == Backend::Postgres {
            // SQLite has one writer at a time, so the count and the update are atomic there.
            // On PostgreSQL claims are serialised across replicas by a transaction-scoped
            // advisory lock: two replicas claiming at the same instant cannot both pass the
            // per-installation limit. Claims are short; the lock is held for one statement.
            sqlx::query("SELECT pg_advisory_xact_lock(7245019981)")
                .execute(&mut *tx)
                .await
                .context("taking the claim lock")?;
        }
        let row = sqlx::query(CLAIM)
            .bind(owner)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(per_installation.max(1) as i64)
            .fetch_optional(&mut *tx)
            .await
            .context("claiming a job")?;
        let Some(row) = row else {
            tx.commit().await.context("claiming a job")?;
            return Ok(None);
        };
        let id = JobId(row.try_get::<i64, _>(0)? as u64);
        let ack = super::acks::take_ack_in(&mut tx, id, now)
            .await
            .context("taking the job's acknowledgement")?;
        tx.commit().await.context("claiming a job")?;
        let request: String = row.try_get(1)?;
        let attempt = row.try_get::<i64, _>(2)? as u32;
        let joined: String = row.try_get(3)?;
        let lease_losses = row.try_get::<i64, _>(4)?.max(0) as u32;
        // Since it was due: a job taken from an expired lease waited for a live worker too.
        let waited = Duration::from_millis((now - row.try_get::<i64, _>(5)?).max(0) as u64);
        let created_at = row.try_get::<i64, _>(6)?;
        let joined_comments = joined
            .split(',')
            .filter_map(|c| c.parse().ok().map(CommentId))
            .collect();
        match serde_json::from_str::<ReviewRequest>(&request) {
            Ok(request) => Ok(Some(ClaimedJob {
                id,
                request,
                attempt,
                joined_comments,
                lease_losses,
                ack,
                waited,
                created_at,
            })),
            Err(e) => {
                // A row this version cannot read: park it rather than crash-loop on it.
                self.fail(id, "", &format!("unreadable job: {e}")).await?;
                Ok(None)
            }
        }
    }

    /// Extends the lease of a job still being worked on. False when `owner` no longer holds
    /// it (the lease expired and another worker took the job).
    pub async fn heartbeat(&self, id: JobId, owner: &str, lease: Duration) -> anyhow::Result<bool> {
        let now = now_ms();
        let n = sqlx::query(
            "UPDATE jobs SET lease_until = $1, updated_at = $2
             WHERE id = $3 AND state = 'running' AND lease_owner = $4",
        )
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(id.0 as i64)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The job is finished; `outcome` says how (kept for operators).
    pub async fn complete(&self, id: JobId, owner: &str, outcome: &str) -> anyhow::Result<()> {
        self.finish(id, owner, "done", Some(outcome), None).await
    }

    /// The job failed for good (`owner` as for [`Store::complete`]; empty: whoever holds it).
    pub async fn fail(&self, id: JobId, owner: &str, error: &str) -> anyhow::Result<()> {
        self.finish(id, owner, "failed", None, Some(error)).await
    }

    /// Marks a job finished. With an `owner`, only while that owner holds the lease (a worker
    /// that lost its lease does not overwrite the result of the one that took over).
    async fn finish(
        &self,
        id: JobId,
        owner: &str,
        state: &str,
        outcome: Option<&str>,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = $1, outcome = $2, last_error = COALESCE($3, last_error),
                    lease_owner = NULL, lease_until = NULL, updated_at = $4
             WHERE id = $5 AND ($6 = '' OR lease_owner = $6)",
        )
        .bind(state)
        .bind(outcome)
        .bind(error)
        .bind(now_ms())
        .bind(id.0 as i64)
        .bind(owner)
        .execute(&self.pool)
        .await
        .context("finishing a job")?;
        Ok(())
    }

    /// Puts the job `owner` holds back in the queue to run again after `delay`; an attempt
    /// that is not `counted` is given back.
    pub async fn retry_later(
        &self,
        id: JobId,
        owner: &str,
        delay: Duration,
        error: &str,
        counted: bool,
    ) -> anyhow::Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = $1, last_error = $2,
                    attempts = attempts - $6, lease_owner = NULL, lease_until = NULL,
                    updated_at = $3
             WHERE id = $4 AND lease_owner = $5",
        )
        .bind(now + delay.as_millis() as i64)
        .bind(error)
        .bind(now)
        .bind(id.0 as i64)
        .bind(owner)
        .bind(if counted { 0i64 } else { 1 })
        .execute(&self.pool)
        .await
        .context("re-queueing a job")?;
        Ok(())
    }

    /// Makes the jobs `owner` held when its process stopped claimable at once (a restart
    /// under the same instance name). Returns how many.
    pub async fn reclaim_owned(&self, owner: &str) -> anyhow::Result<u64> {
        let n = sqlx::query(
            "UPDATE jobs SET lease_until = 0, updated_at = $1
             WHERE lease_owner = $2 AND state = 'running'",
        )
        .bind(now_ms())
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Hands back every job `owner` still holds (shutdown): another worker may take them at
    /// once, and the interrupted attempt does not count.
    pub async fn release_owned(&self, owner: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL,
                    lease_until = NULL, updated_at = $1
             WHERE lease_owner = $2 AND state = 'running'",
        )
        .bind(now_ms())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Jobs per state (metrics, tests).
    pub async fn job_counts(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
            .collect()
    }

    /// Jobs queued and running, for `/metrics`: an indexed count of the live jobs only,
    /// however many finished ones the table holds.
    pub async fn live_job_counts(&self) -> anyhow::Result<[(&'static str, i64); 2]> {
        let mut counts = [("queued", 0), ("running", 0)];
        for (state, n) in counts.iter_mut() {
            let row = sqlx::query("SELECT COUNT(*) FROM jobs WHERE state = $1")
                .bind(*state)
                .fetch_one(&self.pool)
                .await?;
            *n = row.try_get::<i64, _>(0)?;
        }
        Ok(counts)
    }

    /// How long the oldest queued job has waited (zero when none waits).
    pub async fn oldest_queued_age(&self) -> anyhow::Result<Duration> {
        let row = sqlx::query("SELECT MIN(created_at) FROM jobs WHERE state = 'queued'")
            .fetch_one(&self.pool)
            .await?;
        let oldest: Option<i64> = row.try_get(0)?;
        Ok(oldest.map_or(Duration::ZERO, |t| {
            Duration::from_millis(now_ms().saturating_sub(t).max(0) as u64)
        }))
    }

    /// The number of stored deliveries (tests, load benchmark).
    pub async fn delivery_count(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM deliveries")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// The state and stored outcome or error of one job.
    pub async fn job_state(
        &self,
        id: JobId,
    ) -> anyhow::Result<Option<(String, Option<String>, Option<String>)>> {
        let row = sqlx::query("SELECT state, outcome, last_error FROM jobs WHERE id = $1")
            .bind(id.0 as i64)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }
}
