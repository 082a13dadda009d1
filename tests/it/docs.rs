//! The documentation against the code: `docs/configuration.md` names every setting the service
//! reads and every repository key with its default, and nothing else; the README fits on a
//! screen and leads to every page of `docs/`; no relative link of the documentation is broken.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use codex_review::settings::Startup;
use serde_json::Value;

const README_LINES: usize = 200;

/// Variables the service reads that belong to the system, not to codex-review.
const SYSTEM_VARIABLES: &[&str] = &["HOSTNAME"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The rows of every Markdown table in `text` whose first cell is a code span: that name and
/// the row's other cells.
fn table_rows(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<String> = line
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), cells[1..].to_vec()))
        })
        .collect()
}

/// `docs/configuration.md` in its two halves: the service's settings and the repository keys.
fn configuration_page() -> (String, String) {
    let page = read("docs/configuration.md");
    let (settings, keys) = page
        .split_once("\n## Repository configuration")
        .expect("docs/configuration.md has a section '## Repository configuration'");
    (settings.to_owned(), keys.to_owned())
}

/// Every variable the settings ask for when the service starts: normal mode with the key as
/// text and as a file, and setup mode.
fn variables_the_settings_read() -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let key_path = root().join("tests/fixtures/test-app-key.pem");
    let key = std::fs::read_to_string(&key_path).unwrap();
    let base = [
        ("GITHUB_APP_ID", "12345".to_owned()),
        ("GITHUB_WEBHOOK_SECRET", "s3cret".to_owned()),
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        (
            "DATABASE_URL",
            format!("sqlite://{}/codex.db", dir.path().display()),
        ),
        (
            "CODEX_REVIEW_SNAPSHOT_DIR",
            dir.path().join("snapshots").display().to_string(),
        ),
    ];
    let asked = Mutex::new(BTreeSet::new());
    let start = |extra: &[(&str, String)]| {
        let env: BTreeMap<&str, String> = base.iter().chain(extra).cloned().collect();
        let result = Startup::from_lookup(&|name| {
            asked.lock().unwrap().insert(name.to_owned());
            env.get(name).cloned()
        });
        result.map(|_| ()).expect("the settings start")
    };
    start(&[("GITHUB_PRIVATE_KEY", key)]);
    start(&[
        ("GITHUB_PRIVATE_KEY_PATH", key_path.display().to_string()),
        ("CODEX_REVIEW_DELIVERIES", "pull".to_owned()),
    ]);
    // Setup mode: no App setting at all.
    let setup_db = [(
        "DATABASE_URL",
        format!("sqlite://{}/setup.db", dir.path().display()),
    )];
    let env: BTreeMap<&str, String> = setup_db.into_iter().collect();
    Startup::from_lookup(&|name| {
        asked.lock().unwrap().insert(name.to_owned());
        env.get(name).cloned()
    })
    .expect("setup mode starts");
    asked.into_inner().unwrap()
}

/// Every `"NAME"` string literal of an environment variable in the files the process and the
/// command line read it in: `main.rs` and `cli/`.
fn variables_the_command_line_reads() -> BTreeSet<String> {
    let is_variable = |s: &str| {
        ["CODEX_REVIEW_", "GITHUB_", "OPENAI_", "RUST_", "LOG_"]
            .iter()
            .any(|prefix| s.starts_with(prefix))
            && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
    };
    let mut files = vec![root().join("src/main.rs")];
    files.extend(crate::support::rust_files(&root().join("src/cli")));
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for literal in text.split('"').skip(1).step_by(2) {
            if is_variable(literal) {
                found.insert(literal.to_owned());
            }
        }
    }
    found
}

#[test]
fn the_configuration_page_names_every_setting_and_nothing_else() {
    let (settings_half, _) = configuration_page();
    let documented: Vec<String> = table_rows(&settings_half)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let unique: BTreeSet<String> = documented.iter().cloned().collect();
    assert_eq!(unique.len(), documented.len(), "a setting is listed twice");

    let mut read = variables_the_settings_read();
    read.extend(variables_the_command_line_reads());
    for system in SYSTEM_VARIABLES {
        read.remove(*system);
    }
    let missing: Vec<_> = read.difference(&unique).collect();
    let unknown: Vec<_> = unique.difference(&read).collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md misses settings the code reads: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/configuration.md names settings the code never reads: {unknown:?}"
    );
}

/// Every leaf key of the schema (the code's own, generated from its types) with its default.
fn schema_keys() -> BTreeMap<String, Value> {
    let schema: Value = serde_json::from_str(&codex_review::repo_config::json_schema()).unwrap();
    let definitions = schema["$defs"].clone();
    let resolve = |node: &Value| -> Value {
        let reference = node["$ref"].as_str().or_else(|| {
            node["anyOf"]
                .as_array()?
                .iter()
                .find_map(|a| a["$ref"].as_str())
        });
        match reference {
            Some(r) => definitions[r.trim_start_matches("#/$defs/")].clone(),
            None => node.clone(),
        }
    };
    let mut keys = BTreeMap::new();
    let mut stack = vec![(String::new(), schema.clone(), Value::Null)];
    while let Some((prefix, node, inherited)) = stack.pop() {
        let default = node.get("default").cloned().unwrap_or(inherited);
        let resolved = resolve(&node);
        match resolved["properties"].as_object() {
            Some(properties) => {
                for (name, child) in properties {
                    let key = if prefix.is_empty() {
                        name.clone()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    stack.push((key, child.clone(), default[name].clone()));
                }
            }
            None => {
                keys.insert(prefix, default);
            }
        }
    }
    keys
}

#[test]
fn the_configuration_page_names_every_repository_key_with_its_default() {
    let (_, keys_half) = configuration_page();
    let schema = schema_keys();
    assert!(schema.len() > 20, "the schema walk found {schema:?}");
    let mut documented = BTreeMap::new();
    for (key, cells) in table_rows(&keys_half) {
        let cell = cells.first().cloned().unwrap_or_default();
        let yaml = cell
            .strip_prefix('`')
            .and_then(|c| c.strip_suffix('`'))
            .unwrap_or_else(|| panic!("{key}: the default {cell:?} is not a code span"));
        let value: Value = serde_saphyr::from_str(yaml)
            .unwrap_or_else(|e| panic!("{key}: the default {yaml:?} is not YAML: {e}"));
        assert!(
            documented.insert(key.clone(), value).is_none(),
            "{key} is listed twice"
        );
    }
    let missing: Vec<_> = schema
        .keys()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let unknown: Vec<_> = documented
        .keys()
        .filter(|k| !schema.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md misses keys: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/configuration.md names unknown keys: {unknown:?}"
    );
    for (key, default) in &schema {
        assert_eq!(
            &documented[key], default,
            "docs/configuration.md gives {key} another default than the code"
        );
    }
}

/// The relative links of a Markdown text: `](target)` with no scheme, without the fragment.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
        .filter(|target| !target.contains("://") && !target.starts_with('#'))
        .map(|target| target.split('#').next().unwrap_or(target).to_owned())
        .collect()
}

#[test]
fn the_readme_fits_on_a_screen_and_leads_to_every_page() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= README_LINES,
        "README.md has {lines} lines, more than {README_LINES}: move the rest to docs/"
    );
    let linked: BTreeSet<String> = relative_links(&readme).into_iter().collect();
    let mut pages = 0;
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            pages += 1;
            let link = format!("docs/{name}");
            assert!(linked.contains(&link), "README.md does not link {link}");
        }
    }
    assert!(pages >= 5, "docs/ has {pages} pages");
}

#[test]
fn every_relative_link_of_the_documentation_exists() {
    let mut documents = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            documents.push(path.strip_prefix(root()).unwrap().to_owned());
        }
    }
    for document in documents {
        let text = read(document.to_str().unwrap());
        let dir = root().join(document.parent().unwrap());
        for link in relative_links(&text) {
            assert!(
                dir.join(&link).exists(),
                "{}: the link {link} leads nowhere",
                document.display()
            );
        }
    }
}
