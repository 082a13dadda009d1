//! GitHub's manifest flow, seen from the API: exchanging the temporary code for the new App's
//! credentials (`POST /app-manifests/{code}/conversions`, no authentication).

use http::Method;
use secrecy::SecretString;
use serde::Deserialize;

use super::GitHubError;
use super::client::Unexpected;
use super::transport::{self, Request};
use crate::retry::RetryPolicy;

/// What GitHub's manifest flow gave for the App.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub app_id: u64,
    /// The App's slug (`codex-review-acme`), for its pages on GitHub.
    pub slug: String,
    /// The App's page on GitHub (`https://github.com/apps/SLUG`).
    pub html_url: String,
    pub private_key: SecretString,
    pub webhook_secret: SecretString,
    /// `pull` when the setup page learnt that GitHub cannot reach the service
    /// (`CODEX_REVIEW_DELIVERIES`, which the environment overrides).
    pub deliveries: Option<String>,
}

const CALL: &str = "create an App from its manifest";

#[derive(Deserialize)]
struct Conversion {
    id: u64,
    slug: Option<String>,
    html_url: String,
    pem: String,
    webhook_secret: Option<String>,
}

/// Exchanges `code` (valid for one hour, once) for the App's id, key and webhook secret.
pub async fn convert(
    api_url: &str,
    code: &str,
    retry: RetryPolicy,
) -> Result<Credentials, GitHubError> {
    if code.is_empty()
        || code.len() > 100
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(GitHubError::decode(
            CALL,
            Unexpected("the code GitHub sent back is not a manifest code"),
        ));
    }
    let crab = super::http::octocrab(api_url, octocrab::AuthState::None, retry.timeout)
        .map_err(|e| GitHubError::transport(CALL, e))?;
    let path = format!("/app-manifests/{code}/conversions");
    let text = transport::send(
        &crab,
        // A code works once: never sent twice.
        RetryPolicy {
            attempts: 1,
            ..retry
        },
        None,
        Request {
            method: Method::POST,
            idempotent: false,
            ..Request::get(CALL, &path)
        },
    )
    .await?;
    let app: Conversion = serde_json::from_str(&text).map_err(|e| GitHubError::decode(CALL, e))?;
    let webhook_secret = app
        .webhook_secret
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            GitHubError::decode(CALL, Unexpected("the new App has no webhook secret"))
        })?;
    if let Err(e) = jsonwebtoken::EncodingKey::from_rsa_pem(app.pem.as_bytes()) {
        return Err(GitHubError::decode(CALL, NotRsaPem(e)));
    }
    Ok(Credentials {
        app_id: app.id,
        slug: app.slug.unwrap_or_default(),
        html_url: app.html_url,
        private_key: SecretString::from(app.pem),
        webhook_secret: SecretString::from(webhook_secret),
        deliveries: None,
    })
}

/// The key GitHub made for the new App cannot sign the App's tokens.
#[derive(Debug, thiserror::Error)]
#[error("the new App's key is not an RSA key in PEM")]
struct NotRsaPem(#[source] jsonwebtoken::errors::Error);
