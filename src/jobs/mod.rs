//! Durable work: deliveries and jobs in SQLite (default) or Postgres, and the worker pool.

mod store;
mod worker;

pub use store::{ClaimedJob, DeliveryRecord, Recorded, Store};
pub use worker::{JobHandler, JobResult, Worker, WorkerConfig};
