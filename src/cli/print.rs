//! How `codex-review review` prints what it found, and its progress line while it waits.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::review::place;
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

/// A line on stderr while the model works.
pub(super) struct Progress {
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    pub(super) fn start(calls: usize) -> Self {
        let tty = std::io::stderr().is_terminal();
        let started = Instant::now();
        eprintln!(
            "codex-review: asking the model ({calls} call{})…",
            if calls == 1 { "" } else { "s" }
        );
        let task = tokio::spawn(async move {
            if !tty {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprint!(
                    "\r  waiting for the model: {} s",
                    started.elapsed().as_secs()
                );
            }
        });
        Self { task }
    }

    pub(super) fn stop(self) {
        self.task.abort();
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
}
