//! How `serve` starts: in normal mode with the App's settings (from the environment or the
//! credentials file), or in setup mode when there are none yet.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Settings, SettingsError, credentials, github_urls, http_url};

/// The settings that name the App; when none is set and there is no credentials file, `serve`
/// starts in setup mode.
const APP_VARS: &[&str] = &[
    "GITHUB_APP_ID",
    "GITHUB_PRIVATE_KEY",
    "GITHUB_PRIVATE_KEY_PATH",
    "GITHUB_WEBHOOK_SECRET",
];

/// What `serve` starts as.
#[derive(Debug)]
pub enum Startup {
    Serve(Box<Settings>),
    Setup(SetupSettings),
}

/// What setup mode needs: where to listen, where GitHub is, where to write the credentials.
#[derive(Debug, Clone)]
pub struct SetupSettings {
    /// `LISTEN_ADDR`.
    pub listen_addr: SocketAddr,
    /// `GITHUB_URL`: where the manifest form posts (`/settings/apps/new`).
    pub web_url: String,
    /// `GITHUB_API_URL`: where the code is exchanged (`/app-manifests/{code}/conversions`).
    pub api_url: String,
    /// `PUBLIC_URL`: prefills the page's public address.
    pub public_url: Option<String>,
    /// Where the App's credentials are written.
    pub credentials_path: PathBuf,
    /// `OPENAI_API_KEY` is not set: the page says how to set it.
    pub openai_key_missing: bool,
}

impl Startup {
    /// Reads the process environment and the credentials file.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(env: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let credentials_path = credentials::path(env);
        let file = credentials::read(&credentials_path)?;
        if file.is_some() || APP_VARS.iter().any(|var| set(var).is_some()) {
            let settings = Settings::from_lookup(credentials::layered(env, file.as_ref()))?;
            return Ok(Startup::Serve(Box::new(settings)));
        }
        let listen_addr = match set("LISTEN_ADDR") {
            None => SocketAddr::from(([0, 0, 0, 0], 3000)),
            Some(raw) => raw.trim().parse().map_err(|_| SettingsError::Invalid {
                var: "LISTEN_ADDR",
                reason: "expected address:port, such as 0.0.0.0:3000".into(),
            })?,
        };
        let (web_url, api_url) = github_urls(env)?;
        let public_url = set("PUBLIC_URL")
            .map(|url| http_url("PUBLIC_URL", url))
            .transpose()?;
        Ok(Startup::Setup(SetupSettings {
            listen_addr,
            web_url,
            api_url,
            public_url,
            credentials_path,
            openai_key_missing: set("OPENAI_API_KEY").is_none(),
        }))
    }
}

impl Settings {
    /// Reads the process environment, with the credentials file under it.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::with_credentials(&|name| std::env::var(name).ok())
    }

    /// Reads settings through `env`, with the credentials file (if there is one) filling in
    /// the App's settings the environment leaves unset.
    pub fn with_credentials(env: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let file = credentials::read(&credentials::path(env))?;
        Settings::from_lookup(credentials::layered(env, file.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn startup(pairs: &[(&str, String)]) -> Result<Startup, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        Startup::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn no_app_settings_and_no_file_mean_setup_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/codex.db", dir.path().display());
        let Startup::Setup(setup) = startup(&[("DATABASE_URL", db.clone())]).unwrap() else {
            panic!("expected setup mode");
        };
        assert_eq!(setup.web_url, "https://github.com");
        assert_eq!(setup.api_url, "https://api.github.com");
        assert!(setup.openai_key_missing);
        assert_eq!(
            setup.credentials_path,
            dir.path().join("codex-review.credentials.json")
        );
        let Startup::Setup(setup) = startup(&[
            ("DATABASE_URL", db.clone()),
            ("GITHUB_URL", "https://ghe.example.com/".into()),
            ("OPENAI_API_KEY", "sk-x".into()),
        ])
        .unwrap() else {
            panic!("expected setup mode");
        };
        assert_eq!(setup.api_url, "https://ghe.example.com/api/v3");
        assert!(!setup.openai_key_missing);
        // One App setting set: normal mode, which names what else is missing.
        let err = startup(&[("DATABASE_URL", db), ("GITHUB_APP_ID", "1".into())]).unwrap_err();
        assert_eq!(err, SettingsError::Missing("GITHUB_PRIVATE_KEY"));
    }

    #[test]
    fn a_credentials_file_means_normal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        credentials::create(
            &path,
            &credentials::Credentials {
                app_id: 77,
                slug: "codex-review-x".into(),
                html_url: "https://github.com/apps/codex-review-x".into(),
                private_key: include_str!("../../tests/fixtures/test-app-key.pem")
                    .to_owned()
                    .into(),
                webhook_secret: "from-file".to_owned().into(),
                deliveries: None,
            },
        )
        .unwrap();
        let Startup::Serve(settings) = startup(&[
            ("CODEX_REVIEW_CREDENTIALS_FILE", path.display().to_string()),
            ("OPENAI_API_KEY", "sk-x".into()),
            ("GITHUB_WEBHOOK_SECRET", "from-env".into()),
        ])
        .unwrap() else {
            panic!("expected normal mode");
        };
        assert_eq!(settings.github.app_id, 77);
        use secrecy::ExposeSecret as _;
        assert_eq!(
            settings.github.webhook_secrets[0].expose_secret(),
            "from-env"
        );
    }
}
