//! The App's manifest for GitHub's manifest flow: `app-manifest.yml` with the service's
//! addresses filled in, and the checks on what the setup form sends.

use serde_json::{Value, json};

/// The manifest shipped with the service (the same file the README documents).
const MANIFEST: &str = include_str!("../../../app-manifest.yml");

/// GitHub's longest App name.
const MAX_NAME: usize = 34;

/// What the person filled in, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The service's public address, without a trailing slash.
    pub public_url: String,
    /// The organisation that will own the App; `None`: the person's own account.
    pub org: Option<String>,
    /// The App's name on GitHub (unique there).
    pub name: String,
    /// GitHub cannot reach the service: it reads the App's delivery log instead (pull mode).
    pub pull: bool,
}

/// What is wrong with a field of the setup form: its text says which field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("The public URL “{url}”: {why}.")]
    PublicUrl { url: String, why: &'static str },
    #[error("The organisation “{0}” is not a GitHub login (letters, digits and single hyphens).")]
    Org(String),
    #[error("The App's name must be 1 to {} characters.", MAX_NAME)]
    Name,
}

/// Why the shipped manifest cannot be used (a broken build).
#[derive(Debug, thiserror::Error)]
pub enum ShippedManifestError {
    #[error("app-manifest.yml cannot be read")]
    Unreadable(#[source] serde_saphyr::Error),
    #[error("app-manifest.yml is not a mapping")]
    NotAMapping,
}

/// Checks the form's fields; the error says which field and why.
pub fn choose(public_url: &str, org: &str, name: &str, pull: bool) -> Result<Choice, FieldError> {
    let public_url = public_address(public_url)?;
    let org = org.trim();
    let org = if org.is_empty() {
        None
    } else if is_login(org) {
        Some(org.to_owned())
    } else {
        return Err(FieldError::Org(org.to_owned()));
    };
    let name = match name.trim() {
        "" => default_name(&public_url, org.as_deref()),
        name if name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control) => {
            name.to_owned()
        }
        _ => return Err(FieldError::Name),
    };
    Ok(Choice {
        public_url,
        org,
        name,
        pull,
    })
}

/// An absolute http(s) address without query or fragment, returned without a trailing slash.
pub fn public_address(raw: &str) -> Result<String, FieldError> {
    let bad = |why| FieldError::PublicUrl {
        url: raw.trim().to_owned(),
        why,
    };
    let address = crate::settings::http_address(raw).map_err(bad)?;
    // GitHub would send webhooks with the credentials in the URL.
    if reqwest::Url::parse(&address).is_ok_and(|u| !u.username().is_empty()) {
        return Err(bad("must not carry a user name"));
    }
    Ok(address)
}

/// The name the form suggests: `codex-review-` and the organisation, or the public host's
/// first label.
pub fn default_name(public_url: &str, org: Option<&str>) -> String {
    let host = reqwest::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let label = org.map(str::to_owned).unwrap_or_else(|| {
        host.split('.')
            .next()
            .filter(|l| !l.is_empty() && l.parse::<u8>().is_err() && *l != "localhost")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{:04x}", fastrand::u16(..)))
    });
    let label: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = if label == "codex-review" {
        label
    } else {
        format!("codex-review-{label}")
    };
    name.chars().take(MAX_NAME).collect()
}

/// A GitHub login: letters, digits and single hyphens, not at either end, up to 39.
fn is_login(s: &str) -> bool {
    s.len() <= 39
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The manifest GitHub receives: the shipped one with the service's addresses and the name.
/// `redirect_url` is where GitHub sends the person back with the code.
pub fn build(choice: &Choice, redirect_url: &str) -> Result<Value, ShippedManifestError> {
    let mut manifest: Value =
        serde_saphyr::from_str(MANIFEST).map_err(ShippedManifestError::Unreadable)?;
    let Some(fields) = manifest.as_object_mut() else {
        return Err(ShippedManifestError::NotAMapping);
    };
    fields.insert("name".into(), json!(choice.name));
    fields.insert("url".into(), json!(choice.public_url));
    fields.insert("redirect_url".into(), json!(redirect_url));
    fields.insert(
        "hook_attributes".into(),
        json!({"url": format!("{}/webhook", choice.public_url), "active": true}),
    );
    Ok(manifest)
}

/// Where the manifest form posts: the person's or the organisation's "new App" page.
pub fn form_target(web_url: &str, org: Option<&str>, state: &str) -> String {
    match org {
        Some(org) => format!("{web_url}/organizations/{org}/settings/apps/new?state={state}"),
        None => format!("{web_url}/settings/apps/new?state={state}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_carries_the_public_address_and_the_callback() {
        let choice = choose("https://review.acme.dev/", "acme", "", false).unwrap();
        assert_eq!(choice.name, "codex-review-acme");
        let m = build(&choice, "http://localhost:3000/setup/callback").unwrap();
        assert_eq!(m["url"], "https://review.acme.dev");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://review.acme.dev/webhook"
        );
        assert_eq!(m["redirect_url"], "http://localhost:3000/setup/callback");
        assert_eq!(m["public"], false);
        assert_eq!(m["default_permissions"]["pull_requests"], "write");
        let events: Vec<&str> = m["default_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(events.contains(&"issue_comment") && events.contains(&"pull_request"));
        assert_eq!(
            form_target("https://github.com", Some("acme"), "s1"),
            "https://github.com/organizations/acme/settings/apps/new?state=s1"
        );
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(
            choose("ftp://x", "", "", false)
                .unwrap_err()
                .to_string()
                .contains("public URL")
        );
        assert!(
            choose("https://x.dev?a=1", "", "", false)
                .unwrap_err()
                .to_string()
                .contains("query")
        );
        assert!(
            choose("https://x.dev", "bad org", "", false)
                .unwrap_err()
                .to_string()
                .contains("organisation")
        );
        assert!(
            choose("https://x.dev", "", &"n".repeat(35), false)
                .unwrap_err()
                .to_string()
                .contains("name")
        );
        assert_eq!(
            choose("https://review.acme.dev", "", "", false)
                .unwrap()
                .name,
            "codex-review-review"
        );
        assert!(
            choose("http://127.0.0.1:3000", "", "", false)
                .unwrap()
                .name
                .starts_with("codex-review-")
        );
    }
}
