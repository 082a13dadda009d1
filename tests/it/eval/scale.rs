//! At scale: `--parallel` runs cases side by side, and a run stopped midway resumes with the
//! cases it had not finished; `--runs K` repeats each case and reports means, bootstrap
//! intervals and "found in k of K"; progress stays off a standard error that is no terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::{args_of, env_of, repository};
use crate::support::fake_openai::{FakeOpenAi, Reply, clean_review};
use crate::support::{finding, review_with};
use codex_review::cli::eval;

fn write_lines(path: &std::path::Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn local(base: &str, head: &str) -> Value {
    json!({"local": {"repo": "repo", "base": base, "head": head}})
}

fn bug(id: &str) -> Value {
    json!({"id": id, "source": local("base", "bug"),
           "expected": [{"path": "src/digits.rs", "start_line": 4, "end_line": 4, "side": "RIGHT",
                         "description": "`>` stops one digit early at 10", "priority": 1}]})
}

fn docs(id: &str) -> Value {
    json!({"id": id, "source": local("bug", "docs"), "clean": true})
}

fn reviews_the_bug(request: &Value) -> bool {
    request["input"][0]["content"]
        .as_str()
        .unwrap_or("")
        .contains("=== FILE src/digits.rs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_parallel_run_resumes_with_the_cases_it_had_not_finished() {
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    // The docs change hangs until the test lets it go; the bug is answered at once.
    let hang = Arc::new(AtomicBool::new(true));
    let held = Arc::clone(&hang);
    ai.respond_with(move |request| {
        if reviews_the_bug(request) {
            return Reply::Review(review_with(vec![finding(
                "src/digits.rs",
                "RIGHT",
                3,
                3,
                1,
                None,
            )]));
        }
        let noise = Reply::Review(review_with(vec![finding(
            "README.md",
            "RIGHT",
            1,
            1,
            1,
            None,
        )]));
        match held.load(Ordering::SeqCst) {
            true => Reply::Delay(Duration::from_secs(600), Box::new(noise)),
            false => noise,
        }
    });
    let root = tempfile::tempdir().unwrap();
    repository(&root.path().join("repo"));
    let data = root.path().join("d.jsonl");
    write_lines(
        &data,
        &[bug("bug-1"), docs("docs-1"), bug("bug-2"), docs("docs-2")],
    );
    let out = root.path().join("out");
    let args = args_of(&data, &["--out", out.to_str().unwrap(), "--parallel", "2"]);

    // Two at a time: the first bug and the first docs change start; the bugs end one after
    // the other while the docs changes hang, both in flight at once. Then the run stops.
    let stored = |id: &str| out.join(format!("default/{id}.json")).is_file();
    let stopped = async {
        while !(stored("bug-1") && stored("bug-2") && ai.all_requests().len() == 6) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        result = eval::main(&args, env_of(&ai)) => panic!("the run ended: {result:?}"),
        () = stopped => {}
        () = tokio::time::sleep(Duration::from_secs(120)) => panic!("the run never got there"),
    }
    let first = ai.all_requests();
    let bug_reviews = ai.requests().iter().filter(|r| reviews_the_bug(r)).count();
    assert_eq!(
        (bug_reviews, ai.verify_requests().len()),
        (2, 2),
        "two reviews of the bug and their verifications"
    );
    assert!(!stored("docs-1") && !stored("docs-2"));

    // Run again: the stored cases are not asked again, the missing ones are.
    hang.store(false, Ordering::SeqCst);
    let report = eval::main(&args, env_of(&ai)).await.unwrap();
    let again = &ai.all_requests()[first.len()..];
    assert_eq!(
        again.len(),
        4,
        "two reviews of the docs and their verifications"
    );
    assert!(again.iter().all(|r| !r.to_string().contains("digits.rs")));
    assert!(
        report.contains("| default | 4 | 0 | 100.0% (2/2) | 100.0% (2/2) | 50.0% (2/4) |"),
        "{report}"
    );
    assert!(ai.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_runs_report_means_intervals_and_found_in_k_of_k() {
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    // The first review of the bug finds it, the second finds nothing; the docs change gets
    // a false finding each time.
    let bug_reviews = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&bug_reviews);
    ai.respond_with(move |request| {
        if !reviews_the_bug(request) {
            return Reply::Review(review_with(vec![finding(
                "README.md",
                "RIGHT",
                1,
                1,
                1,
                None,
            )]));
        }
        match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::Review(review_with(vec![finding(
                "src/digits.rs",
                "RIGHT",
                3,
                3,
                1,
                None,
            )])),
            _ => Reply::Review(clean_review()),
        }
    });
    let root = tempfile::tempdir().unwrap();
    repository(&root.path().join("repo"));
    let data = root.path().join("d.jsonl");
    write_lines(&data, &[bug("digits-bound"), docs("docs")]);
    let out = root.path().join("out");
    let run = |extra: &[&str]| {
        let mut all = vec!["--runs", "2", "--parallel", "1"];
        all.extend_from_slice(extra);
        args_of(&data, &all)
    };
    let report = eval::main(&run(&["--out", out.to_str().unwrap()]), env_of(&ai))
        .await
        .unwrap();
    // Run 1: the hit and the noise, each verified; run 2: the noise, verified.
    let asked = ai.all_requests().len();
    assert_eq!(asked, 7);
    assert!(
        out.join("default/run-2/digits-bound.cassette.json")
            .is_file()
    );
    // The tables add up both runs: one hit of two expected, three reported.
    assert!(
        report.contains("| default | 4 | 0 | 50.0% (1/2) | 50.0% (1/2) | 33.3% (1/3) |"),
        "{report}"
    );
    assert!(
        report.contains("| digits-bound (run 2) | 1 | 0 | 0 | 0 |"),
        "{report}"
    );
    // Recall: 1 and 0, mean 50%; every draw of the cases that has the bug gives 50%.
    // Precision: 1/2 and 0/1, mean 25%; drawn as (bug, bug) 100%, as (docs, docs) 0%.
    for line in [
        "# Over 2 runs",
        "| default | recall | 50.0% | 50.0% – 50.0% |",
        "| default | P0–P1 recall | 50.0% | 50.0% – 50.0% |",
        "| default | precision | 25.0% | 0.0% – 100.0% |",
        "| default | clean cases with a finding | 100.0% | 100.0% – 100.0% |",
        "- digits-bound: expected `src/digits.rs:4`: found in 1 of 2",
    ] {
        assert!(report.contains(line), "{line} in\n{report}");
    }
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let repeats = &json["configurations"][0]["repeats"];
    assert_eq!(repeats["runs"], 2);
    let f1 = &repeats["figures"][3];
    assert_eq!(f1["name"], "F1");
    assert!(
        (f1["mean"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9,
        "{f1}"
    );
    // Four answers in run 1, three in run 2, at the fake's $0.0052605 each, over two cases.
    let cost = repeats["figures"][5]["mean"].as_f64().unwrap();
    assert!((cost - 7.0 * 0.0052605 / 4.0).abs() < 1e-12, "{cost}");

    // Run again: every case run is stored, nothing is asked.
    eval::main(&run(&["--out", out.to_str().unwrap()]), env_of(&ai))
        .await
        .unwrap();
    assert_eq!(ai.all_requests().len(), asked);
    // A replay of both runs gives the same figures, with no model.
    let replayed = root.path().join("replayed");
    let again = eval::main(
        &run(&[
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
        again.contains("| default | precision | 25.0% | 0.0% – 100.0% |"),
        "{again}"
    );
    assert_eq!(ai.all_requests().len(), asked);
    assert!(ai.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_stays_off_a_standard_error_that_is_no_terminal() {
    let root = tempfile::tempdir().unwrap();
    repository(&root.path().join("repo"));
    let data = root.path().join("d.jsonl");
    write_lines(&data, &[bug("digits-bound"), docs("docs")]);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    let out = root.path().join("out");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_codex-review"))
            .arg("eval")
            .arg(&data)
            .arg("--replay")
            .arg(&fixtures)
            .arg("--out")
            .arg(&out)
            .env_clear()
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("| default | 2 | 0 |"), "{stdout}");
    assert!(
        !stderr.contains('\r') && !stderr.contains("done,") && !stderr.contains("digits-bound"),
        "{stderr:?}"
    );
}
