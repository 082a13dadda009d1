//! Wiring: settings in, a listening server and a worker pool out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::github::GitHubApp;
use crate::metrics::Metrics;
use crate::model::ModelClient;
use crate::retry::RetryPolicy;
use crate::review::Reviewer;
use crate::server::{self, AppState, WebhookSecrets};
use crate::settings::{Deliveries, Settings};
use crate::store::Store;
use crate::worker::{Worker, WorkerConfig};

/// Acknowledgements (👀) made at once: each is two or three small GitHub calls.
const ACK_CONCURRENCY: usize = 32;

/// Knobs that are not process settings (tests shorten the waits).
#[derive(Debug, Clone)]
pub struct Tuning {
    pub github_retry: RetryPolicy,
    pub model_retry: RetryPolicy,
    pub worker: WorkerConfig,
    /// How long running jobs get to finish on shutdown.
    pub shutdown_grace: Duration,
    /// How often old rows are pruned.
    pub prune_every: Duration,
    /// How often missed deliveries are looked for (and once at start).
    pub redeliver_every: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            github_retry: RetryPolicy {
                attempts: 4,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(60),
                timeout: Duration::from_secs(30),
            },
            model_retry: RetryPolicy::default(),
            worker: WorkerConfig::default(),
            shutdown_grace: Duration::from_secs(30),
            prune_every: Duration::from_secs(3_600),
            redeliver_every: Duration::from_secs(3_600),
        }
    }
}

/// A running service.
pub struct Running {
    pub addr: SocketAddr,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
    acks: JoinHandle<()>,
    pruning: JoinHandle<()>,
    redelivery: JoinHandle<()>,
}

impl Running {
    /// Stops accepting deliveries and jobs, lets running jobs finish, and returns.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.server.await.context("server task")??;
        self.worker.await.context("worker task")?;
        self.acks.await.context("acknowledgement task")?;
        self.pruning.await.context("pruning task")?;
        self.redelivery.await.context("redelivery task")?;
        self.store.close().await;
        Ok(())
    }

    /// Stops everything at once, as a crash would: running jobs keep their leases until they
    /// expire, and nothing is released. For tests of recovery.
    pub async fn kill(self) {
        self.server.abort();
        self.worker.abort();
        self.acks.abort();
        self.pruning.abort();
        self.redelivery.abort();
        let _ = self.server.await;
        let _ = self.worker.await;
        let _ = self.acks.await;
        let _ = self.pruning.await;
        let _ = self.redelivery.await;
        self.store.close().await;
    }

    /// Waits for SIGINT or SIGTERM, then shuts down.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await
    }
}

/// Opens the database, binds the listener, and starts the server and the workers.
pub async fn start(settings: &Settings, tuning: Tuning) -> anyhow::Result<Running> {
    let listener = bind(settings.listen_addr)?;
    start_on(settings, listener, tuning).await
}

/// Binds `addr` (a std listener, so that setup mode can hand it on to normal mode).
fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Starts the service on a bound listener.
/// The operator page's settings, when `STATUS_TOKEN` is set.
fn status_config(settings: &Settings) -> Option<Arc<crate::server::status::StatusConfig>> {
    settings.status_token.clone().map(|token| {
        Arc::new(crate::server::status::StatusConfig {
            token,
            web_url: settings.github.web_url.clone(),
            instance: settings.instance.clone(),
            spend: settings.spend,
        })
    })
}

/// The review API's settings, when `API_TOKENS` is set.
fn api_config(
    settings: &Settings,
    github: GitHubApp,
    wake: &Arc<Notify>,
) -> Option<Arc<crate::api::ApiConfig>> {
    (!settings.api_tokens.is_empty()).then(|| {
        Arc::new(crate::api::ApiConfig {
            tokens: settings.api_tokens.clone(),
            web_url: settings.github.web_url.clone(),
            github,
            wake: wake.clone(),
        })
    })
}

pub async fn start_on(
    settings: &Settings,
    listener: std::net::TcpListener,
    tuning: Tuning,
) -> anyhow::Result<Running> {
    // octocrab and reqwest both use rustls with the ring provider; it may already be set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = Store::connect(&settings.database_url).await?;
    let metrics = Arc::new(Metrics::default());
    let github = GitHubApp::new(&settings.github, tuning.github_retry, Some(metrics.clone()))?;
    let model =
        ModelClient::new(&settings.openai, tuning.model_retry)?.with_metrics(metrics.clone());
    let snapshots = crate::codebase::SnapshotStore::new(
        &settings.codebase.snapshot_dir,
        settings.codebase.cache_bytes,
        settings.codebase.limits,
    )
    .map_err(|e| match e.downcast::<crate::codebase::PrivateDirError>() {
        // A directory others may read or prepare is a bad setting: exit 2, as for the others.
        Ok(e) => anyhow::Error::new(crate::settings::SettingsError::Invalid {
            var: "CODEX_REVIEW_SNAPSHOT_DIR",
            reason: crate::error_chain::chain(&e),
        }),
        Err(e) => e.context(format!(
            "cannot use {} for repository snapshots (CODEX_REVIEW_SNAPSHOT_DIR)",
            settings.codebase.snapshot_dir.display()
        )),
    })?;
    let app_client = github.clone();
    let api_client = github.clone();
    let reviewer = Arc::new(
        Reviewer::new(
            github,
            model,
            store.clone(),
            metrics.clone(),
            settings.limits,
            &settings.bot_handle,
            Some(snapshots),
            settings.codebase.tools,
        )
        .with_spend_caps(settings.spend),
    );
    let wake = Arc::new(Notify::new());
    let ack_wake = Arc::new(Notify::new());
    let (stop, stopped) = watch::channel(false);

    let intake = crate::intake::Intake {
        writer: crate::store::DeliveryWriter::start(store.clone()),
        bot_handle: settings.bot_handle.as_str().into(),
        metrics: metrics.clone(),
        wake: wake.clone(),
        ack_wake: ack_wake.clone(),
    };
    let state = AppState {
        intake: intake.clone(),
        store: store.clone(),
        secrets: WebhookSecrets::new(settings.github.webhook_secrets.clone()),
        metrics: metrics.clone(),
        spend: settings.spend,
        status: status_config(settings),
        api: api_config(settings, api_client, &wake),
    };
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let addr = listener.local_addr()?;
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, server::router(state))
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
    });
    let worker_config = WorkerConfig {
        concurrency: settings.limits.workers,
        per_installation: settings.limits.per_installation,
        owner: settings.instance.clone(),
        ..tuning.worker
    };
    let acks = tokio::spawn(crate::worker::run_acks(
        store.clone(),
        reviewer.clone(),
        ack_wake,
        stopped.clone(),
        ACK_CONCURRENCY,
        worker_config.poll_interval,
    ));
    let pruning = tokio::spawn(crate::worker::run_pruning(
        store.clone(),
        settings.retention,
        tuning.prune_every,
        metrics.clone(),
        stopped.clone(),
    ));
    let redelivery = delivery_log(
        settings,
        app_client,
        (store.clone(), intake),
        tuning.redeliver_every,
        metrics.clone(),
        stopped.clone(),
    );
    let worker = Worker::new(store.clone(), reviewer, worker_config, wake);
    let worker = tokio::spawn(worker.run(stopped, tuning.shutdown_grace));
    tracing::info!(%addr, "codex-review listening");
    Ok(Running {
        addr,
        store,
        metrics,
        stop,
        server,
        worker,
        acks,
        pruning,
        redelivery,
    })
}

/// The App's delivery log: read for every delivery in pull mode (which needs no redelivery),
/// or for the missed ones to redeliver in push mode (unless turned off).
fn delivery_log(
    settings: &Settings,
    github: GitHubApp,
    (store, intake): (Store, crate::intake::Intake),
    redeliver_every: Duration,
    metrics: Arc<Metrics>,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    match (settings.deliveries, settings.redeliver_window) {
        (Deliveries::Pull { every }, _) => tokio::spawn(crate::worker::pull::run_pull(
            github, store, intake, every, metrics, stopped,
        )),
        (Deliveries::Push, Some(window)) => tokio::spawn(crate::worker::redeliver::run_redelivery(
            github,
            store,
            window,
            redeliver_every,
            metrics,
            stopped,
        )),
        (Deliveries::Push, None) => tokio::spawn(async {}),
    }
}

/// The service in setup mode: the setup pages until the App exists, then the service itself
/// on the same listener (connections that arrive in between wait in its backlog).
pub struct Setup {
    pub addr: SocketAddr,
    /// The one-time key every visitor of the setup page needs (`/setup?key=...`).
    pub key: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<Option<Running>>>,
}

impl Setup {
    /// Waits until the App is registered and the service runs with it (`None`: stopped
    /// before that).
    pub async fn configured(self) -> anyhow::Result<Option<Running>> {
        self.task.await.context("setup task")?
    }

    /// Stops the setup pages.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        if let Some(running) = self.configured().await? {
            running.shutdown().await?;
        }
        Ok(())
    }

    /// Serves until SIGINT or SIGTERM, through setup and then in normal mode.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        let stop = self.stop.clone();
        let mut task = self.task;
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                let _ = stop.send(true);
                match task.await.context("setup task")?? {
                    Some(running) => running.shutdown().await,
                    None => Ok(()),
                }
            }
            done = &mut task => match done.context("setup task")?? {
                Some(running) => running.run_until_signal().await,
                None => Ok(()),
            },
        }
    }
}

/// Starts setup mode. Once the setup page has written the credentials, `reload` reads the
/// settings again (the file now fills in the App) and the service starts with them.
pub async fn start_setup(
    setup: crate::settings::SetupSettings,
    reload: impl FnOnce() -> Result<Settings, crate::settings::SettingsError> + Send + 'static,
    tuning: Tuning,
) -> anyhow::Result<Setup> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = bind(setup.listen_addr)?;
    let addr = listener.local_addr()?;
    let for_setup = tokio::net::TcpListener::from_std(listener.try_clone()?)?;
    let (state, configured) = crate::server::setup::SetupState::new(setup, tuning.github_retry)?;
    let key = state.key().to_owned();
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let app =
            crate::server::setup::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(for_setup, app).with_graceful_shutdown(async move {
            tokio::select! {
                app = configured => { let _ = done_tx.send(app.is_ok()); }
                _ = stopped.wait_for(|s| *s) => {}
            }
        });
        served.await.context("setup server")?;
        // The setup server has answered the callback and let go of the socket.
        if !done_rx.await.unwrap_or(false) {
            return Ok(None);
        }
        let settings = reload().context(
            "the App is registered (its credentials are in the credentials file), but the \
             service cannot start yet",
        )?;
        tracing::info!(
            app_id = settings.github.app_id,
            "setup done; starting the service"
        );
        Ok(Some(start_on(&settings, listener, tuning).await?))
    });
    tracing::info!(%addr, "codex-review is in setup mode");
    Ok(Setup {
        addr,
        key,
        stop,
        task,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
