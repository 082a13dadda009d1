//! GitHub access: the App's identity, one cached installation client per installation, and
//! a [`RepoClient`] with one method per call the app makes.

mod archive;
mod archive_hosts;
mod checks;
mod client;
mod comments;
mod config;
mod error;
pub mod http;
pub mod manifest;
mod threads;
mod transport;

use anyhow::Context as _;
use octocrab::Octocrab;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

pub use archive_hosts::ArchiveHosts;
pub use archive_hosts::ArchiveLinkError;
pub use client::{
    Cause, ChangedFile, Comparison, GitHubError, NewReview, NewReviewComment, PullInfo, RepoClient,
    ReviewInfo, Unexpected,
};
pub use comments::CommentInfo;
pub use config::GitHubSettings;
pub use threads::{ReviewThread, ThreadComment};

use crate::ids::{InstallationId, PrNumber, RepoName};
use crate::retry::RetryPolicy;

/// The App: its JWT-authenticated client and the installation clients made from it.
///
/// octocrab caches an installation's token inside that installation's client and refreshes it
/// before it expires, so one client per installation is kept for the life of the process.
/// It is shared behind an `Arc`: cloning an `Octocrab` copies its token cache, and a token
/// fetched by a clone would be lost to the others.
#[derive(Clone)]
pub struct GitHubApp {
    inner: Arc<Inner>,
}

/// One installation's client and whether it holds a token yet.
type Installation = (Arc<Octocrab>, Arc<client::Warmup>);

struct Inner {
    app: Octocrab,
    /// For GitHub Enterprise Server: `https://HOST/api`, under which `/graphql` is.
    graphql_base: Option<String>,
    /// Where the archive's download link may lead (and whether over plain HTTP).
    archive: Arc<ArchiveHosts>,
    installations: Mutex<HashMap<InstallationId, Installation>>,
    bot_login: OnceCell<String>,
    retry: RetryPolicy,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl GitHubApp {
    pub fn new(
        settings: &GitHubSettings,
        retry: RetryPolicy,
        metrics: Option<Arc<crate::metrics::Metrics>>,
    ) -> anyhow::Result<Self> {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(
            settings.private_key.expose_secret().as_bytes(),
        )
        .context("GITHUB_PRIVATE_KEY is not an RSA key in PEM")?;
        // octocrab's retry layer is not in the stack: it would re-send POSTs (double
        // reviews). Idempotent calls are retried in `RepoClient` instead.
        let auth = || {
            octocrab::AuthState::App(octocrab::auth::AppAuth {
                app_id: octocrab::models::AppId(settings.app_id),
                key: key.clone(),
            })
        };
        let app = http::octocrab(&settings.api_url, auth(), retry.timeout)?;
        // GitHub Enterprise Server answers GraphQL at `/api/graphql`, beside `/api/v3`.
        let graphql_base = settings
            .api_url
            .strip_suffix("/v3")
            .filter(|_| settings.api_url.ends_with("/api/v3"))
            .map(str::to_owned);
        Ok(Self {
            inner: Arc::new(Inner {
                app,
                graphql_base,
                archive: Arc::new(ArchiveHosts::for_api(
                    &settings.api_url,
                    &settings.archive_hosts,
                )),
                installations: Mutex::new(HashMap::new()),
                bot_login: OnceCell::new(),
                retry,
                metrics,
            }),
        })
    }

    /// The client of one repository through its installation.
    pub fn repo(&self, installation: InstallationId, repo: RepoName) -> anyhow::Result<RepoClient> {
        let (crab, warmup) = {
            let mut cache = self
                .inner
                .installations
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match cache.get(&installation) {
                Some(entry) => entry.clone(),
                None => {
                    let crab = Arc::new(
                        self.inner
                            .app
                            .installation(octocrab::models::InstallationId(installation.0))
                            .context("creating the installation client")?,
                    );
                    let entry = (crab, Arc::new(client::Warmup::default()));
                    cache.insert(installation, entry.clone());
                    entry
                }
            }
        };
        Ok(RepoClient::new(crab, repo, self.inner.retry)
            .with_metrics(self.inner.metrics.clone())
            .with_warmup(warmup)
            .with_graphql(self.inner.graphql_base.clone())
            .with_archive_hosts(self.inner.archive.clone()))
    }

    /// A GET as the App itself (JWT), for `doctor` and the App's own settings.
    pub async fn app_get(&self, call: &'static str, path: &str) -> Result<String, GitHubError> {
        transport::send(
            &self.inner.app,
            self.inner.retry,
            self.inner.metrics.as_deref(),
            transport::Request::get(call, path),
        )
        .await
    }

    /// A page of a paged GET as the App, and the path of the next page.
    pub async fn app_get_page(
        &self,
        call: &'static str,
        path: &str,
    ) -> Result<(String, Option<String>), GitHubError> {
        let next = std::sync::Mutex::new(None);
        let text = transport::send(
            &self.inner.app,
            self.inner.retry,
            self.inner.metrics.as_deref(),
            transport::Request {
                next: Some(&next),
                ..transport::Request::get(call, path)
            },
        )
        .await?;
        let next = next.lock().unwrap_or_else(|p| p.into_inner()).take();
        Ok((text, next))
    }

    /// The App's installation on `repo`, or `None` when the App is not installed there.
    pub async fn repo_installation(
        &self,
        repo: &RepoName,
    ) -> Result<Option<InstallationId>, GitHubError> {
        let path = format!("/repos/{repo}/installation");
        let call = "find the App's installation on a repository";
        match self.app_get(call, &path).await {
            Ok(text) => {
                #[derive(serde::Deserialize)]
                struct Found {
                    id: u64,
                }
                let found: Found =
                    serde_json::from_str(&text).map_err(|e| GitHubError::decode(call, e))?;
                Ok(Some(InstallationId(found.id)))
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Asks GitHub to deliver the delivery attempt `id` again.
    pub async fn redeliver(&self, id: u64) -> Result<(), GitHubError> {
        let path = format!("/app/hook/deliveries/{id}/attempts");
        transport::send(
            &self.inner.app,
            self.inner.retry,
            self.inner.metrics.as_deref(),
            transport::Request {
                method: ::http::Method::POST,
                // GitHub answers 202 for each request: not sent twice.
                idempotent: false,
                ..transport::Request::get("redeliver webhook delivery", &path)
            },
        )
        .await
        .map(drop)
    }

    /// How many repositories an installation can reach.
    pub async fn installation_repository_count(
        &self,
        installation: u64,
    ) -> Result<u64, GitHubError> {
        let crab = self
            .inner
            .app
            .installation(octocrab::models::InstallationId(installation))
            .map_err(|e| {
                GitHubError::transport("list installation repositories", transport::cause(e))
            })?;
        let text = transport::send(
            &crab,
            self.inner.retry,
            self.inner.metrics.as_deref(),
            transport::Request::get(
                "list installation repositories",
                "/installation/repositories?per_page=1",
            ),
        )
        .await?;
        #[derive(serde::Deserialize)]
        struct Page {
            total_count: u64,
        }
        serde_json::from_str::<Page>(&text)
            .map(|p| p.total_count)
            .map_err(|e| GitHubError::decode("list installation repositories", e))
    }

    /// The login GitHub shows for the App's own comments and reviews (`slug[bot]`), read once
    /// from `GET /app`.
    pub async fn bot_login(&self) -> Result<&str, GitHubError> {
        self.inner
            .bot_login
            .get_or_try_init(|| async {
                let app = client::get_app(
                    &self.inner.app,
                    self.inner.retry,
                    self.inner.metrics.as_deref(),
                )
                .await?;
                Ok::<_, GitHubError>(format!("{}[bot]", app))
            })
            .await
            .map(String::as_str)
    }
}

/// The repository and number of a pull request's web address,
/// `https://HOST/OWNER/REPO/pull/N` (anything after the number is allowed: `/files`...).
pub fn pull_of_url(url: &str) -> Option<(RepoName, PrNumber)> {
    let path = url.split("://").nth(1)?.split_once('/')?.1;
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts[..] {
        [owner, name, "pull", number, ..] => Some((
            RepoName::parse(&format!("{owner}/{name}"))?,
            PrNumber(number.parse().ok()?),
        )),
        _ => None,
    }
}
