//! Counters served at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The app's counters; shared through an `Arc`.
#[derive(Default)]
pub struct Metrics {
    signature_failures: AtomicU64,
    redeliveries: AtomicU64,
    /// Pull mode: passes over the App's delivery log, deliveries taken from it, reads that
    /// failed (tried again later) and reads given up on.
    pull_polls: AtomicU64,
    pull_deliveries: AtomicU64,
    pull_read_failures: AtomicU64,
    pull_given_up: AtomicU64,
    /// Seconds from GitHub logging the newest delivery taken to the service taking it.
    pull_lag_seconds: AtomicU64,
    deliveries: Mutex<BTreeMap<(String, &'static str), u64>>,
    reviews: Mutex<BTreeMap<&'static str, u64>>,
    tokens: Mutex<BTreeMap<&'static str, u64>>,
    /// Estimated model spend, in billionths of a USD.
    cost_nano_usd: AtomicU64,
    github_calls: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    model_calls: Mutex<BTreeMap<&'static str, u64>>,
    tool_calls: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    snapshots: Mutex<BTreeMap<&'static str, u64>>,
    /// Review jobs' run time: count and sum in milliseconds.
    review_count: AtomicU64,
    review_millis: AtomicU64,
    pruned_jobs: AtomicU64,
    pruned_deliveries: AtomicU64,
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

impl Metrics {
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

    /// A GitHub call named `call` that ended with `status` (`2xx`, `4xx`, `5xx`,
    /// `rate_limited`, `error`).
    pub fn github_call(&self, call: &'static str, status: &'static str) {
        let mut map = self.github_calls.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((call, status)).or_default() += 1;
    }

    /// A model call that ended `ok` or `error`.
    pub fn model_call(&self, outcome: &'static str) {
        let mut map = self.model_calls.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(outcome).or_default() += 1;
    }

    /// A tool call of the model, answered (`ok`) or refused.
    pub fn tool_call(&self, tool: &'static str, ok: bool) {
        let mut map = self.tool_calls.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((tool, if ok { "ok" } else { "error" }))
            .or_default() += 1;
    }

    /// How a review got its repository snapshot: `made`, `reused`, `too_large` (the contents
    /// API instead), `failed`.
    pub fn snapshot(&self, outcome: &'static str) {
        let mut map = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(outcome).or_default() += 1;
    }

    /// Missed deliveries GitHub was asked to deliver again.
    pub fn redelivered(&self, n: u64) {
        self.redeliveries.fetch_add(n, Ordering::Relaxed);
    }

    /// One pass over the delivery log (pull mode) that took `taken` deliveries, the newest
    /// `lag_seconds` after GitHub logged it.
    pub fn pulled(&self, taken: u64, lag_seconds: Option<u64>) {
        self.pull_polls.fetch_add(1, Ordering::Relaxed);
        self.pull_deliveries.fetch_add(taken, Ordering::Relaxed);
        if let Some(lag) = lag_seconds {
            self.pull_lag_seconds.store(lag, Ordering::Relaxed);
        }
    }

    /// A delivery of the log that could not be read (`gave_up`: not tried again).
    pub fn pull_read_failed(&self, gave_up: bool) {
        self.pull_read_failures.fetch_add(1, Ordering::Relaxed);
        if gave_up {
            self.pull_given_up.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Rows deleted by the retention.
    pub fn pruned(&self, jobs: u64, deliveries: u64) {
        self.pruned_jobs.fetch_add(jobs, Ordering::Relaxed);
        self.pruned_deliveries
            .fetch_add(deliveries, Ordering::Relaxed);
    }

    /// How long one review job ran.
    pub fn review_duration(&self, took: std::time::Duration) {
        self.review_count.fetch_add(1, Ordering::Relaxed);
        self.review_millis
            .fetch_add(took.as_millis() as u64, Ordering::Relaxed);
    }

    /// Adds a model answer's estimated cost, in USD billionths (nothing without a price).
    pub fn cost_nanos(&self, nanos: Option<i64>) {
        if let Some(nanos) = nanos.and_then(|n| u64::try_from(n).ok()) {
            self.cost_nano_usd.fetch_add(nanos, Ordering::Relaxed);
        }
    }

    /// The text served at `/metrics`; `jobs` are the live job counts (queued, running) and
    /// `oldest_queued` the age of the oldest job waiting.
    pub fn render(&self, jobs: &[(&str, i64)], oldest_queued: std::time::Duration) -> String {
        let mut s = String::new();
        let count = |n: &AtomicU64| vec![(String::new(), n.load(Ordering::Relaxed).to_string())];
        family(
            &mut s,
            "codex_review_webhook_signature_failures_total counter",
            "Deliveries refused for a missing or wrong signature.",
            count(&self.signature_failures),
        );
        family(
            &mut s,
            "codex_review_webhook_deliveries_total counter",
            "Correctly signed deliveries by event and outcome.",
            labelled(&self.deliveries, |(event, outcome)| {
                format!("event=\"{event}\",outcome=\"{outcome}\"")
            }),
        );
        family(
            &mut s,
            "codex_review_reviews_total counter",
            "Review jobs by how they ended.",
            labelled(&self.reviews, |outcome| format!("outcome=\"{outcome}\"")),
        );
        family(
            &mut s,
            "codex_review_model_tokens_total counter",
            "Model tokens by kind.",
            labelled(&self.tokens, |kind| format!("kind=\"{kind}\"")),
        );
        let usd = self.cost_nano_usd.load(Ordering::Relaxed) as f64 / 1e9;
        family(
            &mut s,
            "codex_review_model_cost_usd_total counter",
            "Estimated model spend from the price table.",
            vec![(String::new(), format!("{usd:.6}"))],
        );
        family(
            &mut s,
            "codex_review_model_calls_total counter",
            "Model calls by outcome.",
            labelled(&self.model_calls, |outcome| {
                format!("outcome=\"{outcome}\"")
            }),
        );
        family(
            &mut s,
            "codex_review_redeliveries_total counter",
            "Missed webhook deliveries GitHub was asked to deliver again.",
            count(&self.redeliveries),
        );
        for (name, help, value) in [
            (
                "codex_review_pull_polls_total counter",
                "Passes over the App's delivery log (pull mode).",
                &self.pull_polls,
            ),
            (
                "codex_review_pull_deliveries_total counter",
                "Deliveries taken from the App's delivery log (pull mode).",
                &self.pull_deliveries,
            ),
            (
                "codex_review_pull_read_failures_total counter",
                "Reads of a listed delivery that failed and are tried again (pull mode).",
                &self.pull_read_failures,
            ),
            (
                "codex_review_pull_given_up_total counter",
                "Listed deliveries given up on after repeated failed reads (pull mode).",
                &self.pull_given_up,
            ),
            (
                "codex_review_pull_lag_seconds gauge",
                "Seconds from GitHub logging the newest delivery taken to the service taking it.",
                &self.pull_lag_seconds,
            ),
        ] {
            family(&mut s, name, help, count(value));
        }
        family(
            &mut s,
            "codex_review_tool_calls_total counter",
            "Tool calls of the model by tool and outcome.",
            labelled(&self.tool_calls, |(tool, outcome)| {
                format!("tool=\"{tool}\",outcome=\"{outcome}\"")
            }),
        );
        family(
            &mut s,
            "codex_review_snapshots_total counter",
            "Repository snapshots by how a review got one.",
            labelled(&self.snapshots, |outcome| format!("outcome=\"{outcome}\"")),
        );
        family(
            &mut s,
            "codex_review_github_calls_total counter",
            "GitHub API calls by call and status.",
            labelled(&self.github_calls, |(call, status)| {
                format!("call=\"{call}\",status=\"{status}\"")
            }),
        );
        let remaining = RATE_LIMIT_REMAINING.load(Ordering::Relaxed);
        if remaining != u64::MAX {
            family(
                &mut s,
                "codex_review_github_rate_limit_remaining gauge",
                "GitHub's last x-ratelimit-remaining.",
                vec![(String::new(), remaining.to_string())],
            );
        }
        self.render_gauges(&mut s, jobs, oldest_queued);
        s
    }

    /// The review durations, pruning, and the live queue.
    fn render_gauges(&self, s: &mut String, jobs: &[(&str, i64)], oldest: std::time::Duration) {
        let seconds = self.review_millis.load(Ordering::Relaxed) as f64 / 1000.0;
        let reviews = self.review_count.load(Ordering::Relaxed);
        family(
            s,
            "codex_review_review_duration_seconds summary",
            "Time review jobs ran.",
            Vec::new(),
        );
        let _ = writeln!(s, "codex_review_review_duration_seconds_sum {seconds:.3}");
        let _ = writeln!(s, "codex_review_review_duration_seconds_count {reviews}");
        let pruned = |table: &str, n: &AtomicU64| {
            (
                format!("table=\"{table}\""),
                n.load(Ordering::Relaxed).to_string(),
            )
        };
        family(
            s,
            "codex_review_pruned_total counter",
            "Rows deleted after the retention period.",
            vec![
                pruned("jobs", &self.pruned_jobs),
                pruned("deliveries", &self.pruned_deliveries),
            ],
        );
        family(
            s,
            "codex_review_jobs gauge",
            "Jobs queued and running.",
            jobs.iter()
                .map(|(state, n)| (format!("state=\"{state}\""), n.to_string()))
                .collect(),
        );
        family(
            s,
            "codex_review_oldest_queued_job_age_seconds gauge",
            "Age of the oldest queued job.",
            vec![(String::new(), format!("{:.3}", oldest.as_secs_f64()))],
        );
    }
}

/// One metric family: `name_and_type` ("NAME TYPE"), its help, then a line per row of labels
/// (without braces, empty for none) and value.
fn family(s: &mut String, name_and_type: &str, help: &str, rows: Vec<(String, String)>) {
    let (name, _) = name_and_type.split_once(' ').expect("a name and a type");
    let _ = writeln!(s, "# HELP {name} {help}");
    let _ = writeln!(s, "# TYPE {name_and_type}");
    for (labels, value) in rows {
        match labels.is_empty() {
            true => {
                let _ = writeln!(s, "{name} {value}");
            }
            false => {
                let _ = writeln!(s, "{name}{{{labels}}} {value}");
            }
        }
    }
}

/// The rows of a counter kept by key, in the key's order.
fn labelled<K>(
    counts: &Mutex<BTreeMap<K, u64>>,
    labels: impl Fn(&K) -> String,
) -> Vec<(String, String)> {
    let counts = counts.lock().unwrap_or_else(|p| p.into_inner());
    counts
        .iter()
        .map(|(key, n)| (labels(key), n.to_string()))
        .collect()
}
