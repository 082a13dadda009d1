//! The review pipeline on one screen. Every review runs it: the App's (a comment, a pull
//! request ready for review, a check's re-run), the review API's, the CLI's (a pull request by
//! URL, or a local diff) and the eval's.
//!
//! ```text
//! plan → ask (parts, tools) → merge → place → filter → verify → conclude → publish
//! └───────────────────────── review() ─────────────────────────┘
//! ```
//!
//! Each stage is a function with typed input and output, in a file of its own. The callers
//! differ only in where the [`Context`] comes from and where the result goes: the App's job
//! handler (`crate::review`) gates the request, reads the context from GitHub, and posts the
//! published review and completes the check run; the CLI and the eval read theirs from GitHub
//! with a token, a local diff or a recorded case, then print or score it. This room imports
//! nothing of them: no event, no worker, no job handler.

pub mod ask;
pub mod conclude;
pub mod context;
mod error;
pub mod filter;
pub mod fingerprint;
mod limits;
pub mod merge;
pub mod meter;
pub mod place;
pub mod progress;
pub mod publish;
pub mod result;
pub mod tooling;
pub mod trace;
pub mod verify;

pub use context::{Context, Described};
pub use error::{Hidden, PipelineError};
pub use limits::Limits;

use std::collections::HashMap;
use std::sync::Arc;

use crate::diff::chunk::{self, Budget, Plan, Source};
use crate::diff::filter::PathRules;
use crate::github::NewReview;
use crate::ids::CommitSha;
use crate::model::{ModelClient, ReviewOutput, ToolLimits, Usage};
use crate::repo_config::RepoConfig;
use ask::{Answer, CallSettings, Subject};
use filter::Filtered;
use meter::Meter;
use place::Placement;
use progress::{Reporter, Step};
use result::Drops;
use tooling::Tooling;
use trace::Trace;
use verify::{Verification, VerifyInput};

/// What runs the model half of every review: the model (with its limit of requests in
/// flight), the service's limits, and the meter every answer is paid through.
pub struct Engine<'a> {
    pub model: &'a ModelClient,
    pub limits: &'a Limits,
    /// The service's tool budgets (a repository may lower them).
    pub tool_limits: ToolLimits,
    pub meter: Meter,
    pub report: Reporter,
}

/// What the pipeline found, ready to publish.
pub struct Reviewed {
    /// The model's answer, its verdict and explanation made to describe what is posted (the
    /// conclude stage); its findings are all it reported.
    pub answer: Answer,
    /// Files the model was shown.
    pub reviewed_files: usize,
    /// No file could be shown to the model, and what hid them.
    pub nothing_to_review: Option<Hidden>,
    pub not_reviewed: Vec<(String, String)>,
    pub placement: Placement,
    pub filtered: Filtered,
    pub drops: Drops,
    pub verification: Option<Verification>,
    /// The most urgent priority found, before the inline cap.
    pub worst: Option<i64>,
    /// The tools the model had, with what they read and spent.
    pub tooling: Option<Tooling>,
    /// Files of the parts the tool budget could not cover: the model did not read the
    /// repository for them.
    pub tools_limited: Vec<String>,
    /// The findings after each stage, and why the others went.
    pub trace: Trace,
}

/// Runs the stages from the plan to the verification.
pub async fn review(engine: &Engine<'_>, ctx: &Context) -> Result<Reviewed, PipelineError> {
    let plan = plan(engine, ctx);
    let mut not_reviewed = ctx.not_reviewed.clone();
    not_reviewed.extend(plan.skipped.iter().cloned());
    let sizes: Vec<usize> = plan.chunks.iter().map(|c| c.tokens).collect();
    let tooling = tooling(engine, ctx, &sizes);
    let tools_limited: Vec<String> = tooling
        .iter()
        .flat_map(|t| t.parts_without_tools())
        .flat_map(|i| plan.chunks[i].files.iter().cloned())
        .collect();
    let answer = if plan.chunks.is_empty() {
        // Nothing the model could read (only binaries, lock files...): say so, at no cost.
        nothing_to_review()
    } else {
        let asked = ask(engine, ctx, &plan, tooling.clone(), &mut not_reviewed).await?;
        merge::stage(asked)
    };
    let mut trace = Trace::default();
    trace.stage(trace::ANSWERED, &answer.output.findings);
    let mut placement = place(ctx, &answer, &plan, tooling.as_ref()).await;
    trace.placed(trace::PLACED, &placement);
    let mut drops = Drops::default();
    let review = &ctx.config.review;
    let mut filtered = filter::filter(
        &mut placement,
        review,
        &ctx.earlier.dismissed,
        &ctx.known,
        &ctx.pr_files,
        &mut drops,
    );
    trace.placed(trace::FILTERED, &placement);
    let verification = if ctx.verify && review.verify && answer.calls > 0 {
        let head_text = |path: &str| ctx.contents.get(path).cloned();
        let input = VerifyInput {
            model: engine.model,
            repo: &ctx.described.repo,
            pr_title: &ctx.described.title,
            pr_description: &ctx.described.description,
            guidelines: &ctx.guidelines,
            files: &ctx.pr_files,
            head_text: &head_text,
            tooling: tooling.as_ref(),
            model_name: review.model.as_deref(),
            reasoning_effort: review.reasoning_effort.map(|e| e.as_str()),
            on_try: engine.meter.hook(),
        };
        let (to, memory) = (&mut placement, &mut filtered.remembered);
        let report = &engine.report;
        Some(verify::stage(&input, to, review, report, &mut drops, memory).await)
    } else {
        None
    };
    let worst = placement
        .inline
        .iter()
        .map(|p| p.finding.priority)
        .chain(placement.summary_only.iter().map(|u| u.finding.priority))
        .min();
    trace.placed(trace::VERIFIED, &placement);
    let inline = placement.inline.len();
    place::cap_inline(&mut placement, review.max_inline_comments);
    trace.capped = inline - placement.inline.len();
    trace.placed(trace::POSTED, &placement);
    trace.lowered = verification
        .as_ref()
        .map_or_else(Vec::new, |v| v.lowered.clone());
    trace.dropped = drops
        .notes()
        .map(|(path, title, reason)| trace::Dropped {
            path: path.to_owned(),
            title: title.to_owned(),
            reason: reason.to_owned(),
        })
        .collect();
    let mut answer = answer;
    let lowered = verification.as_ref().map_or(&[][..], |v| &v.lowered[..]);
    let remains = conclude::Remains {
        placement: &placement,
        drops: &drops,
        lowered,
        open_urgent_earlier: ctx
            .earlier
            .open_urgent_after(&answer.output.fixed_finding_ids),
        parts: answer.calls,
    };
    conclude::conclude(&mut answer.output, &remains);
    Ok(Reviewed {
        answer,
        reviewed_files: plan.reviewed.len(),
        nothing_to_review: plan.chunks.is_empty().then(|| hidden_by(ctx, &plan)),
        not_reviewed,
        placement,
        filtered,
        drops,
        verification,
        worst,
        tooling,
        tools_limited,
        trace,
    })
}

/// What hid every file from the model: the repository's path rules only when each file of
/// the review was left out by one of them; anything else the change itself chose.
fn hidden_by(ctx: &Context, plan: &Plan) -> Hidden {
    let files = ctx.since.as_ref().map_or(&ctx.pr_files, |(_, files)| files);
    let paths = &ctx.config.paths;
    let rules = PathRules::new(&paths.include, &paths.exclude).unwrap_or_default();
    if plan.skipped.is_empty() && files.iter().all(|f| rules.excluded_by_path(f)) {
        Hidden::ByRepository
    } else {
        Hidden::ByTheChange
    }
}

/// Whether the repository lets the model read it (tools on, with turns to use them).
pub fn wants_tools(review: &crate::repo_config::ReviewSettings) -> bool {
    review.tools && review.budget.tool_turns != Some(0)
}

/// The plan: the selected files, with their content where read, in parts that fit a call.
fn plan(engine: &Engine<'_>, ctx: &Context) -> Plan {
    let files = ctx.since.as_ref().map_or(&ctx.pr_files, |(_, files)| files);
    let sources: Vec<Source<'_>> = files
        .iter()
        .filter(|file| ctx.selected.contains(&file.path))
        .map(|file| Source {
            file,
            content: ctx.contents.get(&file.path).map(String::as_str),
        })
        .collect();
    let budget = Budget {
        tokens_per_call: engine.limits.diff_tokens_per_call(),
        max_calls: engine.limits.max_calls,
    };
    chunk::plan(&sources, budget)
}

/// The model's tools for this review, within the service's and the repository's budgets.
fn tooling(engine: &Engine<'_>, ctx: &Context, part_sizes: &[usize]) -> Option<Tooling> {
    let limits = ctx.config.review.budget.apply(engine.tool_limits);
    let toolbox = ctx.toolbox.as_ref().filter(|_| limits.turns > 0)?;
    let report = engine.report.clone();
    let toolbox = toolbox.observed(Arc::new(move || report(Step::ToolCall)));
    let review = &ctx.config.review;
    let model = review.model.as_deref().unwrap_or(engine.model.model());
    let cached_weight = engine
        .model
        .prices()
        .price(model)
        .filter(|p| p.input > 0.0)
        .map_or(1.0, |p| p.cached / p.input);
    Some(Tooling::new(
        toolbox,
        limits.shares(part_sizes),
        cached_weight,
    ))
}

/// The ask stage: each part's answer, before the merge stage.
async fn ask(
    engine: &Engine<'_>,
    ctx: &Context,
    plan: &Plan,
    tooling: Option<Tooling>,
    not_reviewed: &mut Vec<(String, String)>,
) -> Result<ask::Asked, PipelineError> {
    let d = &ctx.described;
    let since = ctx.since.as_ref().map(|(sha, _)| sha.short());
    let subject = Subject {
        repo: &d.repo,
        title: &d.title,
        description: &d.description,
        base_ref: &d.base_ref,
        head_ref: &d.head_ref,
        since,
    };
    let mut call = call_settings(ctx, tooling);
    let (parts, files) = (plan.chunks.len(), plan.reviewed.len());
    (engine.report)(Step::Asking { parts, files });
    if parts > 1 {
        let report = engine.report.clone();
        call.on_part = Some(Arc::new(move |done, parts| {
            report(Step::Answered { done, parts, files })
        }));
    }
    let on_try = engine.meter.hook();
    ask::ask_model(engine.model, &subject, plan, &call, not_reviewed, on_try).await
}

/// What every model call of the review shares: focus areas (the request's, then the
/// repository's), guidelines, maintainer notes, the repository's model settings, tools and
/// the earlier findings to judge.
fn call_settings(ctx: &Context, tooling: Option<Tooling>) -> CallSettings {
    let review = &ctx.config.review;
    let mut focus_areas = ctx.focus_areas.clone();
    for area in &review.focus_areas {
        if !focus_areas.contains(area) {
            focus_areas.push(area.clone());
        }
    }
    // The path guidelines of every file the review shows, the same for all its parts.
    let shown: Vec<&str> = ctx.selected.iter().map(String::as_str).collect();
    CallSettings {
        focus_areas,
        guidelines: ctx.guidelines.repository.clone(),
        path_guidelines: ctx.guidelines.for_paths(&shown),
        notes: ctx.notes.clone(),
        language: review.language.clone(),
        suggestions: review.suggestions,
        model: review.model.clone(),
        reasoning_effort: review.reasoning_effort.map(|e| e.as_str().to_owned()),
        tooling,
        earlier: ctx.earlier.prompt_section(),
        on_part: None,
    }
}

/// The place stage: findings on commentable lines of the pull request's own diff, whatever
/// diff the model read; findings on other files in the summary when the file exists.
async fn place(
    ctx: &Context,
    answer: &Answer,
    plan: &Plan,
    tooling: Option<&Tooling>,
) -> Placement {
    let findings = answer.output.findings.clone();
    let mut placement = place::place(findings, &ctx.pr_files, &plan.reviewed);
    match &ctx.head {
        Some((gh, sha)) => place::settle_outside_files(&mut placement, tooling, gh, sha).await,
        None => {
            let mut known = HashMap::new();
            if let Some(t) = tooling {
                for f in &placement.outside {
                    let path = &f.code_location.file_path;
                    known.insert(path.clone(), t.toolbox.has_file(path).await);
                }
            }
            // Without the repository, findings on other files stay in the summary.
            let exists = |path: &str| known.get(path).copied().flatten().unwrap_or(true);
            place::settle_outside(&mut placement, exists);
        }
    }
    if ctx.since.is_some() {
        place::left_side_to_summary(
            &mut placement,
            "it points at a deleted line of an earlier commit of this pull request",
        );
    }
    placement
}

/// The answer of a review with nothing the model could read.
fn nothing_to_review() -> Answer {
    Answer {
        output: ReviewOutput {
            findings: Vec::new(),
            overall_correctness: "patch is correct".into(),
            overall_explanation: "This pull request has no changes that could be reviewed.".into(),
            overall_confidence_score: 1.0,
            fixed_finding_ids: Vec::new(),
        },
        usage: Usage::default(),
        calls: 0,
        turns: 0,
    }
}

/// What a review spent on the model, for its summary and its record.
pub struct Spent {
    pub model: String,
    pub usage: Usage,
    /// Answers billed in all, the verification's included.
    pub turns: u32,
    pub cost: Option<f64>,
    pub verify_cost: Option<f64>,
}

impl Spent {
    /// Every answer `meter` counted (failed conversations and verifications included), and
    /// the verification's share.
    pub fn of(model: &ModelClient, config: &RepoConfig, meter: &Meter) -> Self {
        let used = config
            .review
            .model
            .clone()
            .unwrap_or_else(|| model.model().to_owned());
        let total = meter.total();
        let verified = meter.of(crate::model::OutputFormat::verify().name);
        Spent {
            cost: total.cost_usd(),
            verify_cost: verified.cost_usd(),
            turns: total.responses,
            usage: total.usage,
            model: used,
        }
    }
}

/// Where a published review goes, and what only its poster knows.
pub struct Destination<'a> {
    pub sha: &'a CommitSha,
    /// The trigger's id, in the review's marker.
    pub trigger: &'a str,
    /// The web address of files at the head (`…/blob/SHA`).
    pub blob_base: Option<&'a str>,
    /// Earlier findings this review settled, as Markdown.
    pub earlier: &'a str,
}

/// The publish stage: the review's summary and inline comments.
pub fn publish(
    ctx: &Context,
    reviewed: &Reviewed,
    spent: &Spent,
    to: &Destination<'_>,
) -> NewReview {
    let trace = reviewed.tooling.as_ref().map(|t| t.toolbox.trace());
    let placement = &reviewed.placement;
    let body = publish::summary(&publish::SummaryInput {
        sha: to.sha,
        trigger: to.trigger,
        output: &reviewed.answer.output,
        placement,
        focus_areas: &ctx.focus_areas,
        not_reviewed: &reviewed.not_reviewed,
        reviewed_files: reviewed.reviewed_files,
        model_calls: spent.turns as usize,
        model: &spent.model,
        usage: spent.usage,
        cost: spent.cost,
        since: ctx.since.as_ref().map(|(sha, _)| sha),
        repeated: reviewed.filtered.repeats.repeated.len(),
        below_thresholds: reviewed.filtered.below,
        config_error: ctx.config_error.clone(),
        blob_base: to.blob_base,
        verification: reviewed.verification.as_ref(),
        verify_cost: spent.verify_cost,
        trace: trace.as_ref(),
        codebase_note: ctx.codebase_note.as_deref(),
        tools_limited: &reviewed.tools_limited,
        earlier: to.earlier,
        dismissed: reviewed.filtered.dismissed,
        ignored_reactions: ctx.earlier.ignored_reactions,
    });
    NewReview {
        commit_id: to.sha.to_string(),
        body,
        event: "COMMENT",
        comments: placement
            .inline
            .iter()
            .map(publish::inline_comment)
            .collect(),
    }
}
