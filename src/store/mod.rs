//! Every SQL statement, one file per table family, over SQLite (default) or Postgres: the
//! queue of deliveries and jobs (`queue`, `writer`), acknowledgements (`acks`), check runs
//! (`checks`), posted reviews, pause switches and notices (`posted`), findings and their
//! threads, learnings (`threads`), runs and spend (`runs`, `spend`), API reviews (`api`),
//! redeliveries (`redeliveries`) and pruning (`prune`). `db` opens the pool and runs the
//! migrations.

mod acks;
mod api;
mod checks;
mod db;
mod delivery_log;
mod posted;
mod prune;
mod queue;
mod redeliveries;
mod runs;
mod spend;
mod threads;
mod writer;

pub(crate) use acks::GRACE;
pub use acks::{Ack, AckResult, AckState};
pub use api::{ApiCreated, ApiFinish, ApiReview, NewApiReview};
pub use db::{Store, now_ms, since_ms};
pub use delivery_log::LogMiss;
pub use posted::{KnownFinding, PostedFinding, PostedReview};
pub use prune::Pruned;
pub use queue::{ClaimedJob, DeliveryRecord, Effect, Recorded, Supersede};
pub use runs::{DeliveryCount, RunRecord};
pub use spend::{UsageRecord, UsageTotals};
pub use threads::{FindingState, HoldingFinding, Learning, StoredFinding};
pub use writer::{DeliveryWriter, OwnedDelivery};
