//! Pull mode: no public URL needed. GitHub logs every delivery it tried to send, with its
//! headers and payload, even when it could not reach the service. Every few seconds the
//! service reads that log (`GET /app/hook/deliveries`, newest first) back to the newest
//! delivery it handled, reads each delivery it has not stored
//! (`GET /app/hook/deliveries/{id}`), and takes it in exactly as if it had arrived at
//! `/webhook`: the same parsing, the same dedupe by delivery id, stored before any work.
//!
//! - The cursor (the newest delivery id handled) is in the store: a restart goes on where it
//!   stopped, and replicas share it. It moves only after a pass took in (or noted as missed)
//!   every delivery it listed, so a crash in the middle of a pass reads the rest again, and the
//!   delivery ids already stored make that harmless.
//! - Replicas may all poll: the store keeps one delivery (and one job) per delivery id.
//! - A delivery GitHub lists but cannot return (404, 5xx) is noted and read again with a
//!   backoff that doubles from the poll interval, reported in the log and on `/metrics`;
//!   after [`MAX_READS`] failed reads (about a day at the default interval) it is given up on,
//!   loudly.
//! - The first pass, and one after a long stop, walks the log page by page back to the
//!   cursor or to GitHub's three days.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::error_chain::chain;
use crate::github::{GitHubApp, GitHubError, Unexpected};
use crate::ids::DeliveryId;
use crate::intake::{Intake, IntakeError};
use crate::metrics::Metrics;
use crate::store::{LogMiss, Store, now_ms};

/// GitHub keeps the deliveries of the last three days.
const LOG_KEPT: Duration = Duration::from_secs(3 * 86_400);
/// Pages of 100 deliveries read per pass at most (three days of a busy App).
const MAX_PAGES: usize = 100;
/// Failed reads of one listed delivery before it is given up on.
pub const MAX_READS: u32 = 16;
/// Misses read again per pass at most.
const MISSES_PER_PASS: i64 = 50;

/// One delivery as the log lists it.
#[derive(Debug, Clone, Deserialize)]
struct Listed {
    id: u64,
    guid: String,
    /// RFC 3339, UTC.
    delivered_at: String,
    event: String,
}

/// One delivery as GitHub returns it: the request it sent (or tried to).
#[derive(Debug, Deserialize)]
struct Logged {
    request: Sent,
}

#[derive(Debug, Deserialize)]
struct Sent {
    headers: Option<serde_json::Map<String, Value>>,
    payload: Option<Value>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Deliveries listed past the cursor.
    pub listed: usize,
    /// Deliveries taken in (stored; a review queued where one was asked for).
    pub taken: usize,
    /// Deliveries that could not be read, to be tried again.
    pub missed: usize,
    /// Seconds from GitHub logging the newest delivery taken to taking it.
    pub lag_seconds: Option<u64>,
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("database")]
    Store(#[source] anyhow::Error),
    #[error(transparent)]
    Intake(IntakeError),
    /// A logged payload that cannot be written out again (it was read as JSON).
    #[error("a logged delivery's payload cannot be written as JSON")]
    Payload(#[source] serde_json::Error),
}

/// What a pass works with.
pub struct Puller<'a> {
    pub github: &'a GitHubApp,
    pub store: &'a Store,
    pub intake: &'a Intake,
    pub metrics: &'a Metrics,
    /// The pause between passes: the first wait after a failed read.
    pub every: Duration,
}

/// One pass over the delivery log.
pub async fn pull_once(p: &Puller<'_>) -> Result<Pass, PullError> {
    let (github, store) = (p.github, p.store);
    let cursor = store.log_cursor().await.map_err(PullError::Store)?;
    let mut listed = list_since(github, cursor).await?;
    // Oldest first; a redelivery is logged again with its delivery id: one read per id.
    listed.sort_by_key(|d| d.id);
    let mut pass = Pass {
        listed: listed.len(),
        ..Pass::default()
    };
    let mut seen = HashSet::new();
    for d in &listed {
        if !seen.insert(d.guid.as_str()) {
            continue;
        }
        let miss = LogMiss {
            delivery_id: d.id,
            guid: d.guid.clone(),
            event: d.event.clone(),
            attempts: 0,
        };
        if read(p, &miss, &mut pass).await? {
            let taken_at = now_ms();
            pass.lag_seconds = crate::when::parse_rfc3339(&d.delivered_at)
                .map(|at| ((taken_at - at).max(0) / 1_000) as u64);
        }
    }
    if let Some(newest) = listed.iter().map(|d| d.id).max() {
        store
            .advance_log_cursor(newest)
            .await
            .map_err(PullError::Store)?;
    }
    let due = store
        .due_log_misses(now_ms(), MISSES_PER_PASS)
        .await
        .map_err(PullError::Store)?;
    for miss in due {
        read(p, &miss, &mut pass).await?;
    }
    Ok(pass)
}

/// The deliveries logged after `cursor` (or in the last three days), newest first.
async fn list_since(github: &GitHubApp, cursor: Option<u64>) -> Result<Vec<Listed>, PullError> {
    let since = crate::when::rfc3339_ago(LOG_KEPT);
    let wanted = |d: &Listed| cursor.is_none_or(|c| d.id > c) && d.delivered_at >= since;
    let mut listed = Vec::new();
    let mut path = "/app/hook/deliveries?per_page=100".to_owned();
    for _ in 0..MAX_PAGES {
        let call = "list webhook deliveries";
        let (text, next) = github.app_get_page(call, &path).await?;
        let page: Vec<Listed> =
            serde_json::from_str(&text).map_err(|e| GitHubError::decode(call, e))?;
        // Newest first: a page that reaches the cursor or the log's end is the last one.
        let reached = page.iter().any(|d| !wanted(d));
        listed.extend(page.into_iter().filter(|d| wanted(d)));
        match next {
            Some(next) if !reached => path = next,
            _ => break,
        }
    }
    Ok(listed)
}

/// Reads the delivery of `miss` and takes it in, unless it is stored already; a failed read
/// is noted to be tried again. Whether it was taken in now.
async fn read(p: &Puller<'_>, miss: &LogMiss, pass: &mut Pass) -> Result<bool, PullError> {
    let (github, store) = (p.github, p.store);
    let stored = store
        .has_delivery(&miss.guid)
        .await
        .map_err(PullError::Store)?;
    if stored {
        // Taken before (by this replica, another one, or `/webhook`).
        return forget(store, miss).await.map(|()| false);
    }
    let Some(delivery) = DeliveryId::parse(&miss.guid) else {
        tracing::warn!(
            delivery = miss.delivery_id,
            "a delivery of the App's log has no valid delivery id; skipped"
        );
        return forget(store, miss).await.map(|()| false);
    };
    let logged = match fetch(github, miss.delivery_id).await {
        Ok(logged) => logged,
        Err(e) => {
            noted(p, miss, &e).await?;
            pass.missed += 1;
            return Ok(false);
        }
    };
    let event = logged
        .request
        .headers
        .as_ref()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-github-event"))
                .and_then(|(_, v)| v.as_str())
        })
        .unwrap_or(&miss.event)
        .to_owned();
    let Some(payload) = logged.request.payload.filter(Value::is_object) else {
        let e = GitHubError::decode(
            "read a webhook delivery",
            Unexpected("the logged delivery has no payload"),
        );
        noted(p, miss, &e).await?;
        pass.missed += 1;
        return Ok(false);
    };
    // No signature check: the payload came over the App's own authenticated API (a JWT
    // only the App's private key signs), not from whoever can reach `/webhook`.
    let body = serde_json::to_vec(&payload).map_err(PullError::Payload)?;
    match p.intake.take(&event, &delivery, &body).await {
        Ok(_) => {}
        Err(IntakeError::NotJson(e)) => {
            let e = chain(&e);
            tracing::warn!(guid = miss.guid, error = %e, "a logged delivery is not JSON");
        }
        Err(e) => return Err(PullError::Intake(e)),
    }
    forget(store, miss).await?;
    pass.taken += 1;
    Ok(true)
}

async fn fetch(github: &GitHubApp, id: u64) -> Result<Logged, GitHubError> {
    let call = "read a webhook delivery";
    let text = github
        .app_get(call, &format!("/app/hook/deliveries/{id}"))
        .await?;
    serde_json::from_str(&text).map_err(|e| GitHubError::decode(call, e))
}

async fn forget(store: &Store, miss: &LogMiss) -> Result<(), PullError> {
    if miss.attempts > 0 {
        store
            .forget_log_miss(miss.delivery_id)
            .await
            .map_err(PullError::Store)?;
    }
    Ok(())
}

/// Notes a failed read: tried again after a backoff that doubles from the poll interval to 4
/// hours, given up on after [`MAX_READS`].
async fn noted(p: &Puller<'_>, miss: &LogMiss, error: &GitHubError) -> Result<(), PullError> {
    let store = p.store;
    let attempts = miss.attempts + 1;
    let gave_up = attempts >= MAX_READS;
    p.metrics.pull_read_failed(gave_up);
    if gave_up {
        tracing::error!(
            guid = miss.guid,
            delivery = miss.delivery_id,
            attempts,
            error = %chain(error),
            "a delivery of the App's log could not be read; given up"
        );
        return store
            .forget_log_miss(miss.delivery_id)
            .await
            .map_err(PullError::Store);
    }
    tracing::warn!(
        guid = miss.guid,
        delivery = miss.delivery_id,
        attempts,
        error = %chain(error),
        "a delivery of the App's log could not be read; it is tried again"
    );
    let backoff = backoff(p.every, attempts);
    let next = LogMiss {
        attempts,
        ..miss.clone()
    };
    store
        .note_log_miss(&next, now_ms() + backoff.as_millis() as i64, &chain(error))
        .await
        .map_err(PullError::Store)
}

/// The wait before read `attempts + 1`: `first`, doubling, at most 4 hours.
fn backoff(first: Duration, attempts: u32) -> Duration {
    let doubled = first.saturating_mul(1 << attempts.saturating_sub(1).min(20));
    doubled.min(Duration::from_secs(4 * 3_600))
}

/// Reads the log at start and then every `every` until `shutdown`.
pub async fn run_pull(
    github: GitHubApp,
    store: Store,
    intake: Intake,
    every: Duration,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let puller = Puller {
        github: &github,
        store: &store,
        intake: &intake,
        metrics: &metrics,
        every,
    };
    loop {
        // A pass stopped half-way loses nothing: the cursor moves only after a whole pass.
        let pass = tokio::select! {
            pass = pull_once(&puller) => pass,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        match pass {
            Ok(pass) => metrics.pulled(pass.taken as u64, pass.lag_seconds),
            Err(e) => tracing::warn!(error = %chain(&e), "cannot read the App's delivery log"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_reads_back_off_from_seconds_to_hours() {
        // The default pause between two reads of the delivery log (`CODEX_REVIEW_PULL_EVERY`).
        let every = std::time::Duration::from_secs(10);
        let waits: Vec<u64> = (1..=MAX_READS)
            .map(|a| backoff(every, a).as_secs())
            .collect();
        assert_eq!(waits[..4], [10, 20, 40, 80]);
        assert_eq!(*waits.last().unwrap(), 4 * 3_600);
        // All the tries span about a day: within the three days GitHub keeps a delivery.
        let total: u64 = waits.iter().sum();
        assert!((20 * 3_600..2 * 86_400).contains(&total), "{total}");
    }
}
