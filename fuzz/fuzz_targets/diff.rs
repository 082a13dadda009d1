//! The diff parser, the commentable index and the renderer on any patch text.
#![no_main]

use codex_review::diff::render::{Detail, render_file};
use codex_review::diff::{Anchor, FileDiff, FileIndex, Side, split_diff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = FileDiff::from_github("f.rs".into(), None, "modified", Some(text.to_owned()), 1, 1);
    let index = FileIndex::new(&file);
    for (a, b) in [(1, 1), (1, 50), (0, 3), (u32::MAX - 1, u32::MAX)] {
        for side in [Side::Left, Side::Right] {
            if let Anchor::Exact { start, end } | Anchor::Clamped { start, end } =
                index.anchor(side, a, b)
            {
                assert!(start <= end && index.contains(side, start) && index.contains(side, end));
            }
        }
    }
    let _ = render_file(&file, Detail::Hunks);
    let _ = render_file(&file, Detail::WithContent(text));
    let _ = split_diff(text);
});
