//! The HTTP layer under octocrab: reqwest, with each header sent exactly once.
//!
//! octocrab's default stack appends its own headers (`User-Agent: octocrab`, the headers given
//! to its builder) to what a request sets, so a request ends up with two `User-Agent`, two
//! `X-GitHub-Api-Version` and, where a call asks for a media type, two `Accept` lines. GitHub
//! may then answer a raw-contents read with JSON. This stack is octocrab's own low-level
//! builder with one leaf service that sets each header once: the request's own `Accept` (or
//! the JSON default), the API version, and the app's user agent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::header::{ACCEPT, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::{AuthState, OctoBody, Octocrab, OctocrabBuilder};
use tower::Layer;

/// The media type of GitHub's JSON answers.
pub const JSON_MEDIA_TYPE: &str = "application/vnd.github+json";
/// The REST API version every request names.
pub const API_VERSION: &str = "2022-11-28";
const API_VERSION_HEADER: HeaderName = HeaderName::from_static("x-github-api-version");
const AGENT: &str = concat!("codex-review/", env!("CARGO_PKG_VERSION"));

/// An octocrab client for `api_url` with `auth`, on the single-header stack.
pub fn octocrab(api_url: &str, auth: AuthState, timeout: Duration) -> anyhow::Result<Octocrab> {
    let base: http::Uri = api_url
        .trim_end_matches('/')
        .parse()
        .context("GITHUB_API_URL is not a valid URI")?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        // A redirect is the caller's to follow (the archive's download link must be fetched
        // without the installation's credentials).
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the GitHub HTTP client")?;
    let leaf = Leaf { http };
    let service = BaseUriLayer::new(base).layer(leaf);
    let crab = OctocrabBuilder::new_empty()
        .with_service(service)
        .with_auth(auth)
        .build()
        .map_err(|never| match never {})?;
    Ok(crab)
}

/// Sets each header GitHub reads once: the first `Accept` a request carries (or the JSON
/// media type), the API version, and this app's user agent.
pub fn normalize_headers(headers: &mut HeaderMap) {
    let accept = headers
        .get(ACCEPT)
        .cloned()
        .unwrap_or(HeaderValue::from_static(JSON_MEDIA_TYPE));
    headers.insert(ACCEPT, accept);
    headers.insert(API_VERSION_HEADER, HeaderValue::from_static(API_VERSION));
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
}

/// The innermost service: sends an octocrab request with reqwest. Answers are read whole
/// (every GitHub answer the app uses is a bounded JSON or text document).
#[derive(Clone)]
struct Leaf {
    http: reqwest::Client,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<Request<OctoBody>> for Leaf {
    type Response = Response<Full<Bytes>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<OctoBody>) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            normalize_headers(&mut parts.headers);
            let body = body.collect().await?.to_bytes();
            let mut builder = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers);
            if !body.is_empty() {
                builder = builder.body(body);
            }
            // A request's URL may hold a secret (a manifest's one-time code): errors leave it
            // out, for they reach logs and PR comments.
            let response = builder.send().await.map_err(reqwest::Error::without_url)?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .map_err(reqwest::Error::without_url)?;
            let mut out = Response::new(Full::new(bytes));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_header_is_set_once_and_a_requested_media_type_wins() {
        let mut h = HeaderMap::new();
        h.append(
            ACCEPT,
            HeaderValue::from_static("application/vnd.github.raw+json"),
        );
        h.append(ACCEPT, HeaderValue::from_static(JSON_MEDIA_TYPE));
        h.append(USER_AGENT, HeaderValue::from_static("octocrab"));
        h.append(API_VERSION_HEADER, HeaderValue::from_static(API_VERSION));
        h.append(API_VERSION_HEADER, HeaderValue::from_static(API_VERSION));
        normalize_headers(&mut h);
        let all = |name| h.get_all(name).iter().collect::<Vec<_>>();
        assert_eq!(all(ACCEPT), ["application/vnd.github.raw+json"]);
        assert_eq!(all(USER_AGENT), [AGENT]);
        assert_eq!(all(API_VERSION_HEADER), [API_VERSION]);
        let mut empty = HeaderMap::new();
        normalize_headers(&mut empty);
        assert_eq!(empty.get(ACCEPT).unwrap(), JSON_MEDIA_TYPE);
    }
}
