//! GitHub-shaped answers the fake's routes share: an error body, a page of a list, an
//! injected fault.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Fault;

pub(super) fn error(status: u16, message: &str, errors: Option<Value>) -> Response {
    let mut body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.to_string(),
    });
    if let Some(errors) = errors {
        body["errors"] = errors;
    }
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

pub(super) fn query_param(query: &str, name: &str) -> Option<u64> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

pub(super) fn paginate<T: Clone>(items: &[T], query: &str) -> Vec<T> {
    let per_page = query_param(query, "per_page").unwrap_or(30).clamp(1, 100) as usize;
    let page = query_param(query, "page").unwrap_or(1).max(1) as usize;
    items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect()
}

pub(super) fn fault_response(f: &Fault) -> Response {
    let mut r = (
        StatusCode::from_u16(f.status).unwrap(),
        axum::Json(f.body.clone()),
    )
        .into_response();
    for (k, v) in &f.headers {
        r.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}
