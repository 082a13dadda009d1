//! How `codex-review review` prints what it found, and its progress on standard error.

use std::io::Write;

use crate::review::pipeline::{Reviewed, Spent};
use crate::review::place;
use crate::review::progress::Step;
use crate::review::verify::Verification;

/// The verdict and the findings, most urgent first, then what was not reviewed.
pub(super) fn print_human(
    out: &mut impl Write,
    output: &crate::model::ReviewOutput,
    placement: &place::Placement,
    skipped: &[(String, String)],
) -> std::io::Result<()> {
    let total = placement.inline.len() + placement.summary_only.len();
    writeln!(out, "{} — {} finding(s)", output.overall_correctness, total)?;
    if !output.overall_explanation.trim().is_empty() {
        writeln!(out, "{}", output.overall_explanation.trim())?;
    }
    let mut all: Vec<(i64, String, &crate::model::Finding)> = placement
        .inline
        .iter()
        .map(|p| {
            let range = if p.start == p.end {
                p.start.to_string()
            } else {
                format!("{}-{}", p.start, p.end)
            };
            (
                p.finding.priority,
                format!("{}:{range}", p.path),
                &p.finding,
            )
        })
        .chain(placement.summary_only.iter().map(|u| {
            let l = &u.finding.code_location;
            (
                u.finding.priority,
                format!(
                    "{}:{}-{} ({})",
                    l.file_path, l.line_range.start, l.line_range.end, u.reason
                ),
                &u.finding,
            )
        }))
        .collect();
    all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (priority, location, f) in all {
        print_finding(
            out,
            priority,
            &location,
            &f.title,
            &f.body,
            f.suggestion.as_deref(),
        )?;
    }
    if placement.invalid > 0 {
        writeln!(out, "\n{} malformed finding(s) dropped.", placement.invalid)?;
    }
    if !skipped.is_empty() {
        writeln!(out, "\nNot reviewed:")?;
        for (path, why) in skipped {
            writeln!(out, "  {path}: {why}")?;
        }
    }
    Ok(())
}

/// One finding as the command prints it: `[P1] path:line  title`, its paragraph, and its
/// suggestion.
pub(super) fn print_finding(
    out: &mut impl Write,
    priority: i64,
    location: &str,
    title: &str,
    body: &str,
    suggestion: Option<&str>,
) -> std::io::Result<()> {
    writeln!(out, "\n[P{priority}] {location}  {}", title.trim())?;
    for line in body.trim().lines() {
        writeln!(out, "    {line}")?;
    }
    if let Some(code) = suggestion {
        writeln!(out, "    suggestion:")?;
        for line in code.lines() {
            writeln!(out, "    | {line}")?;
        }
    }
    Ok(())
}

/// What the verification dropped and what the model read.
pub(super) fn print_process(
    out: &mut impl Write,
    verification: Option<&Verification>,
    trace: Option<&crate::codebase::Trace>,
) -> std::io::Result<()> {
    if let Some(v) = verification {
        if let Some(why) = &v.failed {
            writeln!(out, "\nThe findings could not be verified: {why}")?;
        }
        if !v.dropped.is_empty() {
            writeln!(
                out,
                "\n{} finding(s) dropped after verification:",
                v.dropped.len()
            )?;
            for d in &v.dropped {
                let l = &d.finding.code_location;
                writeln!(
                    out,
                    "  [P{}] {}:{}  {} — {}",
                    d.finding.priority,
                    l.file_path,
                    l.line_range.start,
                    d.finding.title.trim(),
                    d.reason.trim()
                )?;
            }
        }
    }
    if let Some(t) = trace.filter(|t| !t.is_empty()) {
        writeln!(
            out,
            "\nLooked at: {} file(s) read, {} search(es){}",
            t.read.len(),
            t.searched.values().sum::<u32>(),
            if t.refused > 0 {
                format!(", {} refused call(s)", t.refused)
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

/// A step of the pipeline, as a line on standard error.
pub(super) fn step(step: Step) {
    match step {
        Step::Asking { parts, .. } => eprintln!(
            "codex-review: asking the model ({parts} call{})…",
            if parts == 1 { "" } else { "s" }
        ),
        Step::Answered { done, parts, .. } => {
            eprintln!("codex-review: part {done} of {parts} answered")
        }
        Step::Verifying { findings } => eprintln!(
            "codex-review: verifying {findings} finding{}…",
            if findings == 1 { "" } else { "s" }
        ),
    }
}

/// The review as the command prints it: the findings, what the verification dropped and what
/// the model read, then what it cost.
pub(super) fn print_review(
    out: &mut impl Write,
    reviewed: &Reviewed,
    spent: &Spent,
) -> std::io::Result<()> {
    let output = &reviewed.answer.output;
    print_human(out, output, &reviewed.placement, &reviewed.not_reviewed)?;
    let trace = reviewed.tooling.as_ref().map(|t| t.toolbox.trace());
    print_process(out, reviewed.verification.as_ref(), trace.as_ref())?;
    let usage = spent.usage;
    writeln!(
        out,
        "\n{} model request(s) · tokens: {} in ({} cached), {} out ({} reasoning){}",
        spent.turns,
        usage.input_tokens,
        usage.cached_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
        spent
            .cost
            .map_or_else(String::new, |c| format!(" · ≈ ${c:.4}"))
    )
}
