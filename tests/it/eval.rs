//! `codex-review eval`'s dataset: the checked-in schema is the parser's, and a line that
//! breaks it is refused by both, with its line number from the parser.

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
