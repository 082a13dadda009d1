//! Cassettes: a run records every model exchange of each case; `--replay` runs the whole
//! pipeline again from them without a model request, under other keys with `--set`; a
//! request that no longer matches its recording fails its case as stale; and the cassettes
//! checked in under `tests/fixtures/eval/` replay to the same figures.

use serde_json::{Value, json};

use super::{args_of, env_of, repository};
use crate::support::fake_openai::{FakeOpenAi, Reply};
use crate::support::{finding, review_with};
use codex_review::cli::eval;

/// A dataset of the bug and the docs change of [`repository`], in `root`.
fn dataset(root: &std::path::Path) -> std::path::PathBuf {
    repository(&root.join("repo"));
    let local =
        |base: &str, head: &str| json!({"local": {"repo": "repo", "base": base, "head": head}});
    let lines = [
        json!({"id": "digits-bound", "source": local("base", "bug"),
               "expected": [{"path": "src/digits.rs", "start_line": 4, "end_line": 4, "side": "RIGHT",
                             "description": "`>` stops one digit early at 10", "priority": 1}]}),
        json!({"id": "docs", "source": local("bug", "docs"), "clean": true}),
    ];
    let path = root.join("sample.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// A hit (P1) and a false finding (P2) on the bug; a P1 false finding on the docs change.
fn answer(request: &Value) -> Reply {
    let message = request["input"][0]["content"].as_str().unwrap_or("");
    Reply::Review(review_with(if message.contains("=== FILE src/digits.rs") {
        vec![
            finding("src/digits.rs", "RIGHT", 3, 3, 1, None),
            finding("src/digits.rs", "RIGHT", 7, 7, 2, None),
        ]
    } else {
        vec![finding("README.md", "RIGHT", 1, 1, 1, None)]
    }))
}

fn totals(out: &std::path::Path) -> Value {
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    json["configurations"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_with_set_reruns_the_pipeline_and_asks_no_model() {
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    ai.respond_with(answer);
    let root = tempfile::tempdir().unwrap();
    let data = dataset(root.path());
    let (recorded, replayed) = (root.path().join("recorded"), root.path().join("replayed"));
    let report = eval::main(
        &args_of(&data, &["--out", recorded.to_str().unwrap()]),
        env_of(&ai),
    )
    .await
    .unwrap();
    assert!(
        report.contains("| default | 2 | 0 | 100.0% (1/1) | 100.0% (1/1) | 33.3% (1/3) |"),
        "{report}"
    );
    // Two reviews and two verifications, each recorded with its case.
    let asked = ai.all_requests().len();
    assert_eq!(asked, 4);
    let cassette: Value = serde_json::from_slice(
        &std::fs::read(recorded.join("default/digits-bound.cassette.json")).unwrap(),
    )
    .unwrap();
    let purposes: Vec<&str> = cassette["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(purposes, ["code_review", "finding_verdicts"]);

    let replay = |extra: &[&str]| {
        let mut all = vec![
            "--replay",
            recorded.to_str().unwrap(),
            "--out",
            replayed.to_str().unwrap(),
        ];
        all.extend_from_slice(extra);
        args_of(&data, &all)
    };
    // The same build over its own recordings: the same figures, no request.
    let again = eval::main(&replay(&[]), |_| None).await.unwrap();
    assert!(
        again.contains("| default | 2 | 0 | 100.0% (1/1) | 100.0% (1/1) | 33.3% (1/3) |"),
        "{again}"
    );
    assert!(again.contains("no model was asked"), "{again}");
    // Without verification and with P2 left out, the P2 false finding goes: the filter ran
    // again on the recorded answers.
    let swept = eval::main(
        &replay(&[
            "--set",
            "review.verify=false",
            "--set",
            "review.min_priority=1",
        ]),
        |_| None,
    )
    .await
    .unwrap();
    assert!(
        swept.contains("| default | 2 | 0 | 100.0% (1/1) | 100.0% (1/1) | 50.0% (1/2) |"),
        "{swept}"
    );
    assert!(swept.contains("| filtered | 0 | 1 |"), "{swept}");
    // Only P0: nothing is left to report or verify; the trace says the filter lost the hit.
    let strict = eval::main(&replay(&["--set", "review.min_priority=0"]), |_| None)
        .await
        .unwrap();
    assert!(
        strict.contains("- digits-bound: expected `src/digits.rs:4`: lost at filtered: below the repository's thresholds"),
        "{strict}"
    );
    assert!(
        strict.contains("The filtered stage removed 1 true and 2 false findings."),
        "{strict}"
    );
    let t = &totals(&replayed)["totals"];
    assert_eq!(
        (t["matched"].as_u64(), t["reported"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(ai.all_requests().len(), asked, "a replay asks no model");
    assert!(ai.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_no_longer_matches_its_recording_fails_its_case_as_stale() {
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    ai.respond_with(answer);
    let root = tempfile::tempdir().unwrap();
    let data = dataset(root.path());
    let (recorded, replayed) = (root.path().join("recorded"), root.path().join("replayed"));
    eval::main(
        &args_of(&data, &["--out", recorded.to_str().unwrap()]),
        env_of(&ai),
    )
    .await
    .unwrap();
    let asked = ai.all_requests().len();
    // Another language changes the prompt of every review.
    let report = eval::main(
        &args_of(
            &data,
            &[
                "--replay",
                recorded.to_str().unwrap(),
                "--out",
                replayed.to_str().unwrap(),
                "--set",
                "review.language=Deutsch",
            ],
        ),
        |_| None,
    )
    .await
    .unwrap();
    let run = totals(&replayed);
    assert_eq!(run["totals"]["failed"], 2, "{run}");
    let case = &run["cases"][0];
    assert_eq!(case["stale"], true, "{case}");
    let error = case["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "stale: turn 1 of a `code_review` conversation differs from its recording at $.input[0].content (line "
        ),
        "{error}"
    );
    assert!(
        report.contains("stale: turn 1 of a `code_review` conversation"),
        "{report}"
    );
    assert_eq!(case["reported"], json!([]));
    assert_eq!(
        ai.all_requests().len(),
        asked,
        "a stale request is not sent"
    );
    assert!(ai.take_violations().is_empty());
}

/// The checked-in cassettes: a review that reads a file with a tool, and a verification
/// that drops the false finding. `CODEX_REVIEW_RECORD_CASSETTES=1` records them again
/// against the fake (after a change to the prompt, the tools or the schema).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checked_in_cassettes_replay_to_their_figures() {
    crate::support::install_crypto();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    let root = tempfile::tempdir().unwrap();
    let data = dataset(root.path());
    let ai = FakeOpenAi::start().await;
    if std::env::var_os("CODEX_REVIEW_RECORD_CASSETTES").is_some() {
        record(&ai, &data, &root.path().join("recorded"), &fixtures).await;
    }
    let asked = ai.all_requests().len();
    let out = root.path().join("replayed");
    let report = eval::main(
        &args_of(
            &data,
            &[
                "--replay",
                fixtures.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        ),
        |_| None,
    )
    .await
    .unwrap();
    // Verification dropped the false finding on the bug: one hit, one noise on the docs.
    assert!(
        report.contains("| default | 2 | 0 | 100.0% (1/1) | 100.0% (1/1) | 50.0% (1/2) |"),
        "post-processing changed what the recorded answers give:\n{report}"
    );
    // The trace: verification removed the false finding on the bug; the one on the docs
    // passed every stage.
    for line in [
        "| verified | 0 | 1 |",
        "The verified stage removed 0 true and 1 false findings.",
        "- digits-bound: expected `src/digits.rs:4`: posted",
        "- digits-bound: false finding `src/digits.rs:7` passed answered, placed, filtered\n",
        "- docs: false finding `README.md:1` passed answered, placed, filtered, verified, posted",
    ] {
        assert!(report.contains(line), "{line} in\n{report}");
    }
    assert_eq!(ai.all_requests().len(), asked, "a replay asks no model");
    assert!(ai.take_violations().is_empty());
}

/// Records the fixture cassettes against `ai`.
async fn record(
    ai: &FakeOpenAi,
    data: &std::path::Path,
    out: &std::path::Path,
    to: &std::path::Path,
) {
    ai.respond_with(|request| {
        let read = request["input"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "function_call_output");
        let message = request["input"][0]["content"].as_str().unwrap_or("");
        if message.contains("=== FILE src/digits.rs") && !read {
            return Reply::ToolCalls(vec![(
                "read_file",
                json!({"path": "src/digits.rs", "start_line": null, "end_line": null}),
            )]);
        }
        answer(request)
    });
    ai.push_verify(Reply::Review(json!({"verdicts": [
        {"id": "F1", "keep": true, "reason": "The loop stops at 10.", "priority": null},
        {"id": "F2", "keep": false, "reason": "Line 7 returns the count.", "priority": null}
    ]})));
    eval::main(
        &args_of(data, &["--out", out.to_str().unwrap()]),
        env_of(ai),
    )
    .await
    .unwrap();
    let folder = to.join("default");
    std::fs::create_dir_all(&folder).unwrap();
    for name in [
        "configuration.json",
        "digits-bound.cassette.json",
        "docs.cassette.json",
    ] {
        std::fs::copy(out.join("default").join(name), folder.join(name)).unwrap();
    }
}
