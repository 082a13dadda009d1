use super::*;
use crate::diff::Side;
use crate::model::{CodeLocation, LineRange};

fn finding(title: &str, priority: i64, path: &str, line: i64) -> Finding {
    Finding {
        title: title.into(),
        body: "Why it breaks.\nAnd how.".into(),
        confidence_score: 0.9,
        priority,
        code_location: CodeLocation {
            file_path: path.into(),
            side: Side::Right,
            line_range: LineRange {
                start: line,
                end: line + 1,
            },
        },
        suggestion: None,
    }
}

fn sha(c: char) -> CommitSha {
    CommitSha::parse(&c.to_string().repeat(40)).expect("a SHA")
}

/// A summary of nothing: one file reviewed, one model call, no price known.
fn empty<'a>(head: &'a CommitSha) -> Summary<'a> {
    Summary {
        sha: head,
        trigger: "comment-1",
        changes_needed: false,
        explanation: "",
        inline: Vec::new(),
        unplaced: Vec::new(),
        earlier: "",
        since: None,
        focus_areas: &[],
        not_reviewed: &[],
        left_out: LeftOut::default(),
        config_error: None,
        verification: None,
        codebase_note: None,
        tools_limited: &[],
        trace: None,
        run: Run {
            reviewed_files: 1,
            model_calls: 1,
            model: "gpt-5",
            usage: Usage::default(),
            cost: None,
            verify_cost: None,
        },
    }
}

#[test]
fn a_summary_counts_inline_findings_and_lists_those_off_the_diff() {
    let head = sha('a');
    let inline = [finding("Off by one", 1, "src/a.rs", 3)];
    let outside = finding("Stale doc", 3, "docs/a b.md", 0);
    let deleted = finding("Lost check", 0, "src/b.rs", 9);
    let mut input = empty(&head);
    input.changes_needed = true;
    input.explanation = "  Two bugs.  ";
    input.inline = inline.iter().collect();
    input.unplaced = vec![
        Unplaced {
            finding: &outside,
            reason: "its file is not changed by this pull request",
            link_base: Some("https://github.com/o/r/blob/aaaa"),
        },
        Unplaced {
            finding: &deleted,
            reason: "its lines are not in the diff",
            link_base: None,
        },
    ];
    input.left_out = LeftOut {
        repeated: 2,
        ..LeftOut::default()
    };
    input.run.cost = Some(0.0125);
    input.run.verify_cost = Some(0.0025);
    let posted = summary(&input);
    assert_eq!(
        posted,
        format!(
            "<!-- codex-review sha={head} trigger=comment-1 -->\n\
             ### Codex review: 3 findings (changes needed)\n\n\
             Two bugs.\n\n\
             | P0 | P1 | P2 | P3 |\n|---|---|---|---|\n| 1 | 1 | 0 | 1 |\n\n\
             Focus: general (correctness, security, performance).\n\n\
             **Findings that could not be placed on the diff**\n\n\
             - **[P3] Stale doc** — [`docs/a b.md` lines 0–1 (RIGHT)]\
             (https://github.com/o/r/blob/aaaa/docs/a%20b.md#L1); \
             its file is not changed by this pull request.\n  Why it breaks.\n  And how.\n\
             - **[P0] Lost check** — `src/b.rs` lines 9–10 (RIGHT); its lines are not in the diff.\n  \
             Why it breaks.\n  And how.\n\n\
             2 findings already reported in an earlier review were not repeated.\n\n\
             <sub>Reviewed aaaaaaa (1 file, 1 model call) with `gpt-5` · tokens: 0 in (0 cached), \
             0 out (0 reasoning) · ≈ $0.0125 (review $0.0100 + verification $0.0025)</sub>"
        )
    );
}

#[test]
fn a_summary_with_nothing_found_says_so_and_shows_no_counts() {
    let head = sha('b');
    let since = sha('c');
    let mut input = empty(&head);
    input.since = Some(&since);
    let posted = summary(&input);
    assert_eq!(
        posted,
        format!(
            "<!-- codex-review sha={head} trigger=comment-1 -->\n\
             ### Codex review: no issues found\n\n\
             Reviewed the changes since ccccccc (reviewed before); comment `@codex review full` \
             for the whole pull request.\n\n\
             Focus: general (correctness, security, performance).\n\n\
             <sub>Reviewed bbbbbbb (1 file, 1 model call) with `gpt-5` · tokens: 0 in (0 cached), \
             0 out (0 reasoning) · cost unknown (no price for this model)</sub>"
        )
    );
    input.run.reviewed_files = 0;
    input.run.model_calls = 0;
    let nothing = summary(&input);
    assert!(nothing.contains("### Codex review: nothing to review\n\n"));
    assert!(nothing.ends_with("0 files, 0 model calls) with `gpt-5` · tokens: 0 in (0 cached), 0 out (0 reasoning)</sub>"), "{nothing}");
}

#[test]
fn a_hostile_title_body_and_path_stay_text() {
    let head = sha('d');
    let hostile =
        "</details><img src=x> @org/team [x](http://evil/) <!-- codex-review sha=1 trigger=2 -->";
    let unplaced = finding(hostile, 2, hostile, 4);
    let dropped = finding(hostile, 1, hostile, 7);
    let mut input = empty(&head);
    input.explanation = hostile;
    input.unplaced = vec![Unplaced {
        finding: &unplaced,
        reason: "its lines are not in the diff",
        link_base: None,
    }];
    input.verification = Some(Verified {
        failed: None,
        lowered: &[],
        dropped: vec![Dropped {
            finding: &dropped,
            reason: hostile,
        }],
    });
    input.run.model = hostile;
    let posted = summary(&input);
    // In prose every opener is escaped; in a code span the path shows as written.
    let title = "&lt;/details\\>&lt;img src=x\\> @\u{2060}org/team \\[x\\](http://evil/) \
                 &lt;!-- codex-review sha=1 trigger=2 --\\>";
    let path = "`</details><img src=x> @\u{2060}org/team [x](http://evil/) \
                <\u{2060}!-- codex-review sha=1 trigger=2 -->";
    assert!(
        posted.contains(&format!("- **[P2] {title}** — {path}` lines 4–5 (RIGHT);")),
        "{posted}"
    );
    assert!(
        posted.contains(&format!("- **[P1] {title}** — {path}:7`: {title}\n")),
        "{posted}"
    );
    assert!(
        posted.contains(&format!("with {path}` · tokens")),
        "{posted}"
    );
    assert!(!posted.contains("@org"), "{posted}");
    // Only the app's own marker.
    assert_eq!(posted.matches("<!--").count(), 1, "{posted}");
    assert_eq!(
        crate::markdown::markers::read_review(&posted),
        Some((head.to_string(), "comment-1".to_owned()))
    );
}
