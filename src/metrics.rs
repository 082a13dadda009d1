//! Counters served at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The app's counters; shared through an `Arc`.
#[derive(Default)]
pub struct Metrics {
    signature_failures: AtomicU64,
    deliveries: Mutex<BTreeMap<(String, &'static str), u64>>,
    reviews: Mutex<BTreeMap<&'static str, u64>>,
    tokens: Mutex<BTreeMap<&'static str, u64>>,
    /// Estimated model spend, in millionths of a USD.
    cost_micro_usd: AtomicU64,
}

impl Metrics {
    pub fn signature_failure(&self) {
        self.signature_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A correctly signed delivery of `event` that was `queued`, `ignored` or `duplicate`.
    pub fn delivery(&self, event: &str, outcome: &'static str) {
        // Unknown event names are folded so a sender cannot grow the map without bound.
        let event =
            if event.len() <= 40 && event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                event
            } else {
                "other"
            };
        let mut map = self.deliveries.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((event.to_owned(), outcome)).or_default() += 1;
    }

    /// A review job that ended as `posted`, `already_posted`, `skipped` or `failed`.
    pub fn review(&self, outcome: &'static str) {
        let mut map = self.reviews.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(outcome).or_default() += 1;
    }

    pub fn tokens(&self, usage: crate::model::Usage) {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry("input").or_default() += usage.input_tokens;
        *map.entry("cached").or_default() += usage.cached_tokens;
        *map.entry("output").or_default() += usage.output_tokens;
        *map.entry("reasoning").or_default() += usage.reasoning_tokens;
    }

    /// Adds a review's estimated cost (nothing when the price is unknown).
    pub fn cost(&self, usd: Option<f64>) {
        if let Some(usd) = usd.filter(|u| u.is_finite() && *u >= 0.0) {
            self.cost_micro_usd
                .fetch_add((usd * 1_000_000.0).round() as u64, Ordering::Relaxed);
        }
    }

    /// The text served at `/metrics`; `jobs` are the job counts per state.
    pub fn render(&self, jobs: &[(String, i64)]) -> String {
        let mut s = String::new();
        s.push_str("# HELP codex_review_webhook_signature_failures_total Deliveries refused for a missing or wrong signature.\n");
        s.push_str("# TYPE codex_review_webhook_signature_failures_total counter\n");
        let _ = writeln!(
            s,
            "codex_review_webhook_signature_failures_total {}",
            self.signature_failures.load(Ordering::Relaxed)
        );
        s.push_str("# HELP codex_review_webhook_deliveries_total Correctly signed deliveries by event and outcome.\n");
        s.push_str("# TYPE codex_review_webhook_deliveries_total counter\n");
        for ((event, outcome), n) in self
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                s,
                "codex_review_webhook_deliveries_total{{event=\"{event}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        s.push_str("# HELP codex_review_reviews_total Review jobs by how they ended.\n");
        s.push_str("# TYPE codex_review_reviews_total counter\n");
        for (outcome, n) in self
            .reviews
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(s, "codex_review_reviews_total{{outcome=\"{outcome}\"}} {n}");
        }
        s.push_str("# HELP codex_review_model_tokens_total Model tokens by kind.\n");
        s.push_str("# TYPE codex_review_model_tokens_total counter\n");
        for (kind, n) in self.tokens.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(s, "codex_review_model_tokens_total{{kind=\"{kind}\"}} {n}");
        }
        s.push_str("# HELP codex_review_model_cost_usd_total Estimated model spend from the price table.\n");
        s.push_str("# TYPE codex_review_model_cost_usd_total counter\n");
        let _ = writeln!(
            s,
            "codex_review_model_cost_usd_total {:.6}",
            self.cost_micro_usd.load(Ordering::Relaxed) as f64 / 1_000_000.0
        );
        s.push_str("# HELP codex_review_jobs Jobs in the database by state.\n");
        s.push_str("# TYPE codex_review_jobs gauge\n");
        for (state, n) in jobs {
            let _ = writeln!(s, "codex_review_jobs{{state=\"{state}\"}} {n}");
        }
        s
    }
}
