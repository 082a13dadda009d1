//! Newtypes for the identities the app passes around, so the compiler keeps them apart.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RepoName(String);

impl RepoName {
    /// Accepts `owner/name` where both parts are non-empty and made of the characters GitHub
    /// allows in logins and repository names. Anything else is refused, so a repo name can be
    /// put into a URL path without escaping.
    pub fn parse(full_name: &str) -> Option<Self> {
        let (owner, name) = full_name.split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        (ok(owner) && ok(name)).then(|| Self(full_name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! number_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

number_id!(
    /// A pull request's number in its repository.
    PrNumber
);
number_id!(
    /// A GitHub App installation.
    InstallationId
);
number_id!(
    /// An issue comment (the `@codex review` trigger).
    CommentId
);
number_id!(
    /// A row of the jobs table.
    JobId
);

/// A full 40-hex commit SHA.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitSha(String);

impl CommitSha {
    pub fn parse(sha: &str) -> Option<Self> {
        (sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(sha.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 characters, as GitHub shows them.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `X-GitHub-Delivery` header: a GUID, the same on a manual redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(String);

impl DeliveryId {
    /// GitHub sends a GUID; anything printable up to 100 characters is kept so that odd
    /// proxies do not lose deliveries, but control characters and empty values are refused.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        (!raw.is_empty() && raw.len() <= 100 && raw.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `bytes` random bytes from the operating system's generator, in hex: ids and one-time keys
/// that must not be guessed. There is no weaker fallback: when the system cannot give random
/// bytes, the caller refuses to hand out a secret.
pub fn random_hex(bytes: usize) -> Result<String, NoRandomness> {
    random_hex_from(bytes, |buf| {
        getrandom::fill(buf).map_err(|e| Getrandom(e).into())
    })
}

/// getrandom's error as an error of the standard library (getrandom's own `std` feature is
/// not turned on).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Getrandom(getrandom::Error);

fn random_hex_from(
    bytes: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
) -> Result<String, NoRandomness> {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf).map_err(NoRandomness)?;
    Ok(hex::encode(buf))
}

/// The operating system's random generator failed: no secret can be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random generator failed, so no secret can be made")]
pub struct NoRandomness(#[source] Box<dyn std::error::Error + Send + Sync>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_checked() {
        assert!(RepoName::parse("octo-org/hello.world_1").is_some());
        assert!(RepoName::parse("octo").is_none());
        assert!(RepoName::parse("octo/../x").is_none());
        assert!(RepoName::parse("octo/..").is_none());
        assert!(RepoName::parse("/x").is_none());
        assert!(RepoName::parse("a/b?c").is_none());
    }

    #[test]
    fn a_secret_is_refused_when_the_system_has_no_randomness() {
        let made = random_hex(16).unwrap();
        assert_eq!(made.len(), 32);
        assert_ne!(made, random_hex(16).unwrap());
        let failed = random_hex_from(16, |_| Err("no entropy".into())).unwrap_err();
        assert!(std::error::Error::source(&failed).is_some());
        assert!(!failed.to_string().contains("no entropy"), "{failed}");
        let said = crate::error_chain::chain(&failed);
        assert!(said.contains("no entropy"), "{said}");
    }

    #[test]
    fn commit_shas_are_40_hex() {
        let sha = CommitSha::parse("ABCDEF0123456789abcdef0123456789abcdef01").unwrap();
        assert_eq!(sha.as_str(), "abcdef0123456789abcdef0123456789abcdef01");
        assert_eq!(sha.short(), "abcdef0");
        assert!(CommitSha::parse("abc").is_none());
        assert!(CommitSha::parse("zzcdef0123456789abcdef0123456789abcdef01").is_none());
    }
}
