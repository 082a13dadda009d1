//! The official API descriptions (trimmed copies in tests/fixtures, made by
//! scripts/refresh-fixtures.py from ../shared/specs) as JSON Schema validators.

use std::sync::OnceLock;

use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn github() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = fixture("github-openapi.subset.json");
        nullable_to_json_schema(&mut doc);
        doc
    })
}

/// GitHub's description is OpenAPI 3.0: `nullable: true` becomes a union with `null`, as
/// JSON Schema (and OpenAPI 3.1) spells it.
fn nullable_to_json_schema(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for v in map.values_mut() {
                nullable_to_json_schema(v);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::Array(values)) = map.get_mut("enum") {
                    values.push(Value::Null);
                }
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([{"type": "null"}, inner]));
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
    }
}

/// A real webhook payload from @octokit/webhooks-examples.
pub fn webhook(name: &str) -> Value {
    fixture(&format!("webhooks/{name}.json"))
}

/// The problems of `instance` against `schema`, with `components` beside it so that its
/// `$ref`s resolve.
fn errors(mut schema: Value, components: &Value, instance: &Value) -> Vec<String> {
    schema
        .as_object_mut()
        .expect("schema is an object")
        .insert("components".into(), components.clone());
    super::schema::Schema { root: &schema }.errors(instance, 10)
}

/// Checks a Responses API request body against `CreateResponse`.
pub fn check_openai_request(body: &Value) -> Vec<String> {
    static DOC: OnceLock<Value> = OnceLock::new();
    let doc = DOC.get_or_init(|| fixture("openai-create-response.schema.json"));
    let root = json!({"$ref": doc["$ref"], "components": doc["components"]});
    super::schema::Schema { root: &root }.errors(body, 10)
}

/// Checks a request body against the GitHub operation `key` (`"POST /repos/..."`).
pub fn check_github_request(key: &str, body: &Value) -> Vec<String> {
    let op = &github()["operations"][key];
    let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
    assert!(schema.is_object(), "no request body schema for {key}");
    errors(schema, &github()["components"], body)
}

/// Checks a response body against the GitHub operation `key` and `status`.
pub fn check_github_response(key: &str, status: &str, body: &Value) -> Vec<String> {
    let op = &github()["operations"][key];
    let schema = op["responses"][status]["content"]["application/json"]["schema"].clone();
    assert!(schema.is_object(), "no response schema for {key} {status}");
    errors(schema, &github()["components"], body)
}

/// The example response GitHub's description gives for a component (`pull-request`, ...).
pub fn github_example(name: &str) -> Value {
    github()["components"]["examples"][name]["value"].clone()
}

/// GitHub's GraphQL schema (the whole of `github-schema.graphql`, gzipped in the fixtures).
/// The file defines some fields twice (identically): it is read leniently, as GitHub serves it.
fn graphql_schema() -> &'static apollo_compiler::validation::Valid<apollo_compiler::Schema> {
    static SCHEMA: OnceLock<apollo_compiler::validation::Valid<apollo_compiler::Schema>> =
        OnceLock::new();
    SCHEMA.get_or_init(|| {
        use std::io::Read as _;
        let path = format!(
            "{}/tests/fixtures/github-schema.graphql.gz",
            env!("CARGO_MANIFEST_DIR")
        );
        let packed = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut text)
            .expect("the schema unpacks");
        let schema = match apollo_compiler::Schema::parse(text, "github-schema.graphql") {
            Ok(schema) => schema,
            Err(lenient) => lenient.partial,
        };
        assert!(
            schema.types.contains_key("PullRequestReviewThread"),
            "the schema was read"
        );
        apollo_compiler::validation::Valid::assume_valid(schema)
    })
}

/// Problems of a GraphQL operation against GitHub's schema (unknown fields, arguments or
/// types, wrong variable types...).
pub fn check_graphql(query: &str) -> Vec<String> {
    match apollo_compiler::ExecutableDocument::parse_and_validate(
        graphql_schema(),
        query,
        "operation.graphql",
    ) {
        Ok(_) => Vec::new(),
        Err(invalid) => invalid.errors.iter().map(|e| e.to_string()).collect(),
    }
}
