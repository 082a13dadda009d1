//! One method per GitHub call the app makes; URLs are built here and nowhere else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::Method;
use octocrab::Octocrab;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::error::{Cause, GitHubError, Unexpected};
use super::transport::{Request, send};
use crate::ids::{CommentId, CommitSha, PrNumber, RepoName};
use crate::retry::RetryPolicy;

/// GitHub's files listing stops at 3,000 files (30 pages of 100).
const MAX_FILE_PAGES: u32 = 30;

/// The fields of a pull request the app uses.
#[derive(Debug, Clone, Deserialize)]
pub struct PullInfo {
    pub number: u64,
    /// The pull request's page, `https://HOST/OWNER/REPO/pull/N`.
    #[serde(default)]
    pub html_url: Option<String>,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    pub head: BranchRef,
    pub base: BranchRef,
    #[serde(default)]
    pub changed_files: u64,
    pub user: Option<Login>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub author_association: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub name: String,
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

    /// The web address of the repository's files at `sha`, `https://HOST/OWNER/REPO/blob/SHA`.
    pub fn blob_base(&self, sha: &CommitSha) -> Option<String> {
        let url = self.html_url.as_deref()?;
        let repo = url.strip_suffix(&format!("/pull/{}", self.number))?;
        repo.starts_with("https://")
            .then(|| format!("{repo}/blob/{sha}"))
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

impl ChangedFile {
    /// The file as the diff engine models it.
    pub fn into_diff(self) -> crate::diff::FileDiff {
        crate::diff::FileDiff::from_github(
            self.filename,
            self.previous_filename,
            &self.status,
            self.patch,
            self.additions,
            self.deletions,
        )
    }
}

/// `GET /compare/{base}...{head}`: how `head` relates to `base`, and what changed.
#[derive(Debug, Clone, Deserialize)]
pub struct Comparison {
    /// `ahead` when `base` is an ancestor of `head`; `diverged`, `behind` or `identical`
    /// otherwise.
    pub status: String,
    #[serde(default)]
    pub files: Vec<ChangedFile>,
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

/// Whether an installation client holds a token yet; its first calls wait on `first`.
#[derive(Default)]
pub(crate) struct Warmup {
    warm: AtomicBool,
    first: tokio::sync::Mutex<()>,
}

/// An installation client bound to one repository.
#[derive(Clone)]
pub struct RepoClient {
    warmup: Option<Arc<Warmup>>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    crab: Arc<Octocrab>,
    /// The GraphQL endpoint's base when it is not the REST base (GitHub Enterprise Server:
    /// `https://HOST/api`, for `/api/graphql` beside `/api/v3`).
    graphql: Option<String>,
    /// Where the archive's download link may lead.
    pub(super) archive: Arc<super::archive_hosts::ArchiveHosts>,
    repo: RepoName,
    retry: RetryPolicy,
}

impl RepoClient {
    pub(crate) fn new(crab: Arc<Octocrab>, repo: RepoName, retry: RetryPolicy) -> Self {
        Self {
            warmup: None,
            metrics: None,
            crab,
            graphql: None,
            archive: Arc::default(),
            repo,
            retry,
        }
    }

    /// Takes archive download links to `hosts` (github.com's by default).
    pub fn with_archive_hosts(mut self, hosts: Arc<super::archive_hosts::ArchiveHosts>) -> Self {
        self.archive = hosts;
        self
    }

    /// Sends GraphQL requests under `base` instead of the REST base.
    pub(crate) fn with_graphql(mut self, base: Option<String>) -> Self {
        self.graphql = base;
        self
    }

    /// The GraphQL path, relative to the base of the client that sends it.
    pub(super) fn graphql_path(&self) -> String {
        "/graphql".into()
    }

    /// A GraphQL request: under the REST base, or (Enterprise Server) under its own base with
    /// the installation's current token.
    pub(super) async fn call_graphql(&self, request: Request<'_>) -> Result<String, GitHubError> {
        let Some(base) = &self.graphql else {
            return self.call(request).await;
        };
        let call = request.call;
        let token = self.crab.installation_token().await.map_err(|e| {
            GitHubError::transport(call, NoInstallationToken(super::transport::cause(e)))
        })?;
        let crab = super::http::octocrab(
            base,
            octocrab::AuthState::AccessToken { token },
            self.retry.timeout,
        )
        .map_err(|e| GitHubError::transport(call, e))?;
        send(&crab, self.retry, self.metrics.as_deref(), request).await
    }

    /// Shares `warmup` with the other clients of the same installation.
    pub(crate) fn with_warmup(mut self, warmup: Arc<Warmup>) -> Self {
        self.warmup = Some(warmup);
        self
    }

    /// Counts this client's calls and GitHub's rate-limit headroom in `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: Option<Arc<crate::metrics::Metrics>>) -> Self {
        self.metrics = metrics;
        self
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

    /// The changes from `base` to `head`, or `None` when GitHub does not know `base` (a
    /// force-push can leave it unreachable).
    pub async fn compare(
        &self,
        base: &CommitSha,
        head: &CommitSha,
    ) -> Result<Option<Comparison>, GitHubError> {
        let path = format!("/repos/{}/compare/{base}...{head}", self.repo);
        match self.get_json("compare commits", &path).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user's permission on the repository (`admin`, `maintain`, `write`, `triage`,
    /// `read`, `none`), or `None` when GitHub does not know the user.
    pub async fn permission(&self, login: &str) -> Result<Option<String>, GitHubError> {
        #[derive(Deserialize)]
        struct Permission {
            permission: String,
        }
        let path = format!(
            "/repos/{}/collaborators/{}/permission",
            self.repo,
            encode_path(login)
        );
        match self.get_json::<Permission>("get permission", &path).await {
            Ok(p) => Ok(Some(p.permission)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every file path of the tree at `sha` (recursive), and whether GitHub truncated the
    /// listing (very large repositories).
    pub async fn tree_paths(&self, sha: &str) -> Result<(Vec<String>, bool), GitHubError> {
        #[derive(Deserialize)]
        struct Tree {
            #[serde(default)]
            tree: Vec<Entry>,
            #[serde(default)]
            truncated: bool,
        }
        #[derive(Deserialize)]
        struct Entry {
            path: String,
            #[serde(rename = "type")]
            kind: String,
        }
        let path = format!(
            "/repos/{}/git/trees/{}?recursive=1",
            self.repo,
            encode_path(sha)
        );
        let tree: Tree = self.get_json("get tree", &path).await?;
        let paths = tree
            .tree
            .into_iter()
            .filter(|e| e.kind == "blob")
            .map(|e| e.path)
            .collect();
        Ok((paths, tree.truncated))
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

    /// 👀 on the triggering comment (`in_thread`: a review comment). Safe to repeat: GitHub
    /// answers 200 for an existing one.
    pub async fn react_eyes(&self, comment: CommentId, in_thread: bool) -> Result<(), GitHubError> {
        let kind = if in_thread { "pulls" } else { "issues" };
        let path = format!("/repos/{}/{kind}/comments/{comment}/reactions", self.repo);
        let body = serde_json::json!({"content": "eyes"});
        self.send("add reaction", Method::POST, &path, Some(&body), true)
            .await
            .map(drop)
    }

    /// Replies in the review thread started by comment `root`.
    pub async fn reply_in_thread(
        &self,
        pr: PrNumber,
        root: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let path = format!("/repos/{}/pulls/{pr}/comments/{root}/replies", self.repo);
        let body = serde_json::json!({ "body": body });
        self.send(
            "reply to review comment",
            Method::POST,
            &path,
            Some(&body),
            false,
        )
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
        let body =
            serde_json::to_value(review).map_err(|e| GitHubError::decode("create review", e))?;
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

    /// The text of `path` at `sha` (the raw contents API), or `None` when the file is not
    /// there, is larger than `max_bytes`, or is not UTF-8.
    pub async fn file_at(
        &self,
        path: &str,
        sha: &str,
        max_bytes: usize,
    ) -> Result<Option<String>, GitHubError> {
        let url = format!(
            "/repos/{}/contents/{}?ref={sha}",
            self.repo,
            encode_path(path)
        );
        let request = Request {
            accept: Some("application/vnd.github.raw+json"),
            ..Request::get("get file contents", &url)
        };
        match self.call(request).await {
            Ok(text) if text.len() <= max_bytes => Ok(Some(text)),
            Ok(_) => Ok(None),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(GitHubError::Decode { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        path: &str,
    ) -> Result<T, GitHubError> {
        let text = self.call(Request::get(call, path)).await?;
        decode(call, &text)
    }

    pub(super) async fn send(
        &self,
        call: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<String, GitHubError> {
        let request = Request {
            call,
            method,
            path,
            body,
            idempotent,
            accept: None,
            redirect: false,
            next: None,
        };
        self.call(request).await
    }

    /// Sends one request. The first calls of a new installation client go one at a time, so
    /// that concurrent first calls (the acknowledgement and the review) share one installation
    /// token instead of each fetching its own.
    pub(super) async fn call(&self, request: Request<'_>) -> Result<String, GitHubError> {
        let _first = match &self.warmup {
            Some(w) if !w.warm.load(Ordering::Acquire) => Some(w.first.lock().await),
            _ => None,
        };
        let result = send(&self.crab, self.retry, self.metrics.as_deref(), request).await;
        if let Some(w) = &self.warmup
            && result.is_ok()
        {
            w.warm.store(true, Ordering::Release);
        }
        result
    }
}

/// Percent-encodes each segment of a repository path for a URL.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `GET /app` with the App's JWT: its slug.
pub(crate) async fn get_app(
    crab: &Octocrab,
    retry: RetryPolicy,
    metrics: Option<&crate::metrics::Metrics>,
) -> Result<String, GitHubError> {
    #[derive(Deserialize)]
    struct App {
        slug: String,
    }
    let text = send(crab, retry, metrics, Request::get("get app", "/app")).await?;
    decode::<App>("get app", &text).map(|a| a.slug)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    call: &'static str,
    text: &str,
) -> Result<T, GitHubError> {
    serde_json::from_str(text).map_err(|e| GitHubError::decode(call, e))
}

/// The installation's token could not be had (for a GraphQL request to its own base).
#[derive(Debug, thiserror::Error)]
#[error("no installation token")]
struct NoInstallationToken(#[source] Box<dyn std::error::Error + Send + Sync>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_segment_by_segment() {
        assert_eq!(encode_path("src/a b/#1?.rs"), "src/a%20b/%231%3F.rs");
        assert_eq!(encode_path("docs/naïve.md"), "docs/na%C3%AFve.md");
    }
}
