//! `--judge MODEL`: a model checks that each match names the expected problem; only the
//! confirmed ones count, its cost is counted, and its verdicts are kept with the cassettes
//! so that a rerun or a replay does not pay for them again.

use serde_json::{Value, json};

use super::{args_of, env_of, repository};
use crate::support::fake_openai::{FakeOpenAi, Reply};
use crate::support::{finding, review_with};
use codex_review::cli::eval;

/// The fake's answers cost $0.0052605 for gpt-5.1-codex and $0.0010521 for gpt-5-mini
/// (1,834 input tokens of which 1,024 cached, 412 output).
const REVIEW_ANSWER: f64 = 0.0052605;
const JUDGE_ANSWER: f64 = 0.0010521;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judge_counts_only_the_matches_it_confirms_and_is_paid_once() {
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    // Two findings, each on the lines of an expected one; the judge confirms the first.
    ai.respond_with(|request| {
        if request["text"]["format"]["name"] == "eval_judgement" {
            return Reply::Review(json!({"verdicts": [
                {"id": "J1", "same_problem": true, "reason": "Both are the loop bound."},
                {"id": "J2", "same_problem": false, "reason": "The key expects the count, the finding the style."}
            ]}));
        }
        Reply::Review(review_with(vec![
            finding("src/digits.rs", "RIGHT", 3, 3, 1, None),
            finding("src/digits.rs", "RIGHT", 7, 7, 2, None),
        ]))
    });
    let root = tempfile::tempdir().unwrap();
    repository(&root.path().join("repo"));
    let data = root.path().join("d.jsonl");
    let line = json!({"id": "digits-bound", "source": {"local": {"repo": "repo", "base": "base", "head": "bug"}},
        "expected": [
            {"path": "src/digits.rs", "start_line": 4, "end_line": 4, "side": "RIGHT",
             "description": "`>` stops one digit early at 10", "priority": 1},
            {"path": "src/digits.rs", "start_line": 7, "end_line": 7, "side": "RIGHT",
             "description": "the count is one short for powers of ten", "priority": 2}]});
    std::fs::write(&data, format!("{line}\n")).unwrap();
    let out = root.path().join("out");
    let judged = |extra: &[&str]| {
        let mut all = vec!["--judge", "gpt-5-mini"];
        all.extend_from_slice(extra);
        args_of(&data, &all)
    };
    let report = eval::main(&judged(&["--out", out.to_str().unwrap()]), env_of(&ai))
        .await
        .unwrap();
    // The review, its verification and one judgement of both matches.
    let requests = ai.all_requests();
    assert_eq!(requests.len(), 3);
    let judging = &requests[2];
    assert_eq!(judging["model"], "gpt-5-mini");
    let message = judging["input"][0]["content"].as_str().unwrap();
    assert!(message.contains("[J1]\nExpected problem at src/digits.rs:4-4: `>` stops one digit early at 10\nBEGIN UNTRUSTED FINDING DATA "), "{message}");
    assert!(
        message.contains("[J2]\nExpected problem at src/digits.rs:7-7"),
        "{message}"
    );
    // Matched by place: 2 of 2; confirmed: 1.
    assert!(
        report.contains("| default | 1 | 0 | 50.0% (1/2) | 100.0% (1/1) | 50.0% (1/2) |"),
        "{report}"
    );
    for line in [
        "gpt-5-mini confirmed 1 of 2 matches (2 asked in this run, the others judged before), for 2246 tokens and $0.0011.",
        "- digits-bound: expected `src/digits.rs:7`: matched by place, not confirmed: The key expects the count, the finding the style.",
    ] {
        assert!(report.contains(line), "{line} in\n{report}");
    }
    let case = |dir: &std::path::Path| -> Value {
        let json: Value =
            serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
        json["configurations"][0]["cases"][0].clone()
    };
    let first = case(&out);
    assert_eq!(first["input_tokens"], 3 * 1_834);
    let dollars = first["dollars"].as_f64().unwrap();
    assert!(
        (dollars - (2.0 * REVIEW_ANSWER + JUDGE_ANSWER)).abs() < 1e-12,
        "{dollars}"
    );
    assert!(out.join("default/digits-bound.judge.json").is_file());

    // A rerun judges from the kept verdicts: the same figures and cost, no request.
    let again = eval::main(&judged(&["--out", out.to_str().unwrap()]), env_of(&ai))
        .await
        .unwrap();
    assert!(
        again.contains("| default | 1 | 0 | 50.0% (1/2) |"),
        "{again}"
    );
    assert!(
        again.contains("(0 asked in this run, the others judged before), for 2246 tokens"),
        "{again}"
    );
    assert_eq!(case(&out)["dollars"], first["dollars"]);
    // A replay with the judge: no model at all, the same figures.
    let replayed = root.path().join("replayed");
    let replay = eval::main(
        &judged(&[
            "--replay",
            out.to_str().unwrap(),
            "--out",
            replayed.to_str().unwrap(),
        ]),
        |_| None,
    )
    .await
    .unwrap();
    assert!(
        replay.contains("| default | 1 | 0 | 50.0% (1/2) |"),
        "{replay}"
    );
    assert_eq!(case(&replayed)["dollars"], first["dollars"]);
    // Without the judge, both matches count.
    let unjudged = eval::main(
        &args_of(
            &data,
            &[
                "--replay",
                out.to_str().unwrap(),
                "--out",
                replayed.to_str().unwrap(),
            ],
        ),
        |_| None,
    )
    .await
    .unwrap();
    assert!(
        unjudged.contains("| default | 1 | 0 | 100.0% (2/2) |"),
        "{unjudged}"
    );
    assert!(!unjudged.contains("# The judge"));
    assert_eq!(ai.all_requests().len(), 3);

    // A judge without a price is refused before anything runs.
    let refused = eval::main(
        &args_of(
            &data,
            &["--judge", "my-own-llm", "--out", out.to_str().unwrap()],
        ),
        env_of(&ai),
    )
    .await
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("--judge my-own-llm: the model has no price"),
        "{refused}"
    );
    assert!(ai.take_violations().is_empty());
}
