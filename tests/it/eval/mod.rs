//! `codex-review eval`: the checked-in dataset schema is the parser's, a line that breaks it
//! is refused by both, and a dataset of local cases runs against the fake Responses API, is
//! scored and resumes.

mod figures;
mod judge;
mod pulls;
mod replay;
mod scale;

use serde_json::{Value, json};

use crate::support::schema::Schema;

fn schema() -> Value {
    serde_json::from_str(&codex_review::eval::dataset::json_schema()).unwrap()
}

#[test]
fn the_checked_in_dataset_schema_is_up_to_date() {
    let path = format!("{}/eval/dataset.schema.json", env!("CARGO_MANIFEST_DIR"));
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(
        on_disk == codex_review::eval::dataset::json_schema(),
        "eval/dataset.schema.json is stale: run `cargo run -- dataset-schema > eval/dataset.schema.json`"
    );
}

#[test]
fn the_schema_and_the_parser_agree_on_good_and_bad_lines() {
    let schema = schema();
    let validator = Schema { root: &schema };
    let good = [
        json!({"id": "itoa-off-by-one",
               "source": {"local": {"repo": "cases/itoa", "base": "base", "head": "head"}},
               "expected": [{"path": "src/lib.rs", "start_line": 40, "end_line": 41, "side": "RIGHT",
                             "description": "the loop stops one digit early", "priority": 1}],
               "origin": {"package": "crates.io/itoa", "version": "1.0.15", "license": "MIT OR Apache-2.0",
                          "mutation": "`<` for `<=` in the digit loop"}}),
        json!({"id": "six-rename", "source": {"pull_request": "https://github.com/octo/six/pull/3"},
               "clean": true}),
    ];
    let mut text = String::new();
    for line in &good {
        assert_eq!(validator.errors(line, 9), Vec::<String>::new(), "{line}");
        text.push_str(&format!("{line}\n"));
    }
    assert_eq!(codex_review::eval::dataset::parse(&text).unwrap().len(), 2);
    let bad = [
        json!({"id": "x", "source": {"pull_request": "https://github.com/o/r/pull/1"}, "clean": true, "extra": 1}),
        json!({"id": "x", "source": {"ftp": "somewhere"}, "clean": true}),
        json!({"id": "x", "source": {"pull_request": "https://github.com/o/r/pull/1"},
               "expected": [{"path": "a", "start_line": 1, "end_line": 1, "side": "MIDDLE", "description": "d"}]}),
        json!({"source": {"pull_request": "https://github.com/o/r/pull/1"}, "clean": true}),
    ];
    for line in &bad {
        assert!(
            !validator.errors(line, 9).is_empty(),
            "the schema takes {line}"
        );
        let err =
            codex_review::eval::dataset::parse(&format!("{}\n{line}\n", good[0])).unwrap_err();
        assert_eq!(err.line, 2, "{line}: {err}");
    }
}

/// `git` in `dir`, quietly, as a fixed author.
pub(crate) fn git(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A repository with a base, a head that plants a bug, and a docs-only change after it.
pub(crate) fn repository(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let digits = |bound: &str| {
        format!(
            "pub fn digits(mut n: u64) -> u32 {{\n    let mut d = 1;\n    while n {bound} 10 {{\n        n /= 10;\n        d += 1;\n    }}\n    d\n}}\n"
        )
    };
    std::fs::write(dir.join("src/digits.rs"), digits(">=")).unwrap();
    std::fs::write(dir.join("README.md"), "Counts digits.\n").unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["tag", "base"]);
    std::fs::write(dir.join("src/digits.rs"), digits(">")).unwrap();
    git(dir, &["commit", "-q", "-am", "bug"]);
    git(dir, &["tag", "bug"]);
    std::fs::write(
        dir.join("README.md"),
        "Counts the decimal digits of a number.\n",
    )
    .unwrap();
    git(dir, &["commit", "-q", "-am", "docs"]);
    git(dir, &["tag", "docs"]);
}

/// The variables of a run against `ai`.
pub(crate) fn env_of(
    ai: &crate::support::fake_openai::FakeOpenAi,
) -> impl Fn(&str) -> Option<String> + use<> {
    let base_url = ai.base_url.clone();
    move |name: &str| match name {
        "OPENAI_API_KEY" => Some(crate::support::fake_openai::API_KEY.to_owned()),
        "OPENAI_BASE_URL" => Some(base_url.clone()),
        _ => None,
    }
}

/// `eval` arguments: the dataset, then `extra`.
pub(crate) fn args_of(
    dataset: &std::path::Path,
    extra: &[&str],
) -> codex_review::cli::eval::EvalArgs {
    let mut all = vec![dataset.to_str().unwrap().to_owned()];
    all.extend(extra.iter().map(|s| (*s).to_owned()));
    codex_review::cli::eval::parse_args(&all).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eval_runs_scores_resumes_and_replays_against_the_fake_model() {
    use crate::support::fake_openai::{FakeOpenAi, Reply};
    use crate::support::{finding, review_with};
    use codex_review::cli::eval;
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    // A hit one line off the labelled line, an invented finding, and noise on the docs change.
    ai.respond_with(|request| {
        let message = request["input"][0]["content"].as_str().unwrap_or("");
        let findings = if message.contains("=== FILE src/digits.rs") {
            vec![
                finding("src/digits.rs", "RIGHT", 3, 3, 1, None),
                finding("src/digits.rs", "RIGHT", 7, 7, 1, None),
            ]
        } else {
            vec![finding("README.md", "RIGHT", 1, 1, 1, None)]
        };
        Reply::Review(review_with(findings))
    });
    let root = tempfile::tempdir().unwrap();
    repository(&root.path().join("repo"));
    let dataset = root.path().join("sample.jsonl");
    let local =
        |base: &str, head: &str| json!({"local": {"repo": "repo", "base": base, "head": head}});
    let lines = [
        json!({"id": "digits-bound", "source": local("base", "bug"),
               "expected": [{"path": "src/digits.rs", "start_line": 4, "end_line": 4, "side": "RIGHT",
                             "description": "`>` stops one digit early at 10", "priority": 1}]}),
        json!({"id": "docs", "source": local("bug", "docs"), "clean": true}),
        json!({"id": "missing-rev", "source": local("base", "no-such-tag"), "clean": true}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&dataset, text).unwrap();
    let out = root.path().join("out");
    let env = {
        let base_url = ai.base_url.clone();
        move |name: &str| match name {
            "OPENAI_API_KEY" => Some(crate::support::fake_openai::API_KEY.to_owned()),
            "OPENAI_BASE_URL" => Some(base_url.clone()),
            _ => None,
        }
    };
    let args = |extra: &[&str]| {
        let mut all = vec![dataset.to_str().unwrap().to_owned()];
        all.extend(extra.iter().map(|s| (*s).to_owned()));
        eval::parse_args(&all).unwrap()
    };

    let report = eval::main(&args(&["--out", out.to_str().unwrap()]), &env)
        .await
        .unwrap();
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let totals = &json["configurations"][0]["totals"];
    assert_eq!(totals["config"], "default");
    assert_eq!(
        (totals["cases"].as_u64(), totals["failed"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        (
            totals["expected"].as_u64(),
            totals["matched"].as_u64(),
            totals["reported"].as_u64()
        ),
        (Some(1), Some(1), Some(3))
    );
    assert_eq!(totals["recall"], 1.0);
    assert!((totals["precision"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert!((totals["f1"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(totals["noise_per_clean_case"], 1.0);
    let failed = &json["configurations"][0]["cases"][2];
    assert!(
        failed["error"].as_str().unwrap().contains("no-such-tag"),
        "{failed}"
    );
    assert!(
        report.contains("| default | 3 | 1 | 100.0% (1/1) | 100.0% (1/1) | 33.3% (1/3) | 0.500 | 100.0% (1/1) | 1.00 |"),
        "{report}"
    );
    assert!(
        std::fs::read_to_string(out.join("chart.svg"))
            .unwrap()
            .contains("<circle class=\"point\"")
    );
    // Two reviews (the failed case never reached the model), each verified.
    let asked = ai.all_requests().len();
    assert_eq!(ai.requests().len(), 2);

    // A second run resumes: every case is stored, the model is not asked again.
    eval::main(&args(&["--out", out.to_str().unwrap()]), &env)
        .await
        .unwrap();
    assert_eq!(ai.all_requests().len(), asked);

    // A rerun scores every stored case again: with no slack, line 3 is not line 4.
    let rescored = eval::main(
        &args(&["--out", out.to_str().unwrap(), "--slack", "0"]),
        &env,
    )
    .await
    .unwrap();
    assert!(
        rescored.contains("| default | 3 | 1 | 0.0% (0/1) | 0.0% (0/1) | 0.0% (0/3) |"),
        "{rescored}"
    );
    assert_eq!(ai.all_requests().len(), asked, "a rerun asks nothing again");

    // A configuration is a repository configuration file, named after it.
    let config = root.path().join("no-tools.yml");
    std::fs::write(&config, "review:\n  tools: false\n  verify: false\n").unwrap();
    let other = root.path().join("other");
    let report = eval::main(
        &args(&[
            "--config",
            config.to_str().unwrap(),
            "--out",
            other.to_str().unwrap(),
        ]),
        &env,
    )
    .await
    .unwrap();
    assert!(
        report.contains("| no-tools | 3 | 1 | 100.0% (1/1) |"),
        "{report}"
    );
    let new = &ai.all_requests()[asked..];
    assert_eq!(new.len(), 2, "two reviews, no verification");
    assert!(new.iter().all(|r| r.get("tools").is_none()));
    assert!(ai.take_violations().is_empty());
}

#[tokio::test]
async fn a_failed_case_reports_what_its_answers_cost_and_an_unpriced_model_is_refused() {
    use crate::support::fake_openai::{FakeOpenAi, Reply};
    use codex_review::cli::eval;
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    // Two answers that are no review: the case fails, billed twice.
    ai.push(Reply::Text("no findings"));
    ai.push(Reply::Text("still no findings"));
    let root = tempfile::tempdir().unwrap();
    repository(&root.path().join("repo"));
    let dataset = root.path().join("one.jsonl");
    let line = json!({"id": "digits-bound", "source": {"local": {"repo": "repo", "base": "base", "head": "bug"}},
                      "expected": [{"path": "src/digits.rs", "start_line": 3, "end_line": 3, "side": "RIGHT",
                                    "description": "the bound", "priority": 0}]});
    std::fs::write(&dataset, format!("{line}\n")).unwrap();
    let env = {
        let base_url = ai.base_url.clone();
        move |name: &str| match name {
            "OPENAI_API_KEY" => Some(crate::support::fake_openai::API_KEY.to_owned()),
            "OPENAI_BASE_URL" => Some(base_url.clone()),
            _ => None,
        }
    };
    let out = root.path().join("out");
    let args = |extra: &[&str]| {
        let mut all = vec![dataset.to_str().unwrap().to_owned()];
        all.extend(extra.iter().map(|s| (*s).to_owned()));
        eval::parse_args(&all).unwrap()
    };
    eval::main(&args(&["--out", out.to_str().unwrap()]), &env)
        .await
        .unwrap();
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let case = &json["configurations"][0]["cases"][0];
    assert!(case["error"].is_string(), "{case}");
    assert_eq!(ai.requests().len(), 2);
    // The fake's 1,834 input and 412 output tokens per answer, at $0.0052605 each.
    assert_eq!(case["input_tokens"], 2 * 1_834, "{case}");
    assert_eq!(case["output_tokens"], 2 * 412, "{case}");
    assert_eq!(case["dollars"], 0.010521, "{case}");
    // Its expected finding is a miss, and what it cost counts: nothing was reported, so
    // there is no precision to speak of.
    let totals = &json["configurations"][0]["totals"];
    assert_eq!(
        (totals["failed"].as_u64(), totals["expected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (totals["recall"].as_f64(), totals["urgent_recall"].as_f64()),
        (Some(0.0), Some(0.0))
    );
    assert!(
        totals["precision"].is_null() && totals["f1"].is_null(),
        "{totals}"
    );
    assert_eq!(totals["dollars_total"], 0.010521);
    assert_eq!(totals["tokens_p50"], 2 * (1_834 + 412));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains(
            "| default | 1 | 1 | 0.0% (0/1) | 0.0% (0/1) | n/a (0/0) | n/a | n/a (0/0) |"
        ),
        "{report}"
    );

    let config = root.path().join("own-model.yml");
    std::fs::write(&config, "review:\n  model: my-own-llm\n").unwrap();
    let refused = eval::main(
        &args(&[
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]),
        &env,
    )
    .await
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("`review.model` my-own-llm has no price"),
        "{refused}"
    );
    assert_eq!(ai.requests().len(), 2, "no model call");
    assert!(ai.take_violations().is_empty());
}
