//! The App's own endpoints a setup check, the review API and the redelivery loop use:
//! installations (and the one on a repository) and the repositories they reach, the webhook
//! configuration, the recent deliveries (paged by a `Link` cursor, two per page), one delivery
//! with its request (pull mode; it can be made to fail a number of times), and redelivering
//! one (sent again to the app with its delivery id).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::repo_routes::check_jwt;
use super::{FakeGitHub, GhState, error, spec};

pub(super) fn route(
    fake: &FakeGitHub,
    st: &mut GhState,
    method: &Method,
    segments: &[&str],
    query: &str,
    auth: &str,
) -> Response {
    let st = &mut *st;
    match (method.clone(), segments) {
        // The App's installation on a repository: one for every repository with a pull.
        (Method::GET, ["repos", owner, repo, "installation"]) => match check_jwt(st, auth) {
            Err(m) => error(401, &m, None),
            Ok(()) if st.pulls.iter().any(|p| p.repo == format!("{owner}/{repo}")) => {
                let mut installation = spec::github_example("installation");
                installation["id"] = json!(super::super::INSTALLATION);
                axum::Json(installation).into_response()
            }
            Ok(()) => error(404, "Not Found", None),
        },
        (Method::GET, ["app", "installations"]) => match check_jwt(st, auth) {
            Err(m) => error(401, &m, None),
            Ok(()) => {
                let mut installation = spec::github_example("base-installation-items")[0].clone();
                installation["id"] = json!(super::super::INSTALLATION);
                installation["account"]["login"] = json!("Codertocat");
                axum::Json(json!([installation])).into_response()
            }
        },
        (Method::GET, ["app", "hook", "config"]) => match check_jwt(st, auth) {
            Err(m) => error(401, &m, None),
            Ok(()) => axum::Json(st.hook_config.clone().unwrap_or_else(|| {
                let mut config = spec::github_example("webhook-config");
                config["url"] = json!("https://codex-review.example.com/webhook");
                config["content_type"] = json!("json");
                config["secret"] = json!("********");
                config
            }))
            .into_response(),
        },
        (Method::GET, ["app", "hook", "deliveries"]) => match check_jwt(st, auth) {
            Err(m) => error(401, &m, None),
            Ok(()) => {
                let from = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("cursor="))
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(0);
                let page: Vec<Value> = st
                    .hook_deliveries
                    .iter()
                    .skip(from)
                    .take(2)
                    .cloned()
                    .collect();
                let mut response = axum::Json(Value::Array(page)).into_response();
                if from + 2 < st.hook_deliveries.len() {
                    let next = format!(
                        "<http://{}{}/app/hook/deliveries?per_page=100&cursor={}>; rel=\"next\"",
                        fake.addr,
                        fake.prefix,
                        from + 2
                    );
                    response.headers_mut().insert("link", next.parse().unwrap());
                }
                response
            }
        },
        // One delivery with the request GitHub sent (or tried to): its headers and payload.
        (Method::GET, ["app", "hook", "deliveries", id]) => match check_jwt(st, auth) {
            Err(m) => error(401, &m, None),
            Ok(()) => {
                let id: u64 = id.parse().unwrap_or(0);
                st.hook_delivery_reads.push(id);
                if let Some(left) = st.hook_delivery_failures.get_mut(&id)
                    && *left > 0
                {
                    *left -= 1;
                    return error(404, "Not Found", None);
                }
                let Some(item) = st.hook_deliveries.iter().find(|d| d["id"] == json!(id)) else {
                    return error(404, "Not Found", None);
                };
                let guid = item["guid"].as_str().unwrap_or_default().to_owned();
                let Some((event, payload)) = st.hook_payloads.get(&guid).cloned() else {
                    return error(404, "Not Found", None);
                };
                let mut delivery = item.clone();
                delivery["url"] = json!("https://codex-review.invalid/webhook");
                delivery["request"] = json!({
                    "headers": {
                        "X-GitHub-Delivery": guid,
                        "X-GitHub-Event": event,
                        "X-GitHub-Hook-ID": "42",
                        "User-Agent": "GitHub-Hookshot/b8c71d8",
                        "content-type": "application/json",
                        "X-Hub-Signature-256": "sha256=6dcb09b5b57875f334f61aebed695e2e4193db5e"
                    },
                    "payload": payload
                });
                delivery["response"] = json!({"headers": {}, "payload": null});
                axum::Json(delivery).into_response()
            }
        },
        (Method::POST, ["app", "hook", "deliveries", id, "attempts"]) => {
            match check_jwt(st, auth) {
                Err(m) => error(401, &m, None),
                Ok(()) => {
                    let id: u64 = id.parse().unwrap_or(0);
                    let guid = st
                        .hook_deliveries
                        .iter()
                        .find(|d| d["id"] == json!(id))
                        .and_then(|d| d["guid"].as_str().map(str::to_owned));
                    match (guid, st.hook_target.clone()) {
                        (Some(guid), Some((target, secret))) => {
                            st.redelivery_requests.push(id);
                            if let Some((event, payload)) = st.hook_payloads.get(&guid).cloned() {
                                // GitHub delivers again, later, with the same delivery id.
                                tokio::spawn(async move {
                                    let body = serde_json::to_vec(&payload).unwrap();
                                    let _ = reqwest::Client::new()
                                        .post(format!("{target}/webhook"))
                                        .header("x-github-event", event)
                                        .header("x-github-delivery", guid)
                                        .header(
                                            "x-hub-signature-256",
                                            codex_review::server::sign(&secret, &body),
                                        )
                                        .header("content-type", "application/json")
                                        .body(body)
                                        .send()
                                        .await;
                                });
                            }
                            (StatusCode::ACCEPTED, axum::Json(json!({}))).into_response()
                        }
                        _ => error(404, "Not Found", None),
                    }
                }
            }
        }
        (Method::GET, ["installation", "repositories"]) => {
            let token = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("token "))
                .unwrap_or("");
            if st.tokens.contains(token) {
                let repos: std::collections::BTreeSet<String> =
                    st.pulls.iter().map(|p| p.repo.clone()).collect();
                axum::Json(json!({"total_count": repos.len().max(1), "repositories": []}))
                    .into_response()
            } else {
                error(401, "Bad credentials", None)
            }
        }
        _ => error(404, "Not Found", None),
    }
}
