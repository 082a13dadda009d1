//! The fake's answers about a repository's data: comparisons, trees, file contents, pull
//! requests and their files, in GitHub's shapes (from the examples of its description).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

/// `GET /repos/{repo}/compare/{base}...{head}`: 404 for an unknown base, as GitHub answers
/// for a commit a force-push made unreachable.
pub(super) fn compare(st: &GhState, repo: &str, spec: &str) -> Response {
    let found = st
        .pulls
        .iter()
        .filter(|p| p.repo == repo)
        .find_map(|p| p.compares.get(spec).cloned());
    match found {
        Some((status, files)) => {
            let mut v = spec::github_example("commit-comparison");
            v["status"] = json!(status);
            v["files"] = json!(files.iter().map(file_json).collect::<Vec<_>>());
            axum::Json(v).into_response()
        }
        None => error(404, "Not Found", None),
    }
}

/// `GET /repos/{repo}/git/trees/{sha}?recursive=1` for a base commit (its files) or a head
/// commit (the base's files, the head's contents, and the PR's files that were not removed).
pub(super) fn tree(st: &GhState, repo: &str, sha: &str) -> Response {
    let mut paths: Vec<&String> = if let Some(pull) = st
        .pulls
        .iter()
        .find(|p| p.repo == repo && p.base_sha == sha)
    {
        pull.base_contents.keys().collect()
    } else if let Some(pull) = st
        .pulls
        .iter()
        .find(|p| p.repo == repo && p.head_sha == sha)
    {
        let removed: Vec<&String> = pull
            .files
            .iter()
            .filter(|f| f.status == "removed")
            .map(|f| &f.filename)
            .collect();
        pull.base_contents
            .keys()
            .chain(pull.contents.keys())
            .chain(pull.files.iter().map(|f| &f.filename))
            .filter(|p| !removed.contains(p))
            .collect()
    } else {
        return error(404, "Not Found", None);
    };
    paths.sort();
    paths.dedup();
    let entries: Vec<Value> = paths
        .iter()
        .map(|p| json!({"path": p, "mode": "100644", "type": "blob", "sha": "0".repeat(40), "size": 1, "url": "https://api.github.com/x"}))
        .collect();
    axum::Json(
        json!({"sha": sha, "url": "https://api.github.com/x", "tree": entries, "truncated": false}),
    )
    .into_response()
}

/// `GET /repos/{repo}/contents/{path}?ref=SHA` with the raw media type.
pub(super) fn contents(
    st: &mut GhState,
    repo: &str,
    path: &[&str],
    query: &str,
    accept: &str,
) -> Response {
    let path: Vec<String> = path.iter().map(|s| percent_decode(s)).collect();
    let path = path.join("/");
    let sha = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("ref="))
        .unwrap_or("");
    if accept != "application/vnd.github.raw+json" {
        st.violations.push(format!(
            "contents of {path} asked without the raw media type: {accept}"
        ));
    }
    let found = st.pulls.iter().filter(|p| p.repo == repo).find_map(|p| {
        if p.head_sha == sha {
            p.contents.get(&path).cloned()
        } else if p.base_sha == sha {
            p.base_contents.get(&path).cloned()
        } else {
            None
        }
    });
    match found {
        Some(text) => (
            StatusCode::OK,
            [(
                "content-type",
                "application/vnd.github.raw+json; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => error(404, "Not Found", None),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

pub(super) fn pull_json(p: &Pull) -> Value {
    let mut v = spec::github_example("pull-request");
    v["number"] = json!(p.number);
    v["html_url"] = json!(format!("https://github.com/{}/pull/{}", p.repo, p.number));
    v["title"] = json!(p.title);
    v["body"] = json!(p.body);
    v["state"] = json!(p.state);
    v["draft"] = json!(p.draft);
    v["head"]["sha"] = json!(p.head_sha);
    v["head"]["ref"] = json!(p.head_ref);
    v["base"]["ref"] = json!(p.base_ref);
    v["base"]["sha"] = json!(p.base_sha);
    v["user"]["login"] = json!(p.author);
    v["user"]["type"] = json!(if p.author.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    });
    v["author_association"] = json!(p.author_association);
    let template = v["labels"][0].clone();
    v["labels"] = json!(
        p.labels
            .iter()
            .map(|name| {
                let mut l = template.clone();
                l["name"] = json!(name);
                l
            })
            .collect::<Vec<_>>()
    );
    v["changed_files"] = json!(p.files.len());
    // GitHub's example lists a team without the `type` its schema requires; none here.
    v["requested_teams"] = json!([]);
    v
}

pub(super) fn file_json(f: &File) -> Value {
    let mut v = spec::github_example("diff-entry-items")[0].clone();
    let (add, del) = f.counts.unwrap_or_else(|| {
        f.patch.as_deref().map_or((0, 0), |p| {
            let lines = p.lines().filter(|l| !l.starts_with("@@"));
            lines.fold((0, 0), |(a, d), l| match l.as_bytes().first() {
                Some(b'+') => (a + 1, d),
                Some(b'-') => (a, d + 1),
                _ => (a, d),
            })
        })
    });
    v["filename"] = json!(f.filename);
    v["status"] = json!(f.status);
    v["additions"] = json!(add);
    v["deletions"] = json!(del);
    v["changes"] = json!(add + del);
    let obj = v.as_object_mut().unwrap();
    match &f.patch {
        Some(p) => {
            obj.insert("patch".into(), json!(p));
        }
        None => {
            obj.remove("patch");
        }
    }
    if let Some(prev) = &f.previous_filename {
        obj.insert("previous_filename".into(), json!(prev));
    }
    v
}

/// A gzipped tar shaped like GitHub's archive (`owner-repo-sha7/` first) of `files`.
pub fn archive_of(
    repo: &str,
    sha: &str,
    files: &std::collections::HashMap<String, String>,
) -> Vec<u8> {
    let top = format!("{}-{}", repo.replace('/', "-"), &sha[..7.min(sha.len())]);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut paths: Vec<&String> = files.keys().collect();
    paths.sort();
    for path in paths {
        let text = files[path].as_bytes();
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut header, format!("{top}/{path}"), text)
            .unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}
