//! GitHub's manifest flow: the web form that creates an App (`/settings/apps/new`, or an
//! organisation's), which sends the person back to the manifest's `redirect_url` with a code
//! and the `state`, and the API call that turns the code into the App's credentials (once,
//! within the hour: an expired or used code is GitHub's 404).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{GhState, error, spec};

/// The events a GitHub App may subscribe to that the checks here know of.
const EVENTS: &[&str] = &[
    "check_run",
    "check_suite",
    "issue_comment",
    "issues",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
    "push",
];

/// A manifest GitHub took, waiting for its code to be exchanged.
#[derive(Debug, Clone)]
pub struct ManifestApp {
    pub code: String,
    pub manifest: Value,
    /// The organisation it is created on, if any.
    pub org: Option<String>,
    pub expired: bool,
    pub converted: bool,
    pub webhook_secret: String,
}

/// `POST /settings/apps/new?state=S` (or `/organizations/ORG/settings/apps/new`): the person
/// confirms at once; answers GitHub's redirect to `redirect_url?code=C&state=S`.
pub(super) fn create(
    st: &mut GhState,
    org: Option<&str>,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        st.violations.push(format!(
            "the manifest form was sent as {content_type:?}, not a form"
        ));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let Some(raw) = form.iter().find(|(k, _)| k == "manifest").map(|(_, v)| v) else {
        st.violations
            .push("the manifest form has no manifest field".into());
        return error(422, "Manifest is missing", None);
    };
    let manifest: Value = match serde_json::from_str(raw) {
        Ok(m) => m,
        Err(e) => {
            st.violations.push(format!("the manifest is not JSON: {e}"));
            return error(422, "Invalid manifest", None);
        }
    };
    let problems = manifest_problems(&manifest);
    if !problems.is_empty() {
        st.violations
            .extend(problems.iter().map(|p| format!("manifest: {p}")));
        return error(422, "Invalid manifest", None);
    }
    let name = manifest["name"].as_str().unwrap_or("").to_owned();
    if st.manifest_apps.iter().any(|a| a.manifest["name"] == name) {
        // GitHub's form says the name is taken; the person picks another.
        return (StatusCode::UNPROCESSABLE_ENTITY, "Name is already in use").into_response();
    }
    let state = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    let code = format!("{:020x}", fastrand::u128(..));
    let redirect = manifest["redirect_url"].as_str().unwrap_or("").to_owned();
    st.manifest_apps.push(ManifestApp {
        code: code.clone(),
        manifest,
        org: org.map(str::to_owned),
        expired: false,
        converted: false,
        webhook_secret: format!("{:032x}", fastrand::u128(..)),
    });
    let mut location = format!("{redirect}?code={code}");
    if let Some(state) = state {
        location.push_str("&state=");
        location
            .push_str(&url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>());
    }
    (StatusCode::FOUND, [("location", location)]).into_response()
}

/// What GitHub would refuse in a manifest.
fn manifest_problems(m: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let url_field = |v: &Value| {
        v.as_str()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
    };
    if !url_field(&m["url"]) {
        problems.push("url is required and must be a URL".into());
    }
    if !url_field(&m["hook_attributes"]["url"]) {
        problems.push("hook_attributes.url is required and must be a URL".into());
    }
    if !url_field(&m["redirect_url"]) {
        problems.push("redirect_url must be a URL".into());
    }
    match m["name"].as_str() {
        Some(name) if !name.is_empty() && name.chars().count() <= 34 => {}
        _ => problems.push("name must be 1 to 34 characters".into()),
    }
    if !m["public"].is_boolean() {
        problems.push("public must be a boolean".into());
    }
    match m["default_events"].as_array() {
        Some(events) => {
            for e in events {
                if !e.as_str().is_some_and(|e| EVENTS.contains(&e)) {
                    problems.push(format!("unknown event {e}"));
                }
            }
        }
        None => problems.push("default_events must be a list".into()),
    }
    match m["default_permissions"].as_object() {
        Some(p) if !p.is_empty() => {
            for (k, v) in p {
                if !matches!(v.as_str(), Some("read" | "write")) {
                    problems.push(format!("permission {k} must be read or write"));
                }
            }
        }
        _ => problems.push("default_permissions must name permissions".into()),
    }
    problems
}

/// `POST /app-manifests/{code}/conversions`.
pub(super) fn convert(st: &mut GhState, code: &str, web_base: &str) -> Response {
    let app_id = st.app_id;
    let pem = super::super::PRIVATE_KEY.to_owned();
    let Some(app) = st
        .manifest_apps
        .iter_mut()
        .find(|a| a.code == code && !a.expired && !a.converted)
    else {
        return error(404, "Not Found", None);
    };
    app.converted = true;
    let name = app.manifest["name"].as_str().unwrap_or("").to_owned();
    let slug = name.to_ascii_lowercase().replace(' ', "-");
    let mut body = spec::github_example("integration-from-manifest");
    body["id"] = json!(app_id);
    body["slug"] = json!(slug);
    body["name"] = json!(name);
    body["html_url"] = json!(format!("{web_base}/apps/{slug}"));
    body["external_url"] = app.manifest["url"].clone();
    body["pem"] = json!(pem);
    body["webhook_secret"] = json!(app.webhook_secret);
    body["events"] = app.manifest["default_events"].clone();
    body["permissions"] = app.manifest["default_permissions"].clone();
    if let Some(org) = &app.org {
        body["owner"]["login"] = json!(org);
    }
    let problems =
        spec::check_github_response("POST /app-manifests/{code}/conversions", "201", &body);
    st.violations.extend(problems);
    (StatusCode::CREATED, axum::Json(body)).into_response()
}
