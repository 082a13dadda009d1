//! The publish stage's texts: the review's summary and each inline comment seated on the
//! diff. Their Markdown is the markdown room's ([`crate::markdown::summary`],
//! [`crate::markdown::inline`]), where model text goes through the one sanitizer; this file
//! maps the pipeline's values (placement, verification, trace, cost) into its inputs.

use super::place::{OUTSIDE_REASON, Placed, Placement};
use crate::diff::Side;
use crate::github::NewReviewComment;
use crate::ids::CommitSha;
use crate::markdown;
use crate::model::{ReviewOutput, Usage};

pub use crate::markdown::GITHUB_BODY_LIMIT;

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

/// The review's top-level body: the pipeline's values, as [`markdown::summary`] takes them.
pub fn summary(input: &SummaryInput<'_>) -> String {
    let p = input.placement;
    let unplaced = (p.summary_only.iter())
        .map(|u| markdown::summary::Unplaced {
            finding: &u.finding,
            reason: u.reason,
            // A file the change does not touch: linked at the reviewed commit.
            link_base: input.blob_base.filter(|_| {
                u.reason == OUTSIDE_REASON && u.finding.code_location.side == Side::Right
            }),
        })
        .collect();
    let verification = input.verification.map(|v| markdown::summary::Verified {
        failed: v.failed.as_deref(),
        lowered: &v.lowered,
        dropped: (v.dropped.iter())
            .map(|d| markdown::summary::Dropped {
                finding: &d.finding,
                reason: &d.reason,
            })
            .collect(),
    });
    markdown::summary::summary(&markdown::summary::Summary {
        sha: input.sha,
        trigger: input.trigger,
        changes_needed: input.output.overall_correctness == "patch is incorrect",
        explanation: &input.output.overall_explanation,
        inline: p.inline.iter().map(|x| &x.finding).collect(),
        unplaced,
        earlier: input.earlier,
        since: input.since,
        focus_areas: input.focus_areas,
        not_reviewed: input.not_reviewed,
        left_out: markdown::summary::LeftOut {
            malformed: p.invalid,
            below_thresholds: input.below_thresholds,
            dismissed: input.dismissed,
            ignored_reactions: input.ignored_reactions,
            repeated: input.repeated,
        },
        config_error: input.config_error.as_deref(),
        verification,
        codebase_note: input.codebase_note,
        tools_limited: input.tools_limited,
        trace: input.trace,
        run: markdown::summary::Run {
            reviewed_files: input.reviewed_files,
            model_calls: input.model_calls,
            model: input.model,
            usage: input.usage,
            cost: input.cost,
            verify_cost: input.verify_cost,
        },
    })
}
