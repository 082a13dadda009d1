//! The one place a model answer is paid for: each answer, as it arrives, is added to the
//! totals of the work it belongs to, counted in the metrics and, for a job, kept in the
//! store, charged to the job's installation, repository, pull request and person, before
//! the conversation goes on. Failed conversations and their retries without tools, failed
//! verifications, quiet and superseded reviews are answers like the others.
//!
//! Everyone who shows a cost reads what the meter counted: the review's summary and the
//! run's record (the attempt's totals), the spend caps, the hourly limits and the operator
//! page (the stored rows), the eval (a case's totals).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::metrics::Metrics;
use crate::model::{Billed, OnResponse, Usage};
use crate::store::{Store, UsageRecord};

/// What the answers metered so far add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metered {
    /// Answers billed (turns, retries of an answer cut short, answers that were no use).
    pub responses: u32,
    pub usage: Usage,
    /// USD billionths of the priced answers.
    pub cost_nanos: i64,
    /// Answers of a model without a price.
    pub unpriced: u32,
}

impl Metered {
    fn add(&mut self, billed: &Billed) {
        self.responses += 1;
        self.usage.add(billed.usage);
        match billed.cost_nanos {
            Some(nanos) => self.cost_nanos += nanos,
            None => self.unpriced += 1,
        }
    }

    /// USD, unless an answer had no price.
    pub fn cost_usd(&self) -> Option<f64> {
        (self.unpriced == 0).then_some(self.cost_nanos as f64 / 1e9)
    }
}

/// Counts a job's, a command's or a CLI review's model answers. Cheap to clone: clones count
/// into the same totals.
#[derive(Clone, Default)]
pub struct Meter(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// Totals by the calls' purpose (`text.format.name`).
    totals: Mutex<BTreeMap<&'static str, Metered>>,
    metrics: Option<Arc<Metrics>>,
    /// Where each answer is kept, and whom it is charged to.
    store: Option<(Store, UsageRecord)>,
}

impl Meter {
    /// A meter that keeps its totals in memory only (the CLI, the eval).
    pub fn new() -> Self {
        Self::default()
    }

    /// A meter that also counts in `metrics` and keeps every answer in `store`, charged as
    /// `charge` says (its job, installation, repository, pull request and person).
    pub fn charged(metrics: Arc<Metrics>, store: Store, charge: UsageRecord) -> Self {
        Self(Arc::new(Inner {
            totals: Mutex::default(),
            metrics: Some(metrics),
            store: Some((store, charge)),
        }))
    }

    /// A meter that counts in `metrics` too (work outside a job).
    pub fn with_metrics(metrics: Arc<Metrics>) -> Self {
        Self(Arc::new(Inner {
            metrics: Some(metrics),
            ..Inner::default()
        }))
    }

    /// The hook a model call reports each request to.
    pub fn hook(&self) -> Arc<OnResponse> {
        let meter = self.clone();
        Arc::new(move |billed| {
            let meter = meter.clone();
            Box::pin(async move { meter.record(billed).await })
        })
    }

    /// Counts one request: `None` got no answer (nothing billed).
    pub async fn record(&self, billed: Option<Billed>) {
        let inner = &self.0;
        let Some(billed) = billed else {
            if let Some(m) = &inner.metrics {
                m.model_call("error");
            }
            return;
        };
        if let Some(m) = &inner.metrics {
            m.model_call("ok");
            let u = billed.usage;
            m.tokens([
                ("input", u.input_tokens),
                ("cached", u.cached_tokens),
                ("output", u.output_tokens),
                ("reasoning", u.reasoning_tokens),
            ]);
            m.cost_nanos(billed.cost_nanos);
        }
        inner
            .totals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(billed.purpose)
            .or_default()
            .add(&billed);
        let Some((store, charge)) = &inner.store else {
            return;
        };
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let row = UsageRecord {
            model: billed.model,
            purpose: billed.purpose.to_owned(),
            input_tokens: as_i64(billed.usage.input_tokens),
            cached_tokens: as_i64(billed.usage.cached_tokens),
            output_tokens: as_i64(billed.usage.output_tokens),
            reasoning_tokens: as_i64(billed.usage.reasoning_tokens),
            cost_nanos: billed.cost_nanos,
            billed_at: crate::store::now_ms(),
            ..charge.clone()
        };
        let store = store.clone();
        // On its own task: kept even when the job is dropped while it waits (a shutdown).
        let kept = tokio::spawn(async move { store.record_usage(&row).await }).await;
        match kept {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(
                error = format!("{e:#}"),
                "cannot keep a model answer's usage"
            ),
            Err(e) => tracing::error!(error = %e, "cannot keep a model answer's usage"),
        }
    }

    /// Every answer so far.
    pub fn total(&self) -> Metered {
        let totals = self.0.totals.lock().unwrap_or_else(|p| p.into_inner());
        let mut sum = Metered::default();
        for t in totals.values() {
            sum.responses += t.responses;
            sum.usage.add(t.usage);
            sum.cost_nanos += t.cost_nanos;
            sum.unpriced += t.unpriced;
        }
        sum
    }

    /// The answers of calls for `purpose` (an output format's name).
    pub fn of(&self, purpose: &str) -> Metered {
        let totals = self.0.totals.lock().unwrap_or_else(|p| p.into_inner());
        totals.get(purpose).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn billed(purpose: &'static str, input: u64, cost_nanos: Option<i64>) -> Billed {
        Billed {
            model: "m".into(),
            purpose,
            usage: Usage {
                input_tokens: input,
                ..Usage::default()
            },
            cost_nanos,
        }
    }

    #[tokio::test]
    async fn every_answer_counts_once_in_its_purpose_and_the_total() {
        let meter = Meter::new();
        let clone = meter.clone();
        meter.record(Some(billed("review", 10, Some(7)))).await;
        clone.record(None).await;
        (clone.hook())(Some(billed("finding_verdicts", 5, Some(3)))).await;
        let total = meter.total();
        assert_eq!((total.responses, total.usage.input_tokens), (2, 15));
        assert_eq!(total.cost_nanos, 10);
        assert_eq!(total.cost_usd(), Some(10e-9));
        assert_eq!(meter.of("finding_verdicts").cost_nanos, 3);
        meter.record(Some(billed("review", 1, None))).await;
        assert_eq!(meter.total().cost_usd(), None);
    }
}
