//! Why a model call failed ([`ModelError`]), and the helpers that read an answer that is no
//! turn: the API's error body, `retry-after`, a transport failure.

use std::time::Duration;

use serde::Deserialize;

use super::usage::Usage;

/// Why a call produced no review. The `Display` text is written for the PR comment.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model API answered {status}: {message}")]
    Api {
        status: u16,
        code: Option<String>,
        message: String,
    },
    #[error("the model API's quota is exhausted (insufficient_quota): {message}")]
    QuotaExhausted { message: String },
    #[error("the model API could not be reached")]
    Transport(#[source] Unreached),
    #[error(
        "the model API could not be reached: no answer within the call's deadline of {seconds} s"
    )]
    Deadline { seconds: u64 },
    #[error("the model stopped before finishing its answer ({reason})")]
    Incomplete {
        reason: String,
        /// What the cut-short answer used (billed all the same).
        usage: Usage,
    },
    #[error("the model declined to review: {0}")]
    Refused(String),
    #[error("the model's answer was not a valid review")]
    InvalidOutput(#[source] Invalid),
    #[error("the model run failed: {0}")]
    Failed(String),
    /// A replayed request that matches no recording (see [`super::cassette`]).
    #[error("the recording does not answer this request")]
    Stale(#[source] super::cassette::Stale),
}

/// Why no whole answer came back.
#[derive(Debug, thiserror::Error)]
pub enum Unreached {
    /// The request failed: no connection, a timeout, a body cut short (the URL left out).
    #[error(transparent)]
    Http(reqwest::Error),
    #[error("the event stream ended before the response did")]
    StreamEnded,
}

/// What is wrong with an answer that came back whole.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    #[error("the response is not readable")]
    Response(#[source] serde_json::Error),
    #[error("a message is not readable")]
    Message(#[source] serde_json::Error),
    #[error("a function call is not readable")]
    FunctionCall(#[source] serde_json::Error),
    #[error("the answer holds no text")]
    NoText,
    #[error("not JSON of the answer's schema")]
    Schema(#[source] serde_json::Error),
    #[error("the model called a tool when none could be called")]
    ToolCallWithoutTools,
}

impl ModelError {
    /// Worth another attempt later (rate limits, server errors, network trouble).
    pub fn is_transient(&self) -> bool {
        match self {
            ModelError::Api { status, .. } => *status == 429 || *status >= 500,
            ModelError::Transport(_) | ModelError::Deadline { .. } => true,
            _ => false,
        }
    }

    /// A failure a conversation with tools can cause and one without may avoid: its
    /// deadline, an answer cut short or an input too long as the conversation grew, a tool
    /// call when none could be made.
    pub fn may_pass_without_tools(&self) -> bool {
        match self {
            ModelError::Deadline { .. } | ModelError::Incomplete { .. } => true,
            ModelError::Api { code, .. } => code.as_deref() == Some("context_length_exceeded"),
            ModelError::InvalidOutput(Invalid::ToolCallWithoutTools) => true,
            _ => false,
        }
    }
}

/// `retry-after-ms` (OpenAI) or `retry-after` in seconds.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let read = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    if let Some(ms) = read("retry-after-ms").filter(|ms| ms.is_finite() && *ms >= 0.0) {
        return Some(Duration::from_millis(ms as u64));
    }
    read("retry-after")
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

pub(crate) fn api_error(status: u16, body: &str) -> ModelError {
    #[derive(Deserialize)]
    struct Envelope {
        error: Option<ApiError>,
    }
    #[derive(Deserialize)]
    struct ApiError {
        message: Option<String>,
        code: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let error = serde_json::from_str::<Envelope>(body)
        .ok()
        .and_then(|e| e.error);
    let message = error
        .as_ref()
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| "no error message".into());
    let message = truncate(&message, 500);
    let code = error
        .as_ref()
        .and_then(|e| e.code.clone().or_else(|| e.kind.clone()));
    if code.as_deref() == Some("insufficient_quota") {
        return ModelError::QuotaExhausted { message };
    }
    ModelError::Api {
        status,
        code,
        message,
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_headers_are_read() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        h.clear();
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn a_failure_keeps_its_cause_and_tells_it_once() {
        use crate::error_chain::chain;
        let json = serde_json::from_str::<u64>("x").unwrap_err();
        let said = json.to_string();
        let e = ModelError::InvalidOutput(Invalid::Schema(json));
        let source = std::error::Error::source(&e).expect("the cause is kept");
        assert!(std::error::Error::source(source).is_some(), "and its own");
        assert!(!e.to_string().contains(&said), "{e}");
        assert_eq!(
            chain(&e),
            format!(
                "the model's answer was not a valid review: not JSON of the answer's schema: {said}"
            )
        );
        let e = ModelError::Transport(Unreached::StreamEnded);
        assert!(e.is_transient());
        assert_eq!(
            chain(&e),
            "the model API could not be reached: the event stream ended before the response did"
        );
        assert!(ModelError::InvalidOutput(Invalid::ToolCallWithoutTools).may_pass_without_tools());
        assert!(!ModelError::InvalidOutput(Invalid::NoText).may_pass_without_tools());
    }

    #[tokio::test]
    async fn a_transport_failure_tells_its_cause_without_the_url() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let closed = "http://127.0.0.1:1/v1/responses?secret=s3cr3t";
        let failed = reqwest::Client::new().get(closed).send().await.unwrap_err();
        assert!(failed.to_string().contains("s3cr3t"), "{failed}");
        let e = ModelError::Transport(Unreached::Http(failed.without_url()));
        let text = crate::error_chain::chain(&e);
        assert!(
            text.starts_with("the model API could not be reached: error sending request"),
            "{text}"
        );
        assert!(
            !text.contains("s3cr3t") && !text.contains("127.0.0.1"),
            "{text}"
        );
    }

    #[test]
    fn quota_errors_are_told_apart() {
        let e = api_error(
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        );
        assert!(matches!(e, ModelError::QuotaExhausted { .. }));
        assert!(!e.is_transient());
        let e = api_error(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
        );
        assert!(e.is_transient());
        assert!(!api_error(400, "{}").is_transient());
    }
}
