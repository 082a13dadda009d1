//! The test harness: the real service on a fresh SQLite file, with a fake GitHub and a fake
//! Responses API, and signed deliveries built from GitHub's real payloads.
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod fake_github;
pub mod fake_openai;
pub mod openapi;
pub mod schema;
pub mod spec;

use std::collections::HashMap;
use std::time::Duration;

use codex_review::app::{self, Running, Tuning};
use codex_review::retry::RetryPolicy;
use codex_review::server::sign;
use codex_review::settings::Settings;
use codex_review::worker::WorkerConfig;
use serde_json::{Value, json};

pub use fake_github::{FakeGitHub, File, Pull};
pub use fake_openai::{FakeOpenAi, Reply};

pub const APP_ID: u64 = 424242;
pub const INSTALLATION: u64 = 1;
pub const SECRET: &str = "whsec-test-secret";
pub const REPO: &str = "Codertocat/Hello-World";
pub const PRIVATE_KEY: &str = include_str!("../../fixtures/test-app-key.pem");
pub const PUBLIC_KEY: &str = include_str!("../../fixtures/test-app-key.pub.pem");

/// Asserts, when the last test-side handle of a fake is dropped, that the fake saw no protocol
/// violation (approval, pending review, spec violation, repeated header...). Every fake carries
/// one, so no test can forget the check; a test that provokes violations on purpose takes them
/// with `take_violations`.
pub struct ProtocolGuard {
    name: &'static str,
    violations: Box<dyn Fn() -> Vec<String> + Send + Sync>,
}

impl ProtocolGuard {
    pub fn new(
        name: &'static str,
        violations: impl Fn() -> Vec<String> + Send + Sync + 'static,
    ) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            name,
            violations: Box::new(violations),
        })
    }
}

impl Drop for ProtocolGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let seen = (self.violations)();
        assert!(
            seen.is_empty(),
            "the fake {} saw protocol violations: {seen:#?}",
            self.name
        );
    }
}

pub struct TestApp {
    pub url: String,
    pub github: FakeGitHub,
    pub openai: FakeOpenAi,
    pub running: Option<Running>,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// Options for [`TestApp::start_with`].
pub struct Options {
    pub api_prefix: &'static str,
    pub env: Vec<(&'static str, String)>,
    pub tuning: Tuning,
    /// Share another instance's fakes (several replicas of the app).
    pub fakes: Option<(FakeGitHub, FakeOpenAi)>,
    /// A database URL instead of a fresh SQLite file.
    pub database_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        let fast = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
        };
        Self {
            api_prefix: "",
            env: Vec::new(),
            fakes: None,
            database_url: None,
            tuning: Tuning {
                github_retry: fast,
                model_retry: fast,
                worker: WorkerConfig {
                    concurrency: 2,
                    per_installation: 2,
                    lease: Duration::from_secs(30),
                    poll_interval: Duration::from_millis(50),
                    max_attempts: 2,
                    max_lease_losses: 3,
                    retry_base: Duration::from_millis(50),
                    owner: "test-worker".into(),
                },
                shutdown_grace: Duration::from_secs(5),
                prune_every: Duration::from_secs(3_600),
                redeliver_every: Duration::from_secs(3_600),
            },
        }
    }
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Logs go to the test's captured output (shown when a test fails); RUST_LOG filters.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        install_crypto();
        let (github, openai) = match options.fakes {
            Some(fakes) => fakes,
            None => (
                FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), options.api_prefix).await,
                FakeOpenAi::start().await,
            ),
        };
        let dir = tempfile::tempdir().unwrap();
        let database_url = options.database_url.unwrap_or_else(|| {
            format!("sqlite://{}", dir.path().join("codex-review.db").display())
        });
        let mut env: HashMap<&str, String> = HashMap::from([
            ("LISTEN_ADDR", "127.0.0.1:0".to_string()),
            ("GITHUB_APP_ID", APP_ID.to_string()),
            ("GITHUB_PRIVATE_KEY", PRIVATE_KEY.to_string()),
            ("GITHUB_WEBHOOK_SECRET", format!("old-secret,{SECRET}")),
            ("GITHUB_API_URL", github.base_url.clone()),
            // The fake serves github.com's pages too (the manifest flow, pull request URLs).
            ("GITHUB_URL", format!("http://{}", github.addr)),
            ("OPENAI_API_KEY", fake_openai::API_KEY.to_string()),
            ("OPENAI_BASE_URL", openai.base_url.clone()),
            ("DATABASE_URL", database_url),
            // Off unless a test turns it on: it calls GitHub at start.
            ("CODEX_REVIEW_REDELIVER_HOURS", "0".to_string()),
            (
                "CODEX_REVIEW_SNAPSHOT_DIR",
                dir.path().join("snapshots").display().to_string(),
            ),
            // Each instance its own name, as replicas on different hosts have.
            (
                "CODEX_REVIEW_INSTANCE",
                format!("test-{:08x}", fastrand::u32(..)),
            ),
        ]);
        for (k, v) in options.env {
            env.insert(k, v);
        }
        let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
        let running = app::start(&settings, options.tuning).await.unwrap();
        TestApp {
            url: format!("http://{}", running.addr),
            github,
            openai,
            running: Some(running),
            http: reqwest::Client::new(),
            dir,
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// Sends `payload` as a correctly signed delivery of `event` with a fresh delivery id.
    pub async fn deliver(&self, event: &str, payload: &Value) -> (u16, String) {
        let id = format!(
            "{:08x}-0000-11ee-8000-{:012x}",
            fastrand::u32(..),
            fastrand::u64(..1 << 48)
        );
        self.deliver_as(event, &id, payload).await
    }

    /// A member's comment `text` on pull request `pr`, delivered and worked off.
    pub async fn comment(&self, pr: u64, text: &str) {
        let (status, _) = self
            .deliver("issue_comment", &comment_payload(pr, text, "MEMBER"))
            .await;
        assert_eq!(status, 202);
        self.settle().await;
    }

    /// Sends `payload` with a given delivery id (a redelivery reuses it).
    pub async fn deliver_as(&self, event: &str, delivery: &str, payload: &Value) -> (u16, String) {
        let body = serde_json::to_vec(payload).unwrap();
        let signature = sign(SECRET, &body);
        self.post_webhook(
            &[
                ("x-github-event", event),
                ("x-github-delivery", delivery),
                ("x-hub-signature-256", &signature),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await
    }

    /// Posts raw bytes to /webhook with the given headers.
    pub async fn post_webhook(&self, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, String) {
        let mut req = self.http.post(format!("{}/webhook", self.url)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Waits until no job is queued or running (at most 20 s).
    pub async fn settle(&self) {
        self.settle_within(Duration::from_secs(20)).await;
    }

    /// Waits until no job is queued or running, at most `limit` (a load test on a busy
    /// machine takes its time; no test asserts how long).
    pub async fn settle_within(&self, limit: Duration) {
        let store = &self.running().store;
        for _ in 0..limit.as_millis().div_ceil(50) {
            let counts = store.job_counts().await.unwrap();
            if !counts
                .iter()
                .any(|(s, n)| (s == "queued" || s == "running") && *n > 0)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "jobs did not settle: {:?}",
            store.job_counts().await.unwrap()
        );
    }

    /// No spec violations on either fake.
    pub fn assert_no_violations(&self) {
        let gh = self.github.state().violations.clone();
        assert!(gh.is_empty(), "GitHub violations: {gh:#?}");
        let ai = self.openai.state().violations.clone();
        assert!(ai.is_empty(), "OpenAI violations: {ai:#?}");
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
    }

    /// Both fakes, to start another replica against them.
    pub fn fakes(&self) -> (FakeGitHub, FakeOpenAi) {
        (self.github.clone(), self.openai.clone())
    }
}

/// Polls `done` every 25 ms until it holds (at most 10 s), naming `what` if it never does.
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A database for one test: a SQLite file, or a fresh PostgreSQL database when
/// `TEST_DATABASE_URL` is set (dropped by [`TestDb::drop_db`]).
pub struct TestDb {
    pub url: String,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestDb {
    /// `None` (with a printed notice) for Postgres when `TEST_DATABASE_URL` is unset.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
                Some(TestDb {
                    url,
                    admin: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("TEST_DATABASE_URL is not set: skipping this PostgreSQL test");
                    return None;
                };
                let name = format!("codex_review_test_{:016x}", fastrand::u64(..));
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let (base, _) = admin_url.rsplit_once('/').unwrap();
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    admin: Some((admin_url, name)),
                    _dir: None,
                })
            }
        }
    }

    pub async fn drop_db(self) {
        use sqlx::Connection;
        if let Some((admin_url, name)) = self.admin {
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

/// Runs each listed `async fn(Backend)` test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// An `issue_comment` `created` delivery on PR `pr`, from GitHub's real example payload.
pub fn comment_payload(pr: u64, body: &str, association: &str) -> Value {
    let mut p = spec::webhook("issue_comment.created");
    p["issue"]["number"] = json!(pr);
    p["issue"]["pull_request"] = json!({
        "url": format!("https://api.github.com/repos/{REPO}/pulls/{pr}"),
        "html_url": format!("https://github.com/{REPO}/pull/{pr}"),
        "diff_url": format!("https://github.com/{REPO}/pull/{pr}.diff"),
        "patch_url": format!("https://github.com/{REPO}/pull/{pr}.patch"),
        "merged_at": null
    });
    p["comment"]["body"] = json!(body);
    p["comment"]["id"] = json!(fastrand::u64(1..1 << 40));
    p["comment"]["author_association"] = json!(association);
    p["installation"] =
        json!({"id": INSTALLATION, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="});
    p
}

/// A `pull_request` delivery (`opened` or `ready_for_review`) from GitHub's real example.
pub fn pull_request_payload(action: &str, pr: u64, head_sha: &str, draft: bool) -> Value {
    let mut p = spec::webhook(&format!("pull_request.{action}"));
    p["number"] = json!(pr);
    p["pull_request"]["number"] = json!(pr);
    p["pull_request"]["draft"] = json!(draft);
    p["pull_request"]["head"]["sha"] = json!(head_sha);
    p["pull_request"]["author_association"] = json!("MEMBER");
    p["installation"] =
        json!({"id": INSTALLATION, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="});
    p
}

/// A finding in the model's output format.
pub fn finding(
    path: &str,
    side: &str,
    start: u64,
    end: u64,
    priority: u8,
    suggestion: Option<&str>,
) -> Value {
    json!({
        "title": format!("Problem at {path}:{start}"),
        "body": format!("Explains the problem at {path} lines {start}-{end}."),
        "confidence_score": 0.8,
        "priority": priority,
        "code_location": {"file_path": path, "side": side, "line_range": {"start": start, "end": end}},
        "suggestion": suggestion
    })
}

/// A review output holding `findings`.
pub fn review_with(findings: Vec<Value>) -> Value {
    json!({
        "findings": findings,
        "overall_correctness": "patch is incorrect",
        "overall_explanation": "The limiter can be bypassed.",
        "overall_confidence_score": 0.7,
        "fixed_finding_ids": []
    })
}

/// A patch adding `lines` lines `let {tag}_{i} = compute({i});` to a new file.
pub fn added(lines: usize, tag: &str) -> String {
    let body: String = (1..=lines)
        .map(|i| format!("+let {tag}_{i} = compute({i});\n"))
        .collect();
    format!("@@ -0,0 +1,{lines} @@\n{body}")
}

/// Every `.rs` file under `dir`, at any depth.
pub fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// A pull request of 40 added files of 115 lines (4,600 lines) on a base commit of its own,
/// each file's text at the head as GitHub's contents API and archive serve it.
pub fn forty_file_pull(number: u64) -> Pull {
    let files: Vec<File> = (0..40)
        .map(|i| {
            let body: String = (1..=115)
                .map(|l| format!("+    let value_{l} = compute_{i}({l}) + offset;\n"))
                .collect();
            File::new(
                &format!("src/module_{i:02}.rs"),
                "added",
                Some(&format!("@@ -0,0 +1,115 @@\n{body}")),
            )
        })
        .collect();
    let mut pull = Pull::new(REPO, number, &format!("{number:f>40}"), files.clone());
    // Its own base commit: nothing is served from the configuration or tree caches.
    pull.base_sha = format!("{number:e>40}");
    for f in &files {
        let text: String = f
            .patch
            .as_deref()
            .unwrap_or("")
            .lines()
            .skip(1)
            .map(|l| format!("{}\n", &l[1..]))
            .collect();
        pull.contents.insert(f.filename.clone(), text);
    }
    pull
}
