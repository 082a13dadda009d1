//! Setup mode: from nothing to a registered App through GitHub's manifest flow.
//!
//! `serve` without the App's settings serves these pages instead of stopping:
//! - `GET /setup` asks for the service's public address (and an organisation, a name);
//! - `GET /setup?public_url=URL[&org=ORG][&name=NAME]` answers a page whose form posts the
//!   manifest to GitHub with a random `state`;
//! - `GET /setup/callback?code=CODE&state=STATE` checks the state, exchanges the code for the
//!   App's credentials, writes them to the credentials file (0600), and hands them to the
//!   service, which goes on in normal mode on the same listener.
//!
//! Once the credentials are written, every setup route answers 404.
//!
//! Until then the page could register an App for whoever opens it first, so only this
//! machine's browser (a loopback peer, not through a proxy) opens it as it is; from anywhere
//! else it needs the one-time key printed at start with its address (`/setup?key=...`).

mod manifest;
mod pages;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::github::GitHubError;
use crate::model::RetryPolicy;
use crate::server::html::same_secret;
use crate::settings::SetupSettings;
use crate::settings::credentials::{self, Credentials};

/// GitHub's codes last an hour; a state is kept as long.
const STATE_LIFETIME: Duration = Duration::from_secs(3_600);
/// Setup pages opened and not finished, kept at most (the oldest is forgotten).
const MAX_STATES: usize = 64;

/// What the setup pages share.
pub struct SetupState {
    settings: SetupSettings,
    retry: RetryPolicy,
    /// The `state` values handed out, with when.
    issued: Mutex<HashMap<String, Instant>>,
    /// The credentials are written: the setup routes answer 404.
    done: AtomicBool,
    configured: Mutex<Option<oneshot::Sender<Credentials>>>,
    /// The key a visitor from another machine must bring (printed at start).
    key: String,
}

impl SetupState {
    /// The pages' state, and where the credentials arrive once the App exists.
    pub fn new(
        settings: SetupSettings,
        retry: RetryPolicy,
    ) -> (Arc<Self>, oneshot::Receiver<Credentials>) {
        let (tx, rx) = oneshot::channel();
        let state = Arc::new(Self {
            settings,
            retry,
            issued: Mutex::new(HashMap::new()),
            done: AtomicBool::new(false),
            configured: Mutex::new(Some(tx)),
            key: crate::ids::random_hex(16),
        });
        (state, rx)
    }

    /// The one-time key for visitors from other machines.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn issue(&self) -> String {
        let state = crate::ids::random_hex(16);
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.retain(|_, at| at.elapsed() < STATE_LIFETIME);
        if issued.len() >= MAX_STATES
            && let Some(oldest) = issued
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(s, _)| s.clone())
        {
            issued.remove(&oldest);
        }
        issued.insert(state.clone(), Instant::now());
        state
    }

    /// Whether `state` was handed out here within the hour; it is used up either way.
    fn redeem(&self, state: &str) -> bool {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued
            .remove(state)
            .is_some_and(|at| at.elapsed() < STATE_LIFETIME)
    }
}

pub fn router(state: Arc<SetupState>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/setup", get(setup))
        .route("/setup/callback", get(callback))
        .route("/healthz", get(|| async { "ok" }))
        .route("/webhook", post(not_yet))
        .fallback(not_found)
        .with_state(state)
}

async fn root(State(state): State<Arc<SetupState>>) -> Response {
    if state.done.load(Ordering::SeqCst) {
        return not_found().await;
    }
    Redirect::to("/setup").into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

async fn not_yet() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "codex-review is in setup mode: finish the setup page first",
    )
        .into_response()
}

#[derive(Deserialize)]
struct SetupQuery {
    public_url: Option<String>,
    #[serde(default)]
    org: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    key: String,
}

async fn setup(
    State(state): State<Arc<SetupState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<SetupQuery>,
) -> Response {
    if state.done.load(Ordering::SeqCst) {
        return not_found().await;
    }
    let settings = &state.settings;
    let local = peer.ip().is_loopback()
        && !headers.contains_key("x-forwarded-for")
        && !headers.contains_key("forwarded");
    if !local && !same_secret(query.key.as_bytes(), state.key.as_bytes()) {
        tracing::warn!(%peer, "setup page refused: opened from another machine without its key");
        return pages::needs_key(settings);
    }
    let key = if local { "" } else { query.key.as_str() };
    let own = own_address(&headers);
    let Some(public_url) = query.public_url else {
        let prefill = settings.public_url.clone().unwrap_or_else(|| own.clone());
        return pages::ask(settings, key, &prefill, &query.org, &query.name, None);
    };
    let choice = match manifest::choose(&public_url, &query.org, &query.name) {
        Ok(choice) => choice,
        Err(problem) => {
            return pages::ask(
                settings,
                key,
                &public_url,
                &query.org,
                &query.name,
                Some(&problem),
            );
        }
    };
    if let Err(e) = writable(&settings.credentials_path) {
        return pages::cannot_write(settings, &e);
    }
    let redirect = format!("{own}/setup/callback");
    match manifest::build(&choice, &redirect) {
        Ok(manifest) => {
            let target =
                manifest::form_target(&settings.web_url, choice.org.as_deref(), &state.issue());
            pages::confirm(settings, key, &choice, &manifest, &target)
        }
        Err(problem) => pages::failed(settings, StatusCode::INTERNAL_SERVER_ERROR, &problem),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

async fn callback(
    State(state): State<Arc<SetupState>>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if state.done.load(Ordering::SeqCst) {
        return not_found().await;
    }
    let settings = &state.settings;
    if !query.state.as_deref().is_some_and(|s| state.redeem(s)) {
        tracing::warn!("setup callback refused: its state was not handed out here");
        return pages::failed(
            settings,
            StatusCode::BAD_REQUEST,
            "This answer does not belong to a setup page opened here (its state does not match, \
             or is more than an hour old), so its code was not used. Start again from the setup page.",
        );
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return pages::failed(
            settings,
            StatusCode::BAD_REQUEST,
            "GitHub sent no code back. Start again from the setup page.",
        );
    };
    let app = match crate::github::manifest::convert(&settings.api_url, &code, state.retry).await {
        Ok(app) => app,
        Err(e) => {
            tracing::warn!(error = %e, "the manifest code could not be exchanged");
            return pages::not_converted(settings, &e, conversion_advice(&e));
        }
    };
    if let Err(e) = credentials::write(&settings.credentials_path, &app) {
        tracing::error!(error = %e, path = %settings.credentials_path.display(), "cannot write the credentials");
        return pages::unsaved(settings, &app, &e.to_string());
    }
    state.done.store(true, Ordering::SeqCst);
    tracing::info!(app_id = app.app_id, slug = %app.slug, path = %settings.credentials_path.display(), "GitHub App created; credentials written");
    let page = pages::created(settings, &app);
    if let Some(tx) = state
        .configured
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        let _ = tx.send(app);
    }
    page
}

/// What to tell a person whose code GitHub did not take.
fn conversion_advice(e: &GitHubError) -> &'static str {
    match e {
        GitHubError::Api {
            status: 404 | 422, ..
        } => {
            "GitHub did not accept the code: a code works once, within an hour of the App's \
             creation. GitHub did create the App: delete it (Settings → Developer settings → \
             GitHub Apps) and start again from the setup page."
        }
        _ => {
            "GitHub could not be asked for the App's credentials. GitHub did create the App: \
             delete it (Settings → Developer settings → GitHub Apps) and start again from the \
             setup page once GitHub can be reached."
        }
    }
}

/// The address this page was opened at (`http://localhost:3000`), from the request.
fn own_address(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// Whether the credentials file can be written, asked before GitHub creates the App (after,
/// the App would exist without its credentials).
fn writable(path: &std::path::Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".codex-review-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
