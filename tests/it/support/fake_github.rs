//! An in-memory GitHub served over HTTP: an App with installations, repositories with pull
//! requests and their files, reviews, comments and reactions. It behaves like GitHub where
//! the app can go wrong: tokens from a signed JWT, pagination, a 422 for a review comment
//! outside the diff (rejecting the whole review), pending reviews when `event` is missing.
//! Every request body is checked against GitHub's OpenAPI description.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::spec;

mod answers;
mod app_hooks;
pub mod manifest_flow;
mod repo_data;
mod repo_routes;
use answers::{error, fault_response, paginate, query_param};
use repo_routes::{check_jwt, repo_route};
mod reviews;
mod threads;

pub use repo_data::archive_of;
use repo_data::{compare, contents, file_json, pull_json, tree};
use reviews::{create_review, review_json};
pub use threads::{Thread, ThreadComment};

pub const APP_SLUG: &str = "codex-review";
pub const BOT_LOGIN: &str = "codex-review[bot]";

/// A changed file of a fake pull request.
#[derive(Clone, Debug)]
pub struct File {
    pub filename: String,
    pub status: String,
    pub previous_filename: Option<String>,
    pub patch: Option<String>,
    /// Counts GitHub reports when it sends no patch for a large diff.
    pub counts: Option<(u64, u64)>,
}

impl File {
    pub fn new(filename: &str, status: &str, patch: Option<&str>) -> Self {
        Self {
            filename: filename.into(),
            status: status.into(),
            previous_filename: None,
            patch: patch.map(str::to_owned),
            counts: None,
        }
    }

    /// A text change too large for GitHub to include: counts, but no patch.
    pub fn too_large(filename: &str, additions: u64, deletions: u64) -> Self {
        Self {
            counts: Some((additions, deletions)),
            ..Self::new(filename, "modified", None)
        }
    }
}

#[derive(Clone, Debug)]
pub struct Pull {
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: String,
    pub draft: bool,
    pub head_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    pub files: Vec<File>,
    /// Commits of the PR a review may be posted on (GitHub accepts older ones).
    pub commits: Vec<String>,
    /// Content of files at the head commit, by path (the contents API).
    pub contents: std::collections::HashMap<String, String>,
    /// The gzipped tar GitHub's archive endpoint serves for the head commit.
    pub archive: Option<Vec<u8>>,
    /// `base...head` → (status, files) for the compare API.
    pub compares: std::collections::HashMap<String, (String, Vec<File>)>,
    pub base_sha: String,
    /// Files of the base branch at `base_sha` (configuration, AGENTS.md).
    pub base_contents: std::collections::HashMap<String, String>,
    pub author: String,
    pub author_association: String,
    pub labels: Vec<String>,
}

impl Pull {
    pub fn new(repo: &str, number: u64, head_sha: &str, files: Vec<File>) -> Self {
        Self {
            repo: repo.into(),
            number,
            title: "Add rate limiting to the login handler".into(),
            body: "This adds a limiter.".into(),
            state: "open".into(),
            draft: false,
            head_sha: head_sha.into(),
            head_ref: "feature/limiter".into(),
            base_ref: "main".into(),
            files,
            commits: vec![head_sha.into()],
            contents: Default::default(),
            compares: Default::default(),
            archive: None,
            base_sha: "b".repeat(40),
            base_contents: Default::default(),
            author: "octocat".into(),
            author_association: "MEMBER".into(),
            labels: Vec::new(),
        }
    }
}

/// A review as stored (and as the test inspects it).
#[derive(Clone, Debug)]
pub struct Review {
    pub id: u64,
    pub repo: String,
    pub pr: u64,
    pub user: String,
    pub body: String,
    pub commit_id: String,
    pub state: String,
    pub comments: Vec<Value>,
}

/// A check run as the app created and completed it.
#[derive(Clone, Debug)]
pub struct CheckRun {
    pub id: u64,
    pub repo: String,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
}

#[derive(Clone, Debug)]
pub struct IssueComment {
    pub id: u64,
    pub repo: String,
    pub issue: u64,
    pub body: String,
}

/// A scripted failure: the next matching request gets `status` (after doing the work when
/// `after_effect` is set, as when GitHub creates a review but the answer is lost).
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: Method,
    pub path_suffix: String,
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
    pub after_effect: bool,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: String,
    /// When the request came in, and when its answer was ready (after `delay`).
    pub arrived: std::time::Instant,
    pub answered: std::time::Instant,
}

#[derive(Default)]
pub struct GhState {
    pub app_id: u64,
    pub public_key: Vec<u8>,
    pub tokens: HashSet<String>,
    pub token_requests: u32,
    pub pulls: Vec<Pull>,
    pub reviews: Vec<Review>,
    pub comments: Vec<IssueComment>,
    pub check_runs: Vec<CheckRun>,
    pub reactions: Vec<(String, u64, String)>,
    pub calls: Vec<Call>,
    pub faults: VecDeque<Fault>,
    /// Requests GitHub would not take as the app sent them (spec violations, approvals...).
    pub violations: Vec<String>,
    /// Added before every answer (a GitHub far away: the overhead benchmark).
    pub delay: std::time::Duration,
    /// Permissions by login for the collaborator permission API (default `read`).
    pub permissions: std::collections::HashMap<String, String>,
    /// Review threads (one per inline comment of a review).
    pub threads: Vec<threads::Thread>,
    /// The App's webhook configuration (`GET /app/hook/config`); GitHub's shape by default.
    pub hook_config: Option<Value>,
    /// The App's recent deliveries (`GET /app/hook/deliveries`), newest first, served in
    /// pages of 2 with a `Link` to the next (as GitHub pages by cursor).
    pub hook_deliveries: Vec<Value>,
    /// What GitHub sent for each delivery guid: `(event, payload)`, for redeliveries.
    pub hook_payloads: std::collections::HashMap<String, (String, Value)>,
    /// Reads of one delivery (`GET /app/hook/deliveries/{id}`), in order.
    pub hook_delivery_reads: Vec<u64>,
    /// Delivery id → how many more reads of it answer 404 (GitHub lists it but cannot
    /// return it yet).
    pub hook_delivery_failures: std::collections::HashMap<u64, u32>,
    /// Where redeliveries go (`http://HOST:PORT`, the app's address) and with which secret.
    pub hook_target: Option<(String, String)>,
    /// Delivery attempt ids the app asked to redeliver.
    pub redelivery_requests: Vec<u64>,
    /// `(check run id, status, title)` of every check run update, in order.
    pub check_run_updates: Vec<(u64, String, Option<String>)>,
    /// Threads the app resolved, in order.
    pub resolved_by_app: Vec<String>,
    /// Threads the app unresolved (a finding reported again after it was fixed).
    pub unresolved_by_app: Vec<String>,
    /// `(review comment id, content, login)` reactions on review comments.
    pub review_reactions: Vec<(u64, String, String)>,
    /// Apps created through the manifest flow.
    pub manifest_apps: Vec<manifest_flow::ManifestApp>,
    /// The most reaction reads that were in flight at once.
    pub max_reaction_reads: usize,
    /// The `HOST:PORT` the archive redirect names instead of the fake's own address.
    pub archive_host: Option<String>,
    /// Archive downloads served.
    pub archive_downloads: u32,
    next_id: u64,
}

#[derive(Clone)]
pub struct FakeGitHub {
    state: Arc<Mutex<GhState>>,
    /// Checks for violations when the test drops its last handle (the server has none).
    guard: Option<Arc<super::ProtocolGuard>>,
    pub addr: SocketAddr,
    /// Reaction reads in flight now.
    reaction_reads: Arc<std::sync::atomic::AtomicUsize>,
    /// The base the app is configured with (`http://127.0.0.1:PORT` + prefix).
    pub base_url: String,
    prefix: String,
}

impl FakeGitHub {
    /// Serves the fake under `prefix` (`""` for github.com, `"/api/v3"` for Enterprise).
    pub async fn start(app_id: u64, public_key_pem: &[u8], prefix: &str) -> Self {
        let state = Arc::new(Mutex::new(GhState {
            app_id,
            public_key: public_key_pem.to_vec(),
            next_id: 1000,
            ..GhState::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let checked = state.clone();
        let fake = FakeGitHub {
            guard: Some(super::ProtocolGuard::new("GitHub", move || {
                checked.lock().unwrap().violations.clone()
            })),
            state,
            addr,
            reaction_reads: Arc::default(),
            base_url: format!("http://{addr}{prefix}"),
            prefix: prefix.to_owned(),
        };
        let served = FakeGitHub {
            guard: None,
            ..fake.clone()
        };
        let app = Router::new().fallback(handle).with_state(served);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    pub fn state(&self) -> MutexGuard<'_, GhState> {
        self.state.lock().unwrap()
    }

    /// The violations seen so far, cleared (for tests that provoke them on purpose).
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.state().violations)
    }

    pub fn add_pull(&self, pull: Pull) {
        self.state().pulls.push(pull);
    }

    pub fn fail_next(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }

    pub fn reviews(&self) -> Vec<Review> {
        self.state().reviews.clone()
    }

    pub fn comments(&self) -> Vec<IssueComment> {
        self.state().comments.clone()
    }

    /// Every manifest code GitHub handed out is more than an hour old now.
    pub fn expire_manifest_codes(&self) {
        for app in &mut self.state().manifest_apps {
            app.expired = true;
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }
}

async fn handle(
    State(fake): State<FakeGitHub>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The archive's download host (codeload.github.com): no credentials wanted or sent.
    if let Some(rest) = uri.path().strip_prefix("/_codeload/") {
        let mut st = fake.state();
        st.archive_downloads += 1;
        if headers.contains_key("authorization") {
            st.violations
                .push("the archive download carried the installation's credentials".into());
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let found = match parts.as_slice() {
            [owner, repo, sha] => {
                let repo = format!("{owner}/{repo}");
                // Like GitHub, every commit has an archive: a test's own, or one made of the
                // head's files.
                st.pulls
                    .iter()
                    .find(|p| p.repo == repo && p.head_sha == *sha)
                    .map(|p| {
                        p.archive
                            .clone()
                            .unwrap_or_else(|| repo_data::archive_of(&repo, sha, &p.contents))
                    })
            }
            _ => None,
        };
        return match found {
            Some(bytes) => (
                StatusCode::OK,
                [("content-type", "application/x-gzip")],
                bytes,
            )
                .into_response(),
            None => error(404, "Not Found", None),
        };
    }
    // github.com's web pages: the manifest flow's form (a browser's request, not the API's).
    let web: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    if method == Method::POST {
        let org = match web.as_slice() {
            ["settings", "apps", "new"] => Some(None),
            ["organizations", org, "settings", "apps", "new"] => Some(Some(*org)),
            _ => None,
        };
        if let Some(org) = org {
            let query = uri.query().unwrap_or("");
            return manifest_flow::create(&mut fake.state(), org, query, &headers, &body);
        }
    }
    // GraphQL: `/graphql` on github.com, `/api/graphql` beside Enterprise Server's `/api/v3`.
    let graphql = match fake.prefix.strip_suffix("/v3") {
        Some(api) => format!("{api}/graphql"),
        None => format!("{}/graphql", fake.prefix),
    };
    let path = if uri.path() == graphql {
        "/graphql".to_owned()
    } else {
        let Some(path) = uri.path().strip_prefix(fake.prefix.as_str()) else {
            return error(404, "Not Found", None);
        };
        path.to_owned()
    };
    let query = uri.query().unwrap_or("").to_owned();
    let _reading = (method == Method::GET && uri.path().ends_with("/reactions")).then(|| {
        use std::sync::atomic::Ordering;
        let now = fake.reaction_reads.fetch_add(1, Ordering::SeqCst) + 1;
        let mut st = fake.state();
        st.max_reaction_reads = st.max_reaction_reads.max(now);
        ReactionRead(fake.reaction_reads.clone())
    });
    let arrived = std::time::Instant::now();
    let delay = fake.state().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut st = fake.state();
    // GitHub reads one value of each header: a second `Accept` can turn a raw-contents
    // answer into JSON. Refused here so that no request of the app can carry one.
    let mut names: Vec<&axum::http::HeaderName> = headers.keys().collect();
    names.retain(|name| headers.get_all(*name).iter().count() > 1);
    if !names.is_empty() {
        let repeated: Vec<String> = names
            .iter()
            .map(|name| {
                let values: Vec<&str> = headers
                    .get_all(*name)
                    .iter()
                    .map(|v| v.to_str().unwrap_or("?"))
                    .collect();
                format!("{name}: {}", values.join(" | "))
            })
            .collect();
        st.violations.push(format!(
            "{method} {path} repeats headers: {}",
            repeated.join("; ")
        ));
        return error(400, "Repeated header", None);
    }
    for (name, want) in [
        ("user-agent", "codex-review/"),
        ("x-github-api-version", "2022-11-28"),
    ] {
        let value = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !value.starts_with(want) {
            st.violations
                .push(format!("{method} {path} sent {name}: {value:?}"));
        }
    }
    st.calls.push(Call {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        arrived,
        answered: std::time::Instant::now(),
    });
    let fault_at = st
        .faults
        .iter()
        .position(|f| f.method == method && path.ends_with(&f.path_suffix));
    let fault = fault_at.and_then(|i| st.faults.remove(i));
    if let Some(f) = &fault
        && !f.after_effect
    {
        return fault_response(f);
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return error(400, "Problems parsing JSON", None),
        }
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match (method.clone(), segments.as_slice()) {
        (Method::GET, ["app"]) => match check_jwt(&st, auth) {
            Err(m) => error(401, &m, None),
            Ok(()) => {
                let mut app = spec::github_example("integration");
                app["id"] = json!(st.app_id);
                app["slug"] = json!(APP_SLUG);
                axum::Json(app).into_response()
            }
        },
        (_, ["app", "installations"] | ["app", "hook", ..] | ["installation", "repositories"]) => {
            app_hooks::route(&fake, &mut st, &method, &segments, &query, auth)
        }
        (Method::POST, ["app", "installations", _id, "access_tokens"]) => {
            match check_jwt(&st, auth) {
                Err(m) => error(401, &m, None),
                Ok(()) => {
                    st.token_requests += 1;
                    let token = format!("ghs_{:036x}", fastrand::u128(..));
                    st.tokens.insert(token.clone());
                    let mut t = spec::github_example("installation-token");
                    t["token"] = json!(token);
                    t["expires_at"] = json!("2099-01-01T00:00:00Z");
                    // An installation on all repositories: GitHub then lists none.
                    t["repository_selection"] = json!("all");
                    t.as_object_mut().unwrap().remove("repositories");
                    (StatusCode::CREATED, axum::Json(t)).into_response()
                }
            }
        }
        (Method::POST, ["app-manifests", code, "conversions"]) => {
            manifest_flow::convert(&mut st, code, &format!("http://{}", fake.addr))
        }
        (Method::GET, ["repos", _, _, "installation"]) => {
            app_hooks::route(&fake, &mut st, &method, &segments, &query, auth)
        }
        (Method::POST, ["graphql"]) => {
            let token = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("token "))
                .unwrap_or("");
            if st.tokens.contains(token) {
                threads::graphql(&mut st, &body)
            } else {
                error(401, "Bad credentials", None)
            }
        }
        (_, ["repos", owner, repo, rest @ ..]) => {
            let token = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("token "))
                .unwrap_or("");
            if !st.tokens.contains(token) {
                error(401, "Bad credentials", None)
            } else {
                let repo = format!("{owner}/{repo}");
                let accept = headers
                    .get("accept")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if rest.first() != Some(&"contents") && accept != "application/vnd.github+json" {
                    st.violations
                        .push(format!("{method} {path} asked for {accept:?}, not JSON"));
                }
                if let ["tarball", sha] = rest {
                    let host = (st.archive_host.clone()).unwrap_or_else(|| fake.addr.to_string());
                    let location = format!("http://{host}/_codeload/{repo}/{sha}");
                    (StatusCode::FOUND, [("location", location)]).into_response()
                } else if let ["compare", spec] = rest {
                    compare(&st, &repo, spec)
                } else if let ["collaborators", login, "permission"] = rest {
                    let permission = st
                        .permissions
                        .get(*login)
                        .cloned()
                        .unwrap_or_else(|| "read".into());
                    axum::Json(
                        json!({"permission": permission, "role_name": permission, "user": null}),
                    )
                    .into_response()
                } else if let ["git", "trees", sha] = rest {
                    tree(&st, &repo, sha)
                } else if rest.first() == Some(&"contents") {
                    contents(&mut st, &repo, &rest[1..], &query, accept)
                } else {
                    repo_route(&mut st, &method, &repo, rest, &query, &body)
                }
            }
        }
        _ => error(404, "Not Found", None),
    };
    match fault {
        Some(f) => fault_response(&f),
        None => response,
    }
}

/// A reaction read in flight; leaves the count when the answer is made.
struct ReactionRead(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ReactionRead {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
