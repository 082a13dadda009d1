//! The acknowledgement of a command comment: decide whether its author may run commands
//! (the same rule as the gate, from the base branch's configuration) and add the 👀. Runs in
//! its own small loop, so it never waits for a review worker.

use std::time::Duration;

use super::{ReviewError, Reviewer};
use crate::event::Trigger;
use crate::store::{Ack, AckResult};
use crate::worker::AckHandler;

impl AckHandler for Reviewer {
    async fn acknowledge(&self, ack: &Ack) -> AckResult {
        match self.try_acknowledge(ack).await {
            Ok(result) => result,
            Err(e) if e.is_transient() => {
                let delay = match &e {
                    ReviewError::GitHub(g) => g.retry_in(),
                    _ => None,
                };
                tracing::warn!(error = %crate::error_chain::chain(&e), "cannot acknowledge the command yet");
                AckResult::Retry(delay.unwrap_or(Duration::from_secs(2 << ack.attempts.min(6))))
            }
            Err(e) => AckResult::Failed(crate::error_chain::chain(&e)),
        }
    }
}

impl Reviewer {
    async fn try_acknowledge(&self, ack: &Ack) -> Result<AckResult, ReviewError> {
        let req = &ack.request;
        let Trigger::Comment {
            comment_id,
            author,
            association,
            in_thread,
        } = &req.trigger
        else {
            return Ok(AckResult::Done);
        };
        let gh = self
            .github
            .repo(req.installation, req.repo.clone())
            .map_err(ReviewError::Internal)?;
        // What deciding takes: the base commit, its configuration (cached), and the author's
        // permission when GitHub sent no association.
        let pull = gh.pull(req.pr).await?;
        let loaded = self.load_config(&gh, &req.repo, &pull.base.sha).await?;
        if !self
            .allowed(&gh, &loaded.config, author, association.as_deref())
            .await?
        {
            if let Some(job) = ack.job {
                let cancelled = self
                    .store
                    .cancel_queued(job, super::gate::NOT_ALLOWED)
                    .await
                    .map_err(ReviewError::Store)?;
                if cancelled {
                    tracing::info!(
                        author,
                        "command of an author who may not run commands dropped"
                    );
                }
            }
            return Ok(AckResult::Denied);
        }
        gh.react_eyes(*comment_id, *in_thread).await?;
        self.metrics
            .ack_latency(crate::store::since_ms(ack.created_at));
        Ok(AckResult::Done)
    }
}
