//! Where GitHub accepts an inline comment: a line inside a hunk of that file on that side,
//! and a range that stays inside one hunk. One bad location makes GitHub reject the whole
//! review with 422, so every finding is checked here before it is posted.

use super::{FileDiff, Side};

/// The commentable ranges of one file, per side, in line order.
#[derive(Debug, Clone, Default)]
pub struct FileIndex {
    left: Vec<(u32, u32)>,
    right: Vec<(u32, u32)>,
}

/// Where a requested range can be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The whole range lies inside one hunk: comment exactly there.
    Exact { start: u32, end: u32 },
    /// Only part of the range is in a hunk: comment on that part (the largest overlap).
    Clamped { start: u32, end: u32 },
    /// No line of the range is in the diff.
    Outside,
}

impl FileIndex {
    pub fn new(file: &FileDiff) -> Self {
        let mut index = FileIndex::default();
        for hunk in &file.hunks {
            if let Some(r) = hunk.range(Side::Left) {
                index.left.push(r);
            }
            if let Some(r) = hunk.range(Side::Right) {
                index.right.push(r);
            }
        }
        index.left.sort_unstable();
        index.right.sort_unstable();
        index
    }

    fn ranges(&self, side: Side) -> &[(u32, u32)] {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    /// True when `line` on `side` is inside a hunk.
    pub fn contains(&self, side: Side, line: u32) -> bool {
        self.hunk_of(side, line).is_some()
    }

    /// The (start, end) of the hunk holding `line` on `side`.
    pub fn hunk_of(&self, side: Side, line: u32) -> Option<(u32, u32)> {
        let ranges = self.ranges(side);
        let i = ranges.partition_point(|(start, _)| *start <= line);
        let (start, end) = *ranges.get(i.checked_sub(1)?)?;
        (line >= start && line <= end).then_some((start, end))
    }

    /// Checks the inclusive range `start..=end` on `side`.
    pub fn anchor(&self, side: Side, start: u32, end: u32) -> Anchor {
        let (start, end) = (start.min(end), start.max(end));
        if let Some((_, hunk_end)) = self.hunk_of(side, start)
            && end <= hunk_end
        {
            return Anchor::Exact { start, end };
        }
        let best = self
            .ranges(side)
            .iter()
            .filter_map(|&(h_start, h_end)| {
                let (s, e) = (start.max(h_start), end.min(h_end));
                (s <= e).then(|| (e - s, s, e))
            })
            .max_by_key(|(len, s, _)| (*len, std::cmp::Reverse(*s)));
        match best {
            Some((_, s, e)) => Anchor::Clamped { start: s, end: e },
            None => Anchor::Outside,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(patch: &str) -> FileDiff {
        FileDiff::from_github("a.rs".into(), None, "modified", Some(patch.into()), 0, 0)
    }

    #[test]
    fn ranges_must_stay_inside_one_hunk() {
        let f = file("@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n d\n@@ -20,2 +21,2 @@\n x\n-y\n+Y");
        let idx = FileIndex::new(&f);
        assert_eq!(
            idx.anchor(Side::Right, 2, 3),
            Anchor::Exact { start: 2, end: 3 }
        );
        assert_eq!(
            idx.anchor(Side::Right, 1, 4),
            Anchor::Exact { start: 1, end: 4 }
        );
        assert_eq!(
            idx.anchor(Side::Left, 2, 2),
            Anchor::Exact { start: 2, end: 2 }
        );
        assert_eq!(
            idx.anchor(Side::Right, 21, 22),
            Anchor::Exact { start: 21, end: 22 }
        );
        // Spanning the gap between hunks is not allowed: the bigger overlap is kept.
        assert_eq!(
            idx.anchor(Side::Right, 3, 21),
            Anchor::Clamped { start: 3, end: 4 }
        );
        assert_eq!(
            idx.anchor(Side::Right, 4, 30),
            Anchor::Clamped { start: 21, end: 22 }
        );
        assert_eq!(
            idx.anchor(Side::Right, 3, 30),
            Anchor::Clamped { start: 3, end: 4 }
        );
        assert_eq!(idx.anchor(Side::Right, 10, 12), Anchor::Outside);
        assert_eq!(idx.anchor(Side::Left, 5, 5), Anchor::Outside);
        assert!(!idx.contains(Side::Right, 0));
        assert!(idx.contains(Side::Left, 21));
    }

    #[test]
    fn a_file_without_patch_takes_no_comments() {
        let f = FileDiff::from_github("img.png".into(), None, "added", None, 0, 0);
        assert_eq!(
            FileIndex::new(&f).anchor(Side::Right, 1, 1),
            Anchor::Outside
        );
    }
}
