//! Pull request reviews as GitHub takes them: every comment must sit inside a hunk of its
//! file on its side (else the whole review is refused with 422), never pending, never approving.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

pub(super) fn review_json(r: &Review) -> Value {
    let mut v = spec::github_example("pull-request-review");
    v["id"] = json!(r.id);
    v["user"]["login"] = json!(r.user);
    v["user"]["type"] = json!("Bot");
    v["body"] = json!(r.body);
    v["state"] = json!(r.state);
    v["commit_id"] = json!(r.commit_id);
    v
}

/// Inclusive line ranges of each hunk on one side, read from the hunk headers only (an
/// implementation independent of the app's parser).
fn hunk_ranges(patch: &str, side: &str) -> Vec<(u64, u64)> {
    patch
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("@@ -")?;
            let (ranges, _) = l.split_once(" @@")?;
            let (old, new) = ranges.split_once(" +")?;
            let r = if side == "LEFT" { old } else { new };
            let (start, len) = match r.split_once(',') {
                Some((s, n)) => (s.parse::<u64>().ok()?, n.parse::<u64>().ok()?),
                None => (r.parse::<u64>().ok()?, 1),
            };
            (len > 0).then(|| (start, start + len - 1))
        })
        .collect()
}

pub(super) fn create_review(st: &mut GhState, i: usize, body: &Value) -> Response {
    for e in spec::check_github_request(
        "POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        body,
    ) {
        st.violations.push(format!("create review: {e}"));
    }
    let pull = st.pulls[i].clone();
    let event = body["event"].as_str();
    match event {
        None => st
            .violations
            .push("review created PENDING (no event)".into()),
        Some("APPROVE") => st.violations.push("the app APPROVED a pull request".into()),
        Some("REQUEST_CHANGES") => st.violations.push("the app requested changes".into()),
        _ => {}
    }
    let text = body["body"].as_str().unwrap_or("");
    if text.chars().count() > 65_536 {
        return error(
            422,
            "Unprocessable Entity",
            Some(json!(["Body is too long (maximum is 65536 characters)"])),
        );
    }
    let commit_id = body["commit_id"]
        .as_str()
        .unwrap_or(&pull.head_sha)
        .to_owned();
    if !pull.commits.contains(&commit_id) {
        return error(
            422,
            "Unprocessable Entity",
            Some(json!([
                "Commit SHA can't be blank or could not be resolved"
            ])),
        );
    }
    let comments = body["comments"].as_array().cloned().unwrap_or_default();
    for c in &comments {
        if c.get("position").is_some() {
            st.violations
                .push("a review comment uses the deprecated `position`".into());
        }
        let path = c["path"].as_str().unwrap_or("");
        let Some(file) = pull.files.iter().find(|f| f.filename == path) else {
            return error(
                422,
                "Unprocessable Entity",
                Some(json!(["Path could not be resolved"])),
            );
        };
        let Some(line) = c["line"].as_u64() else {
            return error(
                422,
                "Unprocessable Entity",
                Some(json!(["Line could not be resolved"])),
            );
        };
        if c["body"]
            .as_str()
            .is_none_or(|b| b.chars().count() > 65_536)
        {
            return error(
                422,
                "Unprocessable Entity",
                Some(json!(["Body is too long (maximum is 65536 characters)"])),
            );
        }
        let side = c["side"].as_str().unwrap_or("RIGHT");
        let ranges = hunk_ranges(file.patch.as_deref().unwrap_or(""), side);
        let Some(hunk) = ranges.iter().find(|(s, e)| line >= *s && line <= *e) else {
            return error(
                422,
                "Unprocessable Entity",
                Some(json!(["Line could not be resolved"])),
            );
        };
        if let Some(start) = c.get("start_line").and_then(Value::as_u64) {
            let start_side = c["start_side"].as_str().unwrap_or(side);
            if start >= line {
                return error(
                    422,
                    "Unprocessable Entity",
                    Some(json!(["start_line must precede the end line."])),
                );
            }
            if start_side != side || start < hunk.0 {
                return error(
                    422,
                    "Unprocessable Entity",
                    Some(json!(["Start line could not be resolved"])),
                );
            }
        }
    }
    st.next_id += 1;
    let review_id = st.next_id;
    if event.is_some() {
        // Each inline comment of a submitted review starts a thread.
        for c in &comments {
            st.next_id += 1;
            let id = st.next_id;
            st.threads.push(super::threads::Thread {
                id: format!("PRRT_kwDO{id:08}"),
                repo: pull.repo.clone(),
                pr: pull.number,
                path: c["path"].as_str().unwrap_or("").to_owned(),
                resolved: false,
                comments: vec![super::threads::ThreadComment {
                    id,
                    body: c["body"].as_str().unwrap_or("").to_owned(),
                    author: BOT_LOGIN.into(),
                    association: "NONE".into(),
                    review_id: Some(review_id),
                }],
            });
        }
    }
    let review = Review {
        id: review_id,
        repo: pull.repo.clone(),
        pr: pull.number,
        user: BOT_LOGIN.into(),
        body: text.into(),
        commit_id,
        state: match event {
            None => "PENDING".into(),
            Some("APPROVE") => "APPROVED".into(),
            Some("REQUEST_CHANGES") => "CHANGES_REQUESTED".into(),
            _ => "COMMENTED".into(),
        },
        comments,
    };
    let json = review_json(&review);
    st.reviews.push(review);
    axum::Json(json).into_response()
}
