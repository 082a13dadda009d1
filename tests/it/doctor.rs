//! `codex-review doctor` against the fakes: all well, then one failing check at a time.

use crate::support;
use std::process::Command;

use serde_json::json;
use support::*;

fn doctor(env: &[(&str, String)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-review"));
    cmd.arg("doctor").env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn env(app: &TestApp, db: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_APP_ID", APP_ID.to_string()),
        ("GITHUB_PRIVATE_KEY", PRIVATE_KEY.to_string()),
        ("GITHUB_WEBHOOK_SECRET", SECRET.to_string()),
        ("GITHUB_API_URL", app.github.base_url.clone()),
        ("OPENAI_API_KEY", support::fake_openai::API_KEY.to_string()),
        ("OPENAI_BASE_URL", app.openai.base_url.clone()),
        ("DATABASE_URL", db.to_owned()),
    ]
}

async fn run(env: Vec<(&'static str, String)>) -> (i32, String) {
    tokio::task::spawn_blocking(move || doctor(&env))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_each_check_and_what_to_do() {
    let app = TestApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("d.db").display());

    let (code, out) = run(env(&app, &db)).await;
    assert_eq!(code, 0, "{out}");
    for line in [
        "✔ settings: every required setting is present and valid",
        "✔ App authentication: signed in as the App",
        "✔ installations: 1 installation(s) (Codertocat)",
        "✔ webhook: https://codex-review.example.com/webhook, JSON, secret set",
        "✔ deliveries: no failed delivery in the last 24 hours",
        "✔ model: gpt-5.1-codex answers through the Responses API",
        "✔ database: reachable, writable, migrations current",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    let ping = app.openai.all_requests().last().unwrap().clone();
    assert_eq!(ping["max_output_tokens"], 16);

    // A missing setting.
    let mut no_key = env(&app, &db);
    no_key.retain(|(k, _)| *k != "GITHUB_APP_ID");
    let (code, out) = run(no_key).await;
    assert_eq!(code, 1);
    assert!(out.starts_with("✖ settings: GITHUB_APP_ID"), "{out}");

    // A webhook without a secret, and a failed delivery today.
    app.github.state().hook_config = Some(
        json!({"url": "https://x.example/hooks", "content_type": "form", "secret": null, "insecure_ssl": "0"}),
    );
    // (Any time after a day ago counts as recent; an old failure does not.)
    app.github.state().hook_deliveries = vec![
        json!({
            "id": 2, "guid": "0b989ba4-242f-11e5-81e1-c7b6966d2517", "delivered_at": "2020-01-01T00:00:00Z",
            "redelivery": false, "duration": 0.2, "status": "failed to connect", "status_code": 502,
            "event": "issue_comment", "action": "created", "installation_id": 1, "repository_id": 1
        }),
        json!({
            "id": 1, "guid": "0b989ba4-242f-11e5-81e1-c7b6966d2516", "delivered_at": "2999-01-01T00:00:00Z",
            "redelivery": false, "duration": 0.2, "status": "failed to connect", "status_code": 502,
            "event": "issue_comment", "action": "created", "installation_id": 1, "repository_id": 1
        }),
    ];
    let (code, out) = run(env(&app, &db)).await;
    assert_eq!(code, 1);
    assert!(out.contains("✖ webhook: https://x.example/hooks: the URL does not end with /webhook; the content type is not json; no secret is set — in the App's settings"), "{out}");
    assert!(
        out.contains("✖ deliveries: 1 failed in the last 24 hours"),
        "{out}"
    );

    // In pull mode the same failed sends are expected, and the webhook's URL does not
    // matter: the App may read its delivery log, and that is what is checked.
    let mut pull = env(&app, &db);
    pull.push(("CODEX_REVIEW_DELIVERIES", "pull".into()));
    let (code, out) = run(pull).await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("✖ webhook"), "{out}");
    assert!(!out.contains("✖ deliveries"), "{out}");
    assert!(
        out.contains(
            "✔ delivery log: readable (pull mode: 1 deliveries logged in the last 24 hours"
        ),
        "{out}"
    );
    app.github.state().hook_config = None;
    app.github.state().hook_deliveries.clear();

    // The model refuses the key.
    app.openai.push(Reply::Error {
        status: 401,
        code: "invalid_api_key",
        retry_after: None,
    });
    let (code, out) = run(env(&app, &db)).await;
    assert_eq!(code, 1);
    assert!(out.contains("✖ model: the model API answered 401"), "{out}");
    assert!(out.contains("check OPENAI_API_KEY"), "{out}");

    // A database that cannot be opened.
    let (code, out) = run(env(&app, "sqlite:///nonexistent-dir/x/y.db")).await;
    assert_eq!(code, 1);
    assert!(
        out.contains("✖ database: cannot open the database"),
        "{out}"
    );

    // A key that is not the App's.
    let mut wrong = env(&app, &db);
    wrong.retain(|(k, _)| *k != "GITHUB_APP_ID");
    wrong.push(("GITHUB_APP_ID", "999".into()));
    let (code, out) = run(wrong).await;
    assert_eq!(code, 1);
    assert!(out.contains("✖ App authentication:"), "{out}");
    app.github.take_violations();
    app.stop().await;
}
