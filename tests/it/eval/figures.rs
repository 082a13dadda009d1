//! Honest figures and no answer in the question: a stored run is reused only while its
//! dataset line, its configuration and the binary are the same; configurations with one
//! file name do not collide; and nothing the model is sent names the case, its revisions or
//! its labels.

use serde_json::{Value, json};

use super::{args_of, env_of, git, repository};
use crate::support::fake_openai::{FakeOpenAi, Reply};
use crate::support::{finding, review_with};
use codex_review::cli::eval;

fn write_lines(path: &std::path::Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn bug_case(description: &str) -> Value {
    json!({"id": "digits-bound", "source": {"local": {"repo": "repo", "base": "base", "head": "bug"}},
           "expected": [{"path": "src/digits.rs", "start_line": 3, "end_line": 3, "side": "RIGHT",
                         "description": description, "priority": 1}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_case_is_run_again_when_its_line_or_configuration_changes() {
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    ai.respond_with(|_| {
        Reply::Review(review_with(vec![finding(
            "src/digits.rs",
            "RIGHT",
            3,
            3,
            1,
            None,
        )]))
    });
    let root = tempfile::tempdir().unwrap();
    repository(&root.path().join("repo"));
    let data = root.path().join("d.jsonl");
    let docs = json!({"id": "docs", "source": {"local": {"repo": "repo", "base": "bug", "head": "docs"}}, "clean": true});
    write_lines(&data, &[bug_case("the bound"), docs.clone()]);
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("x.yml"), "review:\n  verify: false\n").unwrap();
    std::fs::write(
        b.join("x.yml"),
        "review:\n  verify: false\n  tools: false\n",
    )
    .unwrap();
    let out = root.path().join("out");
    let run = || {
        args_of(
            &data,
            &[
                "--config",
                a.join("x.yml").to_str().unwrap(),
                "--config",
                b.join("x.yml").to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    let report = eval::main(&run(), env_of(&ai)).await.unwrap();
    // Two files called x.yml: two configurations, two folders.
    assert!(report.contains("| a/x | 2 | 0 |"), "{report}");
    assert!(report.contains("| b/x | 2 | 0 |"), "{report}");
    assert!(out.join("a--x/digits-bound.json").is_file());
    assert!(out.join("b--x/digits-bound.json").is_file());
    assert_eq!(ai.all_requests().len(), 4);
    let stored: Value =
        serde_json::from_slice(&std::fs::read(out.join("a--x/digits-bound.json")).unwrap())
            .unwrap();
    let stamp = &stored["stamp"];
    assert_eq!(stamp["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(stamp["dataset_line"].as_str().unwrap().len(), 64);
    assert_eq!(stamp["configuration"].as_str().unwrap().len(), 64);

    // An edited label: that case runs again under both configurations, the other is kept.
    write_lines(&data, &[bug_case("the loop bound"), docs]);
    eval::main(&run(), env_of(&ai)).await.unwrap();
    assert_eq!(ai.all_requests().len(), 6);
    // An edited configuration: its cases run again.
    std::fs::write(
        b.join("x.yml"),
        "review:\n  verify: false\n  tools: false\n  min_priority: 1\n",
    )
    .unwrap();
    eval::main(&run(), env_of(&ai)).await.unwrap();
    assert_eq!(ai.all_requests().len(), 8);
    // Nothing changed: nothing runs.
    eval::main(&run(), env_of(&ai)).await.unwrap();
    assert_eq!(ai.all_requests().len(), 8);
    assert!(ai.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_the_model_is_sent_names_the_case_its_revisions_or_its_labels() {
    crate::support::install_crypto();
    let ai = FakeOpenAi::start().await;
    ai.respond_with(|_| {
        Reply::Review(review_with(vec![finding(
            "src/digits.rs",
            "RIGHT",
            3,
            3,
            1,
            None,
        )]))
    });
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    repository(&repo);
    // Revisions named after the bug.
    git(&repo, &["tag", "before-the-off-by-one", "base"]);
    git(&repo, &["tag", "off-by-one-at-ten", "bug"]);
    let data = root.path().join("d.jsonl");
    let local = json!({"local": {"repo": "repo", "base": "before-the-off-by-one", "head": "off-by-one-at-ten"}});
    let label = "`>` stops one digit early at ten";
    write_lines(
        &data,
        &[
            json!({"id": "digits-bound-bug", "source": local, "expected": [{"path": "src/digits.rs",
                   "start_line": 3, "end_line": 3, "side": "RIGHT", "description": label, "priority": 1}]}),
            json!({"id": "digits-bound-titled", "source": local, "title": "Count digits with a tighter loop",
                   "description": "Saves an iteration.", "expected": [{"path": "src/digits.rs",
                   "start_line": 3, "end_line": 3, "side": "RIGHT", "description": label, "priority": 1}]}),
        ],
    );
    let out = root.path().join("out");
    eval::main(
        &args_of(&data, &["--out", out.to_str().unwrap()]),
        env_of(&ai),
    )
    .await
    .unwrap();
    let requests = ai.all_requests();
    assert_eq!(requests.len(), 4, "two reviews, two verifications");
    for request in &requests {
        let text = request.to_string();
        for secret in [
            "off-by-one",
            "before-the",
            "digits-bound",
            "stops one digit early",
        ] {
            assert!(
                !text.contains(secret),
                "{secret:?} reached the model: {text}"
            );
        }
    }
    let message = |i: usize| {
        requests[i]["input"][0]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let reviews: Vec<String> = (0..4)
        .filter(|&i| requests[i]["text"]["format"]["name"] == "code_review")
        .map(message)
        .collect();
    assert!(
        reviews
            .iter()
            .any(|m| m.contains("Title:\nProposed changes\n")),
        "{reviews:?}"
    );
    assert!(
        reviews.iter().any(|m| m.contains(
            "Title:\nCount digits with a tighter loop\n\nDescription:\nSaves an iteration."
        )),
        "{reviews:?}"
    );
    assert!(
        reviews
            .iter()
            .all(|m| m.contains("Branches: change into main\n"))
    );
    assert!(ai.take_violations().is_empty());
}
