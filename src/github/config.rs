//! What the github room needs to call GitHub as the App (the settings room fills it in from
//! the environment).

use secrecy::SecretString;

/// The App's identity on GitHub and where GitHub is.
#[derive(Debug, Clone)]
pub struct GitHubSettings {
    /// `GITHUB_APP_ID`.
    pub app_id: u64,
    /// `GITHUB_PRIVATE_KEY`, or the contents of `GITHUB_PRIVATE_KEY_PATH`: an RSA key in PEM.
    pub private_key: SecretString,
    /// `GITHUB_WEBHOOK_SECRET`: one or more, comma-separated, all accepted (rotation).
    pub webhook_secrets: Vec<SecretString>,
    /// `GITHUB_API_URL`, without a trailing slash; default `https://api.github.com` for
    /// github.com, `GITHUB_URL/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    /// `GITHUB_URL`: GitHub's web address, default `https://github.com`.
    pub web_url: String,
    /// `CODEX_REVIEW_ARCHIVE_HOSTS`: hosts, comma-separated, that the archive's download link
    /// may lead to besides those GitHub serves archives from (`codeload.github.com` for
    /// github.com; for Enterprise Server the API's host and its `codeload.` subdomain);
    /// default none.
    pub archive_hosts: Vec<String>,
}
