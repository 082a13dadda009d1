//! Why a GitHub call failed: the error every call of the `github` room returns.

use std::sync::Arc;

/// A failed GitHub call. Its text tells what failed and keeps the underlying error as its
/// source, for [`chain`](crate::error_chain::chain) to tell once; both are safe for a PR
/// comment and for logs (the HTTP stack leaves request URLs out of its errors).
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub answered {status} to {call}: {message}")]
    Api {
        call: &'static str,
        status: u16,
        message: String,
        /// Rate limited (primary or secondary).
        rate_limited: bool,
        /// For a rate limit whose reset is further away than the call's retry window: how
        /// long until GitHub takes calls again (the job waits that long, not its retries).
        retry_in: Option<std::time::Duration>,
    },
    /// No answer came: the network, the HTTP stack, or a client that could not be built.
    #[error("GitHub could not be reached for {call}")]
    Transport {
        call: &'static str,
        #[source]
        source: Cause,
    },
    /// An answer came that the call cannot read.
    #[error("GitHub sent an unexpected answer to {call}")]
    Decode {
        call: &'static str,
        #[source]
        source: Cause,
    },
}

/// The underlying error of a failed call, shared by the error's clones.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// What is wrong with an answer GitHub sent that reads well but is not what the call expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unexpected(pub &'static str);

impl GitHubError {
    /// `call` got no answer, because of `cause`.
    pub fn transport(
        call: &'static str,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        GitHubError::Transport {
            call,
            source: Arc::from(cause.into()),
        }
    }

    /// `call`'s answer cannot be read, because of `cause`.
    pub fn decode(
        call: &'static str,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        GitHubError::Decode {
            call,
            source: Arc::from(cause.into()),
        }
    }

    /// Worth retrying later: server errors, rate limits and network trouble.
    pub fn is_transient(&self) -> bool {
        match self {
            GitHubError::Api {
                status,
                rate_limited,
                ..
            } => *rate_limited || *status >= 500,
            GitHubError::Transport { .. } => true,
            GitHubError::Decode { .. } => false,
        }
    }

    /// How long to wait before calling again, for a rate limit that outlasts the retries.
    pub fn retry_in(&self) -> Option<std::time::Duration> {
        match self {
            GitHubError::Api { retry_in, .. } => *retry_in,
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_keeps_its_cause_and_tells_it_once() {
        use crate::error_chain::chain;
        let cause = serde_json::from_str::<u64>("x").unwrap_err();
        let said = cause.to_string();
        let e = GitHubError::decode("get pull request", cause);
        let source = std::error::Error::source(&e).expect("the cause is kept");
        assert_eq!(source.to_string(), said);
        assert!(!e.to_string().contains(&said), "{e}");
        assert_eq!(
            chain(&e.clone()),
            format!("GitHub sent an unexpected answer to get pull request: {said}")
        );

        let refused = std::io::Error::other("connection refused");
        let e = GitHubError::transport("get pull request", refused);
        assert!(e.is_transient());
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            e.to_string(),
            "GitHub could not be reached for get pull request"
        );
        assert_eq!(
            chain(&e),
            "GitHub could not be reached for get pull request: connection refused"
        );
    }
}
