//! Pull-request URL cases: read from GitHub through the same context stage as `review URL`,
//! with `GITHUB_TOKEN`, under the base's configuration with `--set` applied.

use serde_json::{Value, json};

use super::args_of;
use crate::support::fake_github::{FakeGitHub, File, Pull};
use crate::support::fake_openai::{FakeOpenAi, Reply};
use crate::support::{APP_ID, PUBLIC_KEY, REPO, finding, review_with};
use codex_review::cli::eval;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_case_is_read_from_github_like_review_url() {
    crate::support::install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let mut pull = Pull::new(
        REPO,
        5,
        &"5".repeat(40),
        vec![File::new(
            "src/lib.rs",
            "modified",
            Some("@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d"),
        )],
    );
    // The base's configuration: no verification.
    pull.base_contents.insert(
        ".github/codex-review.yml".into(),
        "review:\n  verify: false\n".into(),
    );
    github.add_pull(pull);
    let token = "ghs_eval_token".to_string();
    github.state().tokens.insert(token.clone());
    let ai = FakeOpenAi::start().await;
    ai.respond_with(|_| {
        Reply::Review(review_with(vec![finding(
            "src/lib.rs",
            "RIGHT",
            2,
            2,
            1,
            None,
        )]))
    });
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("d.jsonl");
    let line = json!({"id": "limiter-off-by-one",
        "source": {"pull_request": format!("https://github.com/{REPO}/pull/5")},
        "expected": [{"path": "src/lib.rs", "start_line": 2, "end_line": 3, "side": "RIGHT",
                      "description": "B replaces b", "priority": 1}]});
    std::fs::write(&data, format!("{line}\n")).unwrap();
    let env = |token: Option<String>| {
        let (ai_url, gh_url) = (ai.base_url.clone(), github.base_url.clone());
        move |name: &str| match name {
            "OPENAI_API_KEY" => Some(crate::support::fake_openai::API_KEY.to_owned()),
            "OPENAI_BASE_URL" => Some(ai_url.clone()),
            "GITHUB_API_URL" => Some(gh_url.clone()),
            "GITHUB_TOKEN" => token.clone(),
            _ => None,
        }
    };
    let out = |name: &str| root.path().join(name).to_str().unwrap().to_owned();
    let report = eval::main(
        &args_of(&data, &["--out", &out("base")]),
        env(Some(token.clone())),
    )
    .await
    .unwrap();
    assert!(
        report.contains("| default | 1 | 0 | 100.0% (1/1) | 100.0% (1/1) | 100.0% (1/1) |"),
        "{report}"
    );
    // One review, no verification: the base's configuration applies.
    let requests = ai.all_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let message = requests[0]["input"][0]["content"].as_str().unwrap();
    assert!(
        message.contains("Add rate limiting to the login handler"),
        "{message}"
    );
    assert!(
        message.contains("Branches: change into main\n"),
        "{message}"
    );
    assert!(message.contains("+B"), "{message}");
    assert!(!requests[0].to_string().contains("limiter-off-by-one"));
    let pulls_read = github
        .calls()
        .iter()
        .any(|c| c.path == format!("/repos/{REPO}/pulls/5/files"));
    assert!(pulls_read, "{:?}", github.calls());

    // `--set` acts on the base's configuration: verified this time.
    eval::main(
        &args_of(
            &data,
            &["--out", &out("verified"), "--set", "review.verify=true"],
        ),
        env(Some(token)),
    )
    .await
    .unwrap();
    assert_eq!(ai.verify_requests().len(), 1);

    // Without a token the case fails, counted as a miss.
    let report = eval::main(&args_of(&data, &["--out", &out("no-token")]), env(None))
        .await
        .unwrap();
    assert!(
        report.contains("| default | 1 | 1 | 0.0% (0/1) |"),
        "{report}"
    );
    assert!(report.contains("GITHUB_TOKEN is required"), "{report}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(root.path().join("no-token/report.json")).unwrap())
            .unwrap();
    assert_eq!(json["configurations"][0]["totals"]["failed"], 1);
    assert!(github.take_violations().is_empty());
    assert!(ai.take_violations().is_empty());
}
