//! The verify stage: before posting, the findings at or above the repository's
//! `review.verify_priority` are checked by a second, focused model call that sees each
//! finding, the code it points at, and the repository's tools. A finding the call drops is
//! taken out and listed in the summary with the reason; one without a verdict is kept, and
//! when the call fails every finding is kept (the summary says they are unverified).

use super::ask::{OnTry, Tooling};
use super::place::Placement;
use crate::diff::{FileDiff, LineKind, Side};
use crate::model::prompt::{self, ToVerify};
use crate::model::{Finding, ModelClient, OutputFormat, ReviewCall, ToolUse, Usage, VerifyOutput};

/// Findings verified in one call at most (the most urgent first); the rest are kept as they are.
const MAX_VERIFIED: usize = 40;
/// Lines shown around a finding's range.
const AROUND: u32 = 3;
/// Lines of a finding's range shown at most.
const MAX_SHOWN: u32 = 60;

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
    let mut candidates: Vec<Finding> = placement
        .inline
        .iter()
        .map(|p| &p.finding)
        .chain(placement.summary_only.iter().map(|u| &u.finding))
        .filter(|f| f.priority <= i64::from(max_priority))
        .cloned()
        .collect();
    candidates.sort_by_key(|f| f.priority);
    candidates.truncate(MAX_VERIFIED);
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
            title: &f.title,
            body: &f.body,
            location: location(f),
            code,
        })
        .collect();
    let message = prompt::verify_message(input.repo, input.pr_title, &shown);
    let cache_key = super::ask::cache_key(input.repo);
    let call = ReviewCall {
        instructions: prompt::VERIFY_INSTRUCTIONS,
        user_message: &message,
        model: input.model_name,
        reasoning_effort: input.reasoning_effort,
        cache_key: Some(&cache_key),
        format: OutputFormat::verify(),
    };
    let budget = input.tooling.map(|t| t.budget(true));
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
            tracing::warn!(error = %e, "verification failed; keeping every finding");
            return Verification {
                checked: candidates.len(),
                failed: Some(e.to_string()),
                ..Verification::default()
            };
        }
    };
    // The first verdict of each id shown counts; others are ignored.
    let mut drop: Vec<Option<String>> = vec![None; candidates.len()];
    let mut decided = vec![false; candidates.len()];
    for verdict in &reply.output.verdicts {
        let Some(i) = ids.iter().position(|id| *id == verdict.id.trim()) else {
            continue;
        };
        if std::mem::replace(&mut decided[i], true) {
            continue;
        }
        if !verdict.keep {
            drop[i] = Some(verdict.reason.trim().to_owned());
        }
    }
    let dropped_findings: Vec<(Finding, String)> = candidates
        .iter()
        .zip(drop)
        .filter_map(|(f, why)| why.map(|why| (f.clone(), why)))
        .collect();
    let is_dropped = |f: &Finding| dropped_findings.iter().any(|(d, _)| d == f);
    placement.inline.retain(|p| !is_dropped(&p.finding));
    placement.summary_only.retain(|u| !is_dropped(&u.finding));
    tracing::info!(
        checked = candidates.len(),
        dropped = dropped_findings.len(),
        turns = reply.turns,
        "findings verified"
    );
    Verification {
        checked: candidates.len(),
        dropped: dropped_findings
            .into_iter()
            .map(|(finding, reason)| Dropped { finding, reason })
            .collect(),
        usage: reply.usage,
        turns: reply.turns,
        failed: None,
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

/// The numbered lines a finding points at, with a few around them: from the head's text
/// (snapshot or contents read earlier) for the new side, from the patch for the old side.
async fn code_shown(input: &VerifyInput<'_>, f: &Finding) -> String {
    let l = &f.code_location;
    let start = l.line_range.start.max(1) as u32;
    let end = (l.line_range.end.max(l.line_range.start).max(1) as u32).min(start + MAX_SHOWN);
    let from = start.saturating_sub(AROUND).max(1);
    let to = end + AROUND;
    if l.side == Side::Right {
        let text = match (input.head_text)(&l.file_path) {
            Some(text) => Some(text),
            None => match input.tooling {
                Some(t) => t.toolbox.text_of(&l.file_path).await,
                None => None,
            },
        };
        if let Some(text) = text {
            let shown: String = text
                .lines()
                .enumerate()
                .map(|(i, line)| (i as u32 + 1, line))
                .filter(|(n, _)| (from..=to).contains(n))
                .map(|(n, line)| format!("{n}: {line}\n"))
                .collect();
            if !shown.is_empty() {
                return shown;
            }
        }
    }
    let Some(file) = input.files.iter().find(|d| d.path == l.file_path) else {
        return "(the code could not be read)".into();
    };
    let mut shown = String::new();
    for line in file.hunks.iter().flat_map(|h| h.lines.iter()) {
        let n = match l.side {
            Side::Left => line.old,
            Side::Right => line.new,
        };
        if n.is_some_and(|n| (from..=to).contains(&n)) {
            let marker = match line.kind {
                LineKind::Added => '+',
                LineKind::Removed => '-',
                _ => ' ',
            };
            shown.push_str(&format!("{}{marker} {}\n", n.unwrap_or(0), file.text(line)));
        }
    }
    if shown.is_empty() {
        "(the code could not be read)".into()
    } else {
        shown
    }
}

/// The verify stage: a second look at the findings at or above `priority` (the check run
/// says so while it runs). What it drops is noted, and not remembered as posted.
pub async fn stage(
    input: &VerifyInput<'_>,
    placement: &mut Placement,
    priority: u8,
    report: &super::progress::Reporter,
    drops: &mut super::result::Drops,
    remembered: &mut Vec<crate::store::PostedFinding>,
) -> Verification {
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
    remembered.retain(|r| {
        !v.dropped.iter().any(|d| {
            d.finding.code_location.file_path == r.path
                && d.finding.title.chars().take(200).collect::<String>() == r.title
        })
    });
    v
}
