//! The setup pages: plain forms that work without script.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::manifest::Choice;
use crate::github::GitHubError;
use crate::server::html::page;
use crate::settings::SetupSettings;
use crate::settings::credentials::Credentials;

const TITLE: &str = "Set up codex-review";

/// What is missing besides the App, shown on every setup page.
fn notices(settings: &SetupSettings) -> Markup {
    html! {
        @if settings.openai_key_missing {
            div.box.bad id="openai-missing" {
                strong { "OPENAI_API_KEY is not set." }
                " Reviews need it. Create a key at platform.openai.com (API keys), then start the \
                 service with it: " code { "export OPENAI_API_KEY=sk-..." } " before "
                code { "codex-review serve" } " (on Fly.io: "
                code { "fly secrets set OPENAI_API_KEY=sk-..." }
                "). You can register the App first; it is kept."
            }
        }
    }
}

/// `GET /setup`: the public address, an organisation, a name.
pub fn ask(
    settings: &SetupSettings,
    key: &str,
    public_url: &str,
    org: &str,
    name: &str,
    problem: Option<&str>,
    pull: bool,
) -> Response {
    let status = match problem {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    let body = html! {
        h1 { (TITLE) }
        (notices(settings))
        @if let Some(problem) = problem {
            div.box.bad id="problem" { (problem) }
        }
        p {
            "This service has no GitHub App yet. Register one on " (settings.web_url)
            " in two steps: say where GitHub can reach this service, then confirm on GitHub. \
             The App's id, private key and webhook secret come back here and are written to "
            code { (settings.credentials_path.display()) } "."
        }
        form method="get" action="/setup" {
            input type="hidden" name="key" value=(key);
            p {
                label for="public_url" { "Public URL of this service" }
                input type="url" id="public_url" name="public_url" value=(public_url) required;
                span.muted {
                    "GitHub sends webhooks to this address plus " code { "/webhook" }
                    "; it must be reachable from GitHub (HTTPS through a proxy, Fly.io or a \
                     tunnel)."
                }
            }
            p {
                label for="org" { "Organisation (optional)" }
                input type="text" id="org" name="org" value=(org) autocomplete="off";
                span.muted { "Leave empty to register the App on your own account." }
            }
            p {
                label {
                    input type="checkbox" id="pull" name="pull" value="1" checked[pull];
                    " GitHub cannot reach this machine: the service will fetch its deliveries \
                     instead"
                }
                span.muted {
                    "No public address, a laptop, a corporate network: GitHub logs each webhook \
                     delivery it cannot send, and the service reads that log every few seconds. \
                     Leave the public URL as it is."
                }
            }
            p {
                label for="name" { "App name (optional)" }
                input type="text" id="name" name="name" value=(name) maxlength="34"
                    autocomplete="off";
                span.muted {
                    "Unique on GitHub; by default codex-review- and the organisation or host."
                }
            }
            p { button type="submit" { "Continue" } }
        }
    };
    page(status, TITLE, body, "'self'")
}

/// `GET /setup?public_url=...`: the manifest, posted to GitHub by the button.
pub fn confirm(
    settings: &SetupSettings,
    key: &str,
    choice: &Choice,
    manifest: &Value,
    target: &str,
) -> Response {
    let permissions: Vec<(&str, &str)> = manifest["default_permissions"]
        .as_object()
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    let hook = format!("{}/webhook", choice.public_url);
    let body = html! {
        h1 { (TITLE) }
        (notices(settings))
        @if choice.pull {
            div.box id="pull-mode" {
                strong {
                    "GitHub cannot reach this machine: the service will fetch its deliveries \
                     instead."
                }
                " The App is registered with the webhook " code { (hook) }
                ", which GitHub will log but cannot reach; the service reads the App's delivery \
                 log every few seconds (" code { "CODEX_REVIEW_DELIVERIES=pull" }
                ", kept in the credentials file), so reviews start within seconds of a comment, \
                 with no public address."
            }
        } @else if unreachable(&choice.public_url) {
            div.box.bad id="unreachable" {
                "GitHub cannot deliver webhooks to " code { (choice.public_url) }
                ": that address is not reachable from the internet. Use the service's public \
                 address (a tunnel while you try it out), or change the App's webhook URL on \
                 GitHub later."
            }
        }
        p {
            "GitHub will create the App " strong { (choice.name) } " on "
            @match &choice.org {
                Some(org) => { "the organisation " strong { (org) } },
                None => "your account",
            }
            ", with its webhook at " code { (hook) } " and these permissions: "
            @for (i, (name, access)) in permissions.iter().enumerate() {
                @if i > 0 { ", " }
                (name) ": " (access)
            }
            ". GitHub then sends you back here."
        }
        form method="post" action=(target) id="manifest-form" {
            input type="hidden" name="manifest" value=(manifest.to_string());
            p { button type="submit" { "Create the GitHub App on GitHub" } }
        }
        p { a href={ "/setup?key=" (key) } { "Change the address" } }
    };
    // The manifest form posts to GitHub; nothing else may be a form target.
    let action = format!("'self' {}", settings.web_url);
    page(StatusCode::OK, TITLE, body, &action)
}

/// Whether GitHub cannot reach `public_url`: a loopback, private or link-local address, or a
/// local name.
fn unreachable(public_url: &str) -> bool {
    reqwest::Url::parse(public_url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
        })
        .is_some_and(|host| match host.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => {
                ip.is_loopback() || ip.is_private() || ip.is_link_local()
            }
            Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || ip.is_unique_local(),
            Err(_) => {
                host == "localhost" || host.ends_with(".localhost") || host.ends_with(".local")
            }
        })
}

/// Opened without the one-time key printed at start: where to find the address that has it.
/// No form and no `state` are handed out.
pub fn needs_key(settings: &SetupSettings) -> Response {
    let body = html! {
        h1 { (TITLE) }
        (notices(settings))
        div.box.bad id="problem" {
            "This page registers the service's GitHub App, so it opens only with the one-time \
             key the service printed when it started. Open the whole address it printed, which \
             ends in " code { "/setup?key=..." } ":"
        }
        ul id="where-the-key-is" {
            li {
                "started in a terminal: the line "
                code { "no GitHub App configured yet; open ..." } " in that terminal;"
            }
            li { "on Fly.io: " code { "fly logs" } ";" }
            li {
                "in Docker: " code { "docker logs CONTAINER" } " (or "
                code { "docker compose logs" } ")."
            }
        }
        p { "A new key is made at every start: restart the service to print a fresh address." }
    };
    page(StatusCode::FORBIDDEN, TITLE, body, "'self'")
}

/// A refusal or failure that leaves nothing to do but start again.
pub fn failed(settings: &SetupSettings, status: StatusCode, problem: &str) -> Response {
    let body = html! {
        h1 { (TITLE) }
        (notices(settings))
        div.box.bad id="problem" { (problem) }
        p { a href="/setup" { "Start again" } }
    };
    page(status, TITLE, body, "'self'")
}

/// The credentials file cannot be written: said before GitHub creates anything.
pub fn cannot_write(settings: &SetupSettings, error: &std::io::Error) -> Response {
    failed(
        settings,
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!(
            "The credentials file {} cannot be written ({error}). Set \
             CODEX_REVIEW_CREDENTIALS_FILE to a writable path (or make its directory writable) \
             and start the service again.",
            settings.credentials_path.display()
        ),
    )
}

/// GitHub did not give the credentials for the code.
pub fn not_converted(settings: &SetupSettings, error: &GitHubError, advice: &str) -> Response {
    let status = match error {
        GitHubError::Api { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    failed(
        settings,
        status,
        &format!("{advice} ({})", crate::error_chain::chain(error)),
    )
}

/// The App exists but its credentials could not be written.
pub fn unsaved(settings: &SetupSettings, app: &Credentials, error: &str) -> Response {
    failed(
        settings,
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!(
            "GitHub created the App {} (id {}), but {} could not be written ({error}). On the \
             App's settings page, generate a private key and set a webhook secret, then start \
             the service with GITHUB_APP_ID, GITHUB_PRIVATE_KEY_PATH and GITHUB_WEBHOOK_SECRET.",
            app.html_url,
            app.app_id,
            settings.credentials_path.display()
        ),
    )
}

/// Done: the App exists, its credentials are written, and it can be installed.
pub fn created(settings: &SetupSettings, app: &Credentials) -> Response {
    let install = format!("{}/installations/new", app.html_url.trim_end_matches('/'));
    let slug = if app.slug.is_empty() {
        &app.html_url
    } else {
        &app.slug
    };
    let body = html! {
        h1 { "The GitHub App is ready" }
        (notices(settings))
        p {
            "GitHub created " a href=(app.html_url) { (slug) } " (App id " (app.app_id)
            "). Its id, private key and webhook secret are in "
            code { (settings.credentials_path.display()) }
            ", readable by this user only; keep the file with the database (settings in the \
             environment take precedence over it)."
        }
        @if settings.openai_key_missing {
            p.bad id="next" {
                "The service stops now: set " code { "OPENAI_API_KEY" }
                " and start it again (it will find the credentials file and skip this page)."
            }
        } @else {
            p.good id="next" { "The service now runs with this App: no restart needed." }
        }
        p {
            a id="install" href=(install) { "Install the App on your repositories" }
            ", then comment " code { "@codex review" } " on a pull request."
        }
    };
    page(StatusCode::OK, "codex-review is set up", body, "'self'")
}
