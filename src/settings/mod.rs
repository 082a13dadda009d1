//! Process settings, read once from the environment at start-up.
//!
//! Nothing else in the code reads environment variables: handlers get what they need from
//! [`Settings`]. Secrets are [`SecretString`]s, whose `Debug` prints a placeholder.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::pipeline::Limits;

pub mod api_tokens;
mod codebase;
pub mod credentials;
mod deliveries;
mod spend;
mod startup;
pub use api_tokens::ApiToken;
pub use codebase::CodebaseSettings;
pub use deliveries::Deliveries;
pub use startup::{SetupSettings, Startup};

/// Everything `codex-review serve` needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `LISTEN_ADDR`, default `0.0.0.0:3000`.
    pub listen_addr: SocketAddr,
    pub github: GitHubSettings,
    pub openai: OpenAiSettings,
    /// `DATABASE_URL`, default `sqlite://codex-review.db` (a file in the working directory).
    pub database_url: String,
    /// `BOT_HANDLE` without the `@`, default `codex`.
    pub bot_handle: String,
    pub limits: Limits,
    /// `CODEX_REVIEW_INSTANCE`: this process's name on the jobs it holds, default the host
    /// name (a Fly.io machine keeps it across restarts). A restarted process takes back its own
    /// unfinished jobs at once; two live processes must not share a name.
    pub instance: String,
    /// `CODEX_REVIEW_RETENTION_DAYS`: deliveries and finished jobs older than this are pruned,
    /// default 14.
    pub retention: Duration,
    pub codebase: CodebaseSettings,
    /// `CODEX_REVIEW_DELIVERIES`: GitHub posts deliveries to `/webhook` (`push`, the default)
    /// or the service reads the App's delivery log (`pull`, every `CODEX_REVIEW_PULL_EVERY`).
    pub deliveries: Deliveries,
    /// `CODEX_REVIEW_REDELIVER_HOURS`: at start and hourly, deliveries of this many last hours
    /// that failed and were not stored are redelivered; default 24, `0` turns it off.
    pub redeliver_window: Option<Duration>,
    /// `STATUS_TOKEN`: the bearer token of the operator page `/status`; unset, no page.
    pub status_token: Option<SecretString>,
    /// `API_TOKENS`: bearer tokens of the review API (`/v1/reviews`), comma-separated, each
    /// optionally limited to repositories; empty, no API.
    pub api_tokens: Vec<ApiToken>,
    /// Spend caps per installation and per person (`CODEX_REVIEW_*_USD_CAP`,
    /// `CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR`).
    pub spend: crate::review::spend::SpendCaps,
}

/// The App's id, private key and webhook secrets (several during a rotation), checked.
fn app_credentials(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(u64, SecretString, Vec<SecretString>), SettingsError> {
    let required = |name: &'static str| get(name).ok_or(SettingsError::Missing(name));
    let app_id = required("GITHUB_APP_ID")?;
    let app_id = app_id
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| SettingsError::Invalid {
            var: "GITHUB_APP_ID",
            reason: "expected the App's numeric id".into(),
        })?;

    let private_key = match (get("GITHUB_PRIVATE_KEY"), get("GITHUB_PRIVATE_KEY_PATH")) {
        (Some(pem), _) => (
            "GITHUB_PRIVATE_KEY",
            SecretString::from(pem.replace("\\n", "\n")),
        ),
        (None, Some(path)) => {
            let pem = std::fs::read_to_string(path.trim()).map_err(|e| SettingsError::Invalid {
                var: "GITHUB_PRIVATE_KEY_PATH",
                reason: format!("cannot read the file: {}", e.kind()),
            })?;
            ("GITHUB_PRIVATE_KEY_PATH", SecretString::from(pem))
        }
        (None, None) => return Err(SettingsError::Missing("GITHUB_PRIVATE_KEY")),
    };
    let (key_var, private_key) = private_key;
    if jsonwebtoken::EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes()).is_err() {
        return Err(SettingsError::Invalid {
            var: key_var,
            reason: "not a PEM-encoded RSA private key (download one from the App's settings)"
                .into(),
        });
    }

    let webhook_secrets = required("GITHUB_WEBHOOK_SECRET")?;
    let webhook_secrets: Vec<SecretString> = webhook_secrets
        .split(',')
        .map(|s| SecretString::from(s.trim().to_owned()))
        .collect();
    if webhook_secrets.iter().any(|s| s.expose_secret().is_empty()) {
        return Err(SettingsError::Invalid {
            var: "GITHUB_WEBHOOK_SECRET",
            reason: "contains an empty secret between commas".into(),
        });
    }

    Ok((app_id, private_key, webhook_secrets))
}

impl Limits {
    /// The limits from the environment, each a whole number at least its minimum.
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let count = |var: &'static str, default: usize, min: usize| {
            whole_number(get(var), var, default as u64, min as u64).map(|n| n as usize)
        };
        let defaults = Limits::default();
        Ok(Limits {
            chunk_tokens: count("CODEX_REVIEW_CHUNK_TOKENS", defaults.chunk_tokens, 1_000)?,
            max_calls: count("CODEX_REVIEW_MAX_CALLS", defaults.max_calls, 1)?,
            model_concurrency: count(
                "CODEX_REVIEW_MODEL_CONCURRENCY",
                defaults.model_concurrency,
                1,
            )?,
            workers: count("CODEX_REVIEW_WORKERS", defaults.workers, 1)?,
            per_installation: count(
                "CODEX_REVIEW_INSTALLATION_CONCURRENCY",
                defaults.per_installation,
                1,
            )?,
        })
    }
}

/// A whole number of at least `min` from `raw`, or `default` when it is unset.
fn whole_number(
    raw: Option<String>,
    var: &'static str,
    default: u64,
    min: u64,
) -> Result<u64, SettingsError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= min)
            .ok_or_else(|| SettingsError::Invalid {
                var,
                reason: format!("expected a whole number of at least {min}"),
            }),
    }
}

/// The host's name: `HOSTNAME`, else `/etc/hostname`.
fn host_name(lookup: &impl Fn(&str) -> Option<String>) -> Option<String> {
    lookup("HOSTNAME")
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// GitHub's settings are the github room's type; this room fills them in from the
/// environment.
pub use crate::github::GitHubSettings;

/// The model's settings are the model room's type; this room fills them in from the
/// environment.
pub use crate::model::OpenAiSettings;

impl OpenAiSettings {
    /// The model settings alone (all that `codex-review review` needs).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let api_key = SecretString::from(
            get("OPENAI_API_KEY")
                .ok_or(SettingsError::Missing("OPENAI_API_KEY"))?
                .trim()
                .to_owned(),
        );
        let base_url = http_url(
            "OPENAI_BASE_URL",
            get("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into()),
        )?;
        let model = get("CODEX_REVIEW_MODEL")
            .map(|m| m.trim().to_owned())
            .unwrap_or_else(|| "gpt-5.1-codex".into());
        let reasoning_effort = get("CODEX_REVIEW_REASONING_EFFORT")
            .map(|e| e.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "medium".into());
        if !REASONING_EFFORTS.contains(&reasoning_effort.as_str()) {
            return Err(SettingsError::Invalid {
                var: "CODEX_REVIEW_REASONING_EFFORT",
                reason: format!("expected one of {}", REASONING_EFFORTS.join(", ")),
            });
        }
        let header = |var: &'static str| -> Result<Option<String>, SettingsError> {
            match get(var) {
                None => Ok(None),
                Some(v) if v.trim().bytes().all(|b| b.is_ascii_graphic()) => {
                    Ok(Some(v.trim().to_owned()))
                }
                Some(_) => Err(SettingsError::Invalid {
                    var,
                    reason: "must be printable ASCII without spaces".into(),
                }),
            }
        };
        let prompt_cache_retention = match get("CODEX_REVIEW_PROMPT_CACHE_RETENTION")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("24h") => Some("24h".to_owned()),
            Some("in_memory") => Some("in_memory".to_owned()),
            Some("off") => None,
            Some(_) => {
                return Err(SettingsError::Invalid {
                    var: "CODEX_REVIEW_PROMPT_CACHE_RETENTION",
                    reason: "expected 24h, in_memory or off".into(),
                });
            }
        };
        let number =
            |var: &'static str, default: u64, min: u64| whole_number(get(var), var, default, min);
        let prices = match get("CODEX_REVIEW_PRICES") {
            None => crate::model::PriceTable::default(),
            Some(raw) => {
                crate::model::PriceTable::parse(&raw).map_err(|e| SettingsError::Invalid {
                    var: "CODEX_REVIEW_PRICES",
                    reason: crate::error_chain::chain(&e),
                })?
            }
        };
        // A model without a price would spend without the caps knowing.
        if prices.price(&model).is_none() {
            return Err(SettingsError::Invalid {
                var: "CODEX_REVIEW_MODEL",
                reason: format!(
                    "{model:?} has no price: add one to CODEX_REVIEW_PRICES \
                     ({model}=input/cached_input/output, USD per million tokens)"
                ),
            });
        }
        Ok(Self {
            api_key,
            base_url,
            model,
            reasoning_effort,
            organization: header("OPENAI_ORGANIZATION")?,
            project: header("OPENAI_PROJECT")?,
            prompt_cache_retention,
            max_output_tokens: number("CODEX_REVIEW_MAX_OUTPUT_TOKENS", 32_000, 1_000)? as u32,
            timeout: Duration::from_secs(number("CODEX_REVIEW_MODEL_TIMEOUT_SECS", 600, 1)?),
            deadline: Duration::from_secs(number("CODEX_REVIEW_MODEL_DEADLINE_SECS", 1_200, 1)?),
            prices,
            stream: match get("CODEX_REVIEW_STREAM")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None | Some("false" | "0" | "no") => false,
                Some("true" | "1" | "yes") => true,
                Some(_) => {
                    return Err(SettingsError::Invalid {
                        var: "CODEX_REVIEW_STREAM",
                        reason: "expected true or false".into(),
                    });
                }
            },
        })
    }
}

/// A setting that is missing or malformed. The message names the variable, never its value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Every `reasoning.effort` OpenAI's description lists.
pub const REASONING_EFFORTS: &[&str] =
    &["none", "minimal", "low", "medium", "high", "xhigh", "max"];

impl Settings {
    /// Reads settings through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let lookup = &lookup;
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let listen_addr = match get("LISTEN_ADDR") {
            None => SocketAddr::from(([0, 0, 0, 0], 3000)),
            Some(raw) => raw.trim().parse().map_err(|_| SettingsError::Invalid {
                var: "LISTEN_ADDR",
                reason: "expected address:port, such as 0.0.0.0:3000".into(),
            })?,
        };

        let (app_id, private_key, webhook_secrets) = app_credentials(&get)?;

        let (web_url, api_url) = github_urls(lookup)?;

        let openai = OpenAiSettings::from_lookup(lookup)?;

        let database_url = get("DATABASE_URL")
            .map(|u| u.trim().to_owned())
            .unwrap_or_else(|| "sqlite://codex-review.db".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(SettingsError::Invalid {
                var: "DATABASE_URL",
                reason: "expected sqlite://PATH or postgres://...".into(),
            });
        }

        let bot_handle = get("BOT_HANDLE")
            .map(|h| h.trim().trim_start_matches('@').to_owned())
            .unwrap_or_else(|| "codex".into());
        if bot_handle.is_empty()
            || !bot_handle
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'[' | b']'))
        {
            return Err(SettingsError::Invalid {
                var: "BOT_HANDLE",
                reason: "expected a GitHub login such as codex".into(),
            });
        }

        let count = |var: &'static str, default: usize, min: usize| {
            whole_number(get(var), var, default as u64, min as u64).map(|n| n as usize)
        };
        let limits = Limits::from_lookup(&get)?;

        let instance = match get("CODEX_REVIEW_INSTANCE") {
            Some(name) => name.trim().to_owned(),
            None => {
                host_name(&lookup).unwrap_or_else(|| format!("codex-review-{}", std::process::id()))
            }
        };
        if instance.len() > 200 || !instance.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SettingsError::Invalid {
                var: "CODEX_REVIEW_INSTANCE",
                reason: "expected up to 200 printable characters without spaces".into(),
            });
        }
        let retention_days = count("CODEX_REVIEW_RETENTION_DAYS", 14, 1)?;
        let codebase = CodebaseSettings::from_lookup(lookup, &instance)?;
        let redeliver_hours = count("CODEX_REVIEW_REDELIVER_HOURS", 24, 0)?;
        let deliveries = Deliveries::from_lookup(&get)?;

        let status_token = match get("STATUS_TOKEN") {
            None => None,
            Some(token) if token.trim().len() >= 16 => {
                Some(SecretString::from(token.trim().to_owned()))
            }
            Some(_) => {
                return Err(SettingsError::Invalid {
                    var: "STATUS_TOKEN",
                    reason: "expected at least 16 characters (openssl rand -hex 32 makes one)"
                        .into(),
                });
            }
        };

        let api_tokens = match get("API_TOKENS") {
            Some(raw) => api_tokens::parse(&raw)?,
            None => Vec::new(),
        };

        let spend = crate::review::spend::SpendCaps::from_lookup(&get)?;

        Ok(Settings {
            spend,
            api_tokens,
            status_token,
            codebase,
            deliveries,
            redeliver_window: (redeliver_hours > 0)
                .then(|| Duration::from_secs(redeliver_hours as u64 * 3_600)),
            instance,
            retention: Duration::from_secs(retention_days as u64 * 86_400),
            listen_addr,
            github: GitHubSettings {
                app_id,
                private_key,
                webhook_secrets,
                api_url,
                web_url,
                archive_hosts: archive_hosts(&get)?,
            },
            openai,
            database_url,
            bot_handle,
            limits,
        })
    }
}

/// `GITHUB_URL` and `GITHUB_API_URL`: the API's default follows the web address (github.com's
/// API host, or Enterprise Server's `/api/v3`).
fn github_urls(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(String, String), SettingsError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let web_url = http_url(
        "GITHUB_URL",
        get("GITHUB_URL").unwrap_or_else(|| "https://github.com".into()),
    )?;
    let api_default = if web_url == "https://github.com" {
        "https://api.github.com".to_owned()
    } else {
        format!("{web_url}/api/v3")
    };
    let api_url = http_url(
        "GITHUB_API_URL",
        get("GITHUB_API_URL").unwrap_or(api_default),
    )?;
    Ok((web_url, api_url))
}

/// `CODEX_REVIEW_ARCHIVE_HOSTS`: host names (or IP addresses), comma-separated, lower-cased
/// (the service's setting, and the CLI's).
pub fn archive_hosts(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, SettingsError> {
    let hosts: Vec<String> = lookup("CODEX_REVIEW_ARCHIVE_HOSTS")
        .iter()
        .flat_map(|r| r.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    match hosts.iter().find(|h| {
        h.parse::<std::net::IpAddr>().is_err()
            && !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    }) {
        Some(_) => Err(SettingsError::Invalid {
            var: "CODEX_REVIEW_ARCHIVE_HOSTS",
            reason: "expected host names such as archives.example.com, comma-separated".into(),
        }),
        None => Ok(hosts),
    }
}

/// An absolute http(s) URL, returned without a trailing slash.
fn http_url(var: &'static str, raw: String) -> Result<String, SettingsError> {
    http_address(&raw).map_err(|reason| SettingsError::Invalid {
        var,
        reason: reason.into(),
    })
}

/// `raw` as an absolute http(s) address without query or fragment, without its trailing
/// slash; or why it is not one.
pub fn http_address(raw: &str) -> Result<String, &'static str> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| "not a URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests;
