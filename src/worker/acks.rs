//! The acknowledgement loop: the 👀 a person sees on their command at once. A small loop of
//! its own (not the review workers, which may all be waiting on a slow model) decides whether
//! the author may run commands and reacts, within a second of the delivery whatever the
//! review load.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::store::{Ack, AckResult, GRACE, Store};

/// What makes the acknowledgement.
pub trait AckHandler: Send + Sync + 'static {
    fn acknowledge(&self, ack: &Ack) -> impl Future<Output = AckResult> + Send;
}

/// Makes acknowledgements until `shutdown` turns true, `concurrency` at a time; woken by
/// `wake` when a delivery stores one, and polling every `poll` for retries. Results are
/// recorded in batches (one transaction, one disk sync, for all that finished meanwhile), so
/// a burst of acknowledgements does not compete with the webhook's writes one by one.
pub async fn run_acks<H: AckHandler>(
    store: Store,
    handler: Arc<H>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    concurrency: usize,
    poll: Duration,
) {
    let concurrency = concurrency.max(1);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Ack, AckResult)>();
    let mut running = tokio::task::JoinSet::new();
    let mut failing = 0u32;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = concurrency.saturating_sub(running.len());
        if free > 0 {
            let claimed = store.claim_acks(free).await.unwrap_or_else(|e| {
                tracing::warn!(error = format!("{e:#}"), "cannot claim acknowledgements");
                Vec::new()
            });
            for ack in claimed {
                let (handler, done) = (handler.clone(), done_tx.clone());
                running.spawn(async move {
                    let result = handler.acknowledge(&ack).await;
                    let _ = done.send((ack, result));
                });
            }
        }
        tokio::select! {
            Some(first) = done_rx.recv() => {
                let mut batch = vec![first];
                while let Ok(next) = done_rx.try_recv() {
                    batch.push(next);
                }
                while running.try_join_next().is_some() {}
                if let Err(e) = store.record_acks(&batch).await {
                    tracing::warn!(error = format!("{e:#}"), "cannot record acknowledgements");
                }
                // Every one of them failed for a passing reason (GitHub unreachable or rate
                // limited): ease off instead of hammering it with the rest of the queue.
                if batch.iter().all(|(_, r)| matches!(r, AckResult::Retry(_))) {
                    failing = (failing + 1).min(5);
                    tokio::time::sleep(Duration::from_millis(125 << failing)).await;
                } else {
                    failing = 0;
                }
            }
            // A new one: give a free worker its grace first.
            _ = wake.notified() => tokio::time::sleep(GRACE).await,
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
    // An acknowledgement cut short is taken up again after its hold.
    running.abort_all();
    while running.join_next().await.is_some() {}
}
