//! The deployment files say what the README promises.

use serde_json::{Value, json};

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn app_manifest_asks_for_least_privilege_with_names_github_accepts() {
    let manifest: Value = serde_saphyr::from_str(&read("app-manifest.yml")).unwrap();
    for key in ["name", "url", "redirect_url", "description"] {
        assert!(
            manifest[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key}"
        );
    }
    assert!(
        manifest["hook_attributes"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/webhook")
    );
    assert_eq!(manifest["public"], json!(false));
    assert_eq!(
        manifest["default_permissions"],
        json!({"contents": "read", "metadata": "read", "pull_requests": "write", "issues": "write", "checks": "write"})
    );
    assert_eq!(
        manifest["default_events"],
        json!([
            "issue_comment",
            "pull_request",
            "pull_request_review_comment",
            "check_run"
        ])
    );
    // Permission names and levels must be ones GitHub's description of App permissions knows.
    let doc: Value =
        serde_json::from_str(&read("tests/fixtures/github-openapi.subset.json")).unwrap();
    let known = &doc["components"]["schemas"]["app-permissions"]["properties"];
    for (name, level) in manifest["default_permissions"].as_object().unwrap() {
        let allowed = &known[name]["enum"];
        assert!(
            allowed.as_array().is_some_and(|a| a.contains(level)),
            "{name}: {level} not in {allowed}"
        );
    }
    let allowed_top: &[&str] = &[
        "name",
        "url",
        "hook_attributes",
        "redirect_url",
        "callback_urls",
        "setup_url",
        "description",
        "public",
        "default_events",
        "default_permissions",
        "request_oauth_on_install",
        "setup_on_update",
    ];
    for key in manifest.as_object().unwrap().keys() {
        assert!(
            allowed_top.contains(&key.as_str()),
            "unknown manifest field {key}"
        );
    }
}

#[test]
fn fly_toml_serves_the_listen_port_checks_healthz_and_keeps_the_database_on_a_volume() {
    let fly: toml::Table = toml::from_str(&read("fly.toml")).unwrap();
    let env = fly["env"].as_table().unwrap();
    let port: u16 = env["LISTEN_ADDR"]
        .as_str()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    let service = fly["http_service"].as_table().unwrap();
    assert_eq!(service["internal_port"].as_integer(), Some(port as i64));
    let check = &service["checks"].as_array().unwrap()[0];
    assert_eq!(check["path"].as_str(), Some("/healthz"));
    let mount = fly["mounts"]["destination"].as_str().unwrap();
    assert!(
        env["DATABASE_URL"]
            .as_str()
            .unwrap()
            .starts_with(&format!("sqlite://{mount}/"))
    );
}

#[test]
fn dockerfile_runs_serve_as_non_root_with_a_health_check() {
    let docker = read("Dockerfile");
    assert!(docker.matches("FROM ").count() >= 2, "multi-stage");
    assert!(docker.contains("RUN cargo build --release --locked --bin codex-review"));
    assert!(docker.contains("USER 65532:65532"));
    assert!(docker.contains("CMD [\"serve\"]"));
    assert!(docker.contains("HEALTHCHECK") && docker.contains("\"healthcheck\"]"));
    // Everything the build needs is copied in.
    let copied: Vec<&str> = docker
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(str::split_whitespace)
        .collect();
    // The setup page embeds app-manifest.yml.
    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "app-manifest.yml",
        "src",
        "migrations",
    ] {
        assert!(
            copied.contains(&path),
            "{path} is not copied into the build"
        );
    }
}
