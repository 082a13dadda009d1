//! The dataset of `codex-review eval`: JSON Lines, one [`Case`] a line, described by
//! `eval/dataset.schema.json` (generated from these types: `codex-review eval-schema`). A
//! dataset is read whole and refused, with the line number and the reason, before anything
//! runs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::Side;

/// One labelled pull request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A name unique in the dataset: cassettes and scores are filed under it.
    pub id: String,
    /// Where the change is.
    pub source: Source,
    /// The pull request's title, written as its author would (never the answer). Default: a
    /// neutral title. A pull request case has its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The pull request's description, written as its author would. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The findings a good review reports. Empty for a clean case.
    #[serde(default)]
    pub expected: Vec<Expected>,
    /// No finding is expected (a refactor, a rename, a docs change): every reported finding
    /// is noise. A clean case has no `expected` findings.
    #[serde(default)]
    pub clean: bool,
    /// Where the case comes from (package, version, license), for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// Where a case's change is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Source {
    /// A pull request on GitHub, `https://github.com/OWNER/REPO/pull/N`.
    PullRequest(String),
    /// A git repository on disk (relative to the dataset's directory) and two revisions.
    Local {
        repo: String,
        base: String,
        head: String,
    },
    /// The base's files in a directory and the change as a patch `git apply` reads, both
    /// relative to the dataset's directory (the shipped sample's form: see
    /// `eval/sample/README.md`).
    Patch { base: String, patch: String },
}

/// A finding a good review of the case reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The file, as the diff names it.
    pub path: String,
    /// First and last line (inclusive), numbered on `side`.
    pub start_line: u32,
    pub end_line: u32,
    /// `RIGHT` (the head's numbering) or `LEFT` (the base's, for deleted lines).
    pub side: Side,
    /// The problem, in one line.
    pub description: String,
    /// 0 (must fix) to 3 (low), when the label gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3))]
    pub priority: Option<u8>,
}

/// Where a case's code comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// The registry and package, such as `crates.io/itoa` or `pypi/six`.
    pub package: String,
    pub version: String,
    /// Its SPDX license expression.
    pub license: String,
    /// What was changed to make the case (the injected defect, or the refactor).
    pub mutation: String,
}

/// Why a dataset was refused: the first bad line and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct DatasetError {
    pub line: usize,
    pub reason: Problem,
}

/// What is wrong with a line of a dataset (or with the whole, for [`Problem::Empty`]).
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Not a case: not JSON, or a field of the wrong shape.
    #[error(transparent)]
    NotACase(serde_json::Error),
    #[error("id {0:?}: a non-empty name without slashes that does not start with a dot")]
    BadId(String),
    #[error("a clean case expects no finding")]
    CleanWithFindings,
    #[error("a case expects findings, or is marked clean")]
    NoFindings,
    #[error("source.pull_request: {0:?} is not https://github.com/OWNER/REPO/pull/N")]
    NotAPullRequest(String),
    /// A field of the source is empty (`local.repo`, `patch.base`...).
    #[error("source.{0} is empty")]
    EmptySource(&'static str),
    #[error("expected[{i}]: lines {start}..{end} (start at least 1, end not before start)")]
    Lines { i: usize, start: u32, end: u32 },
    #[error("expected[{0}].priority: 0 to 3")]
    Priority(usize),
    #[error("expected[{0}]: path and description are required")]
    Unnamed(usize),
    #[error("the id {0:?} is used twice")]
    Twice(String),
    #[error("the dataset has no case")]
    Empty,
}

/// Reads a whole dataset. Blank lines and lines starting with `//` are skipped.
pub fn parse(text: &str) -> Result<Vec<Case>, DatasetError> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let bad = |reason| DatasetError { line, reason };
        let case: Case = serde_json::from_str(trimmed).map_err(|e| bad(Problem::NotACase(e)))?;
        check(&case).map_err(bad)?;
        if cases.iter().any(|c| c.id == case.id) {
            return Err(bad(Problem::Twice(case.id)));
        }
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(DatasetError {
            line: 0,
            reason: Problem::Empty,
        });
    }
    Ok(cases)
}

/// What the types cannot say.
fn check(case: &Case) -> Result<(), Problem> {
    if case.id.trim().is_empty() || case.id.contains(['/', '\\']) || case.id.starts_with('.') {
        return Err(Problem::BadId(case.id.clone()));
    }
    if case.clean && !case.expected.is_empty() {
        return Err(Problem::CleanWithFindings);
    }
    if !case.clean && case.expected.is_empty() {
        return Err(Problem::NoFindings);
    }
    let fields: &[(&'static str, &String)] = match &case.source {
        Source::PullRequest(url) => {
            if crate::github::pull_of_url(url).is_none() {
                return Err(Problem::NotAPullRequest(url.clone()));
            }
            &[]
        }
        Source::Local { repo, base, head } => &[
            ("local.repo", repo),
            ("local.base", base),
            ("local.head", head),
        ],
        Source::Patch { base, patch } => &[("patch.base", base), ("patch.patch", patch)],
    };
    if let Some((key, _)) = fields.iter().find(|(_, value)| value.trim().is_empty()) {
        return Err(Problem::EmptySource(key));
    }
    for (i, e) in case.expected.iter().enumerate() {
        if e.start_line == 0 || e.end_line < e.start_line {
            let (start, end) = (e.start_line, e.end_line);
            return Err(Problem::Lines { i, start, end });
        }
        if e.priority.is_some_and(|p| p > 3) {
            return Err(Problem::Priority(i));
        }
        if e.path.trim().is_empty() || e.description.trim().is_empty() {
            return Err(Problem::Unnamed(i));
        }
    }
    Ok(())
}

/// The JSON Schema of a dataset line, as checked in at `eval/dataset.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Case);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"itoa-off-by-one","source":{"local":{"repo":"cases/itoa","base":"base","head":"head"}},"expected":[{"path":"src/lib.rs","start_line":40,"end_line":41,"side":"RIGHT","description":"the loop stops one digit early","priority":1}]}"#;

    #[test]
    fn a_good_dataset_reads_and_comments_are_skipped() {
        let clean = r#"{"id":"six-rename","source":{"pull_request":"https://github.com/octo/six/pull/3"},"clean":true}"#;
        let cases = parse(&format!("// the sample\n{GOOD}\n\n{clean}\n")).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].expected[0].side, Side::Right);
        assert!(cases[1].clean);
    }

    #[test]
    fn a_line_that_breaks_the_format_is_refused_with_its_number() {
        let cases = [
            (
                r#"{"id":"x","source":{"local":{"repo":"r","base":"a","head":"b"}},"expected":[],"extra":1}"#,
                "unknown field `extra`",
            ),
            (
                r#"{"id":"x","source":{"local":{"repo":"r","base":"a","head":"b"}}}"#,
                "a case expects findings, or is marked clean",
            ),
            (
                r#"{"id":"x","source":{"pull_request":"https://example.com/pr/1"},"clean":true}"#,
                "source.pull_request",
            ),
            (
                &GOOD.replace("\"start_line\":40", "\"start_line\":50"),
                "expected[0]: lines 50..41",
            ),
            (
                &GOOD.replace("\"RIGHT\"", "\"MIDDLE\""),
                "unknown variant `MIDDLE`",
            ),
            (
                &GOOD.replace("\"priority\":1", "\"priority\":7"),
                "expected[0].priority",
            ),
            (
                r#"{"id":"x","source":{"patch":{"base":"cases/x/base","patch":" "}},"clean":true}"#,
                "source.patch.patch is empty",
            ),
            (GOOD, "the id \"itoa-off-by-one\" is used twice"),
            (&GOOD.replace("itoa-off-by-one", "../up"), "id \"../up\""),
        ];
        for (line, reason) in cases {
            let err = parse(&format!("{GOOD}\n{line}\n")).unwrap_err();
            assert_eq!(err.line, 2, "{line}");
            assert!(err.to_string().starts_with("line 2: "), "{err}");
            let said = err.reason.to_string();
            assert!(said.contains(reason), "{reason} in {err}");
        }
        assert_eq!(parse("\n// nothing\n").unwrap_err().line, 0);
    }
}
