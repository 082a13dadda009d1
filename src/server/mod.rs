//! The HTTP side: the router, the webhook endpoint, health and metrics, and the HTML pages
//! (`setup`, `status`, sharing `html`).

pub mod html;
pub mod setup;
mod signature;
pub mod status;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};

pub use signature::{WebhookSecrets, sign};

use crate::metrics::Metrics;
use crate::store::Store;

/// GitHub caps webhook payloads at 25 MB; anything larger is refused with 413.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Parses, stores and queues deliveries (the delivery log's too, in pull mode).
    pub intake: crate::intake::Intake,
    pub secrets: WebhookSecrets,
    pub metrics: Arc<Metrics>,
    /// The spend caps, shown on `/metrics` against what was spent.
    pub spend: crate::review::spend::SpendCaps,
    /// The operator page (`STATUS_TOKEN` set), or none.
    pub status: Option<Arc<crate::server::status::StatusConfig>>,
    /// The review API (`API_TOKENS` set), or none.
    pub api: Option<Arc<crate::api::ApiConfig>>,
}

pub fn router(state: AppState) -> Router {
    let status = state.status.clone().map(|config| {
        crate::server::status::routes(state.store.clone(), config, state.metrics.clone())
    });
    let api = state
        .api
        .clone()
        .map(|config| crate::api::routes(state.store.clone(), config));
    let router = Router::new()
        .route("/webhook", post(webhook::receive))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    [status, api]
        .into_iter()
        .flatten()
        .fold(router, Router::merge)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers (migrations ran before the listener opened).
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let jobs = state.store.live_job_counts().await.unwrap_or_default();
    let oldest = state.store.oldest_queued_age().await.unwrap_or_default();
    let spend = crate::review::spend::standings(&state.store, &state.spend, &state.metrics)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(
                error = format!("{e:#}"),
                "cannot read the spend for /metrics"
            );
            Vec::new()
        });
    let mut text = state.metrics.render(&jobs, oldest);
    text.push_str(&crate::review::spend::render_metrics(&spend));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        text,
    )
}
