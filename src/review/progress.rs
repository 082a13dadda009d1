//! Progress a person can see on the check run: while a long review runs (several parts, turns
//! with tools, the verification), its title and summary say where the pipeline is. Updates go
//! out on their own task, the latest one wins, and none can land after the check is completed.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::github::RepoClient;
use crate::pipeline::progress::{Reporter, Step};

/// The check run's progress of one review.
pub struct Progress {
    tx: Option<watch::Sender<Option<(String, String)>>>,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Reports on check run `check` (nothing when there is none).
    pub fn start(gh: &RepoClient, check: Option<u64>) -> Self {
        let Some(check) = check else {
            return Self {
                tx: None,
                task: None,
            };
        };
        let (tx, mut rx) = watch::channel::<Option<(String, String)>>(None);
        let gh = gh.clone();
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let latest = rx.borrow_and_update().clone();
                if let Some((title, summary)) = latest
                    && let Err(e) = gh.progress_check_run(check, &title, &summary).await
                {
                    tracing::warn!(error = %crate::error_chain::chain(&e), "cannot report the review's progress");
                }
            }
        });
        Self {
            tx: Some(tx),
            task: Some(task),
        }
    }

    /// What reports the pipeline's steps on this check run, from any task.
    pub fn reporter(&self) -> Reporter {
        let tx = self.tx.clone();
        Arc::new(move |step: Step| {
            if let (Some(tx), Some(shown)) = (&tx, step.describe()) {
                let _ = tx.send(Some(shown));
            }
        })
    }

    /// Stops reporting; returns once the last update sent has landed, so that the check's
    /// completion comes after it.
    pub async fn finish(mut self) {
        drop(self.tx.take());
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
