//! Sending one GitHub request through octocrab, with retries for idempotent calls.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

use super::GitHubError;
use super::error::Unexpected;
use crate::retry::RetryPolicy;

/// One call to GitHub.
pub(crate) struct Request<'a> {
    /// A name for logs and errors (`"get pull request"`).
    pub call: &'static str,
    pub method: Method,
    /// Path and query, relative to the API base.
    pub path: &'a str,
    pub body: Option<&'a Value>,
    /// Safe to send again after a failure (reads, and writes GitHub de-duplicates).
    pub idempotent: bool,
    /// A media type other than the JSON default.
    pub accept: Option<&'static str>,
    /// The answer is a redirect, whose `Location` is returned (GitHub's archive link).
    pub redirect: bool,
    /// Receives the `rel="next"` link of a paged answer (path and query), when there is one.
    pub next: Option<&'a std::sync::Mutex<Option<String>>>,
}

impl<'a> Request<'a> {
    pub fn get(call: &'static str, path: &'a str) -> Self {
        Self {
            call,
            method: Method::GET,
            path,
            body: None,
            idempotent: true,
            accept: None,
            redirect: false,
            next: None,
        }
    }
}

/// Sends `request`, retrying transient failures of idempotent calls with backoff (honouring
/// `retry-after` and the rate limit's reset time). Returns the body of a 2xx answer.
pub(crate) async fn send(
    crab: &Octocrab,
    retry: RetryPolicy,
    metrics: Option<&crate::metrics::Metrics>,
    request: Request<'_>,
) -> Result<String, GitHubError> {
    let mut attempt = 1;
    loop {
        let started = std::time::Instant::now();
        let result = send_once(crab, &request).await;
        if let Some(m) = metrics {
            let status = match &result {
                Ok(_) => "2xx",
                Err((GitHubError::Api { status, .. }, _)) if *status >= 500 => "5xx",
                Err((
                    GitHubError::Api {
                        status: 429 | 403,
                        rate_limited: true,
                        ..
                    },
                    _,
                )) => "rate_limited",
                Err((GitHubError::Api { .. }, _)) => "4xx",
                Err(_) => "error",
            };
            m.github_call(request.call, status, started.elapsed());
        }
        match result {
            Ok(text) => return Ok(text),
            // A rate limit that resets after the retry window: waiting here would only burn
            // the attempts. The job is put back until the reset instead.
            Err((
                GitHubError::Api {
                    call,
                    status,
                    message,
                    rate_limited: true,
                    ..
                },
                Some(wait),
            )) if wait > retry.max_delay => {
                tracing::warn!(
                    call,
                    wait_s = wait.as_secs(),
                    "GitHub rate limit resets later; the job waits for it"
                );
                return Err(GitHubError::Api {
                    call,
                    status,
                    message,
                    rate_limited: true,
                    retry_in: Some(wait),
                });
            }
            Err((err, wait))
                if request.idempotent && err.is_transient() && attempt < retry.attempts =>
            {
                let delay = wait
                    .unwrap_or_else(|| crate::retry::backoff(retry.base_delay, attempt))
                    .min(retry.max_delay);
                tracing::warn!(call = request.call, attempt, error = %crate::error_chain::chain(&err), delay_ms = delay.as_millis() as u64, "GitHub call failed; retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err((err, _)) => return Err(err),
        }
    }
}

async fn send_once(
    crab: &Octocrab,
    request: &Request<'_>,
) -> Result<String, (GitHubError, Option<Duration>)> {
    let call = request.call;
    let transport = |e: octocrab::Error| match e {
        // octocrab's own requests (the installation token) fail with GitHub's answer.
        octocrab::Error::GitHub { source, .. } => (
            GitHubError::Api {
                call,
                status: source.status_code.as_u16(),
                message: format!("{} (while getting an installation token)", source.message),
                rate_limited: source.status_code == StatusCode::TOO_MANY_REQUESTS,
                retry_in: None,
            },
            None,
        ),
        e => (GitHubError::transport(call, cause(e)), None),
    };
    let response = match (&request.method, request.accept) {
        (&Method::GET, None) => crab._get(request.path).await,
        (&Method::GET, Some(accept)) => {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::ACCEPT, HeaderValue::from_static(accept));
            crab._get_with_headers(request.path, Some(headers)).await
        }
        (&Method::POST, _) => crab._post(request.path, request.body).await,
        (&Method::PATCH, _) => crab._patch(request.path, request.body).await,
        (other, _) => unreachable!("{other} is not used"),
    }
    .map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    if let Some(remaining) = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        crate::metrics::note_rate_limit_remaining(remaining);
    }
    if request.redirect && status.is_redirection() {
        return headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or((
                GitHubError::decode(call, Unexpected("a redirect without a Location")),
                None,
            ));
    }
    let text = crab.body_to_string(response).await.map_err(transport)?;
    if status.is_success() {
        if let Some(next) = request.next {
            *next.lock().unwrap_or_else(|p| p.into_inner()) = next_link(&headers);
        }
        return Ok(text);
    }
    Err(api_error(call, status, &headers, &text))
}

/// The path and query of the `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        if !rel.contains("rel=\"next\"") {
            return None;
        }
        let url = url.trim().trim_start_matches('<').trim_end_matches('>');
        let uri: http::Uri = url.parse().ok()?;
        uri.path_and_query().map(|p| p.as_str().to_owned())
    })
}

/// The error under octocrab's: the HTTP stack's own (whose request URL the stack leaves out,
/// see `http::Leaf`), not octocrab's wrapper, which repeats it in its text.
pub(super) fn cause(e: octocrab::Error) -> Box<dyn std::error::Error + Send + Sync> {
    match e {
        octocrab::Error::Service { source, .. } => source,
        octocrab::Error::Hyper { source, .. } => Box::new(source),
        other => Box::new(other),
    }
}

fn api_error(
    call: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    text: &str,
) -> (GitHubError, Option<Duration>) {
    let message = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            let main = v.get("message")?.as_str()?.to_owned();
            let details: Vec<String> = v
                .get("errors")
                .and_then(Value::as_array)
                .map(|errs| {
                    errs.iter()
                        .filter_map(|e| {
                            e.as_str().map(str::to_owned).or_else(|| {
                                e.get("message").and_then(Value::as_str).map(str::to_owned)
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(if details.is_empty() {
                main
            } else {
                format!("{main} ({})", details.join("; "))
            })
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after = header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (exhausted
                || retry_after.is_some()
                || message.to_lowercase().contains("rate limit")));
    // Primary limit: wait until the reset time GitHub gives.
    let wait = retry_after.or_else(|| {
        if !exhausted {
            return None;
        }
        let reset = header("x-ratelimit-reset")?.parse::<u64>().ok()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        Some(Duration::from_secs(reset.saturating_sub(now) + 1))
    });
    (
        GitHubError::Api {
            call,
            status: status.as_u16(),
            message: message.chars().take(500).collect(),
            rate_limited,
            retry_in: None,
        },
        wait,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_rate_limits_are_transient_with_their_wait() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        let (e, wait) = api_error(
            "x",
            StatusCode::FORBIDDEN,
            &h,
            r#"{"message":"You have exceeded a secondary rate limit"}"#,
        );
        assert!(e.is_transient());
        assert_eq!(wait, Some(Duration::from_secs(3)));
    }

    #[tokio::test]
    async fn a_call_that_reaches_nothing_tells_its_cause_without_the_url() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        let crab = super::super::http::octocrab(
            "http://127.0.0.1:1",
            octocrab::AuthState::None,
            retry.timeout,
        )
        .unwrap();
        // A manifest's code is a secret in the path.
        let path = "/app-manifests/s3cr3t/conversions";
        let e = send(&crab, retry, None, Request::get("convert", path))
            .await
            .unwrap_err();
        assert!(matches!(e, GitHubError::Transport { .. }), "{e:?}");
        assert!(e.is_transient());
        let text = crate::error_chain::chain(&e);
        assert!(
            text.starts_with("GitHub could not be reached for convert: error sending request"),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn validation_errors_keep_githubs_details() {
        let (e, _) = api_error(
            "create review",
            StatusCode::UNPROCESSABLE_ENTITY,
            &HeaderMap::new(),
            r#"{"message":"Unprocessable Entity","errors":["Line could not be resolved"]}"#,
        );
        assert!(!e.is_transient());
        assert!(e.to_string().contains("Line could not be resolved"));
        let (e, _) = api_error(
            "x",
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            r#"{"message":"Resource not accessible by integration"}"#,
        );
        assert!(!e.is_transient());
    }
}
