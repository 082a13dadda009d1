//! `API_TOKENS`: the review API's bearer tokens, each optionally limited to repositories.
//!
//! Comma-separated entries, each `TOKEN` (any repository the App is installed on) or
//! `TOKEN:SCOPE SCOPE...`, where a scope is `owner/repo` or `owner/*` (matched without regard
//! to case, as GitHub names are):
//!
//! ```text
//! API_TOKENS="3f9c...e1, 8a7b...44:acme/web acme/api, 51d0...9c:acme-labs/*"
//! ```

use secrecy::SecretString;
use sha2::Digest as _;

use super::SettingsError;
use crate::ids::RepoName;

/// The shortest token taken.
const MIN_LEN: usize = 16;

/// One token of the review API.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub secret: SecretString,
    /// The repositories it may ask about; `None`: every one.
    pub scope: Option<Vec<RepoScope>>,
    /// A name for the token that does not reveal it (its SHA-256, cut): what its reviews
    /// belong to.
    pub id: String,
}

/// A repository a token may ask about: one (`owner/repo`) or an owner's (`owner/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoScope {
    Repo(String),
    Owner(String),
}

impl ApiToken {
    /// Whether the token may ask for reviews of `repo`.
    pub fn allows(&self, repo: &RepoName) -> bool {
        let Some(scope) = &self.scope else {
            return true;
        };
        let full = repo.as_str();
        let owner = full.split('/').next().unwrap_or_default();
        scope.iter().any(|s| match s {
            RepoScope::Repo(r) => r.eq_ignore_ascii_case(full),
            RepoScope::Owner(o) => o.eq_ignore_ascii_case(owner),
        })
    }

    /// The scope as written (`acme/web, acme/*`), for a refusal.
    pub fn describe_scope(&self) -> String {
        self.scope
            .iter()
            .flatten()
            .map(|s| match s {
                RepoScope::Repo(r) => r.clone(),
                RepoScope::Owner(o) => format!("{o}/*"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Reads `API_TOKENS`; the error names the entry's position, never the token.
pub fn parse(raw: &str) -> Result<Vec<ApiToken>, SettingsError> {
    let invalid = |reason: String| SettingsError::Invalid {
        var: "API_TOKENS",
        reason,
    };
    let mut tokens = Vec::new();
    for (n, entry) in raw.split(',').map(str::trim).enumerate() {
        let n = n + 1;
        let (secret, scope) = match entry.split_once(':') {
            Some((secret, scope)) => {
                let scopes = scope
                    .split_whitespace()
                    .map(|s| {
                        scope_of(s).ok_or_else(|| {
                            invalid(format!(
                                "token {n}: the scope “{s}” is not owner/repo or owner/*"
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if scopes.is_empty() {
                    return Err(invalid(format!(
                        "token {n}: a scope after “:” is needed (owner/repo or owner/*)"
                    )));
                }
                (secret.trim(), Some(scopes))
            }
            None => (entry, None),
        };
        if secret.len() < MIN_LEN {
            return Err(invalid(format!(
                "token {n} needs at least {MIN_LEN} characters (openssl rand -hex 32 makes one)"
            )));
        }
        let digest = sha2::Sha256::digest(secret.as_bytes());
        tokens.push(ApiToken {
            secret: SecretString::from(secret.to_owned()),
            scope,
            id: hex::encode(&digest[..12]),
        });
    }
    Ok(tokens)
}

fn scope_of(s: &str) -> Option<RepoScope> {
    match s.strip_suffix("/*") {
        Some(owner) => {
            RepoName::parse(&format!("{owner}/x")).map(|_| RepoScope::Owner(owner.to_owned()))
        }
        None => RepoName::parse(s).map(|r| RepoScope::Repo(r.as_str().to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    fn repo(s: &str) -> RepoName {
        RepoName::parse(s).unwrap()
    }

    #[test]
    fn tokens_may_be_limited_to_repositories_and_owners() {
        let tokens = parse(
            "0123456789abcdef, fedcba9876543210:acme/web Acme/API, 0000111122223333:acme-labs/*",
        )
        .unwrap();
        assert_eq!(tokens.len(), 3);
        assert!(tokens[0].allows(&repo("anyone/anything")));
        assert!(tokens[1].allows(&repo("acme/web")) && tokens[1].allows(&repo("ACME/api")));
        assert!(!tokens[1].allows(&repo("acme/webx")) && !tokens[1].allows(&repo("acme/db")));
        assert!(tokens[2].allows(&repo("acme-labs/x")) && !tokens[2].allows(&repo("acme/x")));
        assert_eq!(tokens[1].describe_scope(), "acme/web, Acme/API");
        assert_eq!(tokens[1].secret.expose_secret(), "fedcba9876543210");
        // Ids name tokens apart without showing them.
        assert_ne!(tokens[0].id, tokens[1].id);
        assert!(!tokens[0].id.contains("0123456789abcdef"));
    }

    #[test]
    fn a_bad_entry_is_named_without_its_token() {
        for (raw, says) in [
            ("short", "token 1 needs at least 16"),
            (
                "0123456789abcdef, fedcba9876543210:acme",
                "token 2: the scope “acme”",
            ),
            ("0123456789abcdef:", "token 1: a scope"),
            ("0123456789abcdef:a/b c/../*", "token 1: the scope “c/../*”"),
        ] {
            let err = parse(raw).unwrap_err().to_string();
            assert!(err.contains(says), "{raw}: {err}");
            assert!(!err.contains("0123456789abcdef"), "{err}");
        }
    }
}
