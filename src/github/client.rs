//! One method per GitHub call the app makes; URLs are built here and nowhere else.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{CommentId, CommitSha, PrNumber, RepoName};
use crate::model::RetryPolicy;

/// GitHub's files listing stops at 3,000 files (30 pages of 100).
const MAX_FILE_PAGES: u32 = 30;

/// A failed GitHub call. The `Display` text is safe for a PR comment and for logs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub answered {status} to {call}: {message}")]
    Api {
        call: &'static str,
        status: u16,
        message: String,
        /// Rate limited (primary or secondary).
        rate_limited: bool,
    },
    #[error("GitHub could not be reached for {call}: {message}")]
    Transport { call: &'static str, message: String },
    #[error("GitHub sent an unexpected answer to {call}: {message}")]
    Decode { call: &'static str, message: String },
}

impl GitHubError {
    /// Worth retrying later: server errors, rate limits and network trouble.
    pub fn is_transient(&self) -> bool {
        match self {
            GitHubError::Api {
                status,
                rate_limited,
                ..
            } => *rate_limited || *status >= 500,
            GitHubError::Transport { .. } => true,
            GitHubError::Decode { .. } => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The fields of a pull request the app uses.
#[derive(Debug, Clone, Deserialize)]
pub struct PullInfo {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    pub head: BranchRef,
    pub base: BranchRef,
    #[serde(default)]
    pub changed_files: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BranchRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

impl PullInfo {
    pub fn head_sha(&self) -> Option<CommitSha> {
        CommitSha::parse(&self.head.sha)
    }
}

/// One entry of `GET /pulls/{n}/files`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangedFile {
    pub filename: String,
    pub previous_filename: Option<String>,
    pub status: String,
    #[serde(default)]
    pub additions: u32,
    #[serde(default)]
    pub deletions: u32,
    /// Absent for binary files and for diffs too large for GitHub to include.
    pub patch: Option<String>,
}

/// A review already on the PR.
#[derive(Debug, Clone, Deserialize)]
pub struct ReviewInfo {
    pub id: u64,
    pub body: Option<String>,
    pub commit_id: Option<String>,
    pub user: Option<Login>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub login: String,
}

/// `POST /pulls/{n}/reviews` with an event: never pending, never approving.
#[derive(Debug, Clone, Serialize)]
pub struct NewReview {
    pub commit_id: String,
    pub body: String,
    /// Always `COMMENT`.
    pub event: &'static str,
    pub comments: Vec<NewReviewComment>,
}

/// An inline comment on `line` (and `start_line` for a range) of one `side`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewReviewComment {
    pub path: String,
    pub body: String,
    pub line: u32,
    pub side: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_side: Option<&'static str>,
}

/// An installation client bound to one repository.
#[derive(Clone)]
pub struct RepoClient {
    crab: Arc<Octocrab>,
    repo: RepoName,
    retry: RetryPolicy,
}

impl RepoClient {
    pub(crate) fn new(crab: Arc<Octocrab>, repo: RepoName, retry: RetryPolicy) -> Self {
        Self { crab, repo, retry }
    }

    pub fn repo(&self) -> &RepoName {
        &self.repo
    }

    /// `GET /repos/{repo}/pulls/{n}`.
    pub async fn pull(&self, pr: PrNumber) -> Result<PullInfo, GitHubError> {
        let path = format!("/repos/{}/pulls/{pr}", self.repo);
        self.get_json("get pull request", &path).await
    }

    /// Every changed file, paged by explicit page number (octocrab's next-page links have
    /// been seen without auth on non-default hosts), up to GitHub's 3,000.
    pub async fn files(&self, pr: PrNumber) -> Result<Vec<ChangedFile>, GitHubError> {
        let mut files = Vec::new();
        for page in 1..=MAX_FILE_PAGES {
            let path = format!(
                "/repos/{}/pulls/{pr}/files?per_page=100&page={page}",
                self.repo
            );
            let batch: Vec<ChangedFile> = self.get_json("list pull request files", &path).await?;
            let last = batch.len() < 100;
            files.extend(batch);
            if last {
                break;
            }
        }
        Ok(files)
    }

    /// All reviews of the PR (to find our own by its marker).
    pub async fn reviews(&self, pr: PrNumber) -> Result<Vec<ReviewInfo>, GitHubError> {
        let mut reviews = Vec::new();
        for page in 1..=100u32 {
            let path = format!(
                "/repos/{}/pulls/{pr}/reviews?per_page=100&page={page}",
                self.repo
            );
            let batch: Vec<ReviewInfo> = self.get_json("list reviews", &path).await?;
            let last = batch.len() < 100;
            reviews.extend(batch);
            if last {
                break;
            }
        }
        Ok(reviews)
    }

    /// 👀 on the triggering comment. Safe to repeat: GitHub answers 200 for an existing one.
    pub async fn react_eyes(&self, comment: CommentId) -> Result<(), GitHubError> {
        let path = format!("/repos/{}/issues/comments/{comment}/reactions", self.repo);
        let body = serde_json::json!({"content": "eyes"});
        self.send("add reaction", Method::POST, &path, Some(&body), true)
            .await
            .map(drop)
    }

    /// Posts one review. Not retried here: a lost answer is resolved by looking for the
    /// review's marker before posting again.
    pub async fn create_review(
        &self,
        pr: PrNumber,
        review: &NewReview,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let path = format!("/repos/{}/pulls/{pr}/reviews", self.repo);
        let body = serde_json::to_value(review).map_err(|e| GitHubError::Decode {
            call: "create review",
            message: e.to_string(),
        })?;
        let text = self
            .send("create review", Method::POST, &path, Some(&body), false)
            .await?;
        decode::<Created>("create review", &text).map(|c| c.id)
    }

    /// A plain comment on the PR's conversation (failures, notices).
    pub async fn comment(&self, pr: PrNumber, body: &str) -> Result<(), GitHubError> {
        let path = format!("/repos/{}/issues/{pr}/comments", self.repo);
        let body = serde_json::json!({ "body": body });
        self.send("create comment", Method::POST, &path, Some(&body), false)
            .await
            .map(drop)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        path: &str,
    ) -> Result<T, GitHubError> {
        let text = self.send(call, Method::GET, path, None, true).await?;
        decode(call, &text)
    }

    async fn send(
        &self,
        call: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<String, GitHubError> {
        send_with_retry(&self.crab, self.retry, call, method, path, body, idempotent).await
    }
}

/// `GET /app` with the App's JWT: its slug.
pub(crate) async fn get_app(crab: &Octocrab, retry: RetryPolicy) -> Result<String, GitHubError> {
    #[derive(Deserialize)]
    struct App {
        slug: String,
    }
    let text = send_with_retry(crab, retry, "get app", Method::GET, "/app", None, true).await?;
    decode::<App>("get app", &text).map(|a| a.slug)
}

fn decode<T: serde::de::DeserializeOwned>(
    call: &'static str,
    text: &str,
) -> Result<T, GitHubError> {
    serde_json::from_str(text).map_err(|e| GitHubError::Decode {
        call,
        message: e.to_string(),
    })
}

async fn send_with_retry(
    crab: &Octocrab,
    retry: RetryPolicy,
    call: &'static str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    idempotent: bool,
) -> Result<String, GitHubError> {
    let mut attempt = 1;
    loop {
        match send_once(crab, call, method.clone(), path, body).await {
            Ok(text) => return Ok(text),
            Err((err, wait)) if idempotent && err.is_transient() && attempt < retry.attempts => {
                let delay = wait
                    .unwrap_or_else(|| crate::model::backoff(retry.base_delay, attempt))
                    .min(retry.max_delay);
                tracing::warn!(call, attempt, error = %err, delay_ms = delay.as_millis() as u64, "GitHub call failed; retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err((err, _)) => return Err(err),
        }
    }
}

async fn send_once(
    crab: &Octocrab,
    call: &'static str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<String, (GitHubError, Option<Duration>)> {
    let transport = |e: octocrab::Error| match e {
        // octocrab's own requests (the installation token) fail with GitHub's answer.
        octocrab::Error::GitHub { source, .. } => (
            GitHubError::Api {
                call,
                status: source.status_code.as_u16(),
                message: format!("{} (while getting an installation token)", source.message),
                rate_limited: source.status_code == StatusCode::TOO_MANY_REQUESTS,
            },
            None,
        ),
        e => (
            GitHubError::Transport {
                call,
                message: transport_message(&e),
            },
            None,
        ),
    };
    let response = match method {
        Method::GET => crab._get(path).await,
        Method::POST => crab._post(path, body).await,
        _ => unreachable!("only GET and POST are used"),
    }
    .map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let text = crab.body_to_string(response).await.map_err(transport)?;
    if status.is_success() {
        return Ok(text);
    }
    Err(api_error(call, status, &headers, &text))
}

/// What octocrab's error says, without anything that could carry a token.
fn transport_message(e: &octocrab::Error) -> String {
    match e {
        octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => {
            "the connection failed or timed out".into()
        }
        other => other.to_string().chars().take(200).collect(),
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
