//! `POST /webhook`: verify, parse into a domain event, store, answer. Nothing else: the work
//! happens in the worker, after the answer.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error_chain::chain;
use crate::ids::DeliveryId;
use crate::intake::{IntakeError, Taken};

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
    match state.intake.take(&d.event, &d.delivery, &d.body).await {
        Err(IntakeError::NotJson(e)) => {
            tracing::warn!(error = %chain(&e), "signed delivery is not JSON");
            (StatusCode::BAD_REQUEST, "body is not JSON\n").into_response()
        }
        Err(e @ IntakeError::Store(_)) => {
            // Not stored: answer with an error so the delivery shows as failed on GitHub and
            // can be redelivered.
            tracing::error!(error = %chain(&e), "cannot store the delivery");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot store the delivery\n",
            )
                .into_response()
        }
        Ok(Taken::Duplicate) => (StatusCode::OK, "duplicate delivery\n").into_response(),
        Ok(Taken::Queued(job)) => {
            (StatusCode::ACCEPTED, format!("queued job {job}\n")).into_response()
        }
        Ok(Taken::Joined(job)) => {
            (StatusCode::ACCEPTED, format!("joined job {job}\n")).into_response()
        }
        Ok(Taken::Stored { outcome }) => (StatusCode::OK, format!("{outcome}\n")).into_response(),
    }
}
