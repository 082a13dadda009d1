//! Review threads as GitHub keeps them: one per inline comment of a review, answered through
//! GraphQL (`reviewThreads`, `resolveReviewThread`, with GitHub's errors for unknown ids), and
//! the reactions on review comments.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{GhState, error, spec};

/// A comment of a review thread.
#[derive(Debug, Clone)]
pub struct ThreadComment {
    pub id: u64,
    pub body: String,
    pub author: String,
    pub association: String,
    pub review_id: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Thread {
    pub id: String,
    pub repo: String,
    pub pr: u64,
    pub path: String,
    pub resolved: bool,
    pub comments: Vec<ThreadComment>,
}

/// The GraphQL request of the app: the threads of a pull request, or resolving one.
pub(super) fn graphql(st: &mut GhState, body: &Value) -> Response {
    let query = body["query"].as_str().unwrap_or("");
    let vars = &body["variables"];
    if body["query"].is_null() {
        return error(400, "A query attribute must be specified", None);
    }
    // GitHub refuses an operation its schema does not allow, with the errors and no data.
    let problems = spec::check_graphql(query);
    if !problems.is_empty() {
        st.violations
            .extend(problems.iter().map(|p| format!("GraphQL: {p}")));
        let errors: Vec<Value> = problems.iter().map(|p| json!({"message": p})).collect();
        return axum::Json(json!({"errors": errors})).into_response();
    }
    // (Before `resolveReviewThread`, which its name contains.)
    if query.contains("unresolveReviewThread") {
        let id = vars["id"].as_str().unwrap_or("");
        return match st.threads.iter_mut().find(|t| t.id == id) {
            Some(t) => {
                t.resolved = false;
                st.unresolved_by_app.push(id.to_owned());
                axum::Json(json!({"data": {"unresolveReviewThread": {"thread": {"id": id, "isResolved": false}}}})).into_response()
            }
            None => axum::Json(json!({
                "data": {"unresolveReviewThread": null},
                "errors": [{
                    "type": "NOT_FOUND",
                    "path": ["unresolveReviewThread"],
                    "locations": [{"line": 2, "column": 3}],
                    "message": format!("Could not resolve to a node with the global id of '{id}'")
                }]
            }))
            .into_response(),
        };
    }
    if query.contains("resolveReviewThread") {
        let id = vars["id"].as_str().unwrap_or("");
        return match st.threads.iter_mut().find(|t| t.id == id) {
            Some(t) => {
                t.resolved = true;
                st.resolved_by_app.push(id.to_owned());
                axum::Json(json!({"data": {"resolveReviewThread": {"thread": {"id": id, "isResolved": true}}}})).into_response()
            }
            None => axum::Json(json!({
                "data": {"resolveReviewThread": null},
                "errors": [{
                    "type": "NOT_FOUND",
                    "path": ["resolveReviewThread"],
                    "locations": [{"line": 2, "column": 3}],
                    "message": format!("Could not resolve to a node with the global id of '{id}'")
                }]
            }))
            .into_response(),
        };
    }
    if query.contains("reviewThreads") {
        for field in [
            "pageInfo",
            "isResolved",
            "databaseId",
            "pullRequestReview",
            "authorAssociation",
        ] {
            if !query.contains(field) {
                st.violations
                    .push(format!("the review threads query does not ask for {field}"));
            }
        }
        let repo = format!(
            "{}/{}",
            vars["owner"].as_str().unwrap_or(""),
            vars["name"].as_str().unwrap_or("")
        );
        let number = vars["number"].as_u64().unwrap_or(0);
        let all: Vec<&Thread> = st
            .threads
            .iter()
            .filter(|t| t.repo == repo && t.pr == number)
            .collect();
        // Pages of 100, with an opaque cursor as GitHub gives.
        let from = vars["after"]
            .as_str()
            .and_then(|c| c.strip_prefix("cursor:"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        let page: Vec<Value> = all
            .iter()
            .skip(from)
            .take(100)
            .map(|t| {
                json!({
                    "id": t.id,
                    "isResolved": t.resolved,
                    "comments": {"nodes": t.comments.iter().map(|c| json!({
                        "databaseId": c.id,
                        "body": c.body,
                        "createdAt": "2026-11-30T10:00:00Z",
                        "authorAssociation": c.association,
                        "author": {"login": c.author},
                        "pullRequestReview": c.review_id.map(|id| json!({"databaseId": id})),
                    })).collect::<Vec<_>>()}
                })
            })
            .collect();
        let next = from + page.len();
        return axum::Json(json!({"data": {"repository": {"pullRequest": {"reviewThreads": {
            "pageInfo": {"hasNextPage": next < all.len(), "endCursor": format!("cursor:{next}")},
            "nodes": page
        }}}}}))
        .into_response();
    }
    st.violations.push(format!(
        "an unexpected GraphQL query: {}",
        query.chars().take(80).collect::<String>()
    ));
    axum::Json(json!({"errors": [{"message": "Field does not exist"}]})).into_response()
}

/// `GET /repos/{owner}/{repo}/pulls/comments/{id}/reactions?content=...`.
pub(super) fn reactions(st: &GhState, comment: &str, query: &str) -> Response {
    let Ok(id) = comment.parse::<u64>() else {
        return error(404, "Not Found", None);
    };
    if !st
        .threads
        .iter()
        .any(|t| t.comments.iter().any(|c| c.id == id))
    {
        return error(404, "Not Found", None);
    }
    let content = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("content="))
        .map(|c| c.replace("%2B", "+"));
    let list: Vec<Value> = st
        .review_reactions
        .iter()
        .filter(|(c, kind, _)| *c == id && content.as_ref().is_none_or(|k| k == kind))
        .enumerate()
        .map(|(i, (_, kind, login))| {
            json!({
                "id": i + 1,
                "node_id": format!("REA_{i}"),
                "user": {"login": login, "id": 1, "type": "User"},
                "content": kind,
                "created_at": "2026-11-30T10:00:00Z"
            })
        })
        .collect();
    axum::Json(Value::Array(list)).into_response()
}
