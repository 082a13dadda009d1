//! How the service talks to the model: the settings the Responses API client is built from.
//! The `settings` room fills them in from the environment; this room owns their shape.

use std::time::Duration;

use secrecy::SecretString;

/// The model's settings: where the Responses API is, which model, and how long to wait.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// `OPENAI_API_KEY`.
    pub api_key: SecretString,
    /// `OPENAI_BASE_URL`, default `https://api.openai.com/v1`, without a trailing slash.
    pub base_url: String,
    /// `CODEX_REVIEW_MODEL`, default `gpt-5.1-codex`, passed to the API unchanged.
    pub model: String,
    /// `CODEX_REVIEW_REASONING_EFFORT`, default `medium`.
    pub reasoning_effort: String,
    /// `OPENAI_ORGANIZATION`, sent as `OpenAI-Organization` when set.
    pub organization: Option<String>,
    /// `OPENAI_PROJECT`, sent as `OpenAI-Project` when set.
    pub project: Option<String>,
    /// `CODEX_REVIEW_PROMPT_CACHE_RETENTION`: `24h` (default, extended prompt caching),
    /// `in_memory`, or `off` (the field is not sent).
    pub prompt_cache_retention: Option<String>,
    /// `CODEX_REVIEW_MAX_OUTPUT_TOKENS`, default 32,000 (doubled once for an answer cut short).
    pub max_output_tokens: u32,
    /// `CODEX_REVIEW_MODEL_TIMEOUT_SECS`: one request, default 600.
    pub timeout: Duration,
    /// `CODEX_REVIEW_MODEL_DEADLINE_SECS`: one call with its retries, default 1,200.
    pub deadline: Duration,
    /// `CODEX_REVIEW_PRICES`: USD per million tokens, `model=input/cached/output` entries
    /// separated by `;`, on top of the built-in table. `CODEX_REVIEW_MODEL` must have one.
    pub prices: super::PriceTable,
    /// `CODEX_REVIEW_STREAM`: ask for server-sent events (`stream: true`), which keeps long
    /// reasoning alive through proxies that cut idle connections. Default: false.
    pub stream: bool,
}
