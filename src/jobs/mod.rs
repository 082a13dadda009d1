//! Durable work: deliveries and jobs in SQLite (default) or Postgres, the memory of posted
//! reviews, and the worker pool.

mod acks;
mod api;
mod checks;
mod memory;
mod prune;
mod queue;
mod redeliveries;
mod runs;
mod spend;
mod store;
mod threads;
mod worker;
mod writer;

pub use acks::{Ack, AckHandler, AckResult, AckState, run_acks};
pub use api::{ApiCreated, ApiFinish, ApiReview, NewApiReview};
pub use memory::{PostedFinding, PostedReview};
pub use prune::{Pruned, run_pruning};
pub use queue::{ClaimedJob, DeliveryRecord, Effect, Recorded, Supersede};
pub use runs::{DeliveryCount, RunRecord};
pub use store::{Store, now_ms};
pub use threads::{FindingState, HoldingFinding, Learning, StoredFinding};
pub use worker::{JobHandler, JobResult, Lease, Worker, WorkerConfig};
pub use writer::{DeliveryWriter, OwnedDelivery};
