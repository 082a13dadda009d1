//! Pruning, at start and then hourly: what `Store::prune` deletes, with its counts in the
//! metrics.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{Pruned, Store};

/// Prunes at start and then every `every` until `shutdown` turns true.
pub async fn run_pruning(
    store: Store,
    retention: Duration,
    every: Duration,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match store.prune(retention).await {
            Ok(p) => {
                metrics.pruned(p.jobs, p.deliveries);
                if p != Pruned::default() {
                    tracing::info!(
                        jobs = p.jobs,
                        deliveries = p.deliveries,
                        acks = p.acks,
                        "pruned old rows"
                    );
                }
            }
            Err(e) => tracing::warn!(error = format!("{e:#}"), "cannot prune old rows"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
