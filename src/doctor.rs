//! `codex-review doctor`: one line per check, ✔ or ✖, and for each ✖ what to do. Exit 1 when
//! any check fails.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

use crate::error_chain::chain;
use crate::github::GitHubApp;
use crate::model::ModelClient;
use crate::retry::RetryPolicy;
use crate::settings::{Deliveries, Settings};
use crate::store::Store;

/// One check's result.
pub struct Check {
    pub ok: bool,
    pub name: &'static str,
    pub detail: String,
    /// What to do, for a failed check.
    pub fix: String,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            name,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            ok: false,
            name,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    pub fn line(&self) -> String {
        if self.ok {
            format!("✔ {}: {}", self.name, self.detail)
        } else {
            format!("✖ {}: {} — {}", self.name, self.detail, self.fix)
        }
    }
}

/// Runs every check that `lookup`'s settings allow; the report and whether all passed.
pub async fn run(lookup: impl Fn(&str) -> Option<String>) -> (String, bool) {
    let mut checks = Vec::new();
    let settings = match Settings::with_credentials(&lookup) {
        Ok(s) => {
            checks.push(Check::pass(
                "settings",
                "every required setting is present and valid",
            ));
            Some(s)
        }
        Err(e) => {
            checks.push(Check::fail(
                "settings",
                e.to_string(),
                "set it in the environment (the README's Settings table lists them all), or run `codex-review serve` without the App's settings to register one from its setup page",
            ));
            None
        }
    };
    if let Some(settings) = &settings {
        let retry = RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            timeout: Duration::from_secs(20),
        };
        match GitHubApp::new(&settings.github, retry, None) {
            Ok(github) => checks.extend(github_checks(&github, settings.deliveries).await),
            Err(e) => checks.push(Check::fail(
                "GitHub App",
                format!("{e:#}"),
                "check GITHUB_PRIVATE_KEY",
            )),
        }
        checks.push(model_check(settings, retry).await);
        checks.push(database_check(&settings.database_url).await);
    }
    let mut report = String::new();
    for c in &checks {
        let _ = writeln!(report, "{}", c.line());
    }
    (report, checks.iter().all(|c| c.ok))
}

async fn github_checks(github: &GitHubApp, deliveries: Deliveries) -> Vec<Check> {
    let mut checks = Vec::new();
    if app_check(github, &mut checks).await {
        installations_check(github, &mut checks).await;
        match deliveries {
            Deliveries::Push => {
                webhook_check(github, &mut checks).await;
                deliveries_check(github, &mut checks).await;
            }
            // GitHub cannot reach the service: failed sends are expected, and the webhook's
            // URL does not matter. What matters is that the App may read its delivery log.
            Deliveries::Pull { .. } => log_check(github, &mut checks).await,
        }
    }
    checks
}

/// Pull mode: the App's delivery log can be read.
async fn log_check(github: &GitHubApp, checks: &mut Vec<Check>) {
    #[derive(Deserialize)]
    struct Delivery {
        delivered_at: String,
    }
    let listed = github
        .app_get(
            "list webhook deliveries",
            "/app/hook/deliveries?per_page=100",
        )
        .await;
    match listed.map(|t| serde_json::from_str::<Vec<Delivery>>(&t)) {
        Ok(Ok(list)) => {
            let day_ago = crate::when::rfc3339_ago(std::time::Duration::from_secs(86_400));
            let recent = list
                .iter()
                .filter(|d| d.delivered_at.as_str() >= day_ago.as_str())
                .count();
            checks.push(Check::pass(
                "delivery log",
                format!(
                    "readable (pull mode: {recent} deliveries logged in the last 24 hours; \
                     GitHub's failed sends are expected)"
                ),
            ));
        }
        Ok(Err(e)) => checks.push(Check::fail(
            "delivery log",
            e.to_string(),
            "check GITHUB_API_URL",
        )),
        Err(e) => checks.push(Check::fail(
            "delivery log",
            chain(&e),
            "pull mode reads the App's delivery log: check that the App's webhook is active (GitHub logs nothing for an inactive one) and the App's credentials",
        )),
    }
}

/// Signs in as the App; `false` when it cannot (nothing else can be asked then).
async fn app_check(github: &GitHubApp, checks: &mut Vec<Check>) -> bool {
    #[derive(Deserialize)]
    struct App {
        slug: String,
        id: u64,
    }
    match github.app_get("get app", "/app").await {
        Ok(text) => match serde_json::from_str::<App>(&text) {
            Ok(app) => checks.push(Check::pass(
                "App authentication",
                format!("signed in as the App {} (id {})", app.slug, app.id),
            )),
            Err(e) => checks.push(Check::fail(
                "App authentication",
                e.to_string(),
                "check GITHUB_API_URL",
            )),
        },
        Err(e) => {
            checks.push(Check::fail(
                "App authentication",
                chain(&e),
                "check GITHUB_APP_ID and GITHUB_PRIVATE_KEY (the key must be the App's, downloaded from its settings)",
            ));
            return false;
        }
    }
    true
}

/// Where the App is installed, and how many repositories it reaches.
async fn installations_check(github: &GitHubApp, checks: &mut Vec<Check>) {
    #[derive(Deserialize)]
    struct Installation {
        id: u64,
        account: Option<Account>,
    }
    #[derive(Deserialize)]
    struct Account {
        login: String,
    }
    match github
        .app_get("list installations", "/app/installations?per_page=100")
        .await
        .map(|t| serde_json::from_str::<Vec<Installation>>(&t))
    {
        Ok(Ok(list)) if list.is_empty() => checks.push(Check::fail(
            "installations",
            "the App is installed nowhere",
            "install it on an organisation or account (the App's page, Install App)",
        )),
        Ok(Ok(list)) => {
            let mut repos = 0u64;
            let mut names = Vec::new();
            for i in &list {
                repos += github
                    .installation_repository_count(i.id)
                    .await
                    .unwrap_or(0);
                names.extend(i.account.as_ref().map(|a| a.login.clone()));
            }
            checks.push(Check::pass(
                "installations",
                format!(
                    "{} installation(s) ({}), {repos} repositories",
                    list.len(),
                    names.join(", ")
                ),
            ));
        }
        Ok(Err(e)) => checks.push(Check::fail(
            "installations",
            e.to_string(),
            "check GITHUB_API_URL",
        )),
        Err(e) => checks.push(Check::fail(
            "installations",
            chain(&e),
            "check the App's permissions",
        )),
    }
}

/// The webhook configuration: URL, content type, secret.
async fn webhook_check(github: &GitHubApp, checks: &mut Vec<Check>) {
    #[derive(Deserialize)]
    struct HookConfig {
        url: Option<String>,
        content_type: Option<String>,
        secret: Option<String>,
    }
    match github
        .app_get("get webhook configuration", "/app/hook/config")
        .await
        .map(|t| serde_json::from_str::<HookConfig>(&t))
    {
        Ok(Ok(c)) => {
            let url = c.url.unwrap_or_default();
            let problems: Vec<&str> = [
                (!url.ends_with("/webhook")).then_some("the URL does not end with /webhook"),
                (c.content_type.as_deref() != Some("json"))
                    .then_some("the content type is not json"),
                c.secret
                    .as_deref()
                    .is_none_or(str::is_empty)
                    .then_some("no secret is set"),
            ]
            .into_iter()
            .flatten()
            .collect();
            if problems.is_empty() {
                checks.push(Check::pass("webhook", format!("{url}, JSON, secret set")));
            } else {
                checks.push(Check::fail(
                    "webhook",
                    format!("{url}: {}", problems.join("; ")),
                    "in the App's settings set the webhook URL to PUBLIC_URL/webhook, content type application/json, and the secret of GITHUB_WEBHOOK_SECRET",
                ));
            }
        }
        Ok(Err(e)) => checks.push(Check::fail(
            "webhook",
            e.to_string(),
            "check GITHUB_API_URL",
        )),
        Err(e) => checks.push(Check::fail(
            "webhook",
            chain(&e),
            "check the App's settings",
        )),
    }
}

/// Failed webhook deliveries of the last 24 hours.
async fn deliveries_check(github: &GitHubApp, checks: &mut Vec<Check>) {
    #[derive(Deserialize)]
    struct Delivery {
        status_code: u16,
        delivered_at: String,
    }
    match github
        .app_get(
            "list webhook deliveries",
            "/app/hook/deliveries?per_page=100",
        )
        .await
        .map(|t| serde_json::from_str::<Vec<Delivery>>(&t))
    {
        Ok(Ok(list)) => {
            let day_ago = crate::when::rfc3339_ago(std::time::Duration::from_secs(86_400));
            let failed = list
                .iter()
                .filter(|d| d.delivered_at.as_str() >= day_ago.as_str())
                .filter(|d| !(200..300).contains(&d.status_code))
                .count();
            if failed == 0 {
                checks.push(Check::pass(
                    "deliveries",
                    "no failed delivery in the last 24 hours",
                ));
            } else {
                checks.push(Check::fail(
                    "deliveries",
                    format!("{failed} failed in the last 24 hours"),
                    "see the App's Advanced settings for their answers; is the service reachable at the webhook URL, with the same secret?",
                ));
            }
        }
        Ok(Err(e)) => checks.push(Check::fail(
            "deliveries",
            e.to_string(),
            "check GITHUB_API_URL",
        )),
        Err(e) => checks.push(Check::fail(
            "deliveries",
            chain(&e),
            "check the App's settings",
        )),
    }
}

async fn model_check(settings: &Settings, retry: RetryPolicy) -> Check {
    let client = match ModelClient::new(&settings.openai, retry) {
        Ok(c) => c,
        Err(e) => return Check::fail("model", format!("{e:#}"), "check OPENAI_BASE_URL"),
    };
    match client.ping().await {
        Ok(()) => Check::pass(
            "model",
            format!("{} answers through the Responses API", client.model()),
        ),
        Err(e) => Check::fail(
            "model",
            chain(&e),
            "check OPENAI_API_KEY, the project's access to the model (CODEX_REVIEW_MODEL) and its quota",
        ),
    }
}

async fn database_check(url: &str) -> Check {
    match Store::connect(url).await {
        Ok(store) => match store.check_writable().await {
            Ok(()) => Check::pass("database", "reachable, writable, migrations current"),
            Err(e) => Check::fail(
                "database",
                format!("{e:#}"),
                "give the service write access to the database (DATABASE_URL)",
            ),
        },
        Err(e) => Check::fail(
            "database",
            format!("{e:#}"),
            "check DATABASE_URL and that the database server runs",
        ),
    }
}
