//! The structured review the model must return (the product's output contract), as Rust
//! types and as the strict JSON schema sent in `text.format`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::diff::Side;

/// The model's whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewOutput {
    pub findings: Vec<Finding>,
    /// `"patch is correct"` or `"patch is incorrect"`.
    pub overall_correctness: String,
    pub overall_explanation: String,
    pub overall_confidence_score: f64,
    /// Ids of earlier findings (shown in the request as `[ID] title (path:line)`) that this
    /// change fixes.
    #[serde(default)]
    pub fixed_finding_ids: Vec<String>,
}

/// One problem the model found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub title: String,
    pub body: String,
    pub confidence_score: f64,
    /// 0 = must fix before merge … 3 = low.
    pub priority: i64,
    pub code_location: CodeLocation,
    /// Replacement code for the RIGHT-side range, or `None`.
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeLocation {
    pub file_path: String,
    pub side: Side,
    pub line_range: LineRange,
}

/// Inclusive, in the numbering of the location's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineRange {
    pub start: i64,
    pub end: i64,
}

/// A conversation answer (a question, a reply in a thread).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerOutput {
    pub answer: String,
}

/// The strict schema of [`AnswerOutput`].
pub fn answer_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["answer"],
        "properties": {
            "answer": {"type": "string", "description": "The answer, in Markdown."}
        }
    })
}

/// The verification call's answer: a verdict per finding shown, `{id, keep, reason,
/// priority}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyOutput {
    pub verdicts: Vec<Verdict>,
}

/// Keep, drop or lower one finding, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub id: String,
    pub keep: bool,
    pub reason: String,
    /// A kept finding's priority when the review overstated it (only ever lowered).
    #[serde(default)]
    pub priority: Option<i64>,
}

/// The strict schema of [`VerifyOutput`].
pub fn verify_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["verdicts"],
        "properties": {
            "verdicts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["id", "keep", "reason", "priority"],
                    "properties": {
                        "id": {"type": "string", "description": "The finding's id, as shown in brackets."},
                        "keep": {"type": "boolean", "description": "true: the finding is real and should be posted."},
                        "reason": {"type": "string", "description": "One sentence: why it is kept, lowered or dropped."},
                        "priority": {"type": ["integer", "null"], "description": "For a kept finding whose priority is overstated: the priority it deserves, higher than the one shown (0 most urgent, 3 low). Otherwise null."}
                    }
                }
            }
        }
    })
}

/// The `name` of the format in the request.
pub const SCHEMA_NAME: &str = "code_review";

/// The JSON schema of [`ReviewOutput`] in the subset strict mode accepts: every object has
/// `additionalProperties: false` and lists all its properties in `required`; optional values
/// are a union with `null`.
pub fn review_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["findings", "overall_correctness", "overall_explanation", "overall_confidence_score", "fixed_finding_ids"],
        "properties": {
            "findings": {
                "type": "array",
                "description": "Problems introduced by this change. Empty when there are none.",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["title", "body", "confidence_score", "priority", "code_location", "suggestion"],
                    "properties": {
                        "title": {"type": "string", "description": "Short imperative title, at most 80 characters."},
                        "body": {"type": "string", "description": "One paragraph of Markdown: why this is a problem and when it happens."},
                        "confidence_score": {"type": "number", "description": "How sure you are, from 0.0 to 1.0."},
                        "priority": {"type": "integer", "enum": [0, 1, 2, 3], "description": "0 must fix before merge, 1 urgent, 2 normal, 3 low."},
                        "code_location": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["file_path", "side", "line_range"],
                            "properties": {
                                "file_path": {"type": "string", "description": "Path as shown after FILE."},
                                "side": {"type": "string", "enum": ["LEFT", "RIGHT"], "description": "RIGHT for new or unchanged lines (new numbers), LEFT for deleted lines (old numbers)."},
                                "line_range": {
                                    "type": "object",
                                    "additionalProperties": false,
                                    "required": ["start", "end"],
                                    "properties": {
                                        "start": {"type": "integer"},
                                        "end": {"type": "integer"}
                                    }
                                }
                            }
                        },
                        "suggestion": {"type": ["string", "null"], "description": "Replacement code for exactly the RIGHT-side lines of line_range, indentation kept; null when not applicable."}
                    }
                }
            },
            "overall_correctness": {"type": "string", "enum": ["patch is correct", "patch is incorrect"]},
            "overall_explanation": {"type": "string", "description": "One to three sentences."},
            "overall_confidence_score": {"type": "number", "description": "From 0.0 to 1.0."},
            "fixed_finding_ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Ids of the earlier findings shown that this change fixes; empty when none were shown."
            }
        }
    })
}

/// A finding's title reduced to its lower-case words: "Check the bound!" and "check the
/// bound" are the same finding's.
pub fn normalize_title(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strict mode's rules, checked on every object of the schema.
    fn check_strict(schema: &Value, path: &str) {
        if let Some(types) = schema.get("type") {
            let is_object = types == "object"
                || types
                    .as_array()
                    .is_some_and(|t| t.contains(&json!("object")));
            if is_object {
                assert_eq!(schema["additionalProperties"], json!(false), "{path}");
                let props: Vec<&String> =
                    schema["properties"].as_object().unwrap().keys().collect();
                let mut required: Vec<&str> = schema["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                required.sort_unstable();
                let mut props: Vec<&str> = props.iter().map(|s| s.as_str()).collect();
                props.sort_unstable();
                assert_eq!(required, props, "{path}: every property must be required");
            }
        }
        for key in [
            "minimum",
            "maximum",
            "minLength",
            "maxLength",
            "pattern",
            "format",
            "default",
        ] {
            assert!(
                schema.get(key).is_none(),
                "{path}: {key} is not needed in strict mode"
            );
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                check_strict(sub, &format!("{path}.{name}"));
            }
        }
        if let Some(items) = schema.get("items") {
            check_strict(items, &format!("{path}[]"));
        }
    }

    #[test]
    fn schema_follows_strict_mode_rules() {
        check_strict(&review_schema(), "$");
        check_strict(&verify_schema(), "$");
        check_strict(&answer_schema(), "$");
    }

    #[test]
    fn design_example_round_trips() {
        let example = json!({
            "findings": [{
                "title": "Check the bound",
                "body": "Off by one.",
                "confidence_score": 0.7,
                "priority": 1,
                "code_location": {"file_path": "src/a.rs", "side": "RIGHT", "line_range": {"start": 10, "end": 12}},
                "suggestion": null
            }],
            "overall_correctness": "patch is incorrect",
            "overall_explanation": "One bug.",
            "overall_confidence_score": 0.8,
            "fixed_finding_ids": []
        });
        let parsed: ReviewOutput = serde_json::from_value(example.clone()).unwrap();
        assert_eq!(parsed.findings[0].code_location.side, Side::Right);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), example);
    }
}
