//! The worker pool: claims jobs, runs them with a heartbeat on their lease, and records the
//! result (done, retried later with backoff, or failed).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tracing::Instrument;

use crate::ids::JobId;
use crate::store::{ClaimedJob, Store};

/// How a job run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// Finished; the text is the outcome kept with the job.
    Done(String),
    /// A transient failure: run again later (after `after`, or the worker's backoff). An
    /// attempt that is not `counted` (the head moved, a rate limit's reset time) does not bring
    /// the job closer to being given up.
    Retry {
        error: String,
        after: Option<Duration>,
        counted: bool,
    },
    /// A permanent failure, already reported to the user by the handler.
    Failed(String),
    /// The worker lost its lease: another worker owns the job now; record nothing.
    Abandoned(String),
}

/// The claim a worker holds on a job while it runs.
#[derive(Clone)]
pub struct Lease {
    store: Store,
    job: JobId,
    owner: String,
    duration: Duration,
}

impl Lease {
    /// Extends the lease and says whether this worker still holds the job. Called right
    /// before an effect that must happen once (posting the review): a worker whose lease
    /// expired (it stalled, and another took the job over) must not post.
    pub async fn confirm(&self) -> bool {
        match self
            .store
            .heartbeat(self.job, &self.owner, self.duration)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "cannot confirm the lease");
                false
            }
        }
    }
}

/// What the worker runs.
pub trait JobHandler: Send + Sync + 'static {
    fn run(&self, job: &ClaimedJob, lease: &Lease) -> impl Future<Output = JobResult> + Send;
    /// Called once when a job is given up after its last attempt; tells the user.
    fn give_up(&self, job: &ClaimedJob, error: &str) -> impl Future<Output = ()> + Send;
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at the same time in this process.
    pub concurrency: usize,
    /// Jobs of one installation running at the same time, across all replicas.
    pub per_installation: usize,
    /// How long a claim lasts without a heartbeat; a dead worker's job is re-claimed after it.
    pub lease: Duration,
    /// How often the queue is polled when no wake-up comes.
    pub poll_interval: Duration,
    /// Attempts before a job is given up.
    pub max_attempts: u32,
    /// Times a job may lose its worker (a crash mid-run: the lease expired) before it is
    /// given up instead of crashing the next worker too.
    pub max_lease_losses: u32,
    /// First retry delay, doubled per attempt with jitter.
    pub retry_base: Duration,
    /// A name for this process's leases.
    pub owner: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            per_installation: 2,
            // Renewed every 10 s: a killed process's job is taken up again within 30 s.
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(2),
            max_attempts: 3,
            max_lease_losses: 3,
            retry_base: Duration::from_secs(30),
            owner: format!("worker-{}-{:08x}", std::process::id(), fastrand::u32(..)),
        }
    }
}

/// Runs jobs until shut down.
pub struct Worker<H> {
    store: Store,
    handler: Arc<H>,
    config: WorkerConfig,
    wake: Arc<Notify>,
}

impl<H: JobHandler> Worker<H> {
    pub fn new(store: Store, handler: Arc<H>, config: WorkerConfig, wake: Arc<Notify>) -> Self {
        Self {
            store,
            handler,
            config,
            wake,
        }
    }

    /// Claims and runs jobs until `shutdown` turns true; then waits up to `grace` for running
    /// jobs, and hands back the ones still running so another replica can take them.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, grace: Duration) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut running = tokio::task::JoinSet::new();
        // A process restarted under the same name takes its own unfinished jobs back now
        // instead of waiting for their leases.
        match self.store.reclaim_owned(&self.config.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                jobs = n,
                "taking back jobs this instance held when it stopped"
            ),
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "cannot take back this instance's jobs"
            ),
        }
        loop {
            if *shutdown.borrow() {
                break;
            }
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("semaphore never closes"),
                _ = shutdown.changed() => continue,
            };
            let claimed = match self
                .store
                .claim(
                    &self.config.owner,
                    self.config.lease,
                    self.config.per_installation,
                )
                .await
            {
                Ok(job) => job,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "cannot claim jobs");
                    None
                }
            };
            while running.try_join_next().is_some() {}
            let Some(job) = claimed else {
                drop(permit);
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            };
            let ctx = RunContext {
                store: self.store.clone(),
                handler: self.handler.clone(),
                config: self.config.clone(),
            };
            let span = tracing::info_span!("job", job_id = job.id.0, repo = %job.request.repo, pr = job.request.pr.0, attempt = job.attempt);
            let job_id = job.id;
            running.spawn(
                async move {
                    ctx.run(job).await;
                    drop(permit);
                    job_id
                }
                .instrument(span),
            );
        }
        tracing::info!(running = running.len(), "worker stopping");
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = running.join_next() => if next.is_none() { break },
                _ = &mut deadline => break,
            }
        }
        // Jobs still running past the grace period are aborted and released.
        running.abort_all();
        while running.join_next().await.is_some() {}
        if let Err(e) = self.store.release_owned(&self.config.owner).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "cannot release unfinished jobs; their leases will expire"
            );
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct RunContext<H> {
    store: Store,
    handler: Arc<H>,
    config: WorkerConfig,
}

impl<H: JobHandler> RunContext<H> {
    async fn run(self, job: ClaimedJob) {
        if job.lease_losses >= self.config.max_lease_losses {
            let error = format!(
                "the process running it stopped {} time{} before it finished (a crash or a restart)",
                job.lease_losses,
                if job.lease_losses == 1 { "" } else { "s" }
            );
            tracing::error!(error, "job given up: it keeps losing its worker");
            self.handler.give_up(&job, &error).await;
            if let Err(e) = self.store.fail(job.id, &self.config.owner, &error).await {
                tracing::error!(error = format!("{e:#}"), "cannot record the job's result");
            }
            return;
        }
        // Dropped with this future (also when the job is aborted), so a dead job never keeps
        // its lease alive.
        let _heartbeat = AbortOnDrop({
            let store = self.store.clone();
            let owner = self.config.owner.clone();
            let lease = self.config.lease;
            let id = job.id;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(lease / 3);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = store.heartbeat(id, &owner, lease).await {
                        tracing::warn!(error = format!("{e:#}"), "heartbeat failed");
                    }
                }
            })
        });
        let lease = Lease {
            store: self.store.clone(),
            job: job.id,
            owner: self.config.owner.clone(),
            duration: self.config.lease,
        };
        let result = self.handler.run(&job, &lease).await;
        drop(_heartbeat);
        let stored = match &result {
            JobResult::Done(outcome) => {
                tracing::info!(outcome, "job done");
                self.store
                    .complete(job.id, &self.config.owner, outcome)
                    .await
            }
            JobResult::Failed(error) => {
                tracing::warn!(error, "job failed");
                self.store.fail(job.id, &self.config.owner, error).await
            }
            JobResult::Abandoned(why) => {
                tracing::warn!(why, "job abandoned: another worker holds it now");
                Ok(())
            }
            JobResult::Retry {
                error,
                after,
                counted,
            } if !counted || job.attempt < self.config.max_attempts => {
                let delay = after
                    .unwrap_or_else(|| crate::retry::backoff(self.config.retry_base, job.attempt));
                tracing::warn!(
                    error,
                    delay_s = delay.as_secs(),
                    counted,
                    "job will be run again"
                );
                self.store
                    .retry_later(job.id, &self.config.owner, delay, error, *counted)
                    .await
            }
            JobResult::Retry { error, .. } => {
                tracing::error!(error, "job given up after its last attempt");
                self.handler.give_up(&job, error).await;
                self.store.fail(job.id, &self.config.owner, error).await
            }
        };
        if let Err(e) = stored {
            // The lease will expire and the job run again; the review's marker keeps that
            // from posting twice.
            tracing::error!(error = format!("{e:#}"), "cannot record the job's result");
        }
    }
}
