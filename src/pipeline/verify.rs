//! The verify stage: before posting, the findings at or above the repository's
//! `review.verify_priority` are checked by a second, focused model call. It sees the pull
//! request's title and description, each finding with the hunk it points into (with the
//! diff's markers and line numbers), and the repository's tools within the verification's
//! share. A verdict keeps a finding, drops it, or keeps it at a lower priority. A dropped
//! finding is taken out and listed in the summary with the reason; one without a verdict is
//! kept, and when the call fails every finding is kept (the summary says they are
//! unverified).

use super::place::Placement;
use super::tooling::{OnTry, Tooling};
use crate::diff::render::{push_hunk_header, push_line};
use crate::diff::{FileDiff, Hunk, Side};
use crate::model::prompt::{self, ToVerify};
use crate::model::{
    Finding, ModelClient, OutputFormat, ReviewCall, ToolUse, Usage, Verdict, VerifyOutput,
};

/// Findings verified in one call at most (the most urgent first); the rest are kept as they are.
const MAX_VERIFIED: usize = 40;
/// Lines shown around a finding's range when it is not in a hunk (a file the diff does not
/// touch).
const AROUND: u32 = 3;
/// Lines of the hunk shown on each side of a finding's range.
const HUNK_AROUND: u32 = 12;
/// Lines of a finding's range shown at most.
const MAX_SHOWN: u32 = 60;
/// Characters of the description shown at most.
const MAX_DESCRIPTION: usize = 4_000;

/// A finding the verification dropped, and why.
#[derive(Debug, Clone)]
pub struct Dropped {
    pub finding: Finding,
    pub reason: String,
}

/// What the verification did.
#[derive(Debug, Default)]
pub struct Verification {
    /// Findings sent to be verified.
    pub checked: usize,
    pub dropped: Vec<Dropped>,
    /// Findings kept at a lower priority: `(title, from, to)`.
    pub lowered: Vec<(String, i64, i64)>,
    pub usage: Usage,
    /// Requests made (turns with tools included).
    pub turns: u32,
    /// Why nothing could be verified (the call failed): every finding was kept.
    pub failed: Option<String>,
}

/// What the verification call needs besides the findings.
pub struct VerifyInput<'a> {
    pub model: &'a ModelClient,
    pub repo: &'a str,
    pub pr_title: &'a str,
    pub pr_description: &'a str,
    /// The repository's guidelines: each finding is judged against those of its file.
    pub guidelines: &'a crate::repo_config::Guidelines,
    /// The PR's files (for the lines of a finding on a deleted line, and without a snapshot).
    pub files: &'a [FileDiff],
    /// Text of files at the head, where read (`contents` of the context stage).
    pub head_text: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub tooling: Option<&'a Tooling>,
    pub model_name: Option<&'a str>,
    pub reasoning_effort: Option<&'a str>,
    pub on_try: OnTry,
}

/// Verifies the findings of `placement` with priority `<= max_priority`, removing those the
/// model drops.
pub async fn verify(
    input: &VerifyInput<'_>,
    placement: &mut Placement,
    max_priority: u8,
) -> Verification {
    let candidates = candidates(placement, max_priority);
    if candidates.is_empty() {
        return Verification::default();
    }
    let mut codes = Vec::with_capacity(candidates.len());
    for f in &candidates {
        codes.push(code_shown(input, f).await);
    }
    let ids: Vec<String> = (1..=candidates.len()).map(|i| format!("F{i}")).collect();
    let shown: Vec<ToVerify<'_>> = candidates
        .iter()
        .zip(&ids)
        .zip(&codes)
        .map(|((f, id), code)| ToVerify {
            id,
            priority: f.priority,
            title: &f.title,
            body: &f.body,
            location: location(f),
            code,
        })
        .collect();
    let description: String = input.pr_description.chars().take(MAX_DESCRIPTION).collect();
    let paths: Vec<&str> = candidates
        .iter()
        .map(|f| f.code_location.file_path.as_str())
        .collect();
    let path_guidelines = input.guidelines.for_paths(&paths);
    let pr = prompt::VerifiedPr {
        repo: input.repo,
        title: input.pr_title,
        description: &description,
        guidelines: &input.guidelines.repository,
        path_guidelines: &path_guidelines,
    };
    let message = prompt::verify_message(&pr, &shown);
    let cache_key = super::ask::cache_key(input.repo, 0);
    let call = ReviewCall {
        instructions: prompt::VERIFY_INSTRUCTIONS,
        user_message: &message,
        model: input.model_name,
        reasoning_effort: input.reasoning_effort,
        cache_key: Some(&cache_key),
        format: OutputFormat::verify(),
    };
    let budget = input.tooling.map(|t| t.verify_budget());
    let tools = input
        .tooling
        .zip(budget.as_deref())
        .map(|(t, budget)| ToolUse {
            runner: t.toolbox.clone(),
            budget,
        });
    let reply = input
        .model
        .ask::<VerifyOutput, _>(&call, tools, &*input.on_try)
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(e) => {
            tracing::warn!(error = %crate::error_chain::chain(&e), "verification failed; keeping every finding");
            return Verification {
                checked: candidates.len(),
                failed: Some(crate::error_chain::chain(&e)),
                ..Verification::default()
            };
        }
    };
    let verdicts = verdicts(&reply.output.verdicts, &ids, &candidates);
    let mut dropped = Vec::new();
    let mut lowered = Vec::new();
    for (f, verdict) in candidates.iter().zip(verdicts) {
        match verdict {
            Judged::Drop(reason) => dropped.push(Dropped {
                finding: f.clone(),
                reason,
            }),
            Judged::Lower(to) => {
                lower(placement, f, to);
                lowered.push((f.title.clone(), f.priority, to));
            }
            Judged::Keep => {}
        }
    }
    if !lowered.is_empty() {
        super::place::sort(placement);
    }
    let is_dropped = |f: &Finding| dropped.iter().any(|d| d.finding == *f);
    placement.inline.retain(|p| !is_dropped(&p.finding));
    placement.summary_only.retain(|u| !is_dropped(&u.finding));
    tracing::info!(
        checked = candidates.len(),
        dropped = dropped.len(),
        lowered = lowered.len(),
        turns = reply.turns,
        "findings verified"
    );
    Verification {
        checked: candidates.len(),
        dropped,
        lowered,
        usage: reply.usage,
        turns: reply.turns,
        failed: None,
    }
}

/// The findings to verify: priority `<= max_priority`, the most urgent first and the surest
/// first among equals, [`MAX_VERIFIED`] at most (the rest stay unverified).
fn candidates(placement: &Placement, max_priority: u8) -> Vec<Finding> {
    let mut candidates: Vec<Finding> = placement
        .inline
        .iter()
        .map(|p| &p.finding)
        .chain(placement.summary_only.iter().map(|u| &u.finding))
        .filter(|f| f.priority <= i64::from(max_priority))
        .cloned()
        .collect();
    candidates.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.confidence_score.total_cmp(&a.confidence_score))
    });
    candidates.truncate(MAX_VERIFIED);
    candidates
}

/// What a verdict does to the finding it names.
#[derive(Debug, PartialEq)]
enum Judged {
    Keep,
    Drop(String),
    /// Kept at this (lower) priority.
    Lower(i64),
}

/// One decision per candidate: the first verdict of each id shown counts, others (and ids
/// that were not shown) are ignored; a finding without a verdict is kept. A priority only
/// ever goes down (a higher number, at most 3).
fn verdicts(verdicts: &[Verdict], ids: &[String], candidates: &[Finding]) -> Vec<Judged> {
    let mut judged: Vec<Option<Judged>> = (0..candidates.len()).map(|_| None).collect();
    for verdict in verdicts {
        let Some(i) = ids.iter().position(|id| *id == verdict.id.trim()) else {
            continue;
        };
        if judged[i].is_some() {
            continue;
        }
        judged[i] = Some(if !verdict.keep {
            Judged::Drop(verdict.reason.trim().to_owned())
        } else {
            match verdict.priority {
                Some(p) if p > candidates[i].priority && p <= 3 => Judged::Lower(p),
                _ => Judged::Keep,
            }
        });
    }
    judged
        .into_iter()
        .map(|j| j.unwrap_or(Judged::Keep))
        .collect()
}

/// Sets the priority of `finding` where it is placed (the placement is sorted again once
/// all are set: the cap on inline comments keeps the first ones).
fn lower(placement: &mut Placement, finding: &Finding, to: i64) {
    for p in &mut placement.inline {
        if p.finding == *finding {
            p.finding.priority = to;
        }
    }
    for u in &mut placement.summary_only {
        if u.finding == *finding {
            u.finding.priority = to;
        }
    }
}

/// `path:line` or `path:start-end`, with the side when it is the old one.
fn location(f: &Finding) -> String {
    let l = &f.code_location;
    let lines = if l.line_range.end > l.line_range.start {
        format!("{}-{}", l.line_range.start, l.line_range.end)
    } else {
        l.line_range.start.to_string()
    };
    match l.side {
        Side::Right => format!("{}:{lines}", l.file_path),
        Side::Left => format!("{}:{lines}, old numbering", l.file_path),
    }
}

/// What a finding points at: the hunk of the pull request's diff around its range, as the
/// review read it (both line numbers and the `+`/`-` markers), or, for lines the diff does not
/// show, the numbered lines of the head (from the snapshot or the contents read earlier).
async fn code_shown(input: &VerifyInput<'_>, f: &Finding) -> String {
    let l = &f.code_location;
    let start = l.line_range.start.max(1) as u32;
    let end = (l.line_range.end.max(l.line_range.start).max(1) as u32).min(start + MAX_SHOWN);
    if let Some(shown) = input
        .files
        .iter()
        .find(|d| d.path == l.file_path)
        .and_then(|file| hunk_shown(file, l.side, start, end))
    {
        return shown;
    }
    if l.side == Side::Right {
        let text = match (input.head_text)(&l.file_path) {
            Some(text) => Some(text),
            None => match input.tooling {
                Some(t) => t.toolbox.text_of(&l.file_path).await,
                None => None,
            },
        };
        let (from, to) = (start.saturating_sub(AROUND).max(1), end + AROUND);
        let shown: String = text
            .iter()
            .flat_map(|text| text.lines().enumerate())
            .map(|(i, line)| (i as u32 + 1, line))
            .filter(|(n, _)| (from..=to).contains(n))
            .map(|(n, line)| format!("{n}: {line}\n"))
            .collect();
        if !shown.is_empty() {
            return format!("At the head, outside the diff:\n{shown}");
        }
    }
    "(the code could not be read)".into()
}

/// The hunk of `file` that holds lines `start..=end` of `side`, trimmed to [`HUNK_AROUND`]
/// lines on each side of them; `None` when no hunk does.
fn hunk_shown(file: &FileDiff, side: Side, start: u32, end: u32) -> Option<String> {
    let number = |line: &crate::diff::DiffLine| match side {
        Side::Left => line.old,
        Side::Right => line.new,
    };
    let in_range = |hunk: &&Hunk| {
        hunk.lines
            .iter()
            .filter_map(number)
            .any(|n| (start..=end).contains(&n))
    };
    let hunk = file.hunks.iter().find(in_range)?;
    let first = hunk
        .lines
        .iter()
        .position(|l| number(l).is_some_and(|n| n >= start))?;
    let last = hunk
        .lines
        .iter()
        .rposition(|l| number(l).is_some_and(|n| n <= end))?;
    let from = first.saturating_sub(HUNK_AROUND as usize);
    let to = (last + HUNK_AROUND as usize).min(hunk.lines.len() - 1);
    let mut out = String::new();
    push_hunk_header(&mut out, file, hunk);
    if from > 0 {
        out.push_str(&format!("  ({from} lines of the hunk before)\n"));
    }
    for line in &hunk.lines[from..=to] {
        push_line(&mut out, file, line);
    }
    if to + 1 < hunk.lines.len() {
        let after = hunk.lines.len() - to - 1;
        out.push_str(&format!("  ({after} lines of the hunk after)\n"));
    }
    Some(out)
}

/// The verify stage: a second look at the findings at or above the repository's
/// `review.verify_priority` (the check run says so while it runs). What it drops is noted,
/// and not remembered as posted; a finding it lowers below `review.min_priority` is dropped
/// as the filter would have.
pub async fn stage(
    input: &VerifyInput<'_>,
    placement: &mut Placement,
    review: &crate::repo_config::ReviewSettings,
    report: &super::progress::Reporter,
    drops: &mut super::result::Drops,
    remembered: &mut Vec<crate::store::PostedFinding>,
) -> Verification {
    let priority = review.verify_priority;
    let findings = placement
        .inline
        .iter()
        .map(|p| p.finding.priority)
        .chain(placement.summary_only.iter().map(|u| u.finding.priority))
        .filter(|p| *p <= i64::from(priority))
        .count();
    if findings > 0 {
        report(super::progress::Step::Verifying { findings });
    }
    let v = verify(input, placement, priority).await;
    for d in &v.dropped {
        drops.add(
            &d.finding,
            &format!("not confirmed by verification: {}", d.reason),
        );
    }
    if !v.lowered.is_empty() {
        drops.before(placement);
        super::place::keep_above_thresholds(placement, review);
        drops.after(
            placement,
            "lowered by verification below the repository's threshold (review.min_priority)",
        );
    }
    let placed = |path: &str, title: &str| {
        placement
            .inline
            .iter()
            .map(|p| &p.finding)
            .chain(placement.summary_only.iter().map(|u| &u.finding))
            .find(|f| {
                f.code_location.file_path == path
                    && f.title.chars().take(200).collect::<String>() == title
            })
            .map(|f| f.priority)
    };
    remembered.retain_mut(|r| match placed(&r.path, &r.title) {
        Some(priority) => {
            r.priority = priority;
            true
        }
        None => false,
    });
    v
}
