//! The operator page, `GET /status`: what the service reviewed, what failed, what it cost and
//! what GitHub sent. Off unless `STATUS_TOKEN` is set.
//!
//! The token is given as `Authorization: Bearer TOKEN` (scripts, monitoring) or once through
//! the page's login form, which sets a cookie holding a value derived from the token (not the
//! token itself). Both are compared in constant time. The page is plain HTML and CSS, served
//! with a Content-Security-Policy that allows nothing but its own stylesheet.

mod chart;
mod page;

use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::Mac as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::jobs::Store;

use crate::server::html::same_secret;

/// The cookie the login form sets.
const COOKIE: &str = "codex_review_status";
/// How long a login lasts.
const COOKIE_DAYS: u32 = 7;

/// What the page needs besides the database.
pub struct StatusConfig {
    pub token: SecretString,
    /// GitHub's web address, for links to pull requests and commits.
    pub web_url: String,
    /// This process's name (`CODEX_REVIEW_INSTANCE`).
    pub instance: String,
}

#[derive(Clone)]
struct StatusState {
    store: Store,
    config: Arc<StatusConfig>,
}

/// `/status`, `/status/login` and `/status/logout`.
pub fn routes(store: Store, config: Arc<StatusConfig>) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/status/login", post(login))
        .route("/status/logout", post(logout))
        .with_state(StatusState { store, config })
}

impl StatusConfig {
    /// The cookie's value: an HMAC of a fixed label under the token, so the cookie works only
    /// here and does not reveal the token.
    fn session_value(&self) -> String {
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(self.token.expose_secret().as_bytes())
                .expect("HMAC takes keys of any length");
        mac.update(b"codex-review status session v1");
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether the request carries the token (bearer) or the login cookie.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            return same_secret(
                token.trim().as_bytes(),
                self.token.expose_secret().as_bytes(),
            );
        }
        let expected = self.session_value();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| {
                name == COOKIE && same_secret(value.as_bytes(), expected.as_bytes())
            })
    }
}

async fn status(State(state): State<StatusState>, headers: HeaderMap) -> Response {
    if !state.config.admits(&headers) {
        return unauthorized(None);
    }
    match page::gather(&state.store).await {
        Ok(data) => page::render(&data, &state.config),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "cannot read the status");
            crate::server::html::page(
                StatusCode::SERVICE_UNAVAILABLE,
                "codex-review status",
                "<h1>codex-review status</h1><div class=\"box bad\">The database cannot be read \
                 right now; the logs have the details.</div>",
                "'self'",
            )
        }
    }
}

/// 401 with the login form (and where a script should put the token).
fn unauthorized(problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<div class=\"box bad\" id=\"problem\">{p}</div>"))
        .unwrap_or_default();
    let body = format!(
        "<h1>codex-review status</h1>\n{problem}\
<form method=\"post\" action=\"/status/login\">\n\
<p><label for=\"token\">Status token</label>\
<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required></p>\n\
<p><button type=\"submit\">Sign in</button></p>\n</form>\n\
<p class=\"muted\">The token is the service's <code>STATUS_TOKEN</code>. Scripts can send it as \
<code>Authorization: Bearer TOKEN</code>.</p>"
    );
    let mut response = crate::server::html::page(
        StatusCode::UNAUTHORIZED,
        "codex-review status",
        &body,
        "'self'",
    );
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
        "{COOKIE}={}; Path=/status; Max-Age={}; HttpOnly; SameSite=Strict{}",
        config.session_value(),
        COOKIE_DAYS * 86_400,
        secure(&headers)
    );
    with_cookie(Redirect::to("/status").into_response(), &cookie)
}

async fn logout(headers: HeaderMap) -> Response {
    let cookie = format!(
        "{COOKIE}=; Path=/status; Max-Age=0; HttpOnly; SameSite=Strict{}",
        secure(&headers)
    );
    with_cookie(Redirect::to("/status").into_response(), &cookie)
}

/// `; Secure` behind an HTTPS proxy (a plain-HTTP local page would never send it back).
fn secure(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
