//! Property tests of the diff engine against diffs made by an independent implementation
//! (`diffy`): every line the parser reports is the real line of that side, applying the hunks
//! to the old file gives the new one, and the commentable index accepts exactly the lines
//! inside hunks.

use codex_review::diff::{Anchor, FileDiff, FileIndex, LineKind, Side};
use proptest::prelude::*;

/// A file as lines from a small alphabet, so diffs have repeats and interleavings.
fn lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-e]{1,3}",
            1 => Just(String::new()),
            1 => Just("--- looks like a header".to_string()),
            1 => Just("@@ -1 +1 @@".to_string()),
        ],
        0..60,
    )
}

fn join(lines: &[String], trailing_newline: bool) -> String {
    let mut s = lines.join("\n");
    if trailing_newline && !lines.is_empty() {
        s.push('\n');
    }
    s
}

/// The patch as GitHub's files API holds it: hunks only, without the file headers.
fn github_patch(old: &str, new: &str) -> String {
    let text = diffy::create_patch(old, new).to_string();
    match text.find("@@") {
        Some(i) => text[i..].to_owned(),
        None => String::new(),
    }
}

fn side_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsed_lines_are_the_real_lines_and_rebuild_the_new_file(
        old in lines(), new in lines(), old_nl in any::<bool>(), new_nl in any::<bool>(),
    ) {
        let (old_text, new_text) = (join(&old, old_nl), join(&new, new_nl));
        let patch = github_patch(&old_text, &new_text);
        prop_assume!(!patch.is_empty());
        let file = FileDiff::from_github("f.txt".into(), None, "modified", Some(patch.clone()), 0, 0);
        prop_assert!(file.no_patch.is_none(), "{:?}\n{patch}", file.no_patch);
        let (old_lines, new_lines) = (side_lines(&old_text), side_lines(&new_text));

        // Rebuild the new file from the old one and the hunks.
        let mut rebuilt: Vec<&str> = Vec::new();
        let mut next_old = 1usize;
        for hunk in &file.hunks {
            let first_old = hunk.lines.iter().find_map(|l| l.old).unwrap_or(hunk.old_start) as usize;
            while next_old < first_old {
                rebuilt.push(old_lines[next_old - 1]);
                next_old += 1;
            }
            for line in &hunk.lines {
                let text = file.text(line);
                if let Some(n) = line.old {
                    prop_assert_eq!(old_lines[n as usize - 1], text, "old line {}", n);
                    prop_assert_eq!(n as usize, next_old);
                    next_old += 1;
                }
                if let Some(n) = line.new {
                    prop_assert_eq!(new_lines[n as usize - 1], text, "new line {}", n);
                    rebuilt.push(text);
                }
            }
        }
        while next_old <= old_lines.len() {
            rebuilt.push(old_lines[next_old - 1]);
            next_old += 1;
        }
        prop_assert_eq!(rebuilt, new_lines);
    }

    #[test]
    fn the_index_accepts_exactly_the_lines_inside_one_hunk(
        old in lines(), new in lines(), a in 0u32..70, b in 0u32..70, side_right in any::<bool>(),
    ) {
        let patch = github_patch(&join(&old, true), &join(&new, true));
        prop_assume!(!patch.is_empty());
        let file = FileDiff::from_github("f.txt".into(), None, "modified", Some(patch), 0, 0);
        let index = FileIndex::new(&file);
        let side = if side_right { Side::Right } else { Side::Left };
        let number = |l: &codex_review::diff::DiffLine| if side_right { l.new } else { l.old };

        // Every added line (RIGHT) and every deleted line (LEFT) is commentable.
        for line in file.hunks.iter().flat_map(|h| h.lines.iter()) {
            if line.kind == LineKind::Added {
                prop_assert!(index.contains(Side::Right, line.new.unwrap()));
            }
            if line.kind == LineKind::Removed {
                prop_assert!(index.contains(Side::Left, line.old.unwrap()));
            }
        }
        // Whatever the index accepts is a real line of that side, with a range in one hunk.
        let side_len = if side_right { new.len() } else { old.len() } as u32;
        match index.anchor(side, a, b) {
            Anchor::Exact { start, end } | Anchor::Clamped { start, end } => {
                prop_assert!(start >= 1 && end <= side_len && start <= end);
                let hunk = file.hunks.iter().find(|h| {
                    h.lines.iter().any(|l| number(l) == Some(start))
                        && h.lines.iter().any(|l| number(l) == Some(end))
                });
                prop_assert!(hunk.is_some(), "{start}-{end} is not inside one hunk");
                let hunk = hunk.unwrap();
                for n in start..=end {
                    prop_assert!(hunk.lines.iter().any(|l| number(l) == Some(n)), "line {n} missing");
                }
            }
            Anchor::Outside => {
                let (lo, hi) = (a.min(b), a.max(b));
                for n in lo..=hi {
                    prop_assert!(!index.contains(side, n), "line {n} was in a hunk");
                }
            }
        }
    }
}
