//! The replies built in `codex_review::markdown` (answers to a question and in a thread, a
//! dismissal, the commands' replies and help), of hostile values: rendered, they hold the same
//! tags, mentions and links as of harmless values, and only the app's own marker.

use codex_review::ids::CommentId;
use codex_review::markdown::{answers, commands, markers};
use codex_review::repo_config::RepoConfig;
use proptest::prelude::*;

use super::live;
use super::sanitizer::{ATTACKS, hostile};

/// Every reply with `s` where a person's or the model's words go, one after another.
fn replies_with(s: &str) -> String {
    let mut config = RepoConfig::default();
    config.auto_review.base_branches = vec![s.to_owned()];
    config.paths.exclude = vec![s.to_owned()];
    config.review.focus_areas = vec![s.to_owned()];
    config.review.language = s.to_owned();
    config.review.model = Some(s.to_owned());
    let learnt = [commands::Learnt {
        number: 1,
        reason: s,
        author: s,
    }];
    [
        answers::question(s, s, Some(CommentId(5))),
        answers::in_thread(s, Some(CommentId(6))),
        answers::dismissed(true, Some(CommentId(7))),
        commands::learnings("codex", &learnt, false),
        commands::unknown("codex", s),
        commands::help("codex", &config, Some(s)),
    ]
    .join("\n\n---\n\n")
}

#[test]
fn replies_of_hostile_values_render_like_replies_of_harmless_ones() {
    let harmless = live(&replies_with("plain words"));
    // The app's own: its three answer markers, and no mention.
    assert_eq!(harmless.tags, ["<!--", "<!--", "<!--"], "{harmless:?}");
    assert!(harmless.mentions.is_empty(), "{harmless:?}");
    for attack in ATTACKS {
        let posted = replies_with(attack);
        assert_eq!(live(&posted), harmless, "{attack:?}\n{posted}");
        for id in [5, 6, 7] {
            assert_eq!(posted.matches(&markers::answer(CommentId(id))).count(), 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn generated_hostile_values_render_like_harmless_ones_in_replies(s in hostile()) {
        let harmless = live(&replies_with("plain words"));
        prop_assert_eq!(live(&replies_with(&s)), harmless);
    }
}
