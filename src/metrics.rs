//! The app's metrics, served at `/metrics` in the Prometheus text format (0.0.4) by the
//! `prometheus-client` crate: counters, histograms an operator reads p50 and p95 from, and
//! gauges read at each scrape.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of what [`Metrics::render`] returns.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every metric's name starts with this (and `_`).
pub const PREFIX: &str = "codex_review";

/// One label: its name and value.
type Label = (&'static str, &'static str);
type Counters1 = Family<[Label; 1], Counter>;
type Counters2 = Family<[Label; 2], Counter>;
type Histograms1 = Family<[Label; 1], Histogram, fn() -> Histogram>;

/// Upper bounds, in seconds, of each histogram's buckets: fine where the usual values are, so
/// that p50 and p95 fall between close bounds.
pub mod buckets {
    /// A review job from its claim to its end: seconds to many minutes.
    pub const REVIEW: [f64; 14] = [
        1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 1200.0,
    ];
    /// One request to the model: a second to minutes (reasoning models think).
    pub const MODEL: [f64; 12] = [
        0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    ];
    /// One GitHub request: tens of milliseconds to seconds (an archive download).
    pub const GITHUB: [f64; 11] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
    /// From a job being due to a worker claiming it.
    pub const QUEUE: [f64; 14] = [
        0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
    ];
    /// From a command's delivery being stored to its 👀: the promise is within a second.
    pub const ACK: [f64; 11] = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0];
}

/// The app's metrics; shared through an `Arc`.
pub struct Metrics {
    registry: Registry,
    signature_failures: Counter,
    redeliveries: Counter,
    /// Pull mode: passes over the App's delivery log, deliveries taken from it, reads that
    /// failed (tried again later) and reads given up on.
    pull_polls: Counter,
    pull_deliveries: Counter,
    pull_read_failures: Counter,
    pull_given_up: Counter,
    /// Seconds from GitHub logging the newest delivery taken to the service taking it.
    pull_lag_seconds: Gauge,
    /// By event (owned: it comes from the delivery, folded to `other` when unusual) and outcome.
    deliveries: Family<[(&'static str, String); 2], Counter>,
    reviews: Counters1,
    tokens: Counters1,
    /// Estimated model spend, in billionths of a USD (served in dollars).
    cost_nano_usd: AtomicU64,
    github_calls: Counters2,
    model_calls: Counters1,
    tool_calls: Counters2,
    snapshots: Counters1,
    pruned: Counters1,
    review_duration: Histogram,
    model_call_duration: Histogram,
    github_call_duration: Histograms1,
    queue_wait: Histogram,
    ack_latency: Histogram,
    /// Repository caps (`spend.*`) seen in configurations: `(repo, installation)` to
    /// `(daily, monthly)` dollars.
    repo_caps: Mutex<RepoCaps>,
}

/// `(repo, installation)` to `(daily, monthly)` dollars.
type RepoCaps = BTreeMap<(String, i64), (Option<f64>, Option<f64>)>;

/// Repositories with caps remembered at most (a bound on what configurations can grow).
const MAX_REPO_CAPS: usize = 1_000;

/// GitHub's last `x-ratelimit-remaining`, for `/metrics` (one process talks to one GitHub).
static RATE_LIMIT_REMAINING: AtomicU64 = AtomicU64::new(u64::MAX);

/// Records GitHub's remaining request budget from a response header.
pub fn note_rate_limit_remaining(remaining: u64) {
    RATE_LIMIT_REMAINING.store(remaining, Ordering::Relaxed);
}

fn github_histogram() -> Histogram {
    Histogram::new(buckets::GITHUB)
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix(PREFIX),
            signature_failures: Counter::default(),
            redeliveries: Counter::default(),
            pull_polls: Counter::default(),
            pull_deliveries: Counter::default(),
            pull_read_failures: Counter::default(),
            pull_given_up: Counter::default(),
            pull_lag_seconds: Gauge::default(),
            deliveries: Family::default(),
            reviews: Family::default(),
            tokens: Family::default(),
            cost_nano_usd: AtomicU64::new(0),
            github_calls: Family::default(),
            model_calls: Family::default(),
            tool_calls: Family::default(),
            snapshots: Family::default(),
            pruned: Family::default(),
            review_duration: Histogram::new(buckets::REVIEW),
            model_call_duration: Histogram::new(buckets::MODEL),
            github_call_duration: Family::new_with_constructor(github_histogram),
            queue_wait: Histogram::new(buckets::QUEUE),
            ack_latency: Histogram::new(buckets::ACK),
            repo_caps: Mutex::default(),
        };
        m.register();
        // Both tables' rows from the start, at 0.
        m.pruned(0, 0);
        m
    }
}

impl Metrics {
    /// Registers every metric under its name (the prefix and, for counters, `_total` are the
    /// encoder's; the encoder ends each help with a full stop).
    fn register(&mut self) {
        let r = &mut self.registry;
        for (name, help, counter) in [
            (
                "webhook_signature_failures",
                "Deliveries refused for a missing or wrong signature",
                &self.signature_failures,
            ),
            (
                "redeliveries",
                "Missed webhook deliveries GitHub was asked to deliver again",
                &self.redeliveries,
            ),
            (
                "pull_polls",
                "Passes over the App's delivery log (pull mode)",
                &self.pull_polls,
            ),
            (
                "pull_deliveries",
                "Deliveries taken from the App's delivery log (pull mode)",
                &self.pull_deliveries,
            ),
            (
                "pull_read_failures",
                "Reads of a listed delivery that failed and are tried again (pull mode)",
                &self.pull_read_failures,
            ),
            (
                "pull_given_up",
                "Listed deliveries given up on after repeated failed reads (pull mode)",
                &self.pull_given_up,
            ),
        ] {
            r.register(name, help, counter.clone());
        }
        r.register(
            "pull_lag_seconds",
            "Seconds from GitHub logging the newest delivery taken to the service taking it",
            self.pull_lag_seconds.clone(),
        );
        r.register(
            "webhook_deliveries",
            "Correctly signed deliveries by event and outcome",
            self.deliveries.clone(),
        );
        for (name, help, family) in [
            ("reviews", "Review jobs by how they ended", &self.reviews),
            ("model_tokens", "Model tokens by kind", &self.tokens),
            ("model_calls", "Model calls by outcome", &self.model_calls),
            (
                "snapshots",
                "Repository snapshots by how a review got one",
                &self.snapshots,
            ),
            (
                "pruned",
                "Rows deleted after the retention period",
                &self.pruned,
            ),
        ] {
            r.register(name, help, family.clone());
        }
        r.register(
            "tool_calls",
            "Tool calls of the model by tool and outcome",
            self.tool_calls.clone(),
        );
        r.register(
            "github_calls",
            "GitHub API calls by call and status",
            self.github_calls.clone(),
        );
        self.register_histograms();
    }

    fn register_histograms(&mut self) {
        let r = &mut self.registry;
        for (name, help, histogram) in [
            (
                "review_duration_seconds",
                "Time review jobs ran, from their claim to their end",
                &self.review_duration,
            ),
            (
                "model_call_duration_seconds",
                "Time one request to the model took, from sending it to its whole answer",
                &self.model_call_duration,
            ),
            (
                "queue_wait_seconds",
                "Time a job waited from being due to a worker claiming it",
                &self.queue_wait,
            ),
            (
                "ack_latency_seconds",
                "Time from a command's delivery being stored to its eyes reaction",
                &self.ack_latency,
            ),
        ] {
            r.register(name, help, histogram.clone());
        }
        r.register(
            "github_call_duration_seconds",
            "Time one GitHub request took (each retry apart), by call",
            self.github_call_duration.clone(),
        );
    }

    /// Notes the caps `repo` sets for itself (none: forgotten), for `/metrics` and `/status`.
    pub fn note_repo_caps(
        &self,
        repo: &str,
        installation: i64,
        daily: Option<f64>,
        monthly: Option<f64>,
    ) {
        let mut caps = self.repo_caps.lock().unwrap_or_else(|p| p.into_inner());
        let key = (repo.to_owned(), installation);
        if daily.is_none() && monthly.is_none() {
            caps.remove(&key);
        } else if caps.len() < MAX_REPO_CAPS || caps.contains_key(&key) {
            caps.insert(key, (daily, monthly));
        }
    }

    /// The repository caps seen: `(repo, installation, daily, monthly)`.
    pub fn repo_caps(&self) -> Vec<(String, i64, Option<f64>, Option<f64>)> {
        let caps = self.repo_caps.lock().unwrap_or_else(|p| p.into_inner());
        caps.iter()
            .map(|((repo, inst), (d, m))| (repo.clone(), *inst, *d, *m))
            .collect()
    }

    pub fn signature_failure(&self) {
        self.signature_failures.inc();
    }

    /// A correctly signed delivery of `event` that was `queued`, `ignored` or `duplicate`.
    pub fn delivery(&self, event: &str, outcome: &'static str) {
        // Unknown event names are folded so a sender cannot grow the family without bound.
        let event =
            if event.len() <= 40 && event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                event
            } else {
                "other"
            };
        self.deliveries
            .get_or_create(&[("event", event.to_owned()), ("outcome", outcome.to_owned())])
            .inc();
    }

    /// A review job that ended as `posted`, `already_posted`, `skipped` or `failed`.
    pub fn review(&self, outcome: &'static str) {
        self.reviews.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// Tokens of one answer, by kind: `input`, `cached`, `output`, `reasoning`.
    pub fn tokens(&self, by_kind: [(&'static str, u64); 4]) {
        for (kind, n) in by_kind {
            self.tokens.get_or_create(&[("kind", kind)]).inc_by(n);
        }
    }

    /// A GitHub call named `call` that ended with `status` (`2xx`, `4xx`, `5xx`,
    /// `rate_limited`, `error`) after `took`.
    pub fn github_call(&self, call: &'static str, status: &'static str, took: Duration) {
        self.github_calls
            .get_or_create(&[("call", call), ("status", status)])
            .inc();
        self.github_call_duration
            .get_or_create(&[("call", call)])
            .observe(took.as_secs_f64());
    }

    /// A model call that ended `ok` or `error`.
    pub fn model_call(&self, outcome: &'static str) {
        self.model_calls
            .get_or_create(&[("outcome", outcome)])
            .inc();
    }

    /// How long one request to the model took (answered or not).
    pub fn model_call_took(&self, took: Duration) {
        self.model_call_duration.observe(took.as_secs_f64());
    }

    /// A tool call of the model, answered (`ok`) or refused.
    pub fn tool_call(&self, tool: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.tool_calls
            .get_or_create(&[("tool", tool), ("outcome", outcome)])
            .inc();
    }

    /// How a review got its repository snapshot: `made`, `reused`, `too_large` (the contents
    /// API instead), `failed`.
    pub fn snapshot(&self, outcome: &'static str) {
        self.snapshots.get_or_create(&[("outcome", outcome)]).inc();
    }

    /// Missed deliveries GitHub was asked to deliver again.
    pub fn redelivered(&self, n: u64) {
        self.redeliveries.inc_by(n);
    }

    /// One pass over the delivery log (pull mode) that took `taken` deliveries, the newest
    /// `lag_seconds` after GitHub logged it.
    pub fn pulled(&self, taken: u64, lag_seconds: Option<u64>) {
        self.pull_polls.inc();
        self.pull_deliveries.inc_by(taken);
        if let Some(lag) = lag_seconds {
            self.pull_lag_seconds
                .set(i64::try_from(lag).unwrap_or(i64::MAX));
        }
    }

    /// A delivery of the log that could not be read (`gave_up`: not tried again).
    pub fn pull_read_failed(&self, gave_up: bool) {
        self.pull_read_failures.inc();
        if gave_up {
            self.pull_given_up.inc();
        }
    }

    /// Rows deleted by the retention.
    pub fn pruned(&self, jobs: u64, deliveries: u64) {
        self.pruned.get_or_create(&[("table", "jobs")]).inc_by(jobs);
        self.pruned
            .get_or_create(&[("table", "deliveries")])
            .inc_by(deliveries);
    }

    /// How long one review job ran.
    pub fn review_duration(&self, took: Duration) {
        self.review_duration.observe(took.as_secs_f64());
    }

    /// How long a job waited for a worker once due.
    pub fn queue_wait(&self, waited: Duration) {
        self.queue_wait.observe(waited.as_secs_f64());
    }

    /// How long a command waited for its 👀 from its delivery being stored.
    pub fn ack_latency(&self, took: Duration) {
        self.ack_latency.observe(took.as_secs_f64());
    }

    /// Adds a model answer's estimated cost, in USD billionths (nothing without a price).
    pub fn cost_nanos(&self, nanos: Option<i64>) {
        if let Some(nanos) = nanos.and_then(|n| u64::try_from(n).ok()) {
            self.cost_nano_usd.fetch_add(nanos, Ordering::Relaxed);
        }
    }

    /// The text served at `/metrics`; `jobs` are the live job counts (queued, running) and
    /// `oldest_queued` the age of the oldest job waiting.
    pub fn render(&self, jobs: &[(&str, i64)], oldest_queued: Duration) -> String {
        let mut s = String::new();
        // Writing to a `String` does not fail.
        let _ = prometheus_text::encode(&mut s, &self.registry);
        // What is read at each scrape, from the database and the last GitHub answer.
        let mut live = Registry::with_prefix(PREFIX);
        // To the millionth of a dollar, as before the encoder was a library's.
        let usd = (self.cost_nano_usd.load(Ordering::Relaxed) as f64 / 1e3).round() / 1e6;
        live.register(
            "model_cost_usd",
            "Estimated model spend from the price table",
            ConstCounter::new(usd),
        );
        let remaining = RATE_LIMIT_REMAINING.load(Ordering::Relaxed);
        if remaining != u64::MAX {
            live.register(
                "github_rate_limit_remaining",
                "GitHub's last x-ratelimit-remaining",
                ConstGauge::new(i64::try_from(remaining).unwrap_or(i64::MAX)),
            );
        }
        let states: Family<[(&'static str, String); 1], Gauge> = Family::default();
        for (state, n) in jobs {
            states
                .get_or_create(&[("state", (*state).to_owned())])
                .set(*n);
        }
        live.register("jobs", "Jobs queued and running", states);
        live.register(
            "oldest_queued_job_age_seconds",
            "Age of the oldest queued job",
            ConstGauge::new(oldest_queued.as_secs_f64()),
        );
        let _ = prometheus_text::encode(&mut s, &live);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_their_buckets() {
        let m = Metrics::default();
        m.review_duration(Duration::from_secs(7));
        m.github_call("get pull request", "2xx", Duration::from_millis(40));
        m.github_call("get pull request", "2xx", Duration::from_millis(400));
        let text = m.render(&[("queued", 0)], Duration::ZERO);
        for line in [
            "codex_review_review_duration_seconds_bucket{le=\"5\"} 0\n",
            "codex_review_review_duration_seconds_bucket{le=\"10\"} 1\n",
            "codex_review_review_duration_seconds_count 1\n",
            "codex_review_github_call_duration_seconds_bucket{call=\"get pull request\",le=\"0.05\"} 1\n",
            "codex_review_github_call_duration_seconds_bucket{call=\"get pull request\",le=\"0.5\"} 2\n",
            "codex_review_github_calls_total{call=\"get pull request\",status=\"2xx\"} 2\n",
            "codex_review_jobs{state=\"queued\"} 0\n",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }
}
