//! `POST /webhook`: verify, parse into a domain event, store, answer. Nothing else: the work
//! happens in the worker, after the answer.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::event::{self, Event};
use crate::ids::DeliveryId;
use crate::store::{OwnedDelivery, Recorded};

/// A delivery whose signature checked out, with its raw body.
pub struct SignedDelivery {
    pub event: String,
    pub delivery: DeliveryId,
    pub body: Bytes,
}

impl FromRequest<AppState> for SignedDelivery {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let signature = headers.get("x-hub-signature-256").map(|v| v.as_bytes());
        if !state.secrets.verify(signature, &body) {
            state.metrics.signature_failure();
            // The delivery id is unauthenticated here: logged only if it looks like one.
            let delivery = headers
                .get("x-github-delivery")
                .and_then(|v| v.to_str().ok())
                .and_then(DeliveryId::parse);
            tracing::warn!(
                delivery = delivery.as_ref().map_or("-", DeliveryId::as_str),
                "webhook signature missing or wrong"
            );
            return Err((StatusCode::UNAUTHORIZED, "signature missing or wrong\n").into_response());
        }
        let event = headers
            .get("x-github-event")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| (StatusCode::BAD_REQUEST, "missing X-GitHub-Event\n").into_response())?;
        let delivery = headers
            .get("x-github-delivery")
            .and_then(|v| v.to_str().ok())
            .and_then(DeliveryId::parse)
            .ok_or_else(|| {
                (
                    StatusCode::BAD_REQUEST,
                    "missing or invalid X-GitHub-Delivery\n",
                )
                    .into_response()
            })?;
        Ok(SignedDelivery {
            event,
            delivery,
            body,
        })
    }
}

#[tracing::instrument(skip_all, fields(delivery = %d.delivery, event = %d.event))]
pub async fn receive(State(state): State<AppState>, d: SignedDelivery) -> Response {
    let (parsed, action) = match event::parse_delivery(&d.event, &d.body, &state.bot_handle) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(error = %e, "signed delivery is not JSON");
            return (StatusCode::BAD_REQUEST, "body is not JSON\n").into_response();
        }
    };
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
    let recorded = state
        .writer
        .record(OwnedDelivery {
            id: d.delivery.clone(),
            event: d.event.clone(),
            action,
            outcome: outcome.clone(),
            supersede,
            enqueue,
        })
        .await;
    let command = matches!(
        &parsed,
        Event::Review(req) if matches!(req.trigger, event::Trigger::Comment { .. })
    );
    if command && matches!(recorded, Ok(Recorded::Queued(_) | Recorded::Joined(_))) {
        state.ack_wake.notify_one();
    }
    match recorded {
        Err(e) => {
            // Not stored: answer with an error so the delivery shows as failed on GitHub and
            // can be redelivered.
            tracing::error!(error = format!("{e:#}"), "cannot store the delivery");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot store the delivery\n",
            )
                .into_response()
        }
        Ok(Recorded::Duplicate) => {
            state.metrics.delivery(&d.event, "duplicate");
            tracing::info!("redelivery of a stored delivery; nothing new queued");
            (StatusCode::OK, "duplicate delivery\n").into_response()
        }
        Ok(Recorded::Queued(job)) => {
            state.metrics.delivery(&d.event, "queued");
            state.wake.notify_one();
            tracing::info!(job = job.0, "review queued");
            (StatusCode::ACCEPTED, format!("queued job {job}\n")).into_response()
        }
        Ok(Recorded::Joined(job)) => {
            state.metrics.delivery(&d.event, "joined");
            tracing::info!(job = job.0, "the same review is already queued or running");
            (StatusCode::ACCEPTED, format!("joined job {job}\n")).into_response()
        }
        Ok(Recorded::Stored { cancelled }) => {
            let label = match parsed {
                Event::Ping => "ping",
                Event::Pushed { .. } => "push",
                _ => "ignored",
            };
            state.metrics.delivery(&d.event, label);
            if cancelled > 0 {
                tracing::info!(cancelled, "queued reviews of an older head cancelled");
            }
            (StatusCode::OK, format!("{outcome}\n")).into_response()
        }
    }
}
