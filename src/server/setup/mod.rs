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
//! Until then the page could register an App for whoever opens it first, so it is the
//! operator's alone:
//! - every request needs the one-time key of the address printed at start
//!   (`/setup?key=...`), wherever it comes from. Behind a tunnel or a proxy every visitor comes
//!   from loopback, and the tunnel chooses the `Host` it forwards (`ssh -R` and `ngrok tcp`
//!   pass the visitor's own; nginx's default `proxy_pass` sends `127.0.0.1`), so no address
//!   or header tells the operator's browser from anyone else's;
//! - the page that hands out a `state` binds it to the browser with an HttpOnly cookie, and the
//!   callback refuses a state that comes without its cookie;
//! - the callback is claimed once before the code is exchanged, and the credentials file is
//!   created only if it does not exist, so two callbacks cannot both win.

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

use crate::error_chain::chain;
use crate::github::GitHubError;
use crate::ids::NoRandomness;
use crate::retry::RetryPolicy;
use crate::secret::same_secret;
use crate::server::html::{cookie, secure, with_cookie};
use crate::settings::SetupSettings;
use crate::settings::credentials::{self, Credentials};

/// GitHub's codes last an hour; a state is kept as long.
const STATE_LIFETIME: Duration = Duration::from_secs(3_600);
/// Setup pages opened and not finished, kept at most (the oldest is forgotten).
const MAX_STATES: usize = 64;
/// The cookie that binds a handed-out `state` to the browser it was handed to.
const BINDING_COOKIE: &str = "codex_review_setup";

/// A `state` handed out: when, the value of the cookie it was bound to, and whether the
/// service is to read the App's delivery log (GitHub cannot reach it).
struct Issued {
    at: Instant,
    binding: String,
    pull: bool,
}

/// What the setup pages share.
pub struct SetupState {
    settings: SetupSettings,
    retry: RetryPolicy,
    /// The `state` values handed out.
    issued: Mutex<HashMap<String, Issued>>,
    /// A callback is exchanging its code right now (claimed before the exchange).
    claimed: AtomicBool,
    /// The credentials are written: the setup routes answer 404.
    done: AtomicBool,
    configured: Mutex<Option<oneshot::Sender<Credentials>>>,
    /// The key a visitor from another machine must bring (printed at start).
    key: String,
}

impl SetupState {
    /// The pages' state, and where the credentials arrive once the App exists. Fails when the
    /// system cannot make the one-time key.
    #[allow(clippy::type_complexity)]
    pub fn new(
        settings: SetupSettings,
        retry: RetryPolicy,
    ) -> Result<(Arc<Self>, oneshot::Receiver<Credentials>), NoRandomness> {
        let (tx, rx) = oneshot::channel();
        let state = Arc::new(Self {
            settings,
            retry,
            issued: Mutex::new(HashMap::new()),
            claimed: AtomicBool::new(false),
            done: AtomicBool::new(false),
            configured: Mutex::new(Some(tx)),
            key: crate::ids::random_hex(16)?,
        });
        Ok((state, rx))
    }

    /// The one-time key for visitors from other machines.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// A new `state` and the cookie value that binds it to the browser it is handed to.
    fn issue(&self, pull: bool) -> Result<(String, String), NoRandomness> {
        let state = crate::ids::random_hex(16)?;
        let binding = crate::ids::random_hex(16)?;
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.retain(|_, i| i.at.elapsed() < STATE_LIFETIME);
        if issued.len() >= MAX_STATES
            && let Some(oldest) = issued
                .iter()
                .min_by_key(|(_, i)| i.at)
                .map(|(s, _)| s.clone())
        {
            issued.remove(&oldest);
        }
        issued.insert(
            state.clone(),
            Issued {
                at: Instant::now(),
                binding: binding.clone(),
                pull,
            },
        );
        Ok((state, binding))
    }

    /// Whether `state` was handed out here within the hour to the browser that brings
    /// `binding`; it is used up when it is. A state without its cookie is not used up, so a
    /// stranger who learnt it cannot spoil the operator's setup either.
    fn redeem(&self, state: &str, binding: Option<&str>) -> Redeemed {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let Some(found) = issued
            .get(state)
            .filter(|i| i.at.elapsed() < STATE_LIFETIME)
        else {
            issued.remove(state);
            return Redeemed::Unknown;
        };
        if !binding.is_some_and(|b| same_secret(b.as_bytes(), found.binding.as_bytes())) {
            return Redeemed::OtherBrowser;
        }
        let pull = found.pull;
        issued.remove(state);
        Redeemed::Yes { pull }
    }
}

/// What became of a callback's `state`.
#[derive(Debug, PartialEq, Eq)]
enum Redeemed {
    /// Handed out here to this browser; `pull`: the service reads its delivery log.
    Yes { pull: bool },
    /// Not handed out here, or more than an hour ago.
    Unknown,
    /// Handed out, but to another browser (the cookie is missing or different).
    OtherBrowser,
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
    /// GitHub cannot reach this machine: read the App's delivery log instead.
    pull: Option<String>,
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
    // No exception for loopback or a `Host` header: both are the tunnel's choice.
    if !same_secret(query.key.as_bytes(), state.key.as_bytes()) {
        tracing::warn!(%peer, "setup page refused: opened without its one-time key");
        return pages::needs_key(settings);
    }
    let key = query.key.as_str();
    let own = own_address(&headers);
    let Some(public_url) = query.public_url else {
        let prefill = settings.public_url.clone().unwrap_or_else(|| own.clone());
        let pull = query.pull.is_some();
        return pages::ask(settings, key, &prefill, &query.org, &query.name, None, pull);
    };
    let pull = query.pull.as_deref().is_some_and(|p| !p.is_empty());
    let choice = match manifest::choose(&public_url, &query.org, &query.name, pull) {
        Ok(choice) => choice,
        Err(problem) => {
            return pages::ask(
                settings,
                key,
                &public_url,
                &query.org,
                &query.name,
                Some(&problem.to_string()),
                pull,
            );
        }
    };
    if let Err(e) = writable(&settings.credentials_path) {
        return pages::cannot_write(settings, &e);
    }
    let redirect = format!("{own}/setup/callback");
    let manifest = match manifest::build(&choice, &redirect) {
        Ok(manifest) => manifest,
        Err(problem) => {
            let problem = chain(&problem);
            return pages::failed(settings, StatusCode::INTERNAL_SERVER_ERROR, &problem);
        }
    };
    let (issued, binding) = match state.issue(choice.pull) {
        Ok(issued) => issued,
        Err(e) => {
            let e = chain(&e);
            tracing::error!(error = %e, "setup page");
            return pages::failed(settings, StatusCode::SERVICE_UNAVAILABLE, &e);
        }
    };
    let target = manifest::form_target(&settings.web_url, choice.org.as_deref(), &issued);
    // Lax: the cookie comes back with GitHub's redirect to the callback (a top-level GET).
    let bind = format!(
        "{BINDING_COOKIE}={binding}; Path=/setup; Max-Age={}; HttpOnly; SameSite=Lax{}",
        STATE_LIFETIME.as_secs(),
        secure(&headers)
    );
    with_cookie(
        pages::confirm(settings, key, &choice, &manifest, &target),
        &bind,
    )
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

async fn callback(
    State(state): State<Arc<SetupState>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if state.done.load(Ordering::SeqCst) {
        return not_found().await;
    }
    let settings = &state.settings;
    let binding = cookie(&headers, BINDING_COOKIE);
    let pull = match query.state.as_deref().map(|s| state.redeem(s, binding)) {
        Some(Redeemed::Yes { pull }) => pull,
        Some(Redeemed::OtherBrowser) => {
            tracing::warn!("setup callback refused: its state came without its browser's cookie");
            return pages::failed(
                settings,
                StatusCode::BAD_REQUEST,
                "This answer comes back to another browser than the one that opened the setup \
                 page (its cookie is missing), so its code was not used. Finish the setup in \
                 the browser where you started it, or start again from the setup page.",
            );
        }
        Some(Redeemed::Unknown) | None => {
            tracing::warn!("setup callback refused: its state was not handed out here");
            return pages::failed(
                settings,
                StatusCode::BAD_REQUEST,
                "This answer does not belong to a setup page opened here (its state does not match, \
                 or is more than an hour old), so its code was not used. Start again from the setup page.",
            );
        }
    };
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return pages::failed(
            settings,
            StatusCode::BAD_REQUEST,
            "GitHub sent no code back. Start again from the setup page.",
        );
    };
    // One callback at a time exchanges its code: a second one waits for nothing and wins nothing.
    if state
        .claimed
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        tracing::warn!("setup callback refused: another one is completing the setup");
        return pages::failed(
            settings,
            StatusCode::CONFLICT,
            "Another answer from GitHub is completing the setup right now, so this one's code \
             was not used. Reload this page in a moment.",
        );
    }
    let app = match crate::github::manifest::convert(&settings.api_url, &code, state.retry).await {
        Ok(app) => credentials::Credentials {
            deliveries: pull.then(|| "pull".to_owned()),
            ..app
        },
        Err(e) => {
            tracing::warn!(error = %chain(&e), "the manifest code could not be exchanged");
            state.claimed.store(false, Ordering::SeqCst);
            return pages::not_converted(settings, &e, conversion_advice(&e));
        }
    };
    if let Err(e) = credentials::create(&settings.credentials_path, &app) {
        tracing::error!(error = %e, path = %settings.credentials_path.display(), "cannot write the credentials");
        state.claimed.store(false, Ordering::SeqCst);
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
    drop(crate::scratch::ScratchFile::new(
        dir,
        ".codex-review-probe",
    )?);
    Ok(())
}
