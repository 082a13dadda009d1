//! The redeliveries the service asked GitHub for, per delivery id, so that a delivery that
//! keeps failing is asked for a bounded number of times in all, across passes and restarts
//! (GitHub's list only shows the last days).

use anyhow::Context as _;
use sqlx::Row as _;

use super::db::{Store, now_ms};

impl Store {
    /// How many redeliveries of `guid` the service asked for so far.
    pub async fn redeliveries_asked(&self, guid: &str) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT asked FROM redelivery_requests WHERE guid = $1")
            .bind(guid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .unwrap_or(0))
    }

    /// Notes one more redelivery of `guid` asked for.
    pub async fn note_redelivery(&self, guid: &str) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO redelivery_requests (guid, asked, last_asked_at) VALUES ($1, 1, $2)
             ON CONFLICT (guid) DO UPDATE
             SET asked = redelivery_requests.asked + 1, last_asked_at = $2",
        )
        .bind(guid)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .context("noting a redelivery")?;
        Ok(())
    }

    /// Forgets the redeliveries last asked for before `cutoff_ms`.
    pub(super) async fn prune_redeliveries(&self, cutoff_ms: i64) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM redelivery_requests WHERE last_asked_at < $1")
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await
            .context("pruning redeliveries")?;
        Ok(done.rows_affected())
    }
}
