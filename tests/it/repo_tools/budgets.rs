//! The tool budget is shared out: a part that calls tools greedily spends its own share,
//! never the other parts' or the verification's.

use std::time::Duration;

use super::{can_call_tools, outputs, review_comment};
use crate::support;
use serde_json::{Value, json};
use support::*;

const HEAD: &str = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";

/// Which part of the review a request belongs to (`1` for a review in one part).
fn part_of(request: &Value) -> usize {
    let message = request["input"][0]["content"].as_str().unwrap_or("");
    message
        .split("This is part ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Whether some tool call of the conversation got a real answer (not an error).
fn answered(requests: &[&Value]) -> bool {
    requests
        .iter()
        .any(|r| outputs(r).iter().any(|(_, out)| !out.starts_with("error:")))
}

fn read(path: &str) -> (&'static str, Value) {
    (
        "read_file",
        json!({"path": path, "start_line": null, "end_line": null}),
    )
}

/// An app with `env` and pull request `number`: one added file `src/mI.rs` of `lines[I]`
/// lines per part (a 1,000-token chunk holds one), and `src/lib.rs` for the tools to read.
async fn app_with_parts(env: &[(&'static str, &str)], lines: &[usize], number: u64) -> TestApp {
    let mut options = Options::default();
    options
        .env
        .push(("CODEX_REVIEW_CHUNK_TOKENS", "1000".to_string()));
    options
        .env
        .extend(env.iter().map(|(k, v)| (*k, (*v).to_string())));
    let app = TestApp::start_with(options).await;
    let files: Vec<File> = lines
        .iter()
        .enumerate()
        .map(|(i, lines)| {
            File::new(
                &format!("src/m{i}.rs"),
                "added",
                Some(&added(*lines, &format!("m{i}"))),
            )
        })
        .collect();
    let mut pull = Pull::new(REPO, number, HEAD, files);
    pull.contents.insert(
        "src/lib.rs".into(),
        "pub fn compute(n: u32) -> u32 {\n    n * 2\n}\n".into(),
    );
    app.github.add_pull(pull);
    app
}

#[tokio::test]
async fn a_greedy_part_leaves_every_other_part_and_the_verification_their_tools() {
    let app = app_with_parts(&[("CODEX_REVIEW_TOOL_CALLS", "40")], &[60, 60, 60], 21).await;
    // Part 1 calls four tools on every turn it may; the other parts start late (part 1 has
    // spent what it can by then), read once, then answer.
    app.openai.respond_with(|request| {
        let part = part_of(request);
        let finding = finding(&format!("src/m{}.rs", part - 1), "RIGHT", 2, 2, 1, None);
        if !can_call_tools(request) {
            return Reply::Review(review_with(vec![finding]));
        }
        if part == 1 {
            return Reply::ToolCalls(vec![read("src/lib.rs"); 4]);
        }
        if outputs(request).is_empty() {
            return Reply::Delay(
                Duration::from_millis(300),
                Box::new(Reply::ToolCalls(vec![read("src/lib.rs")])),
            );
        }
        Reply::Review(review_with(vec![finding]))
    });
    app.openai
        .push_verify(Reply::ToolCalls(vec![read("src/lib.rs")]));

    review_comment(&app, 21).await;

    let requests = app.openai.requests();
    let parts = requests.iter().map(part_of).max().unwrap();
    assert!(parts >= 3, "{parts} parts");
    for part in 1..=parts {
        let conversation: Vec<&Value> = requests.iter().filter(|r| part_of(r) == part).collect();
        assert!(answered(&conversation), "part {part} got no tool answer");
    }
    // Part 1 ran out of its share and was asked for its answer, which was kept.
    let greedy: Vec<&Value> = requests.iter().filter(|r| part_of(r) == 1).collect();
    let last = greedy.last().unwrap();
    assert_eq!(last["tool_choice"], "none");
    let calls_answered = outputs(last).len();
    assert!((8..40).contains(&calls_answered), "{calls_answered}");
    let verify = app.openai.verify_requests();
    let verify: Vec<&Value> = verify.iter().collect();
    assert!(answered(&verify), "the verification got no tool answer");
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    let posted: Vec<&str> = reviews[0]
        .comments
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert!(
        posted.iter().any(|b| b.contains("Problem at src/m0.rs:2")),
        "{posted:#?}"
    );
}

#[tokio::test]
async fn totals_too_small_for_every_part_give_tools_to_the_largest_parts_and_say_so() {
    // The verification keeps 8 calls; 8 are left: one part's floor. One file per part;
    // src/m1.rs is the largest.
    let app = app_with_parts(&[("CODEX_REVIEW_TOOL_CALLS", "16")], &[40, 70, 40], 22).await;
    // A part with tools reads as much as it may, then answers.
    app.openai.respond_with(|request| {
        let message = request["input"][0]["content"].as_str().unwrap_or("");
        let own = message
            .split("=== FILE ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap_or("src/m0.rs")
            .to_owned();
        if can_call_tools(request) {
            return Reply::ToolCalls(vec![read("src/lib.rs"); 4]);
        }
        Reply::Review(review_with(vec![finding(&own, "RIGHT", 2, 2, 1, None)]))
    });

    review_comment(&app, 22).await;

    let requests = app.openai.requests();
    let parts = requests.iter().map(part_of).max().unwrap();
    assert_eq!(parts, 3, "one part per file");
    let with_tools: Vec<usize> = (1..=parts)
        .filter(|part| {
            requests
                .iter()
                .filter(|r| part_of(r) == *part)
                .any(|r| r["tools"].as_array().is_some_and(|t| !t.is_empty()))
        })
        .collect();
    assert_eq!(with_tools.len(), 1, "{with_tools:?}");
    let tooled: Vec<&Value> = requests
        .iter()
        .filter(|r| part_of(r) == with_tools[0])
        .collect();
    let first = tooled[0]["input"][0]["content"].as_str().unwrap();
    assert!(first.contains("=== FILE src/m1.rs"), "the largest part");
    let answered_calls = outputs(tooled.last().unwrap()).len();
    assert!(
        answered_calls <= 8,
        "{answered_calls} calls in a share of 8"
    );
    let body = &app.github.reviews()[0].body;
    assert!(body.contains("The tools were limited"), "{body}");
    assert!(
        body.contains("did not read the repository for 2 files: `src/m0.rs`, `src/m2.rs`")
            || body.contains("did not read the repository for 2 files: `src/m2.rs`, `src/m0.rs`"),
        "{body}"
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_part_asked_again_without_tools_runs_on_what_is_left_of_its_deadline() {
    let app = app_with_parts(&[("CODEX_REVIEW_MODEL_DEADLINE_SECS", "3")], &[60, 60], 23).await;
    // Part 1 reads a file, then its answer is cut short twice, late in its clock: it failed
    // with tools and is asked once more without them, 2.5 s into its 3 s. The answer it then
    // gets takes a second: past what is left of the part's clock, so it must not be used.
    // Part 2 answers at once.
    let turns = std::sync::atomic::AtomicUsize::new(0);
    app.openai.respond_with(move |request| {
        if part_of(request) == 2 {
            let finding = finding("src/m1.rs", "RIGHT", 2, 2, 1, None);
            return Reply::Review(review_with(vec![finding]));
        }
        let late = || {
            let mut late = finding("src/m0.rs", "RIGHT", 2, 2, 1, None);
            late["title"] = json!("An answer after the deadline");
            Reply::Review(review_with(vec![late]))
        };
        match turns.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => Reply::ToolCalls(vec![read("src/lib.rs")]),
            1 => Reply::Delay(Duration::from_millis(1500), Box::new(Reply::Incomplete)),
            2 => Reply::Delay(Duration::from_millis(1000), Box::new(Reply::Incomplete)),
            _ => Reply::Delay(Duration::from_millis(1000), Box::new(late())),
        }
    });

    review_comment(&app, 23).await;

    let retried: Vec<Value> = app
        .openai
        .requests()
        .into_iter()
        .filter(|r| part_of(r) == 1 && r["tools"].is_null())
        .collect();
    assert_eq!(retried.len(), 1, "part 1 was asked once without tools");
    let review = &app.github.reviews()[0];
    let posted: String = review
        .comments
        .iter()
        .filter_map(|c| c["body"].as_str())
        .chain([review.body.as_str()])
        .collect();
    assert!(!posted.contains("An answer after the deadline"), "{posted}");
    assert!(posted.contains("Problem at src/m1.rs:2"), "{posted}");
    let body = &review.body;
    assert!(
        body.contains("the model call for its part failed"),
        "{body}"
    );
    app.assert_no_violations();
    app.stop().await;
}
