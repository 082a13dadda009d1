//! How much one review may ask of the model, and how much this process runs at once (the
//! settings fill it in from the environment).

/// How much one review may ask of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `CODEX_REVIEW_CHUNK_TOKENS`: estimated tokens of diff per model call, default 60,000.
    pub chunk_tokens: usize,
    /// `CODEX_REVIEW_MAX_CALLS`: model calls per review at most, default 8.
    pub max_calls: usize,
    /// `CODEX_REVIEW_MODEL_CONCURRENCY`: model calls in flight in this process, default 4.
    pub model_concurrency: usize,
    /// `CODEX_REVIEW_WORKERS`: review jobs run at once by this process, default 4.
    pub workers: usize,
    /// `CODEX_REVIEW_INSTALLATION_CONCURRENCY`: jobs of one installation running at once
    /// across all replicas, default 2 (one busy organisation does not starve the others).
    pub per_installation: usize,
}

impl Limits {
    /// Tokens kept free in each call for the instructions and the PR's title and description.
    const PROMPT_OVERHEAD_TOKENS: usize = 4_000;

    /// Estimated tokens of diff per model call: the chunk budget less what the prompt itself
    /// takes, and never under 1,000 (a small `CODEX_REVIEW_CHUNK_TOKENS` does not underflow).
    pub fn diff_tokens_per_call(&self) -> usize {
        self.chunk_tokens
            .saturating_sub(Self::PROMPT_OVERHEAD_TOKENS)
            .max(1_000)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            chunk_tokens: 60_000,
            max_calls: 8,
            model_concurrency: 4,
            workers: 4,
            per_installation: 2,
        }
    }
}
