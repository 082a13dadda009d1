//! One way into the queue for a delivery, whether GitHub posted it to `/webhook` or the
//! service read it from the App's delivery log (pull mode): the payload becomes a domain
//! event, the delivery (and its job) is stored durably, deduplicated by its delivery id, and
//! the workers are woken. Nothing here calls GitHub or the model.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::event::{self, Event};
use crate::ids::{DeliveryId, JobId};
use crate::metrics::Metrics;
use crate::store::{DeliveryWriter, OwnedDelivery, Recorded};

/// What takes deliveries in.
#[derive(Clone)]
pub struct Intake {
    /// Stores deliveries with group commit.
    pub writer: DeliveryWriter,
    pub bot_handle: Arc<str>,
    pub metrics: Arc<Metrics>,
    /// Woken when a job is queued, so a worker picks it up at once.
    pub wake: Arc<Notify>,
    /// Woken when a command comment is stored, so its 👀 is added at once.
    pub ack_wake: Arc<Notify>,
}

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Stored before (a redelivery, or another replica read it first): nothing new.
    Duplicate,
    /// A review job was queued.
    Queued(JobId),
    /// The same review is already queued or running.
    Joined(JobId),
    /// Stored without a job: a ping, a push, or an event the service ignores.
    Stored { outcome: String },
}

/// Why a delivery was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    NotJson(#[from] event::NotJson),
    /// Not stored: the sender must be able to try again.
    #[error("cannot store the delivery")]
    Store(#[source] anyhow::Error),
}

impl Intake {
    /// Parses, stores and queues delivery `delivery` of `event` with payload `body`.
    pub async fn take(
        &self,
        event: &str,
        delivery: &DeliveryId,
        body: &[u8],
    ) -> Result<Taken, IntakeError> {
        let (parsed, action) =
            event::parse_delivery(event, body, &self.bot_handle).map_err(IntakeError::NotJson)?;
        let (outcome, supersede, enqueue) = match &parsed {
            Event::Ping => ("ping".to_owned(), None, None),
            Event::Review(req) => ("queued".to_owned(), None, Some(req.clone())),
            Event::Pushed {
                repo,
                pr,
                head_sha,
                review,
            } => (
                format!("push of {}", head_sha.short()),
                Some((repo.clone(), *pr, head_sha.clone())),
                review.clone(),
            ),
            Event::Ignored(why) => (format!("ignored: {why}"), None, None),
        };
        let recorded = self
            .writer
            .record(OwnedDelivery {
                id: delivery.clone(),
                event: event.to_owned(),
                action,
                outcome: outcome.clone(),
                supersede,
                enqueue,
            })
            .await
            .map_err(IntakeError::Store)?;
        let command = matches!(
            &parsed,
            Event::Review(req) if matches!(req.trigger, event::Trigger::Comment { .. })
        );
        if command && matches!(recorded, Recorded::Queued(_) | Recorded::Joined(_)) {
            self.ack_wake.notify_one();
        }
        Ok(match recorded {
            Recorded::Duplicate => {
                self.metrics.delivery(event, "duplicate");
                tracing::info!("a delivery stored before; nothing new queued");
                Taken::Duplicate
            }
            Recorded::Queued(job) => {
                self.metrics.delivery(event, "queued");
                self.wake.notify_one();
                tracing::info!(job = job.0, "review queued");
                Taken::Queued(job)
            }
            Recorded::Joined(job) => {
                self.metrics.delivery(event, "joined");
                tracing::info!(job = job.0, "the same review is already queued or running");
                Taken::Joined(job)
            }
            Recorded::Stored { cancelled } => {
                let label = match parsed {
                    Event::Ping => "ping",
                    Event::Pushed { .. } => "push",
                    _ => "ignored",
                };
                self.metrics.delivery(event, label);
                if cancelled > 0 {
                    tracing::info!(cancelled, "queued reviews of an older head cancelled");
                }
                Taken::Stored { outcome }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::chain;

    #[test]
    fn a_refused_delivery_keeps_its_cause_and_tells_it_once() {
        let not_json = event::parse("issue_comment", b"{not json", "codex").unwrap_err();
        let e = IntakeError::NotJson(not_json);
        let said = chain(&e);
        assert!(said.starts_with("the payload is not JSON: "), "{said}");
        assert_eq!(said.matches("not JSON").count(), 1, "{said}");
        let parser = std::error::Error::source(&e).expect("the parser's error is kept");
        assert!(!e.to_string().contains(&parser.to_string()), "{e}");

        let e = IntakeError::Store(anyhow::anyhow!("disk I/O error").context("saving"));
        assert_eq!(e.to_string(), "cannot store the delivery");
        assert_eq!(
            chain(&e),
            "cannot store the delivery: saving: disk I/O error"
        );
    }
}
