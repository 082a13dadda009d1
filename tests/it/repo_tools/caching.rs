//! What the prompt cache saves, measured with a fake that caches as OpenAI does (from 1,024
//! tokens, in steps of 128, per `prompt_cache_key`): a 92-file pull request reviewed in parts
//! with tools, then a second pull request of the same repository. The figures are printed
//! (`cargo test --test it caching -- --nocapture`) and quoted in docs/benchmarks.md.

use super::{can_call_tools, outputs, review_comment};
use crate::support;
use serde_json::{Value, json};
use support::*;

const HEAD: &str = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";

/// A patch adding `lines` lines of realistic length to a new file.
fn module(tag: &str, lines: usize) -> String {
    let body: String = (1..=lines)
        .map(|i| {
            format!(
                "+    let {tag}_total_{i} = ledger.balance_of(account_{i}).checked_add(fee)?;\n"
            )
        })
        .collect();
    format!("@@ -0,0 +1,{lines} @@\n{body}")
}

/// The first file of a part, for a finding on its first line.
fn first_file(request: &Value) -> Option<String> {
    let message = request["input"][0]["content"].as_str()?;
    let rest = message.split("=== FILE ").nth(1)?;
    rest.split(' ').next().map(str::to_owned)
}

/// Reads `src/ledger.rs` on three turns, then reports one finding on the part's first file.
fn reader(request: &Value) -> Reply {
    if can_call_tools(request) && outputs(request).len() < 3 {
        return Reply::ToolCalls(vec![(
            "read_file",
            json!({"path": "src/ledger.rs", "start_line": null, "end_line": null}),
        )]);
    }
    let findings = first_file(request)
        .map(|path| vec![finding(&path, "RIGHT", 1, 1, 2, None)])
        .unwrap_or_default();
    Reply::Review(review_with(findings))
}

fn pull(number: u64, files: usize, tag: &str) -> Pull {
    let files: Vec<File> = (0..files)
        .map(|i| {
            File::new(
                &format!("src/{tag}/m{i:02}.rs"),
                "added",
                Some(&module(&format!("{tag}{i}"), 100)),
            )
        })
        .collect();
    let mut pull = Pull::new(REPO, number, HEAD, files);
    pull.contents.insert(
        "src/ledger.rs".into(),
        "pub struct Ledger;\nimpl Ledger {\n    pub fn balance_of(&self, a: u64) -> u64 { a }\n}\n"
            .into(),
    );
    // Guidelines for the whole repository, and some for the paths of one pull request only.
    pull.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  instructions: Amounts are integer cents; a float amount is a bug.\n  \
         path_instructions:\n    - path: \"src/b/**\"\n      instructions: The b modules \
         are generated from the ledger schema; flag hand edits.\n"
            .into(),
    );
    let rules: String = (1..=40)
        .map(|i| format!("- Rule {i}: a ledger entry of kind {i} is written once, in cents, and never updated in place.\n"))
        .collect();
    pull.base_contents.insert(
        "AGENTS.md".into(),
        format!("# Agents\n\n## Review guidelines\n\n{rules}"),
    );
    pull.base_contents.insert(
        "src/a/AGENTS.md".into(),
        "## Review guidelines\n\n- The a modules must not allocate in a loop.\n".into(),
    );
    pull
}

/// Reasons maintainers gave when dismissing findings: the repository's notes, the same in
/// every review.
async fn learn(app: &TestApp) {
    let store = &app.running().store;
    let repo = codex_review::ids::RepoName::parse(REPO).unwrap();
    for i in 1..=20 {
        let reason = format!("Fee rounding in module {i} is intended: the schedule rounds down.");
        store
            .add_learning(&repo, &reason, "maintainer")
            .await
            .unwrap();
    }
}

/// The bytes two texts share from their start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// What one review spent on the model.
#[derive(Debug, Clone, Copy)]
struct Spent {
    input: u64,
    cached: u64,
    /// The conversations' first turns only (no tool output yet).
    first_input: u64,
    first_cached: u64,
    requests: usize,
    dollars: f64,
}

impl Spent {
    fn share(&self) -> f64 {
        self.cached as f64 / self.input as f64
    }

    fn first_share(&self) -> f64 {
        self.first_cached as f64 / self.first_input as f64
    }
}

/// What review `review` of `app` spent, counted since `before` (the figures of the fake and
/// its request count then).
fn spent(app: &TestApp, before: ([(u64, u64); 2], usize), review: usize) -> Spent {
    let [(input, cached), (first_input, first_cached)] = app.openai.usage_seen();
    let [(input0, cached0), (first_input0, first_cached0)] = before.0;
    let body = &app.github.reviews()[review].body;
    let dollars = body
        .split("≈ $")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|usd| usd.parse().ok())
        .unwrap_or_else(|| panic!("no cost in {body}"));
    Spent {
        input: input - input0,
        cached: cached - cached0,
        first_input: first_input - first_input0,
        first_cached: first_cached - first_cached0,
        requests: app.openai.all_requests().len() - before.1,
        dollars,
    }
}

fn print(what: &str, s: Spent) {
    eprintln!(
        "{what}: {} input tokens, {} cached ({:.1}%; first turns {:.1}% of {}), {} model calls, ${:.4}",
        s.input,
        s.cached,
        100.0 * s.share(),
        100.0 * s.first_share(),
        s.first_input,
        s.requests,
        s.dollars
    );
}

#[tokio::test]
async fn a_multi_part_review_with_tools_and_a_second_pull_request_read_from_the_cache() {
    let app = TestApp::start().await;
    app.openai.cache_like_openai();
    app.openai.respond_with(reader);
    app.github.add_pull(pull(40, 92, "a"));
    app.github.add_pull(pull(41, 12, "b"));
    learn(&app).await;

    review_comment(&app, 40).await;
    let first = spent(&app, ([(0, 0); 2], 0), 0);
    let before = (app.openai.usage_seen(), app.openai.all_requests().len());
    review_comment(&app, 41).await;
    let second = spent(&app, before, 1);

    print("92-file PR with tools", first);
    print("second PR of the repository", second);
    // Every part's message has the same fence: the parts share their prefix up to the diff.
    let tags: std::collections::BTreeSet<String> = app.openai.requests()[..first.requests - 1]
        .iter()
        .filter_map(|r| {
            let message = r["input"][0]["content"].as_str()?;
            let at = message.find("BEGIN UNTRUSTED PULL REQUEST DATA ")? + 34;
            Some(message[at..at + 16].to_owned())
        })
        .collect();
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert!(
        first.requests > 15,
        "enough requests to spread one key over machines"
    );
    // A conversation's later turns read what came before from the cache: only what was
    // added since (a tool's answer) is new.
    let later = |s: Spent| (s.cached - s.first_cached) as f64 / (s.input - s.first_input) as f64;
    assert!(later(first) > 0.99, "{first:?}");
    assert!(later(second) > 0.99, "{second:?}");
    // The second pull request touches other paths: its path guidelines differ, yet its first
    // turns find the repository's prefix cached, guidelines and notes included.
    let first_message = |dir: &str| {
        app.openai
            .requests()
            .iter()
            .filter_map(|r| r["input"][0]["content"].as_str())
            .find(|m| m.contains(&format!("=== FILE src/{dir}/")))
            .unwrap()
            .to_owned()
    };
    let (a, b) = (first_message("a"), first_message("b"));
    let shared = &a[..common_prefix(&a, &b)];
    eprintln!(
        "the two pull requests' messages share {} bytes; maintainer notes inside: {}",
        shared.len(),
        shared.contains("END MAINTAINER NOTES")
    );
    assert!(shared.contains("END MAINTAINER NOTES"), "{shared}");
    assert!(second.first_cached >= 1024, "{second:?}");
    app.stop().await;
}
