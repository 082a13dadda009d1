//! Retrying transient failures, the same way for both clients (GitHub's and the model's):
//! how often and how patiently, and the backoff between attempts.

use std::time::Duration;

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Backoff before the second attempt; doubled each time, with jitter.
    pub base_delay: Duration,
    /// No single wait is longer, whatever `retry-after` says.
    pub max_delay: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(600),
        }
    }
}

/// Exponential backoff with full jitter in [delay/2, delay].
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let delay = base.saturating_mul(1u32 << (attempt - 1).min(10));
    let half = delay / 2;
    half + Duration::from_millis(fastrand::u64(..=half.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_jittered() {
        let base = Duration::from_millis(100);
        for attempt in 1..5 {
            let d = backoff(base, attempt);
            let full = base * (1 << (attempt - 1));
            assert!(d >= full / 2 && d <= full, "{d:?}");
        }
    }
}
