//! Housekeeping: deliveries, finished jobs and acknowledgements older than the retention
//! are deleted (hourly, by `worker::prune`), in small batches so no write waits long behind
//! them.
//! What the app remembers of its reviews (for incremental reviews and repeated findings)
//! is kept.

use std::time::Duration;

use anyhow::Context as _;

use super::db::{Store, now_ms};

/// Rows deleted per statement at most.
const BATCH: i64 = 2_000;

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub jobs: u64,
    pub deliveries: u64,
    pub acks: u64,
}

impl Store {
    /// Deletes finished jobs, finished acknowledgements and deliveries (that no remaining
    /// job needs) older than `retention`.
    pub async fn prune(&self, retention: Duration) -> anyhow::Result<Pruned> {
        let cutoff = now_ms() - retention.as_millis() as i64;
        let mut pruned = Pruned::default();
        // Oldest rows first, in primary-key order: no index is kept for pruning (each would
        // cost every webhook's insert), and an hourly scan stops at its batch.
        let batches: [(&str, &mut u64); 3] = [
            (
                "DELETE FROM jobs WHERE id IN (
                     SELECT id FROM jobs
                     WHERE state IN ('done', 'failed', 'cancelled') AND updated_at < $1
                     ORDER BY id LIMIT $2)",
                &mut pruned.jobs,
            ),
            (
                "DELETE FROM acks WHERE id IN (
                     SELECT id FROM acks WHERE state <> 'pending' AND updated_at < $1
                     ORDER BY id LIMIT $2)",
                &mut pruned.acks,
            ),
            (
                "DELETE FROM deliveries WHERE delivery_id IN (
                     SELECT delivery_id FROM deliveries
                     WHERE received_at < $1
                       AND delivery_id NOT IN (SELECT delivery_id FROM jobs)
                     LIMIT $2)",
                &mut pruned.deliveries,
            ),
        ];
        for (sql, count) in batches {
            loop {
                let n = sqlx::query(sql)
                    .bind(cutoff)
                    .bind(BATCH)
                    .execute(&self.pool)
                    .await
                    .context("pruning old rows")?
                    .rows_affected();
                *count += n;
                if n < BATCH as u64 {
                    break;
                }
                // Let deliveries and claims in between batches.
                tokio::task::yield_now().await;
            }
        }
        // The operator page charts 30 days of cost and a monthly cap counts a month: runs,
        // usage (and the review API's answers) stay at least that long.
        let runs_cutoff = cutoff.min(now_ms() - RUNS_KEPT.as_millis() as i64);
        self.prune_runs(runs_cutoff).await?;
        self.prune_usage(runs_cutoff).await?;
        self.prune_api_reviews(runs_cutoff).await?;
        // Kept well past the redelivery window, so a delivery is never asked for again.
        self.prune_redeliveries(runs_cutoff).await?;
        Ok(pruned)
    }
}

/// How long runs are kept at least, whatever the retention.
const RUNS_KEPT: Duration = Duration::from_secs(31 * 86_400);
