//! The body of `POST /v1/reviews`, checked field by field: every refusal names the field and
//! the reason.

use serde_json::{Map, Value, json};
use sha2::Digest as _;

use crate::event::grammar::{MAX_FOCUS_AREA_LEN, MAX_FOCUS_AREAS, focus_area};
use crate::ids::{PrNumber, RepoName};

/// The fields the endpoint knows.
const FIELDS: &[&str] = &["pull_request_url", "focus_areas", "full", "post"];

/// A request that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewBody {
    /// `GITHUB_URL/OWNER/REPO/pull/NUMBER`.
    pub pull_request_url: String,
    pub repo: RepoName,
    pub pr: PrNumber,
    /// Lower-cased, without repeats.
    pub focus_areas: Vec<String>,
    pub full: bool,
    pub post: bool,
}

/// Why a body was refused: a machine-readable code and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

impl ReviewBody {
    /// SHA-256 of the request's canonical form: the same `Idempotency-Key` must come with it.
    pub fn hash(&self) -> String {
        let canonical = json!({
            "pull_request_url": self.pull_request_url,
            "focus_areas": self.focus_areas,
            "full": self.full,
            "post": self.post,
        });
        hex::encode(sha2::Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Checks `body` against the endpoint's fields; `web_url` is where this service's pull
/// requests live (`GITHUB_URL`).
pub fn parse(body: &[u8], web_url: &str) -> Result<ReviewBody, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse("invalid_json", format!("the body is not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(refuse("invalid_json", "the body must be a JSON object"));
    };
    if fields.contains_key("sandbox_config") {
        return Err(refuse(
            "sandbox_not_supported",
            "sandbox_config is not supported: this service reviews code by reading it and \
             never runs repository code (no sandbox, no builds, no tests)",
        ));
    }
    let unknown: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|k| !FIELDS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(refuse(
            "unknown_fields",
            format!(
                "unknown field{} {} (the fields are {})",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", "),
                FIELDS.join(", ")
            ),
        ));
    }
    let url = match fields.get("pull_request_url") {
        Some(Value::String(url)) => url,
        Some(_) => {
            return Err(refuse(
                "invalid_pull_request_url",
                "pull_request_url must be a string",
            ));
        }
        None => {
            return Err(refuse(
                "invalid_pull_request_url",
                "pull_request_url is required",
            ));
        }
    };
    let (pull_request_url, repo, pr) = pull_request(url, web_url)?;
    Ok(ReviewBody {
        pull_request_url,
        repo,
        pr,
        focus_areas: focus_areas(&fields)?,
        full: flag(&fields, "full", false)?,
        post: flag(&fields, "post", true)?,
    })
}

fn flag(fields: &Map<String, Value>, name: &'static str, default: bool) -> Result<bool, Refusal> {
    match fields.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(refuse(
            "invalid_field",
            format!("{name} must be true or false"),
        )),
    }
}

fn focus_areas(fields: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
    let invalid = |message: String| refuse("invalid_focus_areas", message);
    let items = match fields.get("focus_areas") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("focus_areas must be an array of strings".into())),
    };
    let mut areas: Vec<String> = Vec::new();
    for item in items {
        let Value::String(area) = item else {
            return Err(invalid("focus_areas must be an array of strings".into()));
        };
        let Some(area) = focus_area(area.trim()) else {
            return Err(invalid(format!(
                "the focus area {item} must be one word of 1 to {MAX_FOCUS_AREA_LEN} letters, digits, - or _"
            )));
        };
        if !areas.contains(&area) {
            areas.push(area);
        }
    }
    if areas.len() > MAX_FOCUS_AREAS {
        return Err(invalid(format!(
            "at most {MAX_FOCUS_AREAS} focus areas, not {}",
            areas.len()
        )));
    }
    Ok(areas)
}

/// `https://HOST/OWNER/REPO/pull/NUMBER[/files...]` on `web_url`'s host, normalised.
fn pull_request(raw: &str, web_url: &str) -> Result<(String, RepoName, PrNumber), Refusal> {
    let invalid = |why: String| refuse("invalid_pull_request_url", why);
    let expected = "expected GITHUB/OWNER/REPO/pull/NUMBER";
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| invalid(format!("pull_request_url is not a URL ({expected})")))?;
    let web =
        reqwest::Url::parse(web_url).map_err(|_| invalid("GITHUB_URL is not a URL".into()))?;
    let origin = |u: &reqwest::Url| {
        (
            u.scheme().to_owned(),
            u.host_str().map(str::to_ascii_lowercase),
            u.port_or_known_default(),
        )
    };
    if origin(&url) != origin(&web) {
        return Err(refuse(
            "foreign_host",
            format!(
                "pull_request_url is on {}, but this service reviews pull requests on {} (GITHUB_URL)",
                url.host_str().unwrap_or("no host"),
                web_url
            ),
        ));
    }
    // An Enterprise Server may live under a path prefix.
    let base_path = web.path().trim_end_matches('/');
    let rest = url.path().strip_prefix(base_path).ok_or_else(|| {
        invalid(format!(
            "pull_request_url is not a pull request ({expected})"
        ))
    })?;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [owner, name, "pull", number, tail @ ..] if tail.len() <= 1 => {
            let repo = RepoName::parse(&format!("{owner}/{name}")).ok_or_else(|| {
                invalid(format!(
                    "{owner}/{name} is not a repository name ({expected})"
                ))
            })?;
            let pr = number
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid(format!("{number} is not a pull request number")))?;
            let normal = format!("{}/{repo}/pull/{pr}", web_url.trim_end_matches('/'));
            Ok((normal, repo, PrNumber(pr)))
        }
        _ => Err(invalid(format!(
            "pull_request_url is not a pull request ({expected})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &str = "https://github.com";

    fn code(body: &str) -> &'static str {
        parse(body.as_bytes(), WEB).unwrap_err().code
    }

    #[test]
    fn a_pull_request_url_is_normalised_and_the_defaults_apply() {
        let body = parse(
            br#"{"pull_request_url": "https://github.com/Octo/hello/pull/42/files", "focus_areas": ["Security", "security", "perf"]}"#,
            WEB,
        )
        .unwrap();
        assert_eq!(
            body.pull_request_url,
            "https://github.com/Octo/hello/pull/42"
        );
        assert_eq!(body.repo.as_str(), "Octo/hello");
        assert_eq!(body.pr, PrNumber(42));
        assert_eq!(body.focus_areas, ["security", "perf"]);
        assert!(body.post && !body.full);
        let same = parse(
            br#"{"focus_areas": ["security", "perf"], "pull_request_url": "https://github.com/Octo/hello/pull/42", "post": true}"#,
            WEB,
        )
        .unwrap();
        assert_eq!(same.hash(), body.hash());
        let other = parse(
            br#"{"pull_request_url": "https://github.com/Octo/hello/pull/42", "post": false}"#,
            WEB,
        )
        .unwrap();
        assert_ne!(other.hash(), body.hash());
    }

    #[test]
    fn refusals_name_the_field_and_the_reason() {
        let err = parse(br#"{"pull_request_url": "https://github.com/a/b/pull/1", "model": "x", "temperature": 1}"#, WEB).unwrap_err();
        assert_eq!(err.code, "unknown_fields");
        assert!(
            err.message.contains("model, temperature"),
            "{}",
            err.message
        );
        let err = parse(
            br#"{"pull_request_url": "https://github.com/a/b/pull/1", "sandbox_config": {}}"#,
            WEB,
        )
        .unwrap_err();
        assert!(err.message.contains("never runs repository code"));
        assert_eq!(
            code(r#"{"pull_request_url": "https://gitlab.com/a/b/pull/1"}"#),
            "foreign_host"
        );
        assert_eq!(
            code(r#"{"pull_request_url": "http://github.com/a/b/pull/1"}"#),
            "foreign_host"
        );
        assert_eq!(
            code(r#"{"pull_request_url": "https://github.com/a/b/issues/1"}"#),
            "invalid_pull_request_url"
        );
        assert_eq!(
            code(r#"{"pull_request_url": "https://github.com/a/b/pull/0"}"#),
            "invalid_pull_request_url"
        );
        assert_eq!(
            code(r#"{"pull_request_url": "not a url"}"#),
            "invalid_pull_request_url"
        );
        assert_eq!(code(r#"{}"#), "invalid_pull_request_url");
        assert_eq!(code(r#"[1]"#), "invalid_json");
        assert_eq!(
            code(r#"{"pull_request_url": "https://github.com/a/b/pull/1", "post": "yes"}"#),
            "invalid_field"
        );
        assert_eq!(
            code(
                r#"{"pull_request_url": "https://github.com/a/b/pull/1", "focus_areas": ["two words"]}"#
            ),
            "invalid_focus_areas"
        );
        let ghes = parse(
            br#"{"pull_request_url": "https://ghe.example.com/a/b/pull/3"}"#,
            "https://ghe.example.com",
        )
        .unwrap();
        assert_eq!(ghes.pull_request_url, "https://ghe.example.com/a/b/pull/3");
    }
}
