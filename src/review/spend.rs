//! Before a job calls the model: a price for the model it would use, the hourly limits (per
//! pull request, per person) and the dollar caps (per installation from the service's
//! settings, per repository from its configuration), all counted from the model's answers as
//! the meter kept them, so every answer counts: posted reviews, quiet and superseded
//! re-reviews, failed attempts, answers, thread replies and API reviews.

use super::{ReviewError, Reviewer};
use crate::event::ReviewRequest;
use crate::repo_config::RepoConfig;
use crate::store::now_ms;

/// The service's caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendCaps {
    /// Dollars per installation per UTC day; `None`: no cap.
    pub daily_usd: Option<f64>,
    /// Dollars per installation per calendar month (UTC); `None`: no cap.
    pub monthly_usd: Option<f64>,
    /// Model-calling jobs per person per hour; `None`: no limit.
    pub per_person_per_hour: Option<u32>,
}

impl Default for SpendCaps {
    fn default() -> Self {
        Self {
            daily_usd: Some(100.0),
            monthly_usd: Some(2_000.0),
            per_person_per_hour: Some(30),
        }
    }
}

/// A limit the job would go past.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    /// The repository's `review.model` has no price: its spend could not be counted.
    Unpriced { model: String },
    /// `triggers.max_per_pr_per_hour`.
    PullRequest { runs: i64, max: u32 },
    /// `CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR`.
    Person { runs: i64, max: u32 },
    /// A dollar cap.
    Cap(Cap),
}

/// A dollar cap reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    /// `installation` (the service's setting) or `repository` (its configuration).
    pub scope: &'static str,
    /// `daily` or `monthly`.
    pub window: &'static str,
    pub cap_usd: f64,
    pub spent_usd: f64,
    /// When the window ends (milliseconds, UTC).
    pub resets_at: i64,
}

impl Limit {
    /// What the person who asked reads.
    pub fn message(&self) -> String {
        match self {
            Limit::Unpriced { model } => format!(
                "`review.model` in `{}` on the base branch names {}, a model without a \
                 price, whose spend the caps could not count: choose a priced model (such as \
                 `gpt-5.1-codex`), or ask the operator to add its price to \
                 `CODEX_REVIEW_PRICES`.",
                crate::repo_config::CONFIG_PATH,
                crate::untrusted::code(model, 100),
            ),
            Limit::PullRequest { runs, max } => format!(
                "This pull request had {runs} model runs (reviews, answers, replies) in the last \
                 hour, the limit set by `triggers.max_per_pr_per_hour` ({max}): try again later."
            ),
            Limit::Person { runs, max } => format!(
                "You caused {runs} model runs (reviews, answers, replies) in the last hour, the \
                 service's limit per person (`CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR`, {max}): try \
                 again later."
            ),
            Limit::Cap(cap) => {
                let setting = match (cap.scope, cap.window) {
                    ("repository", "daily") => "`spend.daily_usd` of this repository",
                    ("repository", _) => "`spend.monthly_usd` of this repository",
                    (_, "daily") => "`CODEX_REVIEW_DAILY_USD_CAP` of this installation",
                    _ => "`CODEX_REVIEW_MONTHLY_USD_CAP` of this installation",
                };
                format!(
                    "The {window} spend cap is reached: ${spent:.2} of ${cap:.2} spent on the model \
                     ({setting}). Reviews and answers resume when it resets at {resets} UTC (in {left}).",
                    window = cap.window,
                    spent = cap.spent_usd,
                    cap = cap.cap_usd,
                    resets = crate::when::minute(cap.resets_at),
                    left = until(cap.resets_at - now_ms()),
                )
            }
        }
    }

    /// The notice a pull request gets when a job without a comment to answer stops here.
    pub fn notice(&self) -> String {
        match self {
            Limit::Unpriced { .. } => {
                format!(
                    "⚠️ **Codex review did not review this pull request**: {}",
                    self.message()
                )
            }
            _ => format!("⏸️ **Codex review is paused here**: {}", self.message()),
        }
    }

    /// Names the limit and its window, so a notice about it is given once per pull request.
    pub fn notice_key(&self) -> Option<String> {
        match self {
            Limit::Unpriced { model } => Some(format!("unpriced-{model}")),
            Limit::Cap(cap) => Some(format!("{}-{}-{}", cap.scope, cap.window, cap.resets_at)),
            Limit::PullRequest { .. } | Limit::Person { .. } => None,
        }
    }

    /// The job's outcome when it stops here.
    pub fn outcome(&self) -> &'static str {
        match self {
            Limit::PullRequest { .. } | Limit::Person { .. } => "rate limited",
            Limit::Cap(_) => "spend cap reached",
            Limit::Unpriced { .. } => "unpriced model",
        }
    }
}

/// `5 h 01 min`, or `12 days` past two days.
fn until(ms: i64) -> String {
    if ms > 2 * 86_400_000 {
        format!("{} days", ms / 86_400_000)
    } else {
        crate::when::duration(ms.max(0))
    }
}

impl Reviewer {
    /// The first limit `req` would go past, if any: asked before any model call.
    pub(super) async fn limit_reached(
        &self,
        req: &ReviewRequest,
        config: &RepoConfig,
    ) -> Result<Option<Limit>, ReviewError> {
        let store = ReviewError::Store;
        if let Some(model) = &config.review.model
            && self.model.prices().price(model).is_none()
        {
            tracing::warn!(model, "the repository's model has no price: refused");
            return Ok(Some(Limit::Unpriced {
                model: model.clone(),
            }));
        }
        self.metrics.note_repo_caps(
            req.repo.as_str(),
            req.installation.0 as i64,
            config.spend.daily_usd,
            config.spend.monthly_usd,
        );
        let now = now_ms();
        let hour_ago = now - 3_600_000;
        let repo = req.repo.as_str();
        let installation = req.installation.0 as i64;
        let max = config.triggers.max_per_pr_per_hour;
        let runs = self
            .store
            .model_runs_of_pr(repo, req.pr.0 as i64, hour_ago)
            .await
            .map_err(store)?;
        if runs >= i64::from(max) {
            return Ok(Some(Limit::PullRequest { runs, max }));
        }
        if let (Some(max), Some(person)) = (self.spend.per_person_per_hour, req.trigger.person()) {
            let runs = self
                .store
                .model_runs_of_person(installation, &person, hour_ago)
                .await
                .map_err(store)?;
            if runs >= i64::from(max) {
                return Ok(Some(Limit::Person { runs, max }));
            }
        }
        let day = crate::when::day_bounds(now);
        let month = crate::when::month_bounds(now);
        let caps = [
            ("installation", "daily", self.spend.daily_usd, day),
            ("installation", "monthly", self.spend.monthly_usd, month),
            ("repository", "daily", config.spend.daily_usd, day),
            ("repository", "monthly", config.spend.monthly_usd, month),
        ];
        for (scope, window, cap, (since, resets_at)) in caps {
            let Some(cap_usd) = cap else { continue };
            let of_repo = (scope == "repository").then_some(repo);
            let spent = self
                .store
                .spent_nanos(installation, of_repo, since)
                .await
                .map_err(store)?;
            let spent_usd = spent as f64 / 1e9;
            if spent_usd >= cap_usd {
                return Ok(Some(Limit::Cap(Cap {
                    scope,
                    window,
                    cap_usd,
                    spent_usd,
                    resets_at,
                })));
            }
        }
        Ok(None)
    }
}

/// One cap (or an installation's spend without one) and what was spent against it in its
/// current window.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// `installation` or `repository`.
    pub scope: &'static str,
    /// The installation's id, or the repository's name.
    pub name: String,
    /// `daily` or `monthly`.
    pub window: &'static str,
    pub spent_usd: f64,
    pub cap_usd: Option<f64>,
    pub resets_at: i64,
}

/// Spend against every cap in force now: each installation that spent this month, and each
/// repository whose configuration set caps (as this process last read them).
pub async fn standings(
    store: &crate::store::Store,
    caps: &SpendCaps,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<Vec<Standing>> {
    let now = now_ms();
    let windows = [
        ("daily", crate::when::day_bounds(now), caps.daily_usd),
        ("monthly", crate::when::month_bounds(now), caps.monthly_usd),
    ];
    // One grouped read per window; an installation that spent nothing today still has a
    // month to show.
    let (today, month) = tokio::try_join!(
        store.spent_per_installation(windows[0].1.0),
        store.spent_per_installation(windows[1].1.0),
    )?;
    let mut rows = Vec::new();
    for (installation, month_micros) in month {
        let day_micros = today
            .iter()
            .find(|(i, _)| *i == installation)
            .map_or(0, |(_, m)| *m);
        for ((window, (_, resets_at), cap_usd), spent) in
            windows.into_iter().zip([day_micros, month_micros])
        {
            rows.push(Standing {
                scope: "installation",
                name: installation.to_string(),
                window,
                spent_usd: spent as f64 / 1e9,
                cap_usd,
                resets_at,
            });
        }
    }
    for (repo, installation, daily, monthly) in metrics.repo_caps() {
        for ((window, (since, resets_at), _), cap_usd) in windows.into_iter().zip([daily, monthly])
        {
            let Some(cap_usd) = cap_usd else { continue };
            let spent = store.spent_nanos(installation, Some(&repo), since).await?;
            rows.push(Standing {
                scope: "repository",
                name: repo.clone(),
                window,
                spent_usd: spent as f64 / 1e9,
                cap_usd: Some(cap_usd),
                resets_at,
            });
        }
    }
    Ok(rows)
}

/// The standings in the Prometheus text format.
pub fn render_metrics(rows: &[Standing]) -> String {
    use prometheus_client::metrics::{family::Family, gauge::Gauge};
    type Usd = Family<[(&'static str, String); 2], Gauge<f64, std::sync::atomic::AtomicU64>>;
    let (spent, caps) = (Usd::default(), Usd::default());
    for r in rows {
        let labels = [(r.scope, r.name.clone()), ("window", r.window.to_owned())];
        spent.get_or_create(&labels).set(r.spent_usd);
        if let Some(cap) = r.cap_usd {
            caps.get_or_create(&labels).set(cap);
        }
    }
    let mut registry = prometheus_client::registry::Registry::with_prefix(crate::metrics::PREFIX);
    registry.register(
        "spend_usd",
        "Model spend in the cap's current window (UTC day or month)",
        spent,
    );
    registry.register(
        "spend_cap_usd",
        "The spend cap of the window (none: no cap)",
        caps,
    );
    let mut s = String::new();
    // Writing to a `String` does not fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut s, &registry);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_says_which_it_is_and_when_it_resets() {
        let resets_at = now_ms() + 5 * 3_600_000 + 60_000;
        let cap = Limit::Cap(Cap {
            scope: "installation",
            window: "daily",
            cap_usd: 100.0,
            spent_usd: 100.37,
            resets_at,
        });
        let text = cap.message();
        assert!(text.contains("$100.37 of $100.00"), "{text}");
        assert!(text.contains("CODEX_REVIEW_DAILY_USD_CAP"), "{text}");
        assert!(
            text.contains(&format!("{} UTC", crate::when::minute(resets_at))),
            "{text}"
        );
        assert!(text.contains("(in 5 h"), "{text}");
        assert_eq!(
            cap.notice_key(),
            Some(format!("installation-daily-{resets_at}"))
        );
        let repo = Limit::Cap(Cap {
            scope: "repository",
            window: "monthly",
            cap_usd: 5.0,
            spent_usd: 5.0,
            resets_at,
        });
        assert!(
            repo.message()
                .contains("`spend.monthly_usd` of this repository")
        );
    }
}
