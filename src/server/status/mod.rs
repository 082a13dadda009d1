//! The operator page, `GET /status`: what the service reviewed, what failed, what it cost and
//! what GitHub sent. Off unless `STATUS_TOKEN` is set.
//!
//! The token is given as `Authorization: Bearer TOKEN` (scripts, monitoring) or once through
//! the page's login form, which sets a session cookie: its issue time and an HMAC of that time
//! under the token (never the token itself). A session lasts 12 hours, and signing out ends
//! every session issued before (the sign-out is stored, so every replica and a restart know
//! it). Tokens and MACs are compared in constant time. The page is plain HTML and CSS, served
//! with a Content-Security-Policy that allows nothing but its own stylesheet.

pub(crate) mod chart;
mod page;

use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::Mac as _;
use maud::html;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::secret::same_secret;
use crate::server::html::{cookie, secure, with_cookie};
use crate::store::{Store, now_ms};

/// Every status page's title (and first heading).
const TITLE: &str = "codex-review status";
/// The cookie the login form sets.
const COOKIE: &str = "codex_review_status";
/// How long a login lasts.
const SESSION_SECS: i64 = 12 * 3_600;

/// What the page needs besides the database.
pub struct StatusConfig {
    pub token: SecretString,
    /// GitHub's web address, for links to pull requests and commits.
    pub web_url: String,
    /// This process's name (`CODEX_REVIEW_INSTANCE`).
    pub instance: String,
    /// The spend caps, shown against what was spent.
    pub spend: crate::review::spend::SpendCaps,
}

#[derive(Clone)]
struct StatusState {
    store: Store,
    config: Arc<StatusConfig>,
    /// The repository caps this process has seen.
    metrics: Arc<crate::metrics::Metrics>,
}

/// `/status`, `/status/login` and `/status/logout`.
pub fn routes(
    store: Store,
    config: Arc<StatusConfig>,
    metrics: Arc<crate::metrics::Metrics>,
) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/status/login", post(login))
        .route("/status/logout", post(logout))
        .with_state(StatusState {
            store,
            config,
            metrics,
        })
}

impl StatusConfig {
    /// The session cookie's value for a login at `issued_ms`: `ISSUED.MAC`, the MAC an
    /// HMAC-SHA256 of the time under the token, so the cookie works only here, only for its
    /// time, and does not reveal the token.
    pub fn session_value(&self, issued_ms: i64) -> String {
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(self.token.expose_secret().as_bytes())
                .expect("HMAC takes keys of any length");
        mac.update(b"codex-review status session v2\0");
        mac.update(issued_ms.to_string().as_bytes());
        format!("{issued_ms}.{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Whether the request carries the token as a bearer.
    fn bearer(&self, headers: &HeaderMap) -> Option<bool> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))?;
        Some(same_secret(
            token.trim().as_bytes(),
            self.token.expose_secret().as_bytes(),
        ))
    }

    /// The issue time of the request's session cookie, when it is one of this token's and
    /// less than 12 hours old.
    fn session(&self, headers: &HeaderMap, now: i64) -> Option<i64> {
        let value = cookie(headers, COOKIE)?;
        let issued: i64 = value.split_once('.')?.0.parse().ok()?;
        let fresh = issued <= now + 60_000 && now - issued < SESSION_SECS * 1_000;
        (fresh && same_secret(value.as_bytes(), self.session_value(issued).as_bytes()))
            .then_some(issued)
    }
}

impl StatusState {
    /// Whether the request carries the token (bearer) or a live session: one issued after the
    /// last sign-out (a database that cannot say refuses the cookie, not the bearer).
    async fn admits(&self, headers: &HeaderMap) -> bool {
        if let Some(ok) = self.config.bearer(headers) {
            return ok;
        }
        let Some(issued) = self.config.session(headers, now_ms()) else {
            return false;
        };
        match self.store.status_signed_out_at().await {
            Ok(signed_out) => signed_out.is_none_or(|at| issued > at),
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "cannot read the status sign-outs");
                false
            }
        }
    }
}

async fn status(State(state): State<StatusState>, headers: HeaderMap) -> Response {
    if !state.admits(&headers).await {
        return unauthorized(None);
    }
    match page::gather(&state.store, &state.config.spend, &state.metrics).await {
        Ok(data) => page::render(&data, &state.config),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "cannot read the status");
            unavailable("The database cannot be read right now; the logs have the details.")
        }
    }
}

/// 503 with what could not be done.
fn unavailable(problem: &str) -> Response {
    let body = html! {
        h1 { (TITLE) }
        div.box.bad { (problem) }
    };
    crate::server::html::page(StatusCode::SERVICE_UNAVAILABLE, TITLE, body, "'self'")
}

/// 401 with the login form (and where a script should put the token).
fn unauthorized(problem: Option<&str>) -> Response {
    let body = html! {
        h1 { (TITLE) }
        @if let Some(problem) = problem {
            div.box.bad id="problem" { (problem) }
        }
        form method="post" action="/status/login" {
            p {
                label for="token" { "Status token" }
                input type="password" id="token" name="token" autocomplete="current-password"
                    required;
            }
            p { button type="submit" { "Sign in" } }
        }
        p.muted {
            "The token is the service's " code { "STATUS_TOKEN" } ". Scripts can send it as "
            code { "Authorization: Bearer TOKEN" } "."
        }
    };
    let mut response = crate::server::html::page(StatusCode::UNAUTHORIZED, TITLE, body, "'self'");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"codex-review status\""),
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(state): State<StatusState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let config = &state.config;
    if !same_secret(
        form.token.trim().as_bytes(),
        config.token.expose_secret().as_bytes(),
    ) {
        tracing::warn!("status page: a sign-in with a wrong token");
        return unauthorized(Some("That token is not the service's STATUS_TOKEN."));
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/status; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Strict{}",
        config.session_value(now_ms()),
        secure(&headers)
    );
    with_cookie(Redirect::to("/status").into_response(), &cookie)
}

/// Ends the sessions issued so far (when the request holds one: a stranger's sign-out
/// changes nothing) and clears the cookie.
async fn logout(State(state): State<StatusState>, headers: HeaderMap) -> Response {
    if state.admits(&headers).await
        && let Err(e) = state.store.sign_out_status().await
    {
        tracing::error!(
            error = format!("{e:#}"),
            "cannot record the status sign-out"
        );
        return unavailable(
            "The sign-out could not be recorded (the database cannot be written right now): \
             try again.",
        );
    }
    let cookie = format!(
        "{COOKIE}=; Path=/status; Max-Age=0; HttpOnly; SameSite=Strict{}",
        secure(&headers)
    );
    with_cookie(Redirect::to("/status").into_response(), &cookie)
}
