//! The filter stage, after the findings are placed: the repository's thresholds, its
//! suggestions switch, the findings people dismissed on the pull request, and the ones an
//! earlier review already posted. The App and the CLI run the same function; the CLI has no
//! earlier findings, so only the repository's settings take findings out there.

use std::collections::{HashMap, HashSet};

use super::fingerprint;
use super::place::{Placement, keep_above_thresholds};
use super::result::Drops;
use crate::diff::FileDiff;
use crate::diff::filter::PathRules;
use crate::model::normalize_title;
use crate::repo_config::{Paths, ReviewSettings};
use crate::store::{KnownFinding, PostedFinding};

/// Why a finding an earlier review already posted is not posted again: it is still there,
/// so it still counts for the verdict.
pub const ALREADY_POSTED: &str = "already posted on this pull request";

/// `(path, normalised title)` of the findings people dismissed on the pull request.
pub type Dismissed = HashSet<(String, String)>;

/// What the filter took out, and what remains to be remembered once posted.
#[derive(Debug, Default)]
pub struct Filtered {
    /// Findings below `review.min_priority` / `review.min_confidence`.
    pub below: usize,
    /// Findings people dismissed on this pull request.
    pub dismissed: usize,
    /// The findings already known on the pull request that the model reported again.
    pub repeats: fingerprint::Repeats,
    /// The findings that remain, as they are remembered once posted.
    pub remembered: Vec<PostedFinding>,
}

/// Takes out of `placement` what the repository's settings, the `dismissed` findings and the
/// `known` findings leave out, noting each in `drops`.
pub fn filter(
    placement: &mut Placement,
    review: &ReviewSettings,
    dismissed: &Dismissed,
    known: &HashMap<String, KnownFinding>,
    files: &[FileDiff],
    drops: &mut Drops,
) -> Filtered {
    drops.before(placement);
    let below = keep_above_thresholds(placement, review);
    drops.after(
        placement,
        "below the repository's thresholds (review.min_priority, review.min_confidence)",
    );
    if !review.suggestions {
        for p in &mut placement.inline {
            p.finding.suggestion = None;
        }
    }
    drops.before(placement);
    let dismissed = drop_dismissed(placement, dismissed);
    drops.after(placement, "dismissed on this pull request");
    drops.before(placement);
    let (repeats, remembered) = fingerprint::drop_repeated(placement, files, known);
    drops.after(placement, ALREADY_POSTED);
    Filtered {
        below,
        dismissed,
        repeats,
        remembered,
    }
}

/// Takes out the findings people dismissed on this pull request; returns how many.
fn drop_dismissed(placement: &mut Placement, dismissed: &Dismissed) -> usize {
    let is_dismissed =
        |path: &str, title: &str| dismissed.contains(&(path.to_owned(), normalize_title(title)));
    let before = placement.inline.len() + placement.summary_only.len();
    placement
        .inline
        .retain(|p| !is_dismissed(&p.path, &p.finding.title));
    placement
        .summary_only
        .retain(|u| !is_dismissed(&u.finding.code_location.file_path, &u.finding.title));
    before - placement.inline.len() - placement.summary_only.len()
}

/// The files the model is shown and those it is not, with why (the repository's path rules,
/// binaries, lock files): the select stage, before the files are read.
pub fn select<'a>(
    files: impl IntoIterator<Item = &'a FileDiff>,
    paths: &Paths,
) -> (Vec<&'a FileDiff>, Vec<(String, String)>) {
    let rules = PathRules::new(&paths.include, &paths.exclude).unwrap_or_default();
    let mut skipped = Vec::new();
    let mut reviewable = Vec::new();
    for file in files {
        match rules.skip_reason(file) {
            Some(why) => skipped.push((file.path.clone(), why)),
            None => reviewable.push(file),
        }
    }
    (reviewable, skipped)
}
