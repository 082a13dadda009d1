//! What the model says reaches the pull request once and completely: findings on files the
//! change does not touch are listed, findings repeated by several parts are merged, and an
//! incremental review shows the model only the pull request's own changes.

use crate::support;
use serde_json::{Value, json};
use support::*;

const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const NEW_HEAD: &str = "7dcb09b5b57875f334f61aebed695e2e4193db5f";

fn titled(title: &str, path: &str, line: u64, priority: u8) -> Value {
    let mut f = finding(path, "RIGHT", line, line, priority, None);
    f["title"] = json!(title);
    f
}

#[tokio::test]
async fn a_finding_on_a_file_outside_the_diff_is_listed_and_an_invented_file_is_not() {
    let app = TestApp::start().await;
    let mut pull = Pull::new(
        REPO,
        3,
        HEAD,
        vec![File::new(
            "src/limiter.rs",
            "modified",
            Some("@@ -1,2 +1,2 @@\n fn check() {\n-    a()\n+    b()"),
        )],
    );
    pull.contents
        .insert("src/login.rs".into(), "fn login() { check() }\n".into());
    app.github.add_pull(pull);
    app.openai.push(Reply::Review(review_with(vec![
        titled("Caller still expects the old result", "src/login.rs", 1, 1),
        titled("Invented file", "src/ghost.rs", 4, 1),
        titled("Changed call", "src/limiter.rs", 2, 2),
    ])));

    app.comment(3, "@codex review").await;

    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    let body = &reviews[0].body;
    assert_eq!(reviews[0].comments.len(), 1);
    assert!(
        body.contains(&format!("**[P1] Caller still expects the old result** — [`src/login.rs` lines 1–1 (RIGHT)](https://github.com/{REPO}/blob/{HEAD}/src/login.rs#L1); its file is not changed by this pull request.")),
        "{body}"
    );
    assert!(!body.contains("Invented file"), "{body}");
    assert!(
        body.contains("1 malformed finding from the model were dropped"),
        "{body}"
    );
    assert!(body.contains("### Codex review: 2 findings"), "{body}");
}

#[tokio::test]
async fn a_finding_repeated_by_every_part_is_said_once_and_the_explanation_speaks_of_what_is_posted()
 {
    let mut options = Options::default();
    options
        .env
        .push(("CODEX_REVIEW_CHUNK_TOKENS", "6000".into()));
    options.env.push(("CODEX_REVIEW_MAX_CALLS", "20".into()));
    let app = TestApp::start_with(options).await;
    let files: Vec<File> = (0..12)
        .map(|i| {
            File::new(
                &format!("src/mod_{i:02}.rs"),
                "added",
                Some(&added(120, &format!("m{i}"))),
            )
        })
        .collect();
    app.github.add_pull(Pull::new(REPO, 4, HEAD, files));
    // Every part reports the same problem in src/mod_00.rs (known to all parts), once on
    // line 4 and once on lines 3-4 with other words, plus one finding of its own.
    app.openai.respond_with(|request: &Value| {
        let message = request["input"][0]["content"].as_str().unwrap_or("");
        let part: u64 = message
            .split("This is part ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let own = message
            .split("=== FILE ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap_or("src/mod_00.rs")
            .to_owned();
        let shared = if part.is_multiple_of(2) {
            let mut f = titled("Unbounded allocation", "src/mod_00.rs", 3, 1);
            f["code_location"]["line_range"] = json!({"start": 3, "end": 4});
            f
        } else {
            titled("Allocation has no bound", "src/mod_00.rs", 4, 0)
        };
        let mut review = review_with(vec![
            shared,
            titled(&format!("Own problem of part {part}"), &own, 60, 2),
        ]);
        review["overall_explanation"] = json!(if part == 1 {
            "Part one: the allocation is unbounded.".to_owned()
        } else {
            format!("Part {part} sees a minor issue.")
        });
        Reply::Review(review)
    });

    app.comment(4, "@codex review").await;

    let parts = app.openai.requests().len();
    assert!(parts >= 3, "{parts} parts");
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    let review = &reviews[0];
    let everything: String = review
        .comments
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_owned())
        .chain([review.body.clone()])
        .collect();
    let shared = everything.matches("Allocation has no bound").count()
        + everything.matches("Unbounded allocation").count();
    assert_eq!(shared, 1, "{everything}");
    // The most urgent wording of the shared finding wins.
    assert!(everything.contains("[P0] Allocation has no bound"));
    let own: std::collections::BTreeSet<&str> = everything
        .match_indices("Own problem of part ")
        .map(|(i, _)| &everything[i..i + 22])
        .collect();
    let distinct = 1 + own.len();
    assert!(
        review
            .body
            .contains(&format!("### Codex review: {distinct} findings")),
        "{distinct} distinct\n{}",
        review.body
    );
    // The explanation speaks only of what is posted: no part's own words, which were written
    // before the parts' findings were merged.
    let body = &review.body;
    assert!(
        body.contains(&format!(
            "The change was reviewed in {parts} parts; all {distinct} findings the model reported are posted."
        )),
        "{body}"
    );
    assert!(!body.contains("Part one: the allocation"), "{body}");
    assert!(!body.contains("sees a minor issue"), "{body}");
}

#[tokio::test]
async fn an_incremental_review_shows_only_the_pull_requests_own_changes() {
    let app = TestApp::start().await;
    let lib = File::new(
        "src/lib.rs",
        "modified",
        Some("@@ -1,3 +1,3 @@\n a\n-b\n+B\n c"),
    );
    let mut pull = Pull::new(REPO, 5, HEAD, vec![lib.clone()]);
    pull.commits.push(NEW_HEAD.into());
    app.github.add_pull(pull);
    app.openai.push(Reply::Review(review_with(vec![])));
    app.comment(5, "@codex review").await;

    // The author merges the base branch (which changed src/base_only.rs) and edits lib.rs.
    let lib_now = File::new(
        "src/lib.rs",
        "modified",
        Some("@@ -1,3 +1,4 @@\n a\n-b\n+B\n+D\n c"),
    );
    let lib_since = File::new(
        "src/lib.rs",
        "modified",
        Some("@@ -1,3 +1,4 @@\n a\n B\n+D\n c"),
    );
    let base_only = File::new(
        "src/base_only.rs",
        "modified",
        Some("@@ -1,1 +1,1 @@\n-old_base\n+new_base"),
    );
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 5).unwrap();
        pull.head_sha = NEW_HEAD.into();
        pull.files = vec![lib_now];
        pull.compares.insert(
            format!("{HEAD}...{NEW_HEAD}"),
            ("ahead".into(), vec![lib_since, base_only]),
        );
    }
    app.openai.push(Reply::Review(review_with(vec![])));
    app.comment(5, "@codex review").await;

    let requests = app.openai.requests();
    assert_eq!(requests.len(), 2);
    let message = requests[1]["input"][0]["content"].as_str().unwrap();
    assert!(message.contains("Changes since commit"), "{message}");
    assert!(message.contains("=== FILE src/lib.rs"), "{message}");
    assert!(!message.contains("base_only"), "{message}");
}

#[tokio::test]
async fn the_prompt_is_calibrated_and_a_hunch_below_the_default_confidence_is_left_out() {
    let app = TestApp::start().await;
    app.github.add_pull(Pull::new(
        REPO,
        5,
        HEAD,
        vec![File::new(
            "src/limiter.rs",
            "modified",
            Some("@@ -1,2 +1,2 @@\n fn check() {\n-    a()\n+    b()"),
        )],
    ));
    let mut hunch = titled("This might race", "src/limiter.rs", 2, 1);
    hunch["confidence_score"] = json!(0.2);
    let mut sure = titled("b() ignores the limit", "src/limiter.rs", 2, 2);
    sure["confidence_score"] = json!(0.3);
    app.openai
        .push(Reply::Review(review_with(vec![hunch, sure])));

    app.comment(5, "@codex review").await;

    let instructions = app.openai.requests()[0]["instructions"]
        .as_str()
        .unwrap()
        .to_owned();
    for rule in [
        "Keep going until you have listed every problem that qualifies",
        "Use 0 only when the problem does not depend on particular inputs",
        "Priority, never overstated",
        "The author would fix it if they knew",
        "It is clearly not what the author intended",
        "no more rigor than the rest of the codebase shows",
        "existing code and tests keep working",
        "the inputs, environment or sequence of events it needs",
        "Below 0.3 it is a hunch",
    ] {
        assert!(instructions.contains(rule), "{rule}");
    }
    let reviews = app.github.reviews();
    let review = &reviews[0];
    assert_eq!(review.comments.len(), 1);
    assert!(
        review.comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("b() ignores the limit")
    );
    assert!(!review.body.contains("This might race"), "{}", review.body);
    assert!(
        review.body.contains(
            "1 finding below the repository's `min_priority` / `min_confidence` is not shown."
        ),
        "{}",
        review.body
    );
    app.stop().await;
}
