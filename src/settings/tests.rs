//! The settings' parsing: defaults, errors that name the variable, secrets kept out.

use std::collections::HashMap;

use super::*;

const TEST_KEY: &str = include_str!("../../tests/fixtures/test-app-key.pem");

fn env(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let mut map: HashMap<String, String> = [
        ("GITHUB_APP_ID", "12345"),
        ("GITHUB_PRIVATE_KEY", TEST_KEY),
        ("GITHUB_WEBHOOK_SECRET", "s3cret"),
        ("OPENAI_API_KEY", "sk-test"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        if v.is_empty() {
            map.remove(*k);
        } else {
            map.insert(k.to_string(), v.to_string());
        }
    }
    Settings::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_follow_the_design() {
    let s = env(&[]).unwrap();
    assert_eq!(s.listen_addr.to_string(), "0.0.0.0:3000");
    assert_eq!(s.github.api_url, "https://api.github.com");
    assert_eq!(s.openai.base_url, "https://api.openai.com/v1");
    assert_eq!(s.openai.model, "gpt-5.1-codex");
    assert_eq!(s.openai.reasoning_effort, "medium");
    assert_eq!(s.database_url, "sqlite://codex-review.db");
    assert_eq!(s.bot_handle, "codex");
    assert_eq!(s.limits, Limits::default());
    assert_eq!(s.codebase.tools, crate::model::ToolLimits::default());
    assert_eq!(s.codebase.tools.turns, 12);
    assert_eq!(s.codebase.limits, crate::codebase::Limits::default());
    assert_eq!(s.codebase.cache_bytes, 2_048 * 1024 * 1024);
    // The service's own data directory: beside the SQLite database, or the working directory.
    let dir = &s.codebase.snapshot_dir;
    assert_eq!(dir.parent(), Some(std::path::Path::new("")), "{dir:?}");
    assert!(dir.to_string_lossy().starts_with("codex-review-snapshots-"));
    for (url, dir) in [
        (
            "sqlite:///data/codex.db?mode=rwc",
            "/data/codex-review-snapshots-a",
        ),
        ("sqlite://var/codex.db", "var/codex-review-snapshots-a"),
        ("postgres://db.internal/codex", "codex-review-snapshots-a"),
    ] {
        let s = env(&[("DATABASE_URL", url), ("CODEX_REVIEW_INSTANCE", "a")]).unwrap();
        assert_eq!(s.codebase.snapshot_dir, std::path::Path::new(dir), "{url}");
    }
    let s = env(&[
        ("CODEX_REVIEW_TOOL_TURNS", "0"),
        ("CODEX_REVIEW_SNAPSHOT_MAX_FILE_KB", "64"),
        ("CODEX_REVIEW_SNAPSHOT_DIR", "/var/cache/codex"),
    ])
    .unwrap();
    assert_eq!(s.codebase.tools.turns, 0);
    assert_eq!(s.codebase.limits.file_bytes, 64 * 1024);
    assert_eq!(
        s.codebase.snapshot_dir,
        std::path::Path::new("/var/cache/codex")
    );
    let err = env(&[("CODEX_REVIEW_TOOL_CALLS", "0")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CODEX_REVIEW_TOOL_CALLS is invalid")
    );
}

#[test]
fn enterprise_base_and_several_secrets_are_accepted() {
    let s = env(&[
        ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ("GITHUB_WEBHOOK_SECRET", "old, new"),
        ("BOT_HANDLE", "@reviewer"),
    ])
    .unwrap();
    assert_eq!(s.github.api_url, "https://ghe.example.com/api/v3");
    assert_eq!(s.github.webhook_secrets.len(), 2);
    assert_eq!(s.github.webhook_secrets[1].expose_secret(), "new");
    assert_eq!(s.bot_handle, "reviewer");
    assert!(s.github.archive_hosts.is_empty());
    let s = env(&[(
        "CODEX_REVIEW_ARCHIVE_HOSTS",
        " Archives.example.com, 10.0.0.5 ,",
    )])
    .unwrap();
    assert_eq!(s.github.archive_hosts, ["archives.example.com", "10.0.0.5"]);
    let err = env(&[(
        "CODEX_REVIEW_ARCHIVE_HOSTS",
        "https://archives.example.com/",
    )])
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CODEX_REVIEW_ARCHIVE_HOSTS is invalid")
    );
}

#[test]
fn errors_name_the_variable_and_never_the_value() {
    assert_eq!(
        env(&[("GITHUB_APP_ID", "")]).unwrap_err(),
        SettingsError::Missing("GITHUB_APP_ID")
    );
    assert_eq!(
        env(&[("GITHUB_PRIVATE_KEY", "")]).unwrap_err(),
        SettingsError::Missing("GITHUB_PRIVATE_KEY")
    );
    let err = env(&[("GITHUB_PRIVATE_KEY", "hunter2-not-a-key")]).unwrap_err();
    assert!(err.to_string().starts_with("GITHUB_PRIVATE_KEY is invalid"));
    assert!(!err.to_string().contains("hunter2"));
    let err = env(&[("OPENAI_BASE_URL", "ftp://x")]).unwrap_err();
    assert!(err.to_string().starts_with("OPENAI_BASE_URL is invalid"));
    let err = env(&[("LISTEN_ADDR", "nope")]).unwrap_err();
    assert!(err.to_string().starts_with("LISTEN_ADDR is invalid"));
    let err = env(&[("GITHUB_WEBHOOK_SECRET", "a,,b")]).unwrap_err();
    assert!(err.to_string().contains("GITHUB_WEBHOOK_SECRET"));
    let err = env(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
    assert!(err.to_string().contains("DATABASE_URL"));
    let err = env(&[("CODEX_REVIEW_REASONING_EFFORT", "extreme")]).unwrap_err();
    assert!(err.to_string().contains("CODEX_REVIEW_REASONING_EFFORT"));
    let err = env(&[("CODEX_REVIEW_CHUNK_TOKENS", "12")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CODEX_REVIEW_CHUNK_TOKENS is invalid")
    );
    let err = env(&[("CODEX_REVIEW_MAX_CALLS", "0")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CODEX_REVIEW_MAX_CALLS is invalid")
    );
}

#[test]
fn debug_output_hides_secrets() {
    let s = env(&[("OPENAI_API_KEY", "sk-very-secret")]).unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("sk-very-secret"));
    assert!(!shown.contains("s3cret"));
    assert!(!shown.contains("PRIVATE KEY"));
}

#[test]
fn page_and_api_tokens_must_be_long_enough() {
    let s = env(&[]).unwrap();
    assert!(s.status_token.is_none() && s.api_tokens.is_empty());
    assert_eq!(s.github.web_url, "https://github.com");
    let s = env(&[
        ("STATUS_TOKEN", "0123456789abcdef"),
        ("API_TOKENS", "0123456789abcdef, fedcba9876543210"),
        ("GITHUB_URL", "https://ghe.example.com"),
    ])
    .unwrap();
    assert_eq!(s.api_tokens.len(), 2);
    assert_eq!(s.api_tokens[1].secret.expose_secret(), "fedcba9876543210");
    assert_eq!(s.github.api_url, "https://ghe.example.com/api/v3");
    let err = env(&[("STATUS_TOKEN", "short")]).unwrap_err();
    assert!(err.to_string().starts_with("STATUS_TOKEN is invalid"));
    let err = env(&[("API_TOKENS", "0123456789abcdef,short")]).unwrap_err();
    assert!(err.to_string().starts_with("API_TOKENS is invalid"));
    assert!(!err.to_string().contains("short,"));
}

#[test]
fn a_model_without_a_price_is_refused_until_the_operator_prices_it() {
    let err = env(&[("CODEX_REVIEW_MODEL", "my-gateway/llama")]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("CODEX_REVIEW_MODEL is invalid: \"my-gateway/llama\" has no price"),
        "{text}"
    );
    assert!(text.contains("CODEX_REVIEW_PRICES"), "{text}");
    let s = env(&[
        ("CODEX_REVIEW_MODEL", "my-gateway/llama"),
        ("CODEX_REVIEW_PRICES", "my-gateway/llama=0.5/0.05/1.5"),
    ])
    .unwrap();
    assert_eq!(
        s.openai.prices.price("my-gateway/llama").unwrap().output,
        1.5
    );
    // A gateway's spelling of a priced model is priced.
    assert!(env(&[("CODEX_REVIEW_MODEL", "openai/gpt-5.1-codex")]).is_ok());
}
