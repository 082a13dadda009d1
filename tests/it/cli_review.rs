//! `codex-review review`: a local diff and a pull request URL, against the fakes.

use crate::support;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use support::*;

const DIFF: &str = "diff --git a/src/limits.rs b/src/limits.rs\nindex 1111111..2222222 100644\n--- a/src/limits.rs\n+++ b/src/limits.rs\n@@ -1,3 +1,4 @@\n pub fn allowed(count: u32, max: u32) -> bool {\n-    count < max\n+    let limit = max + 1;\n+    count <= limit\n }\ndiff --git a/Cargo.lock b/Cargo.lock\nindex 3..4 100644\n--- a/Cargo.lock\n+++ b/Cargo.lock\n@@ -1 +1 @@\n-a\n+b\n";

fn run(args: &[&str], env: &[(&str, String)], stdin: &str) -> (i32, String, String) {
    run_in(None, args, env, stdin)
}

fn run_in(
    dir: Option<&std::path::Path>,
    args: &[&str],
    env: &[(&str, String)],
    stdin: &str,
) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-review"));
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.arg("review")
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn env(ai: &FakeOpenAi) -> Vec<(&'static str, String)> {
    vec![
        ("OPENAI_API_KEY", support::fake_openai::API_KEY.to_string()),
        ("OPENAI_BASE_URL", ai.base_url.clone()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_diff_is_reviewed_from_standard_input() {
    install_crypto();
    let ai = FakeOpenAi::start().await;
    let mut f = finding("src/limits.rs", "RIGHT", 2, 3, 1, Some("    count < max"));
    f["title"] = json!("Off-by-one lets one request too many through");
    ai.push(Reply::Review(review_with(vec![f])));
    let env = env(&ai);
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&["-", "--focus", "correctness"], &env, DIFF))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("[P1] src/limits.rs:2-3  Off-by-one lets one request too many through"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    | count < max") || stdout.contains("    |     count < max"),
        "{stdout}"
    );
    assert!(stdout.contains("Cargo.lock: lock file"), "{stdout}");
    assert!(
        // The review and the verification of its finding.
        stdout.contains(
            "2 model request(s) · tokens: 3668 in (2048 cached), 824 out (512 reasoning) · ≈ $0.0105"
        ),
        "{stdout}"
    );
    // Standard error is no terminal here: no progress at all.
    assert!(!stderr.contains("asking the model"), "{stderr}");
    let request = &ai.requests()[0];
    let message = request["input"][0]["content"].as_str().unwrap();
    assert!(
        message.contains("=== FILE src/limits.rs (modified) ===")
            && !message.contains("Cargo.lock (modified)")
    );
    // The request's focus first, then the repository's (here the defaults), as in the App.
    assert!(message.contains("look for these first: correctness, security, performance."));
    assert!(
        ai.state().violations.is_empty(),
        "{:?}",
        ai.state().violations
    );

    // --json prints the structured output, its verdict following what is reported: the
    // model's "incorrect" over no finding at all does not stand.
    ai.push(Reply::Review(review_with(vec![])));
    let env = self::env(&ai);
    let (code, stdout, _) = tokio::task::spawn_blocking(move || run(&["-", "--json"], &env, DIFF))
        .await
        .unwrap();
    assert_eq!(code, 0);
    let parsed: codex_review::model::ReviewOutput = serde_json::from_str(&stdout).unwrap();
    assert_eq!(parsed.overall_correctness, "patch is correct");
    assert!(parsed.findings.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_bad_usage_have_clear_exits() {
    install_crypto();
    let ai = FakeOpenAi::start().await;
    ai.push(Reply::Error {
        status: 429,
        code: "insufficient_quota",
        retry_after: None,
    });
    let env = env(&ai);
    let (code, _, stderr) = tokio::task::spawn_blocking(move || run(&["-"], &env, DIFF))
        .await
        .unwrap();
    assert_eq!(code, 1);
    assert!(stderr.contains("quota"), "{stderr}");
    let (code, _, stderr) = tokio::task::spawn_blocking(|| run(&["-", "--post"], &[], ""))
        .await
        .unwrap();
    assert_eq!(code, 2);
    assert!(stderr.contains("--post needs a pull request URL"));
    let (code, _, stderr) = tokio::task::spawn_blocking(|| run(&["-"], &[], DIFF))
        .await
        .unwrap();
    assert_eq!(code, 1);
    assert!(stderr.contains("OPENAI_API_KEY is required"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_is_reviewed_by_url_and_posted() {
    let app = TestApp::start().await;
    let patch = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";
    app.github.add_pull(Pull::new(
        REPO,
        5,
        &"5".repeat(40),
        vec![File::new("src/lib.rs", "modified", Some(patch))],
    ));
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    // The fake accepts installation tokens; a personal token is one it has issued.
    let token = "ghs_cli_token".to_string();
    app.github.state().tokens.insert(token.clone());
    let mut env = env(&app.openai);
    env.push(("GITHUB_TOKEN", token));
    env.push(("GITHUB_API_URL", app.github.base_url.clone()));
    let url = format!("https://github.com/{REPO}/pull/5");
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&[&url, "--post"], &env, ""))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("[P1] src/lib.rs:2"), "{stdout}");
    assert!(stdout.contains("Posted review"), "{stdout}");
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].comments.len(), 1);
    assert_eq!(reviews[0].state, "COMMENTED");
    // The model could read the head through the same archive the App uses.
    let archive = format!("/repos/{REPO}/tarball/{}", "5".repeat(40));
    assert!(app.github.calls().iter().any(|c| c.path == archive));
    assert!(app.openai.requests()[0]["tools"].is_array());
    app.assert_no_violations();
    app.stop().await;
}

/// `git` in a directory, quietly, as a fixed author.
fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_diff_is_reviewed_with_the_work_trees_head_in_reach() {
    install_crypto();
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    std::fs::write(
        repo.path().join("src/limits.rs"),
        "pub fn allowed(count: u32, max: u32) -> bool {\n    count < max\n}\n",
    )
    .unwrap();
    std::fs::write(
        repo.path().join("src/caller.rs"),
        "fn go() { allowed(1, 2); }\n",
    )
    .unwrap();
    let guidelines = "## Review guidelines\n\nCounts are compared with `<`, never `<=`.\n";
    std::fs::write(repo.path().join("src/AGENTS.md"), guidelines).unwrap();
    // A committed link that leads out of the repository: left out of the snapshot.
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("passwd")).unwrap();
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "first"]);
    // Not committed: the tools and the guidelines are read from HEAD, not the files on disk.
    std::fs::write(repo.path().join("src/caller.rs"), "UNCOMMITTED\n").unwrap();
    std::fs::write(
        repo.path().join("src/AGENTS.md"),
        "## Review guidelines\n\nUNCOMMITTED\n",
    )
    .unwrap();

    let ai = FakeOpenAi::start().await;
    ai.respond_with(|request| {
        let answered: Vec<&str> = request["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "function_call_output")
            .map(|i| i["output"].as_str().unwrap())
            .collect();
        if answered.is_empty() {
            return Reply::ToolCalls(vec![
                (
                    "read_file",
                    json!({"path": "src/caller.rs", "start_line": null, "end_line": null}),
                ),
                (
                    "read_file",
                    json!({"path": "passwd", "start_line": null, "end_line": null}),
                ),
            ]);
        }
        let right = answered[0].contains("1: fn go() { allowed(1, 2); }")
            && !answered[0].contains("UNCOMMITTED")
            && answered[1].contains("error: ")
            && !answered[1].contains("root:");
        let mut f = finding("src/limits.rs", "RIGHT", 2, 3, 1, None);
        f["title"] = json!(if right {
            "Caller read from HEAD"
        } else {
            "Wrong answers"
        });
        Reply::Review(review_with(vec![f]))
    });
    let mut env = env(&ai);
    env.push(("PATH", std::env::var("PATH").unwrap()));
    env.push(("TMPDIR", repo.path().join("tmp").display().to_string()));
    std::fs::create_dir_all(repo.path().join("tmp")).unwrap();
    let dir = repo.path().to_owned();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run_in(Some(&dir), &["-"], &env, DIFF))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Caller read from HEAD"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Looked at: 1 file(s) read, 0 search(es), 1 refused call(s)"),
        "{stdout}"
    );
    // Standard error is no terminal: no progress bar, not even for the tool calls; only the
    // steps' plain lines.
    assert!(
        !stderr.contains(['\r', '\u{1b}'])
            && !stderr.contains("tool call")
            && !stderr.contains("["),
        "{stderr:?}"
    );
    assert!(
        stderr.lines().all(|l| l.starts_with("codex-review: ")),
        "{stderr:?}"
    );
    // The guidelines of the work tree's HEAD reached the model, as the base's do in the App.
    let asked = ai.requests();
    let message = asked[0]["input"][0]["content"].as_str().unwrap();
    assert!(
        message.contains("From src/AGENTS.md:\nCounts are compared with `<`, never `<=`."),
        "{message}"
    );
    assert!(!message.contains("UNCOMMITTED"), "{message}");
    // The snapshot was removed at exit.
    assert_eq!(
        std::fs::read_dir(repo.path().join("tmp")).unwrap().count(),
        0
    );
    assert!(
        ai.state().violations.is_empty(),
        "{:?}",
        ai.state().violations
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_chunk_budget_still_reviews() {
    install_crypto();
    let ai = FakeOpenAi::start().await;
    ai.push(Reply::Review(review_with(vec![])));
    let mut env = env(&ai);
    // Under the 4,000 tokens the prompt itself takes.
    env.push(("CODEX_REVIEW_CHUNK_TOKENS", "1000".into()));
    let (code, _, stderr) = tokio::task::spawn_blocking(move || run(&["-"], &env, DIFF))
        .await
        .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(ai.requests().len(), 1);
    assert!(ai.state().violations.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_places_findings_as_the_app_does_under_the_base_config() {
    let app = TestApp::start().await;
    let config =
        "paths:\n  exclude: [\"tests/**\"]\nreview:\n  min_priority: 1\n  max_inline_comments: 1\n";
    let patch = "@@ -1,3 +1,5 @@ fn main() {\n a\n-b\n+B\n+C\n+D\n d";
    for (n, head) in [(30, "3"), (31, "4")] {
        let mut pull = Pull::new(
            REPO,
            n,
            &head.repeat(40),
            vec![
                File::new("src/lib.rs", "modified", Some(patch)),
                File::new("tests/a.rs", "added", Some("@@ -0,0 +1 @@\n+fn t() {}")),
            ],
        );
        pull.base_sha = format!("{n:040x}");
        pull.base_contents
            .insert(".github/codex-review.yml".into(), config.into());
        pull.base_contents.insert(
            "src/AGENTS.md".into(),
            "# Notes\n\n## Review guidelines\n\nLimits saturate; never wrap.\n".into(),
        );
        pull.contents.insert(
            "src/lib.rs".into(),
            "fn main() {\na\nB\nC\nD\nd\n}\n".into(),
        );
        app.github.add_pull(pull);
    }
    let answer = || {
        let mut low = finding("src/lib.rs", "RIGHT", 4, 4, 2, None);
        low["title"] = json!("A P2 the thresholds leave out");
        let mut second = finding("src/lib.rs", "RIGHT", 3, 3, 1, None);
        second["title"] = json!("A second P1, over the inline cap");
        Reply::Review(review_with(vec![
            finding("src/lib.rs", "RIGHT", 2, 2, 1, None),
            second,
            low,
        ]))
    };
    // The App's review of PR 30.
    app.openai.push(answer());
    app.comment(30, "@codex review").await;
    // The CLI's review of PR 31, the same change and the same answer.
    app.openai.push(answer());
    let token = "ghs_cli_token".to_string();
    app.github.state().tokens.insert(token.clone());
    let mut env = env(&app.openai);
    env.push(("GITHUB_TOKEN", token));
    env.push(("GITHUB_API_URL", app.github.base_url.clone()));
    let url = format!("https://github.com/{REPO}/pull/31");
    let (code, _, stderr) = tokio::task::spawn_blocking(move || run(&[&url, "--post"], &env, ""))
        .await
        .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("using .github/codex-review.yml of the base branch"),
        "{stderr}"
    );

    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 2);
    let placed = |r: &support::fake_github::Review| {
        let inline: Vec<(String, u64, String)> = r
            .comments
            .iter()
            .map(|c| {
                (
                    c["path"].as_str().unwrap().to_owned(),
                    c["line"].as_u64().unwrap(),
                    c["body"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let listed: Vec<String> = r
            .body
            .lines()
            .filter(|l| l.starts_with("- **[P") || l.contains("below the repository's"))
            .map(str::to_owned)
            .collect();
        (inline, listed)
    };
    let (app_inline, app_listed) = placed(&reviews[0]);
    let (cli_inline, cli_listed) = placed(&reviews[1]);
    assert_eq!(app_inline.len(), 1, "{app_inline:?}");
    assert_eq!(cli_inline, app_inline);
    assert_eq!(cli_listed, app_listed);
    assert!(
        app_listed
            .iter()
            .any(|l| l.contains("A second P1, over the inline cap")),
        "{app_listed:?}"
    );
    assert!(
        app_listed
            .iter()
            .any(|l| l.contains("below the repository's")),
        "{app_listed:?}"
    );
    // Neither showed the model the excluded test file.
    let requests = app.openai.requests();
    for request in &requests {
        let message = request["input"][0]["content"].as_str().unwrap_or("");
        assert!(!message.contains("=== FILE tests/a.rs"), "{message}");
    }
    // The model was asked the same thing by both: the base's AGENTS.md guidelines and the
    // head's file content are read by the CLI as by the App.
    let asked: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|r| r["text"]["format"]["name"] != json!("finding_verdicts"))
        .collect();
    assert_eq!(asked.len(), 2);
    let message = |r: &serde_json::Value| {
        // Each request fences the pull request's data with a nonce of its own.
        let text = r["input"][0]["content"].as_str().unwrap().to_owned();
        let nonce = text
            .split("BEGIN UNTRUSTED PULL REQUEST DATA ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("a fenced message")
            .to_owned();
        text.replace(&nonce, "NONCE")
    };
    let app_message = message(asked[0]);
    assert!(
        app_message.contains("From src/AGENTS.md:\nLimits saturate; never wrap."),
        "{app_message}"
    );
    assert_eq!(message(asked[1]), app_message);
    assert_eq!(asked[1]["instructions"], asked[0]["instructions"]);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_diff_is_reviewed_under_the_work_trees_configuration() {
    install_crypto();
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join(".github")).unwrap();
    std::fs::write(
        repo.path().join(".github/codex-review.yml"),
        "paths:\n  exclude: [\"src/**\"]\n",
    )
    .unwrap();
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "config"]);
    let ai = FakeOpenAi::start().await;
    let mut env = env(&ai);
    env.push(("PATH", std::env::var("PATH").unwrap()));
    let dir = repo.path().to_owned();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run_in(Some(&dir), &["-", "--no-tools"], &env, DIFF))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("using .github/codex-review.yml of the work tree's HEAD"),
        "{stderr}"
    );
    // src/ is excluded there and Cargo.lock is a lock file: nothing goes to the model.
    assert!(stdout.contains("Nothing to review"), "{stdout}");
    assert!(ai.requests().is_empty());
    assert!(ai.state().violations.is_empty());
}
