//! The credentials file the setup page writes: the App's id, private key and webhook secret,
//! so that `serve` starts in normal mode next time (and at once, without a restart).
//!
//! The file is JSON, readable by its owner only (mode 0600). Environment settings override
//! it: a variable that is set wins over the file's value.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::SettingsError;
use crate::scratch::ScratchFile;

/// The variable that names the file.
pub const CREDENTIALS_VAR: &str = "CODEX_REVIEW_CREDENTIALS_FILE";
/// The file's name when `CODEX_REVIEW_CREDENTIALS_FILE` is unset.
const FILE_NAME: &str = "codex-review.credentials.json";

pub use crate::github::manifest::Credentials;

/// The file's layout (the secrets as plain strings, for serde).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    app_id: u64,
    slug: String,
    html_url: String,
    private_key: String,
    webhook_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deliveries: Option<String>,
}

impl Credentials {
    /// The settings the file provides, by variable name.
    fn value(&self, var: &str) -> Option<String> {
        match var {
            "GITHUB_APP_ID" => Some(self.app_id.to_string()),
            "GITHUB_PRIVATE_KEY" => Some(self.private_key.expose_secret().to_owned()),
            "GITHUB_WEBHOOK_SECRET" => Some(self.webhook_secret.expose_secret().to_owned()),
            "CODEX_REVIEW_DELIVERIES" => self.deliveries.clone(),
            _ => None,
        }
    }
}

/// Where the credentials file is: `CODEX_REVIEW_CREDENTIALS_FILE`, else beside the SQLite
/// database (`DATABASE_URL`), else in the working directory.
pub fn path(lookup: &impl Fn(&str) -> Option<String>) -> PathBuf {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    if let Some(path) = get(CREDENTIALS_VAR) {
        return PathBuf::from(path.trim());
    }
    beside_database(lookup, FILE_NAME)
}

/// `name` in the service's data directory: beside the SQLite database (`DATABASE_URL`), else
/// (PostgreSQL, an in-memory database) in the working directory.
pub(super) fn beside_database(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> PathBuf {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let database = get("DATABASE_URL").unwrap_or_else(|| "sqlite://codex-review.db".into());
    let file = database
        .trim()
        .strip_prefix("sqlite://")
        .or_else(|| database.trim().strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|file| !file.is_empty() && !file.starts_with(':'));
    match file.and_then(|f| Path::new(f).parent()) {
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

/// Reads the file at `path`: `None` when there is none.
pub fn read(path: &Path) -> Result<Option<Credentials>, SettingsError> {
    let invalid = |reason: String| SettingsError::Invalid {
        var: CREDENTIALS_VAR,
        reason: format!("{}: {reason}", path.display()),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(invalid(format!("cannot read the file: {}", e.kind()))),
    };
    // serde_json's message names the line and column, never the value.
    let stored: Stored = serde_json::from_str(&text)
        .map_err(|e| invalid(format!("not a credentials file ({e})")))?;
    Ok(Some(Credentials {
        app_id: stored.app_id,
        slug: stored.slug,
        html_url: stored.html_url,
        private_key: SecretString::from(stored.private_key),
        webhook_secret: SecretString::from(stored.webhook_secret),
        deliveries: stored.deliveries,
    }))
}

/// Creates the file at `path` with `credentials`, readable and writable by the owner only.
/// The file appears whole or not at all (written beside it, synced, then linked in place),
/// and only if there is none yet: an existing file is never replaced (`AlreadyExists`).
pub fn create(path: &Path, credentials: &Credentials) -> std::io::Result<()> {
    let stored = Stored {
        app_id: credentials.app_id,
        slug: credentials.slug.clone(),
        html_url: credentials.html_url.clone(),
        private_key: credentials.private_key.expose_secret().to_owned(),
        webhook_secret: credentials.webhook_secret.expose_secret().to_owned(),
        deliveries: credentials.deliveries.clone(),
    };
    let text = serde_json::to_vec_pretty(&stored).map_err(std::io::Error::other)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut scratch = ScratchFile::new(dir, ".codex-review-credentials")?;
    scratch.write_all(&text)?;
    scratch.place(path)
}

/// A lookup where the environment wins and the file fills in the App's settings. The file's
/// key is not used when the environment names a key of its own (as text or as a path).
pub fn layered<'a>(
    env: &'a impl Fn(&str) -> Option<String>,
    file: Option<&'a Credentials>,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |var: &str| {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(value) = set(var) {
            return Some(value);
        }
        if var == "GITHUB_PRIVATE_KEY" && set("GITHUB_PRIVATE_KEY_PATH").is_some() {
            return None;
        }
        file.and_then(|c| c.value(var))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_file_lives_beside_the_sqlite_database() {
        assert_eq!(path(&lookup(&[])), PathBuf::from(FILE_NAME));
        assert_eq!(
            path(&lookup(&[(
                "DATABASE_URL",
                "sqlite:///data/codex.db?mode=rwc"
            )])),
            PathBuf::from("/data").join(FILE_NAME)
        );
        assert_eq!(
            path(&lookup(&[("DATABASE_URL", "postgres://db/x")])),
            PathBuf::from(FILE_NAME)
        );
        assert_eq!(
            path(&lookup(&[
                ("DATABASE_URL", "sqlite:///data/codex.db"),
                (CREDENTIALS_VAR, "/etc/codex/creds.json")
            ])),
            PathBuf::from("/etc/codex/creds.json")
        );
    }

    #[test]
    fn written_credentials_are_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/creds.json");
        let creds = Credentials {
            app_id: 7,
            slug: "codex-review-acme".into(),
            html_url: "https://github.com/apps/codex-review-acme".into(),
            private_key: SecretString::from("-----BEGIN RSA PRIVATE KEY-----\n...".to_owned()),
            webhook_secret: SecretString::from("whsec".to_owned()),
            deliveries: None,
        };
        create(&file, &creds).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = read(&file).unwrap().unwrap();
        assert_eq!(back.app_id, 7);
        // A second writer finds the file and changes nothing.
        let other = Credentials {
            app_id: 8,
            ..creds.clone()
        };
        let err = create(&file, &other).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(read(&file).unwrap().unwrap().app_id, 7);
        assert_eq!(
            std::fs::read_dir(file.parent().unwrap()).unwrap().count(),
            1
        );
        assert_eq!(back.webhook_secret.expose_secret(), "whsec");
        assert!(read(&dir.path().join("none.json")).unwrap().is_none());
        std::fs::write(&file, "{\"app_id\": \"x\"}").unwrap();
        let err = read(&file).unwrap_err().to_string();
        assert!(err.starts_with(CREDENTIALS_VAR), "{err}");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let creds = Credentials {
            app_id: 7,
            slug: "s".into(),
            html_url: "h".into(),
            private_key: SecretString::from("file-key".to_owned()),
            webhook_secret: SecretString::from("file-secret".to_owned()),
            deliveries: None,
        };
        let env = lookup(&[
            ("GITHUB_APP_ID", "9"),
            ("GITHUB_PRIVATE_KEY_PATH", "/k.pem"),
        ]);
        let both = layered(&env, Some(&creds));
        assert_eq!(both("GITHUB_APP_ID").as_deref(), Some("9"));
        assert_eq!(both("GITHUB_PRIVATE_KEY"), None);
        assert_eq!(
            both("GITHUB_WEBHOOK_SECRET").as_deref(),
            Some("file-secret")
        );
        assert_eq!(both("OPENAI_API_KEY"), None);
    }
}
