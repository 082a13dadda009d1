//! A repository's routes: pull requests, reviews, files, contents, check runs, comments and
//! reactions, with GitHub's answers and refusals.

use super::spec;
use super::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use repo_data::{compare, contents, file_json, pull_json, tree};
use reviews::{create_review, review_json};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// `Err` holds GitHub's 401 message.
pub(super) fn check_jwt(st: &GhState, auth: &str) -> Result<(), String> {
    let Some(jwt) = auth.strip_prefix("Bearer ") else {
        return Err("A JSON web token could not be decoded".into());
    };
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(&st.public_key).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_required_spec_claims(&["exp"]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .map_err(|e| format!("A JSON web token could not be decoded ({e})"))?
        .claims;
    let iss_ok = claims["iss"] == json!(st.app_id) || claims["iss"] == json!(st.app_id.to_string());
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    if !iss_ok || lifetime > 660 {
        return Err("'Issuer' claim ('iss') must be an Integer".into());
    }
    Ok(())
}

pub(super) fn repo_route(
    st: &mut GhState,
    method: &Method,
    repo: &str,
    rest: &[&str],
    query: &str,
    body: &Value,
) -> Response {
    let pull_index = |st: &GhState, n: &str| {
        let n: u64 = n.parse().ok()?;
        st.pulls
            .iter()
            .position(|p| p.repo == repo && p.number == n)
    };
    match (method.clone(), rest) {
        (Method::GET, ["pulls", "comments", id, "reactions"]) => threads::reactions(st, id, query),
        (Method::GET, ["pulls", n]) => match pull_index(st, n) {
            None => error(404, "Not Found", None),
            Some(i) => axum::Json(pull_json(&st.pulls[i])).into_response(),
        },
        (Method::GET, ["pulls", n, "files"]) => match pull_index(st, n) {
            None => error(404, "Not Found", None),
            Some(i) => {
                let all: Vec<Value> = st.pulls[i].files.iter().map(file_json).collect();
                // GitHub lists at most 3,000 files.
                let all = &all[..all.len().min(3000)];
                axum::Json(paginate(all, query)).into_response()
            }
        },
        (Method::GET, ["pulls", n, "reviews"]) => match pull_index(st, n) {
            None => error(404, "Not Found", None),
            Some(i) => {
                let number = st.pulls[i].number;
                let all: Vec<Value> = st
                    .reviews
                    .iter()
                    .filter(|r| r.repo == repo && r.pr == number)
                    .map(review_json)
                    .collect();
                axum::Json(paginate(&all, query)).into_response()
            }
        },
        (Method::POST, ["pulls", n, "reviews"]) => match pull_index(st, n) {
            None => error(404, "Not Found", None),
            Some(i) => create_review(st, i, body),
        },
        (Method::POST, ["check-runs"]) => {
            for e in spec::check_github_request("POST /repos/{owner}/{repo}/check-runs", body) {
                st.violations.push(format!("create check run: {e}"));
            }
            st.next_id += 1;
            let run = CheckRun {
                id: st.next_id,
                repo: repo.into(),
                name: body["name"].as_str().unwrap_or("").into(),
                head_sha: body["head_sha"].as_str().unwrap_or("").into(),
                status: body["status"].as_str().unwrap_or("queued").into(),
                conclusion: body["conclusion"].as_str().map(str::to_owned),
                title: body["output"]["title"].as_str().map(str::to_owned),
                summary: body["output"]["summary"].as_str().map(str::to_owned),
            };
            let json = json!({"id": run.id, "name": run.name, "head_sha": run.head_sha, "status": run.status});
            st.check_runs.push(run);
            (StatusCode::CREATED, axum::Json(json)).into_response()
        }
        (Method::PATCH, ["check-runs", id]) => {
            for e in spec::check_github_request(
                "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
                body,
            ) {
                st.violations.push(format!("update check run: {e}"));
            }
            let id: u64 = id.parse().unwrap_or(0);
            let Some(run) = st
                .check_runs
                .iter_mut()
                .find(|r| r.id == id && r.repo == repo)
            else {
                return error(404, "Not Found", None);
            };
            if let Some(status) = body["status"].as_str() {
                run.status = status.into();
            }
            run.conclusion = body["conclusion"].as_str().map(str::to_owned);
            run.title = body["output"]["title"].as_str().map(str::to_owned);
            run.summary = body["output"]["summary"].as_str().map(str::to_owned);
            let json = json!({"id": run.id, "status": run.status, "conclusion": run.conclusion});
            let update = (run.id, run.status.clone(), run.title.clone());
            st.check_run_updates.push(update);
            axum::Json(json).into_response()
        }
        (Method::GET, ["issues", n, "comments"]) => {
            let issue: u64 = n.parse().unwrap_or(0);
            let all: Vec<Value> = st
                .comments
                .iter()
                .filter(|c| c.repo == repo && c.issue == issue)
                .map(|c| {
                    let mut json = spec::github_example("issue-comment");
                    json["id"] = json!(c.id);
                    json["body"] = json!(c.body);
                    json["user"]["login"] = json!(BOT_LOGIN);
                    json["user"]["type"] = json!("Bot");
                    json
                })
                .collect();
            let page = Value::Array(super::paginate(&all, query));
            for e in spec::check_github_response(
                "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
                "200",
                &page,
            ) {
                st.violations.push(format!("list comments answer: {e}"));
            }
            axum::Json(page).into_response()
        }
        (Method::POST, ["issues", n, "comments"]) => {
            for e in spec::check_github_request(
                "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
                body,
            ) {
                st.violations.push(format!("create comment: {e}"));
            }
            let Some(text) = body["body"].as_str() else {
                return error(
                    422,
                    "Validation Failed",
                    Some(
                        json!([{"resource": "IssueComment", "code": "missing_field", "field": "body"}]),
                    ),
                );
            };
            if text.chars().count() > 65_536 {
                return error(
                    422,
                    "Validation Failed",
                    Some(
                        json!([{"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}]),
                    ),
                );
            }
            st.next_id += 1;
            let id = st.next_id;
            st.comments.push(IssueComment {
                id,
                repo: repo.into(),
                issue: n.parse().unwrap_or(0),
                body: text.into(),
            });
            let mut c = spec::github_example("issue-comment");
            c["id"] = json!(id);
            c["body"] = json!(text);
            c["user"]["login"] = json!(BOT_LOGIN);
            c["user"]["type"] = json!("Bot");
            (StatusCode::CREATED, axum::Json(c)).into_response()
        }
        (Method::POST, ["pulls", "comments", id, "reactions"]) => {
            for e in spec::check_github_request(
                "POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
                body,
            ) {
                st.violations
                    .push(format!("create review comment reaction: {e}"));
            }
            let id: u64 = id.parse().unwrap_or(0);
            let content = body["content"].as_str().unwrap_or("").to_owned();
            st.review_reactions
                .push((id, content.clone(), BOT_LOGIN.into()));
            let mut reaction = spec::github_example("reaction");
            reaction["content"] = json!(content);
            (StatusCode::CREATED, axum::Json(reaction)).into_response()
        }
        (Method::POST, ["pulls", _n, "comments", root, "replies"]) => {
            for e in spec::check_github_request(
                "POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
                body,
            ) {
                st.violations.push(format!("reply to review comment: {e}"));
            }
            let root: u64 = root.parse().unwrap_or(0);
            st.next_id += 1;
            let id = st.next_id;
            match st
                .threads
                .iter_mut()
                .find(|t| t.comments.first().is_some_and(|c| c.id == root))
            {
                Some(thread) => {
                    let text = body["body"].as_str().unwrap_or("").to_owned();
                    thread.comments.push(threads::ThreadComment {
                        id,
                        body: text.clone(),
                        author: BOT_LOGIN.into(),
                        association: "NONE".into(),
                        review_id: None,
                    });
                    (
                        StatusCode::CREATED,
                        axum::Json(json!({"id": id, "body": text, "in_reply_to_id": root})),
                    )
                        .into_response()
                }
                None => error(404, "Not Found", None),
            }
        }
        (Method::POST, ["issues", "comments", id, "reactions"]) => {
            for e in spec::check_github_request(
                "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
                body,
            ) {
                st.violations.push(format!("create reaction: {e}"));
            }
            let id: u64 = id.parse().unwrap_or(0);
            let content = body["content"].as_str().unwrap_or("").to_owned();
            let exists = st
                .reactions
                .iter()
                .any(|(r, c, k)| r == repo && *c == id && *k == content);
            let mut reaction = spec::github_example("reaction");
            reaction["content"] = json!(content);
            if exists {
                (StatusCode::OK, axum::Json(reaction)).into_response()
            } else {
                st.reactions.push((repo.into(), id, content));
                (StatusCode::CREATED, axum::Json(reaction)).into_response()
            }
        }
        _ => error(404, "Not Found", None),
    }
}
