//! What became of a case's findings, stage by stage: the record the eval keeps with each run
//! (computed by [`super::losses`]).

use serde::{Deserialize, Serialize};

/// What became of one expected finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fate {
    /// The expected finding's index in the case.
    pub expected: usize,
    /// The stage whose output no longer held it (`None`: it was posted; `answered`: the
    /// model never reported it), and why, when the stage said.
    pub lost_at: Option<String>,
    pub reason: Option<String>,
}

/// A finding that matches no expected one, and the stages whose output held it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FalseFinding {
    pub path: String,
    pub line: i64,
    pub title: String,
    pub passed: Vec<String>,
}

/// True and false findings a stage removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    pub stage: String,
    pub true_removed: usize,
    pub false_removed: usize,
}

/// The losses of one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Losses {
    pub fates: Vec<Fate>,
    pub false_findings: Vec<FalseFinding>,
    pub stages: Vec<StageRow>,
}
