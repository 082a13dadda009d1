//! Pull mode's place in the App's delivery log: the newest delivery handled, and the listed
//! deliveries whose payload GitHub could not return yet.

use anyhow::Context as _;
use sqlx::Row as _;

use super::db::{Store, now_ms};

/// The one cursor (a row per name leaves room for more logs).
const CURSOR: &str = "app";

/// A delivery GitHub listed but could not return, to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMiss {
    pub delivery_id: u64,
    pub guid: String,
    pub event: String,
    /// Reads tried so far.
    pub attempts: u32,
}

impl Store {
    /// The newest delivery id of the log handled, or `None` before the first pass.
    pub async fn log_cursor(&self) -> anyhow::Result<Option<u64>> {
        let row = sqlx::query("SELECT last_id FROM delivery_log_cursor WHERE name = $1")
            .bind(CURSOR)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .map(|id| id as u64))
    }

    /// Moves the cursor to `id` unless it is already past it (replicas move it together).
    pub async fn advance_log_cursor(&self, id: u64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO delivery_log_cursor (name, last_id, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE
             SET last_id = CASE WHEN excluded.last_id > delivery_log_cursor.last_id
                                THEN excluded.last_id ELSE delivery_log_cursor.last_id END,
                 updated_at = excluded.updated_at",
        )
        .bind(CURSOR)
        .bind(id as i64)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .context("moving the delivery log's cursor")?;
        Ok(())
    }

    /// Notes a failed read of a listed delivery, to be tried again from `next_at_ms`.
    pub async fn note_log_miss(
        &self,
        miss: &LogMiss,
        next_at_ms: i64,
        error: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO delivery_log_misses
                 (delivery_id, guid, event, attempts, next_at, last_error)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (delivery_id) DO UPDATE
             SET attempts = excluded.attempts, next_at = excluded.next_at,
                 last_error = excluded.last_error",
        )
        .bind(miss.delivery_id as i64)
        .bind(&miss.guid)
        .bind(&miss.event)
        .bind(i64::from(miss.attempts))
        .bind(next_at_ms)
        .bind(error)
        .execute(&self.pool)
        .await
        .context("noting a delivery that could not be read")?;
        Ok(())
    }

    /// The misses due for another read at `now_ms`, oldest delivery first.
    pub async fn due_log_misses(&self, now_ms: i64, limit: i64) -> anyhow::Result<Vec<LogMiss>> {
        let rows = sqlx::query(
            "SELECT delivery_id, guid, event, attempts FROM delivery_log_misses
             WHERE next_at <= $1 ORDER BY delivery_id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogMiss {
                    delivery_id: r.try_get::<i64, _>(0)? as u64,
                    guid: r.try_get(1)?,
                    event: r.try_get(2)?,
                    attempts: r.try_get::<i64, _>(3)?.clamp(0, i64::from(u32::MAX)) as u32,
                })
            })
            .collect()
    }

    /// How many listed deliveries wait for another read.
    pub async fn log_miss_count(&self) -> anyhow::Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) FROM delivery_log_misses")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?.max(0) as u64)
    }

    /// Forgets a miss: read at last, or given up on.
    pub async fn forget_log_miss(&self, delivery_id: u64) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM delivery_log_misses WHERE delivery_id = $1")
            .bind(delivery_id as i64)
            .execute(&self.pool)
            .await
            .context("forgetting a delivery read")?;
        Ok(())
    }
}
