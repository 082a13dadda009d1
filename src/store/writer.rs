//! Group commit: one task writes the deliveries of all concurrent webhook requests, as many
//! as are waiting, in one transaction (one disk sync). SQLite has a single writer anyway;
//! with one writer there is no lock contention and no busy-wait sleeps, and each delivery is
//! still on disk before its answer.

use tokio::sync::{mpsc, oneshot};

use super::db::Store;
use super::queue::{DeliveryRecord, Effect, Recorded, Supersede};
use crate::event::ReviewRequest;
use crate::ids::{CommitSha, DeliveryId, PrNumber, RepoName};

/// Deliveries written per transaction at most.
const MAX_BATCH: usize = 256;

/// A delivery to store, owned so it can travel to the writer.
pub struct OwnedDelivery {
    pub id: DeliveryId,
    pub event: String,
    pub action: Option<String>,
    pub outcome: String,
    pub supersede: Option<(RepoName, PrNumber, CommitSha)>,
    pub enqueue: Option<ReviewRequest>,
}

impl OwnedDelivery {
    fn as_record(&self) -> DeliveryRecord<'_> {
        DeliveryRecord {
            id: &self.id,
            event: &self.event,
            action: self.action.as_deref(),
            outcome: &self.outcome,
            effect: Effect {
                supersede: self
                    .supersede
                    .as_ref()
                    .map(|(repo, pr, head_sha)| Supersede {
                        repo,
                        pr: *pr,
                        head_sha,
                    }),
                enqueue: self.enqueue.as_ref(),
            },
        }
    }
}

type Request = (OwnedDelivery, oneshot::Sender<anyhow::Result<Recorded>>);

/// The handle the webhook uses; cheap to clone.
#[derive(Clone)]
pub struct DeliveryWriter {
    tx: mpsc::Sender<Request>,
}

impl DeliveryWriter {
    /// Starts the writer task on `store`.
    pub fn start(store: Store) -> Self {
        let (tx, mut rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let records: Vec<DeliveryRecord<'_>> =
                    batch.iter().map(|(d, _)| d.as_record()).collect();
                let results = store.record_deliveries(&records).await;
                drop(records);
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
        });
        Self { tx }
    }

    /// Stores `delivery`; returns once it is committed.
    pub async fn record(&self, delivery: OwnedDelivery) -> anyhow::Result<Recorded> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((delivery, reply))
            .await
            .map_err(|_| anyhow::anyhow!("the delivery writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the delivery writer has stopped"))?
    }
}
