//! The review API for pipelines (`openapi.yaml`): `POST /v1/reviews` asks for a review of a
//! pull request, `GET /v1/reviews/{id}` reads how it went. Off unless `API_TOKENS` is set.
//!
//! A request becomes a job in the same durable queue as a comment's, with the repository's
//! configuration and budgets, and the same exactly-once posting; `post: false` reviews
//! without touching the pull request. Bearer tokens are compared in constant time.

mod request;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::error_chain::chain;
use crate::event::{Command, ReviewRequest, Trigger};
use crate::github::GitHubApp;
use crate::secret::same_secret;
use crate::settings::ApiToken;
use crate::store::{ApiCreated, ApiReview, NewApiReview, Store};

pub use request::{Refusal, ReviewBody};

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest `Idempotency-Key` taken.
const MAX_KEY_LEN: usize = 255;

/// What the API needs besides the database.
pub struct ApiConfig {
    pub tokens: Vec<ApiToken>,
    /// `GITHUB_URL`: pull request URLs must be on it.
    pub web_url: String,
    pub github: GitHubApp,
    /// Woken when a job is queued.
    pub wake: Arc<Notify>,
}

#[derive(Clone)]
struct ApiState {
    store: Store,
    config: Arc<ApiConfig>,
}

pub fn routes(store: Store, config: Arc<ApiConfig>) -> Router {
    Router::new()
        .route("/v1/reviews", post(create))
        .route("/v1/reviews/{id}", get(read))
        .with_state(ApiState { store, config })
}

/// An error answer: `{"error": {"code", "message"}}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"codex-review API\""),
        );
    }
    response
}

impl ApiConfig {
    /// The token the request carries, if it is one of the service's. Every token is
    /// compared, whichever matches, so the time does not tell which.
    fn admits(&self, headers: &HeaderMap) -> Option<&ApiToken> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))?;
        self.tokens.iter().fold(None, |found, token| {
            let same = same_secret(
                given.trim().as_bytes(),
                token.secret.expose_secret().as_bytes(),
            );
            found.or(same.then_some(token))
        })
    }
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "send one of the service's API_TOKENS as Authorization: Bearer TOKEN",
    )
}

async fn create(State(state): State<ApiState>, headers: HeaderMap, body: Body) -> Response {
    let config = &state.config;
    let Some(token) = config.admits(&headers) else {
        return unauthorized();
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is over {} KiB", MAX_BODY_BYTES / 1024),
        );
    };
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= MAX_KEY_LEN => Some(k.trim()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} printable characters"),
            );
        }
    };
    let body = match request::parse(&bytes, &config.web_url) {
        Ok(body) => body,
        Err(refusal) => return error(StatusCode::BAD_REQUEST, refusal.code, refusal.message),
    };
    if !token.allows(&body.repo) {
        tracing::warn!(repo = %body.repo, "review API: a token asked outside its scope");
        return error(
            StatusCode::FORBIDDEN,
            "outside_token_scope",
            format!(
                "this token may ask for reviews of {} only, not of {}",
                token.describe_scope(),
                body.repo
            ),
        );
    }
    let hash = body.hash();
    let id = match crate::ids::random_hex(12) {
        Ok(random) => format!("rev_{random}"),
        Err(e) => {
            tracing::error!(error = %chain(&e), "review API");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service cannot make a review id right now; try again",
            );
        }
    };
    let probe = NewApiReview {
        id: &id,
        token_id: &token.id,
        idempotency_key: key,
        body_hash: &hash,
        pull_request_url: &body.pull_request_url,
        post: body.post,
        request: &placeholder(&body, &id, &token.id),
    };
    // A repeated request is answered from the store, before asking GitHub anything.
    match state.store.find_idempotent(&probe).await {
        Ok(Some(found)) => return created(&state.store, found, &id, &token.id).await,
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let installation = match config.github.repo_installation(&body.repo).await {
        Ok(Some(installation)) => installation,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "not_installed",
                format!(
                    "the App is not installed on {}: install it on the repository, then ask again",
                    body.repo
                ),
            );
        }
        Err(e) => {
            tracing::warn!(error = %chain(&e), "cannot find the App's installation");
            return error(
                StatusCode::BAD_GATEWAY,
                "github_unavailable",
                format!(
                    "GitHub could not be asked about the repository: {}",
                    chain(&e)
                ),
            );
        }
    };
    let request = ReviewRequest {
        installation,
        ..placeholder(&body, &id, &token.id)
    };
    let new = NewApiReview {
        request: &request,
        ..probe
    };
    match state.store.create_api_review(&new).await {
        Ok(found) => {
            if matches!(found, ApiCreated::Created { .. }) {
                tracing::info!(review = %id, repo = %body.repo, pr = %body.pr, post = body.post, "review asked for through the API");
                config.wake.notify_one();
            }
            created(&state.store, found, &id, &token.id).await
        }
        Err(e) => internal(e),
    }
}

/// The job's request for `body` from the token `token_id` (the installation is filled in
/// once known).
fn placeholder(body: &ReviewBody, id: &str, token_id: &str) -> ReviewRequest {
    ReviewRequest {
        installation: crate::ids::InstallationId(0),
        repo: body.repo.clone(),
        pr: body.pr,
        trigger: Trigger::Api {
            review: id.to_owned(),
            post: body.post,
            token: token_id.to_owned(),
        },
        command: Command::Review {
            focus_areas: body.focus_areas.clone(),
            full: body.full,
        },
    }
}

/// 202 with the review's id, its status and where to read it; 409 for a reused key.
async fn created(store: &Store, found: ApiCreated, new_id: &str, token_id: &str) -> Response {
    // A new review is queued; a repeated request is told where its review stands now.
    let (id, status) = match found {
        ApiCreated::Created { .. } => (new_id.to_owned(), "queued".to_owned()),
        ApiCreated::Existing { id } => match store.api_review(&id, token_id).await {
            Ok(review) => {
                let status = review.map_or_else(|| "queued".to_owned(), |r| r.status);
                (id, status)
            }
            Err(e) => return internal(e),
        },
        ApiCreated::Conflict => {
            return error(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "this Idempotency-Key was used with another body: use a new key for another request",
            );
        }
    };
    let url = format!("/v1/reviews/{id}");
    let mut response = (
        StatusCode::ACCEPTED,
        axum::Json(json!({"id": id, "status": status, "url": url})),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn read(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(token) = state.config.admits(&headers) else {
        return unauthorized();
    };
    // Another token's review is as unknown as one that does not exist.
    let found = if id.starts_with("rev_") && id.len() <= 40 {
        state.store.api_review(&id, &token.id).await
    } else {
        Ok(None)
    };
    match found {
        Ok(Some(review)) => axum::Json(describe(&review)).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no review {id}"),
        ),
        Err(e) => internal(e),
    }
}

/// The answer of `GET /v1/reviews/{id}`.
fn describe(r: &ApiReview) -> Value {
    let finished = matches!(r.status.as_str(), "done" | "failed" | "skipped");
    let review_url = r
        .review_id
        .filter(|_| r.post)
        .map(|id| format!("{}#pullrequestreview-{id}", r.pull_request_url));
    json!({
        "id": r.id,
        "status": r.status,
        "pull_request_url": r.pull_request_url,
        "post": r.post,
        "head_sha": r.head_sha,
        "created_at": crate::when::rfc3339(r.created_at),
        "updated_at": crate::when::rfc3339(r.updated_at),
        "detail": if r.status == "failed" { None } else { r.detail.clone() },
        "review_url": review_url,
        "result": r.result,
        "usage": finished.then(|| json!({
            "model_calls": r.model_calls,
            "input_tokens": r.input_tokens,
            "cached_tokens": r.cached_tokens,
            "output_tokens": r.output_tokens,
        })),
        "cost_usd": r.cost_micros.map(|m| m as f64 / 1e6),
        "error": (r.status == "failed").then(|| json!({
            "message": r.detail.clone().unwrap_or_default(),
            "advice": r.advice.clone().unwrap_or_default(),
        })),
    })
}

fn internal(e: anyhow::Error) -> Response {
    tracing::error!(error = format!("{e:#}"), "review API");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the service cannot reach its database right now; try again",
    )
}
