//! Large pull requests: filters, chunks reviewed in parallel, merged into one review.

use crate::support;
use serde_json::{Value, json};
use support::*;

const HEAD: &str = "9b2c1d0e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c";

/// The first file of the model's input and the new number of its first added line, read
/// from the rendered diff (`{old:>6} {new:>6} {marker}{text}`).
fn first_added_line(message: &str) -> Option<(String, u64)> {
    let mut file = None;
    for line in message.lines() {
        if let Some(rest) = line.strip_prefix("=== FILE ") {
            file = rest.split(' ').next().map(str::to_owned);
            continue;
        }
        if line.len() > 14
            && line.as_bytes()[14] == b'+'
            && let (Some(path), Ok(n)) = (&file, line[7..13].trim().parse::<u64>())
        {
            return Some((path.clone(), n));
        }
    }
    None
}

/// A fake model that reports one finding on the first added line of its input.
fn one_finding_per_call(request: &Value) -> Reply {
    let message = request["input"][0]["content"].as_str().unwrap_or("");
    let findings = match first_added_line(message) {
        Some((path, line)) => vec![finding(&path, "RIGHT", line, line, 2, None)],
        None => vec![],
    };
    Reply::Review(review_with(findings))
}

#[tokio::test]
async fn a_pull_request_of_321_files_is_reviewed_in_chunks_into_one_review() {
    let mut options = Options::default();
    options
        .env
        .push(("CODEX_REVIEW_CHUNK_TOKENS", "10000".into()));
    options.env.push(("CODEX_REVIEW_MAX_CALLS", "40".into()));
    let app = TestApp::start_with(options).await;
    let mut files: Vec<File> = (0..300)
        .map(|i| {
            File::new(
                &format!("src/mod_{i:03}.rs"),
                "added",
                Some(&added(5, &format!("m{i}"))),
            )
        })
        .collect();
    files.push(File::new(
        "src/huge_generated_table.rs",
        "added",
        Some(&added(4_000, "t")),
    ));
    files.push(File::too_large("src/too_large.rs", 9_000, 120));
    files.push(File::new(
        "Cargo.lock",
        "modified",
        Some("@@ -1 +1 @@\n-a\n+b"),
    ));
    files.push(File::new("vendor/lib/x.c", "added", Some(&added(3, "v"))));
    files.push(File::new("assets/logo.png", "added", None));
    for i in 0..15 {
        files.push(File::new(
            &format!("docs/page_{i}.md"),
            "added",
            Some(&added(2, "d")),
        ));
    }
    app.github.add_pull(Pull::new(REPO, 30, HEAD, files));
    app.openai.respond_with(one_finding_per_call);

    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(30, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;

    let requests = app.openai.requests();
    assert!(requests.len() > 3, "{} model calls", requests.len());
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    let review = &reviews[0];
    // One finding per chunk, on exact lines (the fake GitHub would have said 422): ten
    // inline (the cap), the rest listed in the summary.
    let lines: std::collections::BTreeSet<(&str, u64)> = review
        .comments
        .iter()
        .map(|c| (c["path"].as_str().unwrap(), c["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(lines.len(), 10, "{lines:?}");
    assert!(
        review
            .body
            .contains("over the limit of inline comments per review")
    );
    assert!(
        review.body.contains("Problem at src/mod_"),
        "{}",
        review.body
    );
    // What was skipped, and why.
    for line in [
        "`Cargo.lock`: lock file",
        "`vendor/lib/x.c`: vendored or installed dependencies",
        "`assets/logo.png`: binary or empty file",
        "`src/too_large.rs`: diff too large for GitHub to show",
    ] {
        assert!(review.body.contains(line), "{line}\n{}", review.body);
    }
    assert!(
        review.body.contains(&format!(
            "{} model calls",
            requests.len() + app.openai.verify_requests().len()
        )),
        "{}",
        review.body
    );
    // Every model call stayed within its budget and saw only its own part.
    for r in &requests {
        let message = r["input"][0]["content"].as_str().unwrap();
        assert!(message.len() / 3 <= 10_000, "{} bytes", message.len());
        assert!(message.contains("This is part "));
    }
    // Every reviewable line of the huge file reached the model, split into parts.
    let all: String = requests
        .iter()
        .map(|r| r["input"][0]["content"].as_str().unwrap())
        .collect();
    for i in [1, 2_000, 4_000] {
        assert!(
            all.contains(&format!("+let t_{i} = compute({i});\n")),
            "line {i}"
        );
    }
    assert!(!all.contains("=== FILE Cargo.lock"));
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn the_model_sees_the_code_around_the_change() {
    let app = TestApp::start().await;
    let content = "use std::io;\n\npub fn read(path: &str) -> io::Result<String> {\n    let data = std::fs::read_to_string(path)?;\n    Ok(data.trim().to_owned())\n}\n\npub fn unused_helper() {}\n";
    let patch = "@@ -3,3 +3,3 @@\n pub fn read(path: &str) -> io::Result<String> {\n-    let data = std::fs::read(path)?;\n+    let data = std::fs::read_to_string(path)?;\n     Ok(data.trim().to_owned())";
    let mut pull = Pull::new(
        REPO,
        31,
        HEAD,
        vec![File::new("src/io.rs", "modified", Some(patch))],
    );
    pull.contents.insert("src/io.rs".into(), content.into());
    app.github.add_pull(pull);
    // A finding on a context-only line (outside the hunk) goes to the summary, not inline.
    app.openai.push(Reply::Review(review_with(vec![
        finding(
            "src/io.rs",
            "RIGHT",
            4,
            4,
            1,
            Some("    let data = std::fs::read_to_string(path).map_err(wrap)?;"),
        ),
        finding("src/io.rs", "RIGHT", 8, 8, 2, None),
    ])));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(31, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    app.settle().await;
    let message = app.openai.requests()[0]["input"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("     1      1 :use std::io;\n"),
        "{message}"
    );
    assert!(
        message.contains("     8      8 :pub fn unused_helper() {}\n"),
        "{message}"
    );
    assert!(message.contains("     4        -    let data = std::fs::read(path)?;\n"));
    let review = &app.github.reviews()[0];
    assert_eq!(review.comments.len(), 1);
    assert_eq!(review.comments[0]["line"], json!(4));
    assert!(
        review
            .body
            .contains("`src/io.rs` lines 8–8 (RIGHT); its lines are outside the diff")
    );
    app.assert_no_violations();
    app.stop().await;
}
