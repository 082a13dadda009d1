//! The review API's own description (`openapi.yaml`, OpenAPI 3.1): every request a test sends
//! and every answer it gets is checked against it.

use std::sync::OnceLock;

use serde_json::Value;

fn description() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
            .expect("openapi.yaml is checked in");
        let doc: Value = serde_saphyr::from_str(&text).expect("openapi.yaml is YAML");
        assert_eq!(doc["openapi"], "3.1.0");
        doc
    })
}

/// The errors of `instance` against `schema` (OpenAPI 3.1 schemas are JSON Schema 2020-12),
/// with the description's components beside it for `$ref`s.
fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = schema.clone();
    root.as_object_mut()
        .expect("a schema object")
        .insert("components".into(), description()["components"].clone());
    super::schema::Schema { root: &root }.errors(instance, usize::MAX)
}

/// The operation at `path` (a template, `/v1/reviews/{id}`) and `method`.
fn operation(method: &str, path: &str) -> &'static Value {
    let op = &description()["paths"][path][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {path} is not described");
    op
}

fn resolve(node: &Value) -> &Value {
    match node["$ref"].as_str() {
        Some(r) => {
            let mut at = description();
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            at
        }
        None => node,
    }
}

/// Problems of a request body against the description.
pub fn request_problems(method: &str, path: &str, body: &Value) -> Vec<String> {
    let schema = &operation(method, path)["requestBody"]["content"]["application/json"]["schema"];
    errors(schema, body)
}

/// Problems of an answer against the description (an undescribed status is one).
pub fn response_problems(method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let responses = &operation(method, path)["responses"];
    let described = &responses[status.to_string()];
    if described.is_null() {
        return vec![format!("{method} {path} does not describe status {status}")];
    }
    let schema = &resolve(described)["content"]["application/json"]["schema"];
    if schema.is_null() {
        return vec![format!("{method} {path} {status} has no JSON schema")];
    }
    errors(schema, body)
}

/// Every status the description gives for an operation.
pub fn statuses(method: &str, path: &str) -> Vec<String> {
    operation(method, path)["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}
