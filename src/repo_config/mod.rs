//! `.github/codex-review.yml`: how a repository tunes its reviews.
//!
//! Read from the pull request's BASE branch (never the head: a PR must not change how it is
//! reviewed), parsed strictly (unknown keys are errors, with their line and column), and
//! described by a JSON Schema generated from these types (`codex-review.schema.json`).

mod guidelines;
mod loaded;
mod parse;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use guidelines::{
    Guidelines, MAX_GUIDELINES, PathGuideline, Scope, nearest_agents_files, review_guidelines,
};
pub use loaded::Loaded;
pub use parse::{ConfigError, parse};

/// Where the file lives in a repository.
pub const CONFIG_PATH: &str = ".github/codex-review.yml";

/// The whole file. Every key is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "codex-review repository configuration")]
pub struct RepoConfig {
    /// Whether codex-review acts on this repository at all. Default: `true`.
    pub enabled: bool,
    /// Reviews that start without a comment.
    pub auto_review: AutoReview,
    /// Which changed files are reviewed.
    pub paths: Paths,
    /// What the review looks for and how much of it is posted.
    pub review: ReviewSettings,
    /// Who may ask for a review, and how often.
    pub triggers: Triggers,
    /// The `codex-review` check run as a merge gate.
    pub gate: Gate,
    /// This repository's share of the model spend, below the service's caps.
    pub spend: Spend,
}

impl Default for RepoConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            auto_review: AutoReview::default(),
            paths: Paths::default(),
            review: ReviewSettings::default(),
            triggers: Triggers::default(),
            gate: Gate::default(),
            spend: Spend::default(),
        }
    }
}

/// Dollars of model use this repository may spend (reviews, answers, replies), counted from
/// recorded usage at the price table's prices. The service's caps per installation apply as
/// well; these can only be lower.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Spend {
    /// Per UTC day. Default: none (the installation's cap applies).
    #[schemars(range(min = 0.01))]
    pub daily_usd: Option<f64>,
    /// Per calendar month (UTC). Default: none (the installation's cap applies).
    #[schemars(range(min = 0.01))]
    pub monthly_usd: Option<f64>,
}

/// The check run's conclusion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Gate {
    /// Fail the `codex-review` check while a finding of the pull request of this priority or
    /// more urgent is open (0 = must fix ... 3 = low): posted by this or an earlier review, not
    /// fixed, not outdated, not dismissed by a person who may run commands. Then it can be a
    /// required check: a head not reviewed automatically for a reason its author controls (a
    /// title keyword, a draft, a label, a generated-file marker) asks for a review
    /// (`action_required`) instead of passing. Default: none (the check is neutral).
    #[schemars(range(min = 0, max = 3))]
    pub fail_on_priority: Option<u8>,
}

/// Events that can start a review on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoEvent {
    /// A pull request opened (ready, or a draft when `drafts` is true).
    Opened,
    /// A draft marked ready for review.
    ReadyForReview,
    /// New commits pushed to the pull request.
    Synchronize,
}

impl AutoEvent {
    pub fn from_action(action: &str) -> Option<Self> {
        match action {
            "opened" | "reopened" => Some(Self::Opened),
            "ready_for_review" => Some(Self::ReadyForReview),
            "synchronize" => Some(Self::Synchronize),
            _ => None,
        }
    }
}

/// Automatic reviews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AutoReview {
    /// Review pull requests without being asked. Default: `true`.
    pub enabled: bool,
    /// Also review draft pull requests. Default: `false`.
    pub drafts: bool,
    /// The events that start a review. Default: `[opened, ready_for_review]`; add
    /// `synchronize` to review every push.
    pub on: Vec<AutoEvent>,
    /// Only pull requests into these base branches (globs, such as `release/*`).
    /// Default: all branches.
    pub base_branches: Vec<String>,
    /// Pull requests by these logins are not reviewed automatically.
    /// Default: `["dependabot[bot]", "renovate[bot]"]`.
    pub ignore_authors: Vec<String>,
    /// Pull requests with any of these labels are not reviewed automatically. Default: none.
    pub ignore_labels: Vec<String>,
    /// Pull requests whose title contains any of these keywords, as whole words
    /// (case-insensitive: `WIP` matches "WIP: x" and "[wip] x", not "Fix sWIPe"), are not
    /// reviewed automatically. Under a gate their check asks for a review
    /// (`action_required`). Default: `["WIP", "DO NOT REVIEW"]`.
    pub ignore_title_keywords: Vec<String>,
}

impl Default for AutoReview {
    fn default() -> Self {
        Self {
            enabled: true,
            drafts: false,
            on: vec![AutoEvent::Opened, AutoEvent::ReadyForReview],
            base_branches: Vec::new(),
            ignore_authors: vec!["dependabot[bot]".into(), "renovate[bot]".into()],
            ignore_labels: Vec::new(),
            ignore_title_keywords: vec!["WIP".into(), "DO NOT REVIEW".into()],
        }
    }
}

/// Changed files to review, as gitignore-style globs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    /// When not empty, only matching files are reviewed. Default: all files.
    pub include: Vec<String>,
    /// Matching files are not reviewed (on top of lock files, vendored and generated files).
    /// Default: none.
    pub exclude: Vec<String>,
}

/// Extra instructions for files matching a glob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathInstruction {
    /// A gitignore-style glob, such as `migrations/**`.
    pub path: String,
    /// What to check in those files.
    pub instructions: String,
}

/// `reasoning.effort` values the Responses API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

impl ReasoningEffort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Xhigh => "xhigh",
            Self::Max => "max",
        }
    }
}

/// The review itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewSettings {
    /// What to look for first, after any focus areas named in the trigger comment.
    /// Default: `[correctness, security, performance]`.
    pub focus_areas: Vec<String>,
    /// Guidance for every review of this repository. Default: none.
    pub instructions: String,
    /// Guidance for files matching a glob. Default: none.
    pub path_instructions: Vec<PathInstruction>,
    /// Post findings of this priority or more urgent: 0 = must fix ... 3 = low.
    /// Default: `2` (post P0, P1 and P2).
    #[schemars(range(min = 0, max = 3))]
    pub min_priority: u8,
    /// Post findings the model is at least this sure of, from 0.0 to 1.0. Default: `0.3` (the prompt calls a lower score a hunch).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_confidence: f64,
    /// Inline comments per review; the rest are listed in the summary, most important first.
    /// Default: `10`.
    #[schemars(range(min = 0, max = 100))]
    pub max_inline_comments: usize,
    /// Offer ```suggestion blocks with replacement code. Default: `true`.
    pub suggestions: bool,
    /// The language the review is written in. Default: `English`.
    pub language: String,
    /// Model for this repository instead of the service's default. Default: the service's.
    pub model: Option<String>,
    /// `reasoning.effort` for this repository. Default: the service's.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Let the model read the repository at the reviewed commit (`read_file`, `search`,
    /// `list_files`) before it answers. Default: `true`.
    pub tools: bool,
    /// Check each finding with a second, focused model call before it is posted; dropped
    /// findings are listed in the summary with the reason. Default: `true`.
    pub verify: bool,
    /// Verify findings of this priority or more urgent (0 = must fix ... 3 = low).
    /// Default: `3` (all).
    #[schemars(range(min = 0, max = 3))]
    pub verify_priority: u8,
    /// Budgets of the model's tool use per review. They can lower the service's, not raise
    /// them. Default: the service's.
    pub budget: ToolBudget,
    /// Keep the reasons people give when they dismiss a finding, and give the most recent
    /// ones to later reviews of this repository. Default: `true`.
    pub learnings: bool,
}

/// Budgets of the model's tool use in one review (each unset: the service's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ToolBudget {
    /// Turns with tools per model conversation (0: no tools).
    pub tool_turns: Option<u32>,
    /// Tool calls per review.
    pub tool_calls: Option<u32>,
    /// Input tokens per review, all turns together.
    pub input_tokens: Option<u64>,
    /// Minutes of tool use per review.
    #[schemars(range(min = 1))]
    pub minutes: Option<u32>,
}

impl ToolBudget {
    /// The service's `limits`, lowered where this budget says so.
    pub fn apply(&self, limits: crate::model::ToolLimits) -> crate::model::ToolLimits {
        limits.min(crate::model::ToolLimits {
            turns: self.tool_turns.unwrap_or(u32::MAX),
            calls: self.tool_calls.unwrap_or(u32::MAX),
            input_tokens: self.input_tokens.unwrap_or(u64::MAX),
            wall: self.minutes.map_or(std::time::Duration::MAX, |m| {
                std::time::Duration::from_secs(u64::from(m) * 60)
            }),
        })
    }
}

/// The default `review.min_confidence`: the prompt calls a score below 0.3 a hunch and asks
/// the model not to report it, so what still comes back below it is left out.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.3;

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            focus_areas: vec![
                "correctness".into(),
                "security".into(),
                "performance".into(),
            ],
            instructions: String::new(),
            path_instructions: Vec::new(),
            min_priority: 2,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            max_inline_comments: 10,
            suggestions: true,
            language: "English".into(),
            model: None,
            reasoning_effort: None,
            tools: true,
            verify: true,
            verify_priority: 3,
            budget: ToolBudget::default(),
            learnings: true,
        }
    }
}

/// `author_association` values GitHub sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Association {
    Owner,
    Member,
    Collaborator,
    Contributor,
    FirstTimeContributor,
    FirstTimer,
    Mannequin,
    None,
}

impl Association {
    pub fn from_github(value: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
    }

    /// The association of a person GitHub sent none for (a reaction, an API caller), from
    /// their login and their permission on the repository: the repository's owner, a person
    /// who may push, or someone who may not. Never more than their comment would have shown.
    pub fn from_permission(login: &str, repo_owner: &str, permission: Option<&str>) -> Self {
        if login.eq_ignore_ascii_case(repo_owner) {
            return Association::Owner;
        }
        match permission {
            Some("admin" | "maintain" | "write") => Association::Collaborator,
            Some(_) => Association::Contributor,
            None => Association::None,
        }
    }
}

/// Who may trigger reviews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Triggers {
    /// Comment authors (by their relation to the repository) who may run commands.
    /// Default: `[OWNER, MEMBER, COLLABORATOR]`.
    pub allowed_associations: Vec<Association>,
    /// Reviews of one pull request per hour at most; more get a one-line reply.
    /// Default: `10`.
    pub max_per_pr_per_hour: u32,
}

impl Default for Triggers {
    fn default() -> Self {
        Self {
            allowed_associations: vec![
                Association::Owner,
                Association::Member,
                Association::Collaborator,
            ],
            max_per_pr_per_hour: 10,
        }
    }
}

/// The JSON Schema of the file, for editors (checked in as `codex-review.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RepoConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}
