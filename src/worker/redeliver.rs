//! No trigger lost to downtime: at start and then hourly, the App's recent webhook deliveries
//! are listed (`GET /app/hook/deliveries`, paged by cursor), and those of the last hours that
//! never succeeded and that the service has not stored are redelivered
//! (`POST /app/hook/deliveries/{id}/attempts`). A redelivery keeps its delivery id, so it goes
//! through the normal path and is stored once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;

use crate::error_chain::chain;
use crate::github::{GitHubApp, GitHubError};
use crate::metrics::Metrics;
use crate::store::Store;

/// Pages of 100 deliveries read per pass at most.
const MAX_PAGES: usize = 20;
/// A delivery attempted this many times (the original and redeliveries) is not tried again.
const MAX_ATTEMPTS: usize = 3;
/// Redeliveries of one delivery the service asks for in all, across passes and restarts (with
/// the original: `MAX_ATTEMPTS`).
const MAX_ASKED: i64 = MAX_ATTEMPTS as i64 - 1;

/// One attempt of a delivery, as GitHub lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Attempt {
    pub id: u64,
    pub guid: String,
    /// RFC 3339, UTC.
    pub delivered_at: String,
    pub status_code: u16,
}

/// Redelivers the failed deliveries since `since` (RFC 3339) that the store does not hold;
/// returns how many were asked for.
pub async fn redeliver_missed(
    github: &GitHubApp,
    store: &Store,
    since: &str,
) -> Result<usize, RedeliverError> {
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut path = "/app/hook/deliveries?per_page=100".to_owned();
    for _ in 0..MAX_PAGES {
        let (text, next) = github
            .app_get_page("list webhook deliveries", &path)
            .await?;
        let page: Vec<Attempt> = serde_json::from_str(&text).map_err(|e| {
            RedeliverError::GitHub(GitHubError::decode("list webhook deliveries", e))
        })?;
        // Newest first: once a page reaches past the window, older pages do not matter.
        let past = page.iter().any(|a| a.delivered_at.as_str() < since);
        attempts.extend(
            page.into_iter()
                .filter(|a| a.delivered_at.as_str() >= since),
        );
        match next {
            Some(next) if !past => path = next,
            _ => break,
        }
    }
    let mut by_guid: HashMap<&str, Vec<&Attempt>> = HashMap::new();
    for a in &attempts {
        by_guid.entry(a.guid.as_str()).or_default().push(a);
    }
    let mut asked = 0;
    for (guid, tries) in by_guid {
        if tries.iter().any(|a| (200..300).contains(&a.status_code)) || tries.len() >= MAX_ATTEMPTS
        {
            continue;
        }
        let store_error = RedeliverError::Store;
        if store.has_delivery(guid).await.map_err(store_error)? {
            continue;
        }
        // GitHub lists the last days only: what was asked before counts from the store.
        if store.redeliveries_asked(guid).await.map_err(store_error)? >= MAX_ASKED {
            continue;
        }
        let latest = tries.iter().map(|a| a.id).max().unwrap_or(0);
        match github.redeliver(latest).await {
            Ok(()) => {
                asked += 1;
                store.note_redelivery(guid).await.map_err(store_error)?;
                tracing::info!(guid, "asked GitHub to redeliver a missed delivery");
            }
            Err(e) => {
                tracing::warn!(guid, error = %chain(&e), "cannot ask for a redelivery")
            }
        }
    }
    Ok(asked)
}

/// Why the deliveries could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("database")]
    Store(#[source] anyhow::Error),
}

/// Checks at start and then every `every` until `shutdown`, looking back `window`.
pub async fn run_redelivery(
    github: GitHubApp,
    store: Store,
    window: Duration,
    every: Duration,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let since = crate::when::rfc3339_ago(window);
        match redeliver_missed(&github, &store, &since).await {
            Ok(n) => metrics.redelivered(n as u64),
            Err(e) => {
                tracing::warn!(error = %chain(&e), "cannot check the App's recent deliveries")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
