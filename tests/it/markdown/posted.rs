//! The texts the app posts, built from hostile values (model text, paths, the model's name,
//! configuration values) and rendered: the same tags, mentions and links as with harmless
//! values. Unit-level for the review's summary and comments, end to end for a review and
//! `@codex help` through the fakes.

use codex_review::codebase::Trace;
use codex_review::diff::Side;
use codex_review::ids::CommitSha;
use codex_review::model::{CodeLocation, Finding, LineRange, ReviewOutput, Usage};
use codex_review::pipeline::conclude::{Remains, conclude};
use codex_review::pipeline::place::{OUTSIDE_REASON, Placed, Placement, Unplaced};
use codex_review::pipeline::publish::{self, SummaryInput};
use codex_review::pipeline::result::Drops;
use codex_review::pipeline::verify::{Dropped, Verification};
use proptest::prelude::*;
use serde_json::json;

use super::live;
use super::sanitizer::{ATTACKS, hostile};
use crate::support::*;

/// Tags, mentions and the kinds of links (a link's address holds the path it points at).
fn shape(markdown: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let seen = live(markdown);
    let kinds = seen
        .links
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    (seen.tags, seen.mentions, kinds)
}

fn finding_of(s: &str, line: i64) -> Finding {
    Finding {
        title: s.into(),
        body: s.into(),
        confidence_score: 0.9,
        priority: 1,
        code_location: CodeLocation {
            file_path: s.into(),
            side: Side::Right,
            line_range: LineRange {
                start: line,
                end: line,
            },
        },
        suggestion: Some(s.into()),
    }
}

/// The review's summary with `s` in every value that is not the app's own: the explanation
/// (the model's, and the conclude stage's template naming titles and paths), titles, bodies,
/// paths, reasons, files read, the configuration's error and focus areas, the model's name.
fn summary_with(s: &str) -> String {
    let sha = CommitSha::parse(&"a".repeat(40)).expect("a SHA");
    let placement = Placement {
        inline: vec![Placed {
            finding: finding_of(s, 3),
            path: s.into(),
            side: Side::Right,
            start: 3,
            end: 3,
            clamped: false,
        }],
        summary_only: vec![Unplaced {
            finding: finding_of(s, 5),
            reason: OUTSIDE_REASON,
        }],
        invalid: 1,
        outside: Vec::new(),
    };
    let mut output = ReviewOutput {
        findings: (1..=3).map(|l| finding_of(s, l)).collect(),
        overall_correctness: "patch is incorrect".into(),
        overall_explanation: s.into(),
        overall_confidence_score: 0.5,
        fixed_finding_ids: Vec::new(),
    };
    let mut drops = Drops::default();
    drops.add(&finding_of(s, 9), "not confirmed by verification: no");
    // Two of three posted, one lowered: the explanation becomes the template naming titles
    // and places, and the lowered finding's title.
    let lowered = vec![(s.to_owned(), 1, 2)];
    conclude(
        &mut output,
        &Remains {
            placement: &placement,
            drops: &drops,
            lowered: &lowered,
            open_urgent_earlier: 1,
            parts: 2,
        },
    );
    let verification = Verification {
        checked: 3,
        dropped: vec![Dropped {
            finding: finding_of(s, 7),
            reason: s.into(),
        }],
        lowered,
        turns: 1,
        ..Verification::default()
    };
    let trace = Trace {
        read: [(s.to_owned(), 2)].into(),
        searched: [(s.to_owned(), 1)].into(),
        listed: 1,
        refused: 1,
    };
    let model_words = format!("{}\n\n{s}", output.overall_explanation);
    output.overall_explanation = model_words;
    let focus = [s.to_owned(), "security".to_owned()];
    let not_reviewed = [(s.to_owned(), s.to_owned())];
    let tools_limited = [s.to_owned()];
    publish::summary(&SummaryInput {
        sha: &sha,
        trigger: "comment-1",
        output: &output,
        placement: &placement,
        focus_areas: &focus,
        not_reviewed: &not_reviewed,
        reviewed_files: 2,
        model_calls: 2,
        model: s,
        usage: Usage::default(),
        cost: Some(0.01),
        since: None,
        repeated: 1,
        below_thresholds: 1,
        config_error: Some(s.into()),
        blob_base: Some("https://github.com/o/r/blob/aaaa"),
        verification: Some(&verification),
        verify_cost: Some(0.001),
        trace: Some(&trace),
        codebase_note: Some(s),
        tools_limited: &tools_limited,
        earlier: "",
        dismissed: 1,
        ignored_reactions: 1,
    })
}

/// An inline comment on `s`, with its suggestion, and one clamped (with the app's note).
fn comments_with(s: &str) -> String {
    let placed = |clamped| Placed {
        finding: finding_of(s, 3),
        path: s.into(),
        side: Side::Right,
        start: 3,
        end: 3,
        clamped,
    };
    let with_suggestion = publish::inline_comment(&placed(false)).body;
    let clamped = publish::inline_comment(&placed(true)).body;
    let failure =
        codex_review::markdown::failure_comment("comment-1", s, "Try again with `@codex review`.");
    format!("{with_suggestion}\n\n---\n\n{clamped}\n\n---\n\n{failure}")
}

#[test]
fn a_summary_of_hostile_values_renders_like_one_of_harmless_values() {
    let harmless = shape(&summary_with("plain words"));
    assert!(harmless.0.contains(&"<details".to_owned()), "{harmless:?}");
    for attack in ATTACKS {
        let posted = summary_with(attack);
        assert_eq!(shape(&posted), harmless, "{attack:?}\n{posted}");
        assert_eq!(
            codex_review::markdown::markers::read_review(&posted)
                .map(|m| m.1)
                .as_deref(),
            Some("comment-1")
        );
    }
}

#[test]
fn the_models_name_in_the_footer_and_paths_in_the_explanation_are_sanitised() {
    let posted = summary_with("</sub><img src=x> @org/team");
    assert!(
        posted.contains("`</sub><img src=x> @\u{2060}org/team`"),
        "{posted}"
    );
    assert!(!posted.contains("with </sub>"), "{posted}");
    // The conclude stage names the posted findings with their places as code.
    assert!(posted.contains(":3`); \\[P1\\] "), "{posted}");
}

#[test]
fn inline_comments_and_the_failure_notice_of_hostile_values_render_like_harmless_ones() {
    let harmless = shape(&comments_with("plain words"));
    for attack in ATTACKS {
        let posted = comments_with(attack);
        assert_eq!(shape(&posted), harmless, "{attack:?}\n{posted}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn generated_hostile_values_render_like_harmless_ones_in_posted_texts(s in hostile()) {
        let harmless = (shape(&summary_with("plain words")), shape(&comments_with("plain words")));
        prop_assert_eq!(shape(&summary_with(&s)), harmless.0);
        prop_assert_eq!(shape(&comments_with(&s)), harmless.1);
    }
}

/// Pull request `number` changing `path`, with `config` as its base branch's configuration
/// (base and head commits of its own: the app caches both per commit).
fn pull(number: u64, path: &str, config: &str) -> Pull {
    let patch = "@@ -1,2 +1,3 @@ fn main() {\n a\n+b\n c";
    let mut p = Pull::new(
        REPO,
        number,
        &format!("{:040x}", number + 0x4000),
        vec![File::new(path, "modified", Some(patch))],
    );
    p.base_sha = format!("{number:040x}");
    p.base_contents
        .insert(".github/codex-review.yml".into(), config.into());
    p
}

/// The model's answer with `s` in its explanation and in each finding's words, one finding on
/// the changed file `path`, one on `other`, a file the change does not touch.
fn answer(s: &str, path: &str, other: &str) -> serde_json::Value {
    let mut on_diff = finding(path, "RIGHT", 2, 2, 1, Some(s));
    let mut outside = finding(other, "RIGHT", 1, 1, 2, None);
    for f in [&mut on_diff, &mut outside] {
        f["title"] = json!(s);
        f["body"] = json!(s);
    }
    let mut review = review_with(vec![on_diff, outside]);
    review["overall_explanation"] = json!(s);
    review
}

#[tokio::test]
async fn a_review_of_hostile_model_text_and_paths_posts_nothing_live() {
    let app = TestApp::start().await;
    let hostile = ATTACKS.join("\n\n");
    let runs = [
        (1, "src/plain.rs", "src/other.rs", "plain words".to_owned()),
        (
            2,
            "src/`<img src=x>`@org/team.rs",
            "docs/@org/team.md",
            hostile,
        ),
    ];
    for (pr, path, other, words) in &runs {
        let mut p = pull(*pr, path, "review:\n  min_priority: 3\n");
        p.contents.insert((*other).into(), "outside\n".into());
        app.github.add_pull(p);
        app.openai.push(Reply::Review(answer(words, path, other)));
        app.comment(*pr, "@codex review").await;
    }
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 2);
    let [harmless, hostile] = [&reviews[0], &reviews[1]];
    assert_eq!(
        shape(&hostile.body),
        shape(&harmless.body),
        "{}",
        hostile.body
    );
    let inline = |comments: &[serde_json::Value]| -> Vec<String> {
        (comments.iter())
            .map(|c| c["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (safe, posted) = (inline(&harmless.comments), inline(&hostile.comments));
    assert_eq!((safe.len(), posted.len()), (1, 1), "{posted:?}");
    assert_eq!(shape(&posted[0]), shape(&safe[0]), "{}", posted[0]);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn help_shows_hostile_configuration_values_inert_in_its_table() {
    let app = TestApp::start().await;
    let harmless = "review:\n  model: gpt-5\n  focus_areas: [security]\n\
                    auto_review:\n  ignore_title_keywords: [wip]\n";
    let hostile = "review:\n  model: \"x|![](http://t/p.png)|\"\n  \
                   focus_areas: [\"`a|<img src=x>`\", \"@org/team\"]\n\
                   auto_review:\n  ignore_title_keywords: [\"|![](http://t/p.png)\", \"x`|<img src=y>|`\"]\n";
    app.github.add_pull(pull(1, "src/a.rs", harmless));
    app.github.add_pull(pull(2, "src/a.rs", hostile));
    app.comment(1, "@codex help").await;
    app.comment(2, "@codex help").await;
    let comments = app.github.comments();
    let help = |pr: u64| {
        comments
            .iter()
            .find(|c| c.issue == pr)
            .map(|c| c.body.clone())
            .unwrap_or_default()
    };
    let (harmless, hostile) = (help(1), help(2));
    assert!(
        hostile.contains("| `review.model` | x\\|!\\[\\](http://t/p.png)\\| |"),
        "{hostile}"
    );
    assert_eq!(shape(&hostile), shape(&harmless), "{hostile}");
    app.assert_no_violations();
    app.stop().await;
}
