//! The review's summary: its marker, a heading with the verdict, the explanation, the counts
//! by priority, the earlier findings settled, the findings that could not sit on the diff,
//! what was left out and why, how the review was made, and a footer with the model and its
//! cost. Built from [`Summary`], plain values the pipeline fills in; every text that is not
//! the app's own goes through [`crate::untrusted`].

mod account;
mod earlier;
mod findings;

use std::fmt::Write;

use crate::codebase::Trace;
use crate::ids::CommitSha;
use crate::model::{Finding, Usage};
use crate::untrusted;

pub use account::{Dropped, Verified};
pub use earlier::{Settled, settled};
pub use findings::{Unplaced, file_link, place};

/// Characters of a summary at most: room kept below GitHub's limit for our own framing.
const SUMMARY_LIMIT: usize = 60_000;

/// Everything the summary says, as values.
pub struct Summary<'a> {
    /// The reviewed head: in the marker and the footer.
    pub sha: &'a CommitSha,
    /// The trigger's id, in the marker.
    pub trigger: &'a str,
    /// Whether the verdict is that the patch is incorrect.
    pub changes_needed: bool,
    /// The overall explanation (the model's, or the conclude stage's): untrusted.
    pub explanation: &'a str,
    /// The findings posted inline (counted by priority, listed in their threads).
    pub inline: Vec<&'a Finding>,
    /// The findings posted in the summary only, each with why.
    pub unplaced: Vec<Unplaced<'a>>,
    /// Earlier findings this review settled, as Markdown from [`settled`].
    pub earlier: &'a str,
    /// The earlier reviewed head, when only the changes since were reviewed.
    pub since: Option<&'a CommitSha>,
    /// The focus areas asked for (none: the general review).
    pub focus_areas: &'a [String],
    /// Files the model was not shown: `(path, why)`.
    pub not_reviewed: &'a [(String, String)],
    /// Findings the summary counts without listing them.
    pub left_out: LeftOut,
    /// Why the repository's configuration file was ignored (the defaults applied).
    pub config_error: Option<&'a str>,
    /// The verification, when it ran.
    pub verification: Option<Verified<'a>>,
    /// How the repository was read when it was not from its snapshot.
    pub codebase_note: Option<&'a str>,
    /// Files reviewed without tools: the tool budget could not give their parts a share.
    pub tools_limited: &'a [String],
    /// What the model read with its tools, when it had them.
    pub trace: Option<&'a Trace>,
    /// What was reviewed, with which model, at what cost: the footer.
    pub run: Run<'a>,
}

/// Findings left out of the review, by why.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeftOut {
    /// Malformed findings of the model, dropped.
    pub malformed: usize,
    /// Findings below the repository's `min_priority` / `min_confidence`.
    pub below_thresholds: usize,
    /// Findings people dismissed on this pull request.
    pub dismissed: usize,
    /// Open findings whose 👎 came only from people who may not run commands.
    pub ignored_reactions: usize,
    /// Findings an earlier review of this pull request already posted.
    pub repeated: usize,
}

/// What the review took: the footer's values.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// Files the model was shown.
    pub reviewed_files: usize,
    /// Model calls the review took.
    pub model_calls: usize,
    /// The model's name.
    pub model: &'a str,
    pub usage: Usage,
    /// Estimated USD, when the model's price is known.
    pub cost: Option<f64>,
    /// Estimated USD of the verification (included in `cost`).
    pub verify_cost: Option<f64>,
}

/// The review's top-level body, cut to [`SUMMARY_LIMIT`].
pub fn summary(input: &Summary<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", super::markers::review(input.sha, input.trigger));
    heading(&mut s, input);
    s.push_str(input.earlier);
    if let Some(since) = input.since {
        let _ = writeln!(
            s,
            "Reviewed the changes since {} (reviewed before); comment `@codex review full` for the whole pull request.\n",
            since.short()
        );
    }
    if input.focus_areas.is_empty() {
        let _ = writeln!(s, "Focus: general (correctness, security, performance).\n");
    } else {
        // A comment's focus areas are single words, the configuration's anything.
        let areas: Vec<String> = (input.focus_areas.iter())
            .map(|a| untrusted::line(a, 100))
            .collect();
        let _ = writeln!(s, "Focus: {}.\n", areas.join(", "));
    }
    findings::unplaced(&mut s, &input.unplaced);
    not_reviewed(&mut s, input.not_reviewed);
    let left_out = input.left_out;
    if left_out.malformed > 0 {
        let n = left_out.malformed;
        let _ = writeln!(
            s,
            "{n} malformed finding{} from the model were dropped.\n",
            plural_s(n)
        );
    }
    if left_out.below_thresholds > 0 {
        let n = left_out.below_thresholds;
        let _ = writeln!(
            s,
            "{n} finding{} below the repository's `min_priority` / `min_confidence` {} not shown.\n",
            plural_s(n),
            if n == 1 { "is" } else { "are" }
        );
    }
    if let Some(error) = input.config_error {
        let _ = writeln!(
            s,
            "⚠️ `.github/codex-review.yml` on the base branch was ignored and the defaults applied: {}\n",
            untrusted::text(error, 1_000)
        );
    }
    if let Some(v) = &input.verification {
        account::verification(&mut s, v);
    }
    if let Some(note) = input.codebase_note {
        let _ = writeln!(s, "{}\n", untrusted::text(note, 1_000));
    }
    account::tools_limited(&mut s, input.tools_limited);
    if let Some(trace) = input.trace {
        account::looked_at(&mut s, trace);
    }
    not_repeated(&mut s, left_out);
    footer(&mut s, input);
    untrusted::truncated(s, SUMMARY_LIMIT)
}

/// The heading with the verdict, the explanation and the counts by priority.
fn heading(s: &mut String, input: &Summary<'_>) {
    let total = input.inline.len() + input.unplaced.len();
    if input.run.reviewed_files == 0 {
        let _ = writeln!(s, "### Codex review: nothing to review\n");
    } else if total == 0 {
        let _ = writeln!(s, "### Codex review: no issues found\n");
    } else {
        let verdict = if input.changes_needed {
            "changes needed"
        } else {
            "no blocking issues"
        };
        let _ = writeln!(
            s,
            "### Codex review: {total} finding{} ({verdict})\n",
            plural_s(total)
        );
    }
    let explanation = untrusted::text(input.explanation.trim(), 2_000);
    if !explanation.is_empty() {
        let _ = writeln!(s, "{explanation}\n");
    }
    if total > 0 {
        let mut counts = [0usize; 4];
        let priorities = (input.inline.iter().map(|f| f.priority))
            .chain(input.unplaced.iter().map(|u| u.finding.priority));
        for priority in priorities {
            counts[priority.clamp(0, 3) as usize] += 1;
        }
        let _ = writeln!(
            s,
            "| P0 | P1 | P2 | P3 |\n|---|---|---|---|\n| {} | {} | {} | {} |\n",
            counts[0], counts[1], counts[2], counts[3]
        );
    }
}

/// Files listed at most among those not reviewed.
const NOT_REVIEWED_LISTED: usize = 300;

/// The files the model was not shown, with why, collapsed.
fn not_reviewed(s: &mut String, files: &[(String, String)]) {
    if files.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "<details><summary>{} file{} not reviewed</summary>\n",
        files.len(),
        plural_s(files.len())
    );
    for (path, why) in files.iter().take(NOT_REVIEWED_LISTED) {
        let _ = writeln!(
            s,
            "- {}: {}",
            untrusted::code(path, 300),
            untrusted::line(why, 300)
        );
    }
    if files.len() > NOT_REVIEWED_LISTED {
        let _ = writeln!(s, "- … and {} more", files.len() - NOT_REVIEWED_LISTED);
    }
    s.push_str("\n</details>\n\n");
}

/// What people dismissed, 👎 that did not count, and findings already posted.
fn not_repeated(s: &mut String, left_out: LeftOut) {
    if left_out.dismissed > 0 {
        let n = left_out.dismissed;
        let _ = writeln!(
            s,
            "{n} finding{} dismissed earlier on this pull request {} not repeated.\n",
            plural_s(n),
            if n == 1 { "was" } else { "were" }
        );
    }
    if left_out.ignored_reactions > 0 {
        let n = left_out.ignored_reactions;
        let _ = writeln!(
            s,
            "{n} open finding{} {} a 👎 only from people who may not run commands here, so \
             {} still open: a 👎 or a \"won't fix\" dismisses a finding only from a person \
             `triggers.allowed_associations` allows.\n",
            plural_s(n),
            if n == 1 { "has" } else { "have" },
            if n == 1 { "it is" } else { "they are" },
        );
    }
    if left_out.repeated > 0 {
        let n = left_out.repeated;
        let _ = writeln!(
            s,
            "{n} finding{} already reported in an earlier review {} not repeated.\n",
            plural_s(n),
            if n == 1 { "was" } else { "were" }
        );
    }
}

/// The last line: what was reviewed, with which model, and what it cost.
fn footer(s: &mut String, input: &Summary<'_>) {
    let run = input.run;
    let u = run.usage;
    let cost = match (run.cost, run.verify_cost) {
        (Some(usd), Some(check)) if check > 0.0 => {
            format!(
                " · ≈ ${usd:.4} (review ${:.4} + verification ${check:.4})",
                usd - check
            )
        }
        (Some(usd), _) => format!(" · ≈ ${usd:.4}"),
        (None, _) if run.model_calls > 0 => " · cost unknown (no price for this model)".to_owned(),
        (None, _) => String::new(),
    };
    let _ = write!(
        s,
        "<sub>Reviewed {} ({} file{}, {} model call{}) with {} · tokens: {} in ({} cached), {} out ({} reasoning){cost}</sub>",
        input.sha.short(),
        run.reviewed_files,
        plural_s(run.reviewed_files),
        run.model_calls,
        plural_s(run.model_calls),
        untrusted::code(run.model, 100),
        u.input_tokens,
        u.cached_tokens,
        u.output_tokens,
        u.reasoning_tokens
    );
}

/// The `s` of a plural: `""` for one, `"s"` otherwise.
fn plural_s(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests;
