//! The review's summary with its hidden marker, and each inline comment seated on the diff
//! (its text is [`crate::markdown::inline`]'s). Model text is untrusted: it cannot mention
//! people, cannot open or close an HTML comment (and so cannot forge or hide our marker), and
//! is cut to GitHub's size limit.

use std::fmt::Write;

use super::place::{Placed, Placement};
use crate::diff::Side;
use crate::github::NewReviewComment;
use crate::ids::CommitSha;
use crate::markdown;
use crate::model::{ReviewOutput, Usage};
use crate::untrusted;

pub use crate::markdown::GITHUB_BODY_LIMIT;
/// Room kept below the limit for our own framing.
const SUMMARY_LIMIT: usize = 60_000;

/// One inline comment, seated where `placed` says, its body from [`markdown::inline`].
pub fn inline_comment(placed: &Placed) -> NewReviewComment {
    let seat = markdown::inline::Seat {
        right_side: placed.side == Side::Right,
        clamped: placed.clamped,
    };
    let side = placed.side.as_str();
    let range = placed.start < placed.end;
    NewReviewComment {
        path: placed.path.clone(),
        body: markdown::inline::comment(&placed.finding, seat),
        line: placed.end,
        side,
        start_line: range.then_some(placed.start),
        start_side: range.then_some(side),
    }
}

/// What the summary needs besides the placement.
pub struct SummaryInput<'a> {
    pub sha: &'a CommitSha,
    pub trigger: &'a str,
    pub output: &'a ReviewOutput,
    pub placement: &'a Placement,
    pub focus_areas: &'a [String],
    pub not_reviewed: &'a [(String, String)],
    /// Files the model was shown.
    pub reviewed_files: usize,
    /// Model calls the review took.
    pub model_calls: usize,
    pub model: &'a str,
    pub usage: Usage,
    /// Estimated USD, when the model's price is known.
    pub cost: Option<f64>,
    /// The earlier reviewed head, when only the changes since were reviewed.
    pub since: Option<&'a CommitSha>,
    /// Findings left out because an earlier review of this PR already posted them.
    pub repeated: usize,
    /// Findings below the repository's `min_priority` / `min_confidence`.
    pub below_thresholds: usize,
    /// Why the repository's configuration file was ignored (the defaults applied).
    pub config_error: Option<String>,
    /// The web address of files at the head (`…/blob/SHA`), for links to files outside the diff.
    pub blob_base: Option<&'a str>,
    /// The verification, when it ran.
    pub verification: Option<&'a super::verify::Verification>,
    /// Estimated USD of the verification (included in `cost`).
    pub verify_cost: Option<f64>,
    /// What the model read with its tools, when it had them.
    pub trace: Option<&'a crate::codebase::Trace>,
    /// How the repository was read when it was not from its snapshot.
    pub codebase_note: Option<&'a str>,
    /// Files reviewed without tools: the tool budget could not give their parts a share.
    pub tools_limited: &'a [String],
    /// Earlier findings resolved by this review (fixed, outdated), as Markdown.
    pub earlier: &'a str,
    /// Findings left out because people dismissed them on this pull request.
    pub dismissed: usize,
    /// Open findings whose 👎 came only from people who may not run commands.
    pub ignored_reactions: usize,
}

/// The review's top-level body.
pub fn summary(input: &SummaryInput<'_>) -> String {
    let p = input.placement;
    let total = p.inline.len() + p.summary_only.len();
    let mut counts = [0usize; 4];
    for prio in p
        .inline
        .iter()
        .map(|x| x.finding.priority)
        .chain(p.summary_only.iter().map(|u| u.finding.priority))
    {
        counts[prio.clamp(0, 3) as usize] += 1;
    }
    let mut s = String::new();
    let _ = writeln!(s, "{}", markdown::markers::review(input.sha, input.trigger));
    if input.reviewed_files == 0 {
        let _ = writeln!(s, "### Codex review: nothing to review\n");
    } else if total == 0 {
        let _ = writeln!(s, "### Codex review: no issues found\n");
    } else {
        let verdict = if input.output.overall_correctness == "patch is incorrect" {
            "changes needed"
        } else {
            "no blocking issues"
        };
        let _ = writeln!(
            s,
            "### Codex review: {total} finding{} ({verdict})\n",
            if total == 1 { "" } else { "s" }
        );
    }
    let explanation = untrusted::text(input.output.overall_explanation.trim(), 2_000);
    if !explanation.is_empty() {
        let _ = writeln!(s, "{explanation}\n");
    }
    if total > 0 {
        let _ = writeln!(
            s,
            "| P0 | P1 | P2 | P3 |\n|---|---|---|---|\n| {} | {} | {} | {} |\n",
            counts[0], counts[1], counts[2], counts[3]
        );
    }
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
    unplaced(&mut s, input);
    not_reviewed(&mut s, input);
    if p.invalid > 0 {
        let _ = writeln!(
            s,
            "{} malformed finding{} from the model were dropped.\n",
            p.invalid,
            if p.invalid == 1 { "" } else { "s" }
        );
    }
    if input.below_thresholds > 0 {
        let _ = writeln!(
            s,
            "{} finding{} below the repository's `min_priority` / `min_confidence` {} not shown.\n",
            input.below_thresholds,
            if input.below_thresholds == 1 { "" } else { "s" },
            if input.below_thresholds == 1 {
                "is"
            } else {
                "are"
            }
        );
    }
    if let Some(error) = &input.config_error {
        let _ = writeln!(
            s,
            "⚠️ `.github/codex-review.yml` on the base branch was ignored and the defaults applied: {}\n",
            untrusted::text(error, 1_000)
        );
    }
    if let Some(v) = input.verification {
        super::report::verification(&mut s, v);
    }
    if let Some(note) = input.codebase_note {
        let _ = writeln!(s, "{}\n", untrusted::text(note, 1_000));
    }
    tools_limited(&mut s, input.tools_limited);
    if let Some(trace) = input.trace {
        super::report::looked_at(&mut s, trace);
    }
    left_out(&mut s, input);
    footer(&mut s, input);
    untrusted::truncated(s, SUMMARY_LIMIT)
}

/// Files listed at most where the tools were limited.
const TOOLS_LIMITED_LISTED: usize = 10;

/// "The tool budget did not cover every part: ...", naming the files read without tools.
fn tools_limited(s: &mut String, files: &[String]) {
    if files.is_empty() {
        return;
    }
    let listed: Vec<String> = files
        .iter()
        .take(TOOLS_LIMITED_LISTED)
        .map(|f| untrusted::code(f, 300))
        .collect();
    let more = match files.len().saturating_sub(TOOLS_LIMITED_LISTED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let _ = writeln!(
        s,
        "The tools were limited: the review's tool budget (`review.budget`, \
         `CODEX_REVIEW_TOOL_CALLS`, `CODEX_REVIEW_TOOL_INPUT_TOKENS`) could not give every part \
         its share, so the model did not read the repository for {} file{}: {}{more}.\n",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        listed.join(", ")
    );
}

/// The last line: what was reviewed, with which model, and what it cost.
fn footer(s: &mut String, input: &SummaryInput<'_>) {
    let u = input.usage;
    let cost = match (input.cost, input.verify_cost) {
        (Some(usd), Some(check)) if check > 0.0 => {
            format!(
                " · ≈ ${usd:.4} (review ${:.4} + verification ${check:.4})",
                usd - check
            )
        }
        (Some(usd), _) => format!(" · ≈ ${usd:.4}"),
        (None, _) if input.model_calls > 0 => {
            " · cost unknown (no price for this model)".to_owned()
        }
        (None, _) => String::new(),
    };
    let _ = write!(
        s,
        "<sub>Reviewed {} ({} file{}, {} model call{}) with {} · tokens: {} in ({} cached), {} out ({} reasoning){cost}</sub>",
        input.sha.short(),
        input.reviewed_files,
        if input.reviewed_files == 1 { "" } else { "s" },
        input.model_calls,
        if input.model_calls == 1 { "" } else { "s" },
        untrusted::code(input.model, 100),
        u.input_tokens,
        u.cached_tokens,
        u.output_tokens,
        u.reasoning_tokens
    );
}

/// The findings that could not be placed on the diff, each with why.
fn unplaced(s: &mut String, input: &SummaryInput<'_>) {
    let p = input.placement;
    if !p.summary_only.is_empty() {
        let _ = writeln!(s, "**Findings that could not be placed on the diff**\n");
        for u in &p.summary_only {
            let loc = &u.finding.code_location;
            let mut at = format!(
                "{} lines {}–{} ({})",
                untrusted::code(&loc.file_path, 300),
                loc.line_range.start,
                loc.line_range.end,
                loc.side.as_str()
            );
            // A file the change does not touch: link it at the reviewed commit.
            if let Some(base) = input.blob_base
                && u.reason == super::place::OUTSIDE_REASON
                && loc.side == Side::Right
            {
                let link = super::report::file_link(
                    base,
                    &loc.file_path,
                    loc.line_range.start.max(1),
                    loc.line_range.end.max(1),
                );
                at = format!("[{at}]({link})");
            }
            let _ = writeln!(
                s,
                "- **[P{}] {}** — {at}; {}.\n  {}",
                u.finding.priority,
                untrusted::line(u.finding.title.trim(), 200),
                u.reason,
                untrusted::text(u.finding.body.trim(), 4_000).replace('\n', "\n  ")
            );
        }
        s.push('\n');
    }
}

/// The files the model was not shown, with why.
fn not_reviewed(s: &mut String, input: &SummaryInput<'_>) {
    if !input.not_reviewed.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>{} file{} not reviewed</summary>\n",
            input.not_reviewed.len(),
            if input.not_reviewed.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        for (path, why) in input.not_reviewed.iter().take(300) {
            let _ = writeln!(
                s,
                "- {}: {}",
                untrusted::code(path, 300),
                untrusted::line(why, 300)
            );
        }
        if input.not_reviewed.len() > 300 {
            let _ = writeln!(s, "- … and {} more", input.not_reviewed.len() - 300);
        }
        s.push_str("\n</details>\n\n");
    }
}

/// What people dismissed, 👎 that did not count, and findings already posted.
fn left_out(s: &mut String, input: &SummaryInput<'_>) {
    if input.dismissed > 0 {
        let _ = writeln!(
            s,
            "{} finding{} dismissed earlier on this pull request {} not repeated.\n",
            input.dismissed,
            if input.dismissed == 1 { "" } else { "s" },
            if input.dismissed == 1 { "was" } else { "were" }
        );
    }
    if input.ignored_reactions > 0 {
        let n = input.ignored_reactions;
        let _ = writeln!(
            s,
            "{n} open finding{} {} a 👎 only from people who may not run commands here, so \
             {} still open: a 👎 or a \"won't fix\" dismisses a finding only from a person \
             `triggers.allowed_associations` allows.\n",
            if n == 1 { "" } else { "s" },
            if n == 1 { "has" } else { "have" },
            if n == 1 { "it is" } else { "they are" },
        );
    }
    if input.repeated > 0 {
        let _ = writeln!(
            s,
            "{} finding{} already reported in an earlier review {} not repeated.\n",
            input.repeated,
            if input.repeated == 1 { "" } else { "s" },
            if input.repeated == 1 { "was" } else { "were" }
        );
    }
}
