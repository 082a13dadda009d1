//! The binary's contract: a missing or malformed setting is one clear line and exit 2.

use std::process::Command;

fn run(env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-review"));
    cmd.arg("serve").env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_setting_names_the_variable_and_exits_2() {
    // With one App setting given, the others are required (without any: setup mode).
    let (code, stderr) = run(&[("GITHUB_APP_ID", "1")]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        "codex-review: GITHUB_PRIVATE_KEY is required but not set"
    );
}

#[test]
fn a_malformed_setting_names_the_variable_not_the_secret() {
    let key = include_str!("../fixtures/test-app-key.pem");
    let (code, stderr) = run(&[
        ("GITHUB_APP_ID", "1"),
        ("GITHUB_PRIVATE_KEY", key),
        ("GITHUB_WEBHOOK_SECRET", "s"),
        ("OPENAI_API_KEY", "sk-secret-value"),
        ("OPENAI_BASE_URL", "not a url"),
    ]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("codex-review: OPENAI_BASE_URL is invalid"),
        "{stderr}"
    );
    assert!(!stderr.contains("sk-secret-value"));
}

#[test]
fn unknown_commands_print_usage_and_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_codex-review"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: codex-review serve"));
}

#[test]
fn a_snapshot_directory_others_may_enter_stops_the_service_with_exit_2() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path().join("snapshots");
    std::fs::create_dir(&snapshots).unwrap();
    std::fs::set_permissions(&snapshots, std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = include_str!("../fixtures/test-app-key.pem");
    let db = format!("sqlite://{}", dir.path().join("codex.db").display());
    let (code, stderr) = run(&[
        ("GITHUB_APP_ID", "1"),
        ("GITHUB_PRIVATE_KEY", key),
        ("GITHUB_WEBHOOK_SECRET", "s"),
        ("OPENAI_API_KEY", "sk-test"),
        ("LISTEN_ADDR", "127.0.0.1:0"),
        ("DATABASE_URL", &db),
        ("CODEX_REVIEW_REDELIVER_HOURS", "0"),
        ("CODEX_REVIEW_SNAPSHOT_DIR", snapshots.to_str().unwrap()),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("CODEX_REVIEW_SNAPSHOT_DIR is invalid")
            && stderr.contains("open to other users (mode 0755); it must be 0700"),
        "{stderr}"
    );
    // Nothing was unpacked or removed there, and it was left as it was.
    let mode = std::fs::metadata(&snapshots).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
}
