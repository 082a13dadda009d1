//! The database: one facade over SQLite or Postgres through sqlx's `Any` driver. The SQL is
//! shared (both accept `$n` parameters and `RETURNING`) except where noted.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

use crate::event::ReviewRequest;
use crate::ids::{DeliveryId, JobId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The database handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// A delivery as the webhook stores it.
pub struct DeliveryRecord<'a> {
    pub id: &'a DeliveryId,
    pub event: &'a str,
    pub action: Option<&'a str>,
    /// `queued`, `ignored: <reason>`, `ping`...
    pub outcome: &'a str,
    pub job: Option<&'a ReviewRequest>,
}

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First time seen; the job id when a job was queued.
    New(Option<JobId>),
    /// The same delivery id was stored before (a redelivery): nothing new was queued.
    Duplicate,
}

/// A job a worker holds the lease of.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    pub request: ReviewRequest,
    /// 1 on the first run.
    pub attempt: u32,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn migration(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(name),
        MigrationType::Simple,
        sqlx::SqlSafeStr::into_sql_str(sql),
        false,
    )
}

impl Store {
    /// Connects, creates the SQLite file if needed, and applies the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let mut url = url.to_owned();
            if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
            (Backend::Sqlite, url)
        } else {
            (Backend::Postgres, url.to_owned())
        };
        let options = AnyConnectOptions::from_str(&url).context("DATABASE_URL is not valid")?;
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            pool = pool.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the one writer; FULL keeps an answered
                    // delivery on disk even through a power cut.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        } else {
            pool = pool.max_connections(16);
        }
        let pool = pool
            .connect_with(options)
            .await
            .context("cannot open the database")?;
        let migrations = match backend {
            Backend::Sqlite => vec![migration(
                1,
                "deliveries and jobs",
                include_str!("../../migrations/sqlite/0001_deliveries_and_jobs.sql"),
            )],
            Backend::Postgres => vec![migration(
                1,
                "deliveries and jobs",
                include_str!("../../migrations/postgres/0001_deliveries_and_jobs.sql"),
            )],
        };
        Migrator::with_migrations(migrations)
            .run(&pool)
            .await
            .context("applying database migrations")?;
        Ok(Self { pool, backend })
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Stores a delivery and its job in one transaction. A delivery id seen before is a
    /// redelivery: nothing is written and [`Recorded::Duplicate`] is returned.
    pub async fn record_delivery(&self, d: DeliveryRecord<'_>) -> anyhow::Result<Recorded> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO deliveries (delivery_id, event, action, outcome, received_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(d.id.as_str())
        .bind(d.event)
        .bind(d.action)
        .bind(d.outcome)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("storing the delivery")?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(Recorded::Duplicate);
        }
        let mut job_id = None;
        if let Some(req) = d.job {
            let row = sqlx::query(
                "INSERT INTO jobs (delivery_id, installation_id, repo, pr_number, request, state,
                                   attempts, run_after, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6, $6) RETURNING id",
            )
            .bind(d.id.as_str())
            .bind(req.installation.0 as i64)
            .bind(req.repo.as_str())
            .bind(req.pr.0 as i64)
            .bind(serde_json::to_string(req)?)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .context("storing the job")?;
            job_id = Some(JobId(row.try_get::<i64, _>(0)? as u64));
        }
        tx.commit().await.context("committing the delivery")?;
        Ok(Recorded::New(job_id))
    }

    /// Takes the oldest runnable job (queued and due, or running with an expired lease) and
    /// leases it to `owner` for `lease`.
    pub async fn claim(&self, owner: &str, lease: Duration) -> anyhow::Result<Option<ClaimedJob>> {
        let now = now_ms();
        let sql = match self.backend {
            // SQLite has one writer at a time: the sub-select and update are atomic.
            Backend::Sqlite => {
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                        lease_until = $2, updated_at = $3
                 WHERE id = (SELECT id FROM jobs
                             WHERE (state = 'queued' AND run_after <= $3)
                                OR (state = 'running' AND lease_until < $3)
                             ORDER BY run_after, id LIMIT 1)
                 RETURNING id, request, attempts"
            }
            Backend::Postgres => {
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                        lease_until = $2, updated_at = $3
                 WHERE id = (SELECT id FROM jobs
                             WHERE (state = 'queued' AND run_after <= $3)
                                OR (state = 'running' AND lease_until < $3)
                             ORDER BY run_after, id LIMIT 1
                             FOR UPDATE SKIP LOCKED)
                 RETURNING id, request, attempts"
            }
        };
        let row = sqlx::query(sql)
            .bind(owner)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .context("claiming a job")?;
        let Some(row) = row else { return Ok(None) };
        let id = JobId(row.try_get::<i64, _>(0)? as u64);
        let request: String = row.try_get(1)?;
        let attempt = row.try_get::<i64, _>(2)? as u32;
        match serde_json::from_str::<ReviewRequest>(&request) {
            Ok(request) => Ok(Some(ClaimedJob {
                id,
                request,
                attempt,
            })),
            Err(e) => {
                // A row this version cannot read: park it rather than crash-loop on it.
                self.fail(id, &format!("unreadable job: {e}")).await?;
                Ok(None)
            }
        }
    }

    /// Extends the lease of a job still being worked on.
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
    pub async fn complete(&self, id: JobId, outcome: &str) -> anyhow::Result<()> {
        self.finish(id, "done", Some(outcome), None).await
    }

    /// The job failed for good.
    pub async fn fail(&self, id: JobId, error: &str) -> anyhow::Result<()> {
        self.finish(id, "failed", None, Some(error)).await
    }

    async fn finish(
        &self,
        id: JobId,
        state: &str,
        outcome: Option<&str>,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = $1, outcome = $2, last_error = COALESCE($3, last_error),
                    lease_owner = NULL, lease_until = NULL, updated_at = $4
             WHERE id = $5",
        )
        .bind(state)
        .bind(outcome)
        .bind(error)
        .bind(now_ms())
        .bind(id.0 as i64)
        .execute(&self.pool)
        .await
        .context("finishing a job")?;
        Ok(())
    }

    /// Puts the job back in the queue to run again after `delay`.
    pub async fn retry_later(&self, id: JobId, delay: Duration, error: &str) -> anyhow::Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = $1, last_error = $2,
                    lease_owner = NULL, lease_until = NULL, updated_at = $3
             WHERE id = $4",
        )
        .bind(now + delay.as_millis() as i64)
        .bind(error)
        .bind(now)
        .bind(id.0 as i64)
        .execute(&self.pool)
        .await
        .context("re-queueing a job")?;
        Ok(())
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

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
