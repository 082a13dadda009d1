//! The background loops: the job pool (`pool`), the acknowledgement loop (`acks`), pruning
//! (`prune`) and the redelivery of missed deliveries (`redeliver`). What they read and write
//! is in `store`.

mod acks;
mod pool;
mod prune;
pub mod pull;
pub mod redeliver;

pub use acks::{AckHandler, run_acks};
pub use pool::{JobHandler, JobResult, Lease, Worker, WorkerConfig};
pub use prune::run_pruning;
