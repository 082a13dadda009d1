//! The repository configuration (`.github/codex-review.yml` on the base branch): each key's
//! effect, invalid files, commands, and the checked-in JSON Schema.

use crate::support;
use serde_json::{Value, json};
use support::*;

const HEAD: &str = "3333333333333333333333333333333333333333";
const PATCH: &str = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";

fn pull(number: u64) -> Pull {
    Pull::new(
        REPO,
        number,
        HEAD,
        vec![
            File::new("src/lib.rs", "modified", Some(PATCH)),
            File::new("docs/guide.md", "modified", Some("@@ -1 +1 @@\n-old\n+new")),
        ],
    )
}

/// A PR whose base branch holds `config` as its configuration file (each at its own base
/// commit: the configuration is read, and cached, per base commit).
fn configured(number: u64, config: &str) -> Pull {
    let mut p = pull(number);
    p.base_sha = format!("{number:040x}");
    p.base_contents
        .insert(".github/codex-review.yml".into(), config.into());
    p
}

fn model_input(app: &TestApp, i: usize) -> String {
    app.openai.requests()[i]["input"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ready(app: &TestApp, pr: u64) {
    let payload = pull_request_payload("ready_for_review", pr, HEAD, false);
    assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
}

async fn ask(app: &TestApp, pr: u64, body: &str) {
    assert_eq!(
        app.deliver("issue_comment", &comment_payload(pr, body, "MEMBER"))
            .await
            .0,
        202
    );
}

fn reviewed(app: &TestApp) -> Vec<u64> {
    let mut prs: Vec<u64> = app.github.reviews().iter().map(|r| r.pr).collect();
    prs.sort();
    prs
}

#[tokio::test]
async fn automatic_reviews_follow_the_auto_review_keys() {
    let app = TestApp::start().await;
    app.github
        .add_pull(configured(1, "auto_review:\n  enabled: false\n"));
    let mut draft = pull(2);
    draft.draft = true;
    app.github.add_pull(draft);
    let mut draft_allowed = configured(3, "auto_review:\n  drafts: true\n");
    draft_allowed.draft = true;
    app.github.add_pull(draft_allowed);
    app.github.add_pull(configured(
        4,
        "auto_review:\n  base_branches: [\"release/*\"]\n",
    ));
    let mut release = configured(5, "auto_review:\n  base_branches: [\"release/*\"]\n");
    release.base_ref = "release/1.2".into();
    app.github.add_pull(release);
    let mut dependabot = pull(6);
    dependabot.author = "dependabot[bot]".into();
    app.github.add_pull(dependabot);
    let mut labelled = configured(7, "auto_review:\n  ignore_labels: [no-review]\n");
    labelled.labels = vec!["no-review".into()];
    app.github.add_pull(labelled);
    let mut wip = pull(8);
    wip.title = "WIP: rate limiter".into();
    app.github.add_pull(wip);
    let mut outsider = pull(9);
    outsider.author_association = "CONTRIBUTOR".into();
    app.github.add_pull(outsider);
    let mut renovate_wanted = configured(10, "auto_review:\n  ignore_authors: []\n");
    renovate_wanted.author = "renovate[bot]".into();
    app.github.add_pull(renovate_wanted);
    for pr in 1..=10 {
        ready(&app, pr).await;
    }
    // Pushes are reviewed only when `on` lists `synchronize`.
    app.github.add_pull(pull(11));
    app.github
        .add_pull(configured(12, "auto_review:\n  on: [synchronize]\n"));
    for pr in [11, 12] {
        let payload = pull_request_payload("synchronize", pr, HEAD, false);
        assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
    }
    app.settle().await;
    assert_eq!(reviewed(&app), vec![3, 5, 10, 12]);
    assert_eq!(app.openai.requests().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn excluded_paths_never_reach_the_model() {
    let app = TestApp::start().await;
    app.github
        .add_pull(configured(20, "paths:\n  exclude: [\"docs/**\"]\n"));
    ask(&app, 20, "@codex review").await;
    app.settle().await;
    let message = model_input(&app, 0);
    assert!(message.contains("=== FILE src/lib.rs") && !message.contains("=== FILE docs/guide.md"));
    assert!(
        app.github.reviews()[0]
            .body
            .contains("`docs/guide.md`: excluded by paths.exclude")
    );
    app.stop().await;
}

#[tokio::test]
async fn thresholds_and_the_inline_limit_decide_what_is_posted() {
    let app = TestApp::start().await;
    app.github.add_pull(configured(
        21,
        "review:\n  min_priority: 1\n  max_inline_comments: 1\n  suggestions: false\n",
    ));
    let mut p0 = finding("src/lib.rs", "RIGHT", 2, 2, 0, Some("B2"));
    p0["title"] = json!("Fix the bound");
    let mut p1 = finding("src/lib.rs", "RIGHT", 3, 3, 1, None);
    p1["title"] = json!("Check the error");
    let p2 = finding("src/lib.rs", "RIGHT", 1, 1, 2, None);
    app.openai
        .push(Reply::Review(review_with(vec![p2, p1, p0])));
    ask(&app, 21, "@codex review").await;
    app.settle().await;
    let review = &app.github.reviews()[0];
    assert_eq!(review.comments.len(), 1);
    let body = review.comments[0]["body"].as_str().unwrap();
    assert!(
        body.starts_with("**[P0] Fix the bound**") && !body.contains("```suggestion"),
        "{body}"
    );
    assert!(review.body.contains("**[P1] Check the error**"));
    assert!(
        review
            .body
            .contains("over the limit of inline comments per review")
    );
    assert!(review.body.contains(
        "1 finding below the repository's `min_priority` / `min_confidence` is not shown"
    ));
    assert!(model_input(&app, 0).contains("set every suggestion to null"));
    app.stop().await;
}

#[tokio::test]
async fn language_guidelines_and_model_reach_the_model() {
    let app = TestApp::start().await;
    let mut p = configured(
        22,
        "review:\n  language: Português\n  instructions: Money is in cents.\n  path_instructions:\n    - path: \"src/**\"\n      instructions: Handlers must not panic.\n    - path: \"web/**\"\n      instructions: Never shown.\n  model: gpt-5.1-codex-mini\n  reasoning_effort: high\n",
    );
    p.base_contents.insert("AGENTS.md".into(), "# Agents\n\n## Review guidelines\n\n- Flag blocking calls in async code.\n\n## Build\nmake\n".into());
    p.base_contents.insert(
        "src/AGENTS.md".into(),
        "## Review guidelines\nErrors use thiserror.\n".into(),
    );
    app.github.add_pull(p);
    ask(&app, 22, "@codex review").await;
    app.settle().await;
    let request = &app.openai.requests()[0];
    assert_eq!(request["model"], json!("gpt-5.1-codex-mini"));
    assert_eq!(request["reasoning"]["effort"], json!("high"));
    let message = model_input(&app, 0);
    let data = message.find("BEGIN UNTRUSTED").unwrap();
    let guidance = &message[..data];
    for text in [
        "Money is in cents.",
        "Handlers must not panic.",
        "Flag blocking calls in async code.",
        "Errors use thiserror.",
    ] {
        assert!(guidance.contains(text), "{text}\n{guidance}");
    }
    assert!(!message.contains("Never shown.") && !message.contains("make\n"));
    assert!(message.contains("in Português."));
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn a_configuration_on_the_head_only_is_ignored() {
    let app = TestApp::start().await;
    let mut p = pull(23);
    // The pull request adds a file that would turn the app off: it does not count.
    p.contents
        .insert(".github/codex-review.yml".into(), "enabled: false\n".into());
    app.github.add_pull(p);
    ready(&app, 23).await;
    app.settle().await;
    assert_eq!(reviewed(&app), vec![23]);
    app.stop().await;
}

#[tokio::test]
async fn an_invalid_file_is_reported_once_per_base_commit_with_its_line_and_column() {
    let app = TestApp::start().await;
    app.github
        .add_pull(configured(24, "review:\n  min_prority: 2\n"));
    ready(&app, 24).await;
    app.settle().await;
    let payload = pull_request_payload("opened", 24, HEAD, false);
    assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
    app.settle().await;
    assert!(app.github.reviews().is_empty());
    assert!(app.openai.requests().is_empty());
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0]
            .body
            .contains("`review.min_prority` at line 2, column 3: unknown field `min_prority`"),
        "{}",
        comments[0].body
    );

    // Asked explicitly, the review runs with the defaults and says why.
    app.github
        .add_pull(configured(25, "review:\n  min_priority: [\n"));
    ask(&app, 25, "@codex review").await;
    app.settle().await;
    let review = &app.github.reviews()[0];
    assert!(
        review
            .body
            .contains("`.github/codex-review.yml` on the base branch was ignored"),
        "{}",
        review.body
    );
    assert!(review.body.contains("line 2, column"), "{}", review.body);
    app.stop().await;
}

#[tokio::test]
async fn help_pause_and_resume() {
    let app = TestApp::start().await;
    app.github
        .add_pull(configured(26, "review:\n  min_priority: 1\n"));
    ask(&app, 26, "@codex help").await;
    app.settle().await;
    let help = app.github.comments()[0].body.clone();
    assert!(
        help.contains("`@codex review full`") && help.contains("`@codex pause`"),
        "{help}"
    );
    assert!(help.contains("| `review.min_priority` | 1 |"), "{help}");
    ask(&app, 26, "@codex frobnicate").await;
    app.settle().await;
    assert!(
        app.github.comments()[1]
            .body
            .contains("I don't know the command `frobnicate`")
    );

    ask(&app, 26, "@codex pause").await;
    app.settle().await;
    ready(&app, 26).await;
    app.settle().await;
    assert!(app.github.reviews().is_empty());
    ask(&app, 26, "@codex resume").await;
    app.settle().await;
    let payload = pull_request_payload("opened", 26, HEAD, false);
    assert_eq!(app.deliver("pull_request", &payload).await.0, 202);
    app.settle().await;
    assert_eq!(reviewed(&app), vec![26]);
    // Commands never call the model.
    assert_eq!(app.openai.requests().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn runaway_loops_stop_at_the_hourly_limit() {
    let app = TestApp::start().await;
    app.github
        .add_pull(configured(27, "triggers:\n  max_per_pr_per_hour: 1\n"));
    ask(&app, 27, "@codex review").await;
    app.settle().await;
    ask(&app, 27, "@codex review security").await;
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    assert_eq!(app.openai.requests().len(), 1);
    let comments = app.github.comments();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("triggers.max_per_pr_per_hour"));
    app.stop().await;
}

#[tokio::test]
async fn allowed_associations_can_admit_contributors() {
    let app = TestApp::start().await;
    app.github.add_pull(configured(
        28,
        "triggers:\n  allowed_associations: [OWNER, CONTRIBUTOR]\n",
    ));
    let payload = comment_payload(28, "@codex review", "CONTRIBUTOR");
    assert_eq!(app.deliver("issue_comment", &payload).await.0, 202);
    let member = {
        let mut p = comment_payload(28, "@codex review", "MEMBER");
        p["comment"]["user"]["login"] = json!("a-member");
        p
    };
    assert_eq!(app.deliver("issue_comment", &member).await.0, 202);
    app.settle().await;
    // The contributor is allowed here; the member is not.
    assert_eq!(app.github.reviews().len(), 1);
    assert_eq!(app.openai.requests().len(), 1);
    app.stop().await;
}

#[test]
fn the_checked_in_schema_is_up_to_date() {
    let path = format!("{}/codex-review.schema.json", env!("CARGO_MANIFEST_DIR"));
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(
        on_disk == codex_review::repo_config::json_schema(),
        "codex-review.schema.json is stale: run `cargo run -- config-schema > codex-review.schema.json`"
    );
}

#[test]
fn the_example_file_is_valid_for_the_parser_and_the_schema() {
    let text = std::fs::read_to_string(format!(
        "{}/examples/codex-review.yml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let config = codex_review::repo_config::parse(&text).unwrap();
    assert_eq!(config, codex_review::repo_config::RepoConfig::default());
    let schema: Value = serde_json::from_str(&codex_review::repo_config::json_schema()).unwrap();
    let validator = crate::support::schema::Schema { root: &schema };
    let as_json = serde_json::to_value(&config).unwrap();
    assert_eq!(validator.errors(&as_json, 9), Vec::<String>::new());
    // Unknown keys are refused by the schema too, so editors flag them.
    assert!(
        !validator
            .errors(&json!({"review": {"min_prority": 2}}), 9)
            .is_empty()
    );
}

#[test]
fn check_config_validates_a_file_locally() {
    let bin = env!("CARGO_BIN_EXE_codex-review");
    let example = format!("{}/examples/codex-review.yml", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(bin)
        .args(["check-config", &example])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "auto_review:\n  on: [opened, merged]\n").unwrap();
    let out = std::process::Command::new(bin)
        .args(["check-config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:2:", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("`auto_review.on`"), "{stderr}");
}
