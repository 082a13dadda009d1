//! The trace of a review: the findings each stage of the pipeline let through, and why the
//! others were dropped. The eval reads it to say which stage lost an expected finding, and
//! how many true and false findings each stage removed.

use serde::{Deserialize, Serialize};

use super::place::Placement;
use crate::model::Finding;

/// The stages a trace records, in order.
pub const ANSWERED: &str = "answered";
pub const PLACED: &str = "placed";
pub const FILTERED: &str = "filtered";
pub const VERIFIED: &str = "verified";
pub const POSTED: &str = "posted";

/// The findings after each stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub stages: Vec<StageOutput>,
    /// Why findings were dropped, by path and title (a filter's rule, the verifier's reason).
    pub dropped: Vec<Dropped>,
    /// Findings the verification kept at a lower priority: `(title, from, to)`.
    pub lowered: Vec<(String, i64, i64)>,
    /// Findings moved from inline comments to the summary by `review.max_inline_comments`.
    pub capped: usize,
}

/// One stage's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutput {
    pub stage: String,
    pub findings: Vec<Finding>,
}

/// A finding dropped, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub path: String,
    pub title: String,
    pub reason: String,
}

impl Trace {
    /// Notes `findings` as the output of `stage`.
    pub fn stage<'a>(&mut self, stage: &str, findings: impl IntoIterator<Item = &'a Finding>) {
        self.stages.push(StageOutput {
            stage: stage.to_owned(),
            findings: findings.into_iter().cloned().collect(),
        });
    }

    /// Notes what `placement` holds (inline and in the summary) as the output of `stage`.
    pub fn placed(&mut self, stage: &str, placement: &Placement) {
        let inline = placement.inline.iter().map(|p| &p.finding);
        self.stage(
            stage,
            inline.chain(placement.summary_only.iter().map(|u| &u.finding)),
        );
    }

    /// Why the finding at `path` titled `title` was dropped, when a stage said.
    pub fn reason(&self, path: &str, title: &str) -> Option<&str> {
        self.dropped
            .iter()
            .find(|d| d.path == path && d.title == title)
            .map(|d| d.reason.as_str())
    }
}
