//! Puts each finding on lines GitHub will accept, or in the summary when it cannot.

use std::collections::HashMap;

use crate::diff::{Anchor, FileDiff, FileIndex, Side};
use crate::model::Finding;

/// A finding placed on commentable lines.
#[derive(Debug, Clone)]
pub struct Placed {
    pub finding: Finding,
    pub path: String,
    pub side: Side,
    pub start: u32,
    pub end: u32,
    /// The model's range was cut to the part inside the diff.
    pub clamped: bool,
}

/// A finding that stays in the summary, with the reason.
#[derive(Debug, Clone)]
pub struct Unplaced {
    pub finding: Finding,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub inline: Vec<Placed>,
    pub summary_only: Vec<Unplaced>,
    /// Findings thrown away because their fields made no sense (bad priority, empty title).
    pub invalid: usize,
    /// Findings on files this pull request does not change (a caller the change breaks):
    /// listed in the summary when the file exists in the repository, see [`settle_outside`].
    pub outside: Vec<Finding>,
}

/// Why a finding on a file outside the pull request's changes is only in the summary.
pub const OUTSIDE_REASON: &str = "its file is not changed by this pull request";

/// Settles [`Placement::outside`] by asking whether each file exists: the snapshot knows;
/// without one, the head tree is listed (only when the model pointed outside the diff).
pub(super) async fn settle_outside_files(
    placement: &mut Placement,
    tooling: Option<&super::tooling::Tooling>,
    gh: &crate::github::RepoClient,
    sha: &crate::ids::CommitSha,
) {
    if placement.outside.is_empty() {
        return;
    }
    let mut in_snapshot = HashMap::new();
    if let Some(t) = tooling {
        for f in &placement.outside {
            let path = &f.code_location.file_path;
            if let Some(known) = t.toolbox.has_file(path).await {
                in_snapshot.insert(path.clone(), known);
            }
        }
    }
    let all_known = placement
        .outside
        .iter()
        .all(|f| in_snapshot.contains_key(&f.code_location.file_path));
    let listed = if all_known {
        Ok((Vec::new(), true))
    } else {
        gh.tree_paths(sha.as_str()).await
    };
    let known = match listed {
        Ok((paths, false)) => Some(
            paths
                .into_iter()
                .collect::<std::collections::HashSet<String>>(),
        ),
        Ok((_, true)) => None,
        Err(e) => {
            tracing::warn!(error = %crate::error_chain::chain(&e), "cannot list the head tree; keeping findings on other files");
            None
        }
    };
    settle_outside(placement, |path| match in_snapshot.get(path) {
        Some(known) => *known,
        None => known.as_ref().is_none_or(|k| k.contains(path)),
    });
}

/// Settles [`Placement::outside`]: findings on files that `exists` in the repository go to the
/// summary; findings on paths that do not exist are malformed (dropped and counted).
pub fn settle_outside(placement: &mut Placement, exists: impl Fn(&str) -> bool) {
    for finding in std::mem::take(&mut placement.outside) {
        if exists(&finding.code_location.file_path) {
            placement.summary_only.push(Unplaced {
                finding,
                reason: OUTSIDE_REASON,
            });
        } else {
            tracing::info!(
                path = %finding.code_location.file_path,
                "dropping a finding on a file that is not in the repository"
            );
            placement.invalid += 1;
        }
    }
    placement.summary_only.sort_by_key(|u| u.finding.priority);
}

/// Places `findings` against the files of the PR. Only files in `reviewable` (shown to the
/// model) take inline comments.
pub fn place(findings: Vec<Finding>, files: &[FileDiff], reviewable: &[String]) -> Placement {
    let indexes: HashMap<&str, FileIndex> = files
        .iter()
        .filter(|f| reviewable.iter().any(|p| p == &f.path))
        .map(|f| (f.path.as_str(), FileIndex::new(f)))
        .collect();
    let mut placement = Placement::default();
    let mut seen: Vec<(String, Side, u32, u32, String)> = Vec::new();
    for finding in findings {
        let loc = &finding.code_location;
        let (a, b) = (loc.line_range.start, loc.line_range.end);
        // The schema cannot say everything: what makes no sense is dropped and counted.
        let problem = if !(0..=3).contains(&finding.priority) {
            Some("priority outside 0..3")
        } else if finding.title.trim().is_empty() {
            Some("empty title")
        } else if !(0.0..=1.0).contains(&finding.confidence_score) {
            Some("confidence outside 0..1")
        } else if a < 1 || b < 1 || a > u32::MAX as i64 || b > u32::MAX as i64 {
            Some("line numbers not valid")
        } else if a > b {
            Some("line range ends before it starts")
        } else {
            None
        };
        if let Some(problem) = problem {
            tracing::info!(
                problem,
                path = %loc.file_path,
                start = a,
                end = b,
                priority = finding.priority,
                "dropping an invalid finding"
            );
            placement.invalid += 1;
            continue;
        }
        if !files.iter().any(|f| f.path == loc.file_path) {
            placement.outside.push(finding);
            continue;
        }
        let Some(index) = indexes.get(loc.file_path.as_str()) else {
            placement.summary_only.push(Unplaced {
                finding,
                reason: "its file has no reviewable line diff",
            });
            continue;
        };
        let side = loc.side;
        let (start, end, clamped) = match index.anchor(side, a as u32, b as u32) {
            Anchor::Exact { start, end } => (start, end, false),
            Anchor::Clamped { start, end } => (start, end, true),
            Anchor::Outside => {
                placement.summary_only.push(Unplaced {
                    finding,
                    reason: "its lines are outside the diff",
                });
                continue;
            }
        };
        let key = (
            loc.file_path.clone(),
            side,
            start,
            end,
            finding.title.trim().to_lowercase(),
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let path = loc.file_path.clone();
        placement.inline.push(Placed {
            finding,
            path,
            side,
            start,
            end,
            clamped,
        });
    }
    sort(&mut placement);
    placement
}

/// Most important first, then in file order, so the review reads top-down (and the cap on
/// inline comments keeps the most important).
pub fn sort(placement: &mut Placement) {
    placement.inline.sort_by(|x, y| {
        (x.finding.priority, &x.path, x.start).cmp(&(y.finding.priority, &y.path, y.start))
    });
    placement.summary_only.sort_by_key(|u| u.finding.priority);
}

/// Moves LEFT-side inline findings into the summary with `reason` (an incremental review's
/// deleted lines are numbered in an earlier commit, not in the PR's base).
pub fn left_side_to_summary(placement: &mut Placement, reason: &'static str) {
    let (left, right): (Vec<Placed>, Vec<Placed>) = placement
        .inline
        .drain(..)
        .partition(|p| p.side == Side::Left);
    placement.inline = right;
    placement
        .summary_only
        .extend(left.into_iter().map(|p| Unplaced {
            finding: p.finding,
            reason,
        }));
    placement.summary_only.sort_by_key(|u| u.finding.priority);
}

/// Drops findings less urgent than `min_priority` or less sure than `min_confidence`;
/// returns how many.
pub fn keep_above_thresholds(
    placement: &mut Placement,
    review: &crate::repo_config::ReviewSettings,
) -> usize {
    let keep = |f: &crate::model::Finding| {
        f.priority <= i64::from(review.min_priority) && f.confidence_score >= review.min_confidence
    };
    let before = placement.inline.len() + placement.summary_only.len();
    placement.inline.retain(|p| keep(&p.finding));
    placement.summary_only.retain(|u| keep(&u.finding));
    before - placement.inline.len() - placement.summary_only.len()
}

/// Moves inline findings past `max` into the summary (they are sorted most important first).
pub fn cap_inline(placement: &mut Placement, max: usize) {
    if placement.inline.len() > max {
        let overflow = placement.inline.split_off(max);
        let mut moved: Vec<Unplaced> = overflow
            .into_iter()
            .map(|p| Unplaced {
                finding: p.finding,
                reason: "over the limit of inline comments per review",
            })
            .collect();
        moved.append(&mut placement.summary_only);
        placement.summary_only = moved;
        placement.summary_only.sort_by_key(|u| u.finding.priority);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CodeLocation, LineRange};

    fn finding(path: &str, side: Side, start: i64, end: i64, priority: i64) -> Finding {
        Finding {
            title: format!("t {path} {start}"),
            body: "b".into(),
            confidence_score: 0.9,
            priority,
            code_location: CodeLocation {
                file_path: path.into(),
                side,
                line_range: LineRange { start, end },
            },
            suggestion: None,
        }
    }

    #[test]
    fn findings_are_placed_clamped_or_kept_for_the_summary() {
        let files = vec![
            FileDiff::from_github(
                "a.rs".into(),
                None,
                "modified",
                Some("@@ -1,3 +1,3 @@\n a\n-b\n+B\n c".into()),
                1,
                1,
            ),
            FileDiff::from_github("img.png".into(), None, "added", None, 0, 0),
        ];
        let reviewable = vec!["a.rs".to_string()];
        let p = place(
            vec![
                finding("a.rs", Side::Right, 2, 2, 1),
                finding("a.rs", Side::Left, 2, 2, 0),
                finding("a.rs", Side::Right, 3, 9, 2),
                finding("a.rs", Side::Right, 40, 41, 2),
                finding("img.png", Side::Right, 1, 1, 2),
                finding("nope.rs", Side::Right, 1, 1, 2),
                finding("a.rs", Side::Right, 2, 2, 7),
                finding("a.rs", Side::Right, 0, 2, 2),
                finding("a.rs", Side::Right, 3, 2, 2),
                {
                    let mut f = finding("a.rs", Side::Right, 2, 2, 1);
                    f.confidence_score = 1.5;
                    f
                },
            ],
            &files,
            &reviewable,
        );
        let inline: Vec<_> = p
            .inline
            .iter()
            .map(|x| (x.side, x.start, x.end, x.clamped))
            .collect();
        assert_eq!(
            inline,
            vec![
                (Side::Left, 2, 2, false),
                (Side::Right, 2, 2, false),
                (Side::Right, 3, 3, true)
            ]
        );
        let reasons: Vec<_> = p.summary_only.iter().map(|u| u.reason).collect();
        assert_eq!(
            reasons,
            vec![
                "its lines are outside the diff",
                "its file has no reviewable line diff",
            ]
        );
        // Priority 7, line 0, a reversed range, confidence 1.5.
        assert_eq!(p.invalid, 4);
        // A file the pull request does not change waits for the repository's word.
        assert_eq!(p.outside.len(), 1);
        let mut p = p;
        settle_outside(&mut p, |path| path == "nope.rs");
        assert_eq!(p.invalid, 4);
        assert!(
            p.summary_only
                .iter()
                .any(|u| u.reason == OUTSIDE_REASON
                    && u.finding.code_location.file_path == "nope.rs")
        );
        p.outside.push(finding("ghost.rs", Side::Right, 1, 1, 2));
        settle_outside(&mut p, |_| false);
        assert_eq!(p.invalid, 5);
    }
}
