//! The setup pages: plain forms that work without script.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::manifest::Choice;
use crate::github::GitHubError;
use crate::server::html::{escape, page};
use crate::settings::SetupSettings;
use crate::settings::credentials::Credentials;

const TITLE: &str = "Set up codex-review";

/// What is missing besides the App, shown on every setup page.
fn notices(settings: &SetupSettings) -> String {
    if !settings.openai_key_missing {
        return String::new();
    }
    "<div class=\"box bad\" id=\"openai-missing\"><strong>OPENAI_API_KEY is not set.</strong> \
Reviews need it. Create a key at platform.openai.com (API keys), then start the service with it: \
<code>export OPENAI_API_KEY=sk-...</code> before <code>codex-review serve</code> (on Fly.io: \
<code>fly secrets set OPENAI_API_KEY=sk-...</code>). You can register the App first; it is kept.</div>"
        .into()
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
    let (status, problem) = match problem {
        Some(p) => (
            StatusCode::BAD_REQUEST,
            format!("<div class=\"box bad\" id=\"problem\">{}</div>", escape(p)),
        ),
        None => (StatusCode::OK, String::new()),
    };
    let body = format!(
        "<h1>{TITLE}</h1>\n{notices}{problem}\
<p>This service has no GitHub App yet. Register one on {web} in two steps: say where GitHub can \
reach this service, then confirm on GitHub. The App's id, private key and webhook secret come \
back here and are written to <code>{path}</code>.</p>\n\
<form method=\"get\" action=\"/setup\">\n<input type=\"hidden\" name=\"key\" value=\"{key}\">\n\
<p><label for=\"public_url\">Public URL of this service</label>\
<input type=\"url\" id=\"public_url\" name=\"public_url\" value=\"{public_url}\" required>\
<span class=\"muted\">GitHub sends webhooks to this address plus <code>/webhook</code>; it must be \
reachable from GitHub (HTTPS through a proxy, Fly.io or a tunnel).</span></p>\n\
<p><label for=\"org\">Organisation (optional)</label>\
<input type=\"text\" id=\"org\" name=\"org\" value=\"{org}\" autocomplete=\"off\">\
<span class=\"muted\">Leave empty to register the App on your own account.</span></p>\n\
<p><label><input type=\"checkbox\" id=\"pull\" name=\"pull\" value=\"1\"{pull}> GitHub cannot \
reach this machine: the service will fetch its deliveries instead</label>\
<span class=\"muted\">No public address, a laptop, a corporate network: GitHub logs each webhook \
delivery it cannot send, and the service reads that log every few seconds. Leave the public URL as \
it is.</span></p>\n\
<p><label for=\"name\">App name (optional)</label>\
<input type=\"text\" id=\"name\" name=\"name\" value=\"{name}\" maxlength=\"34\" autocomplete=\"off\">\
<span class=\"muted\">Unique on GitHub; by default codex-review- and the organisation or host.</span></p>\n\
<p><button type=\"submit\">Continue</button></p>\n</form>",
        notices = notices(settings),
        key = escape(key),
        pull = if pull { " checked" } else { "" },
        web = escape(&settings.web_url),
        path = escape(&settings.credentials_path.display().to_string()),
        public_url = escape(public_url),
        org = escape(org),
        name = escape(name),
    );
    page(status, TITLE, &body, "'self'")
}

/// `GET /setup?public_url=...`: the manifest, posted to GitHub by the button.
pub fn confirm(
    settings: &SetupSettings,
    key: &str,
    choice: &Choice,
    manifest: &Value,
    target: &str,
) -> Response {
    let owner = match &choice.org {
        Some(org) => format!("the organisation <strong>{}</strong>", escape(org)),
        None => "your account".into(),
    };
    let permissions = manifest["default_permissions"]
        .as_object()
        .map(|p| {
            p.iter()
                .map(|(k, v)| format!("{}: {}", escape(k), escape(v.as_str().unwrap_or("?"))))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let unreachable = reqwest::Url::parse(&choice.public_url)
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
        });
    let warning = if choice.pull {
        format!(
            "<div class=\"box\" id=\"pull-mode\"><strong>GitHub cannot reach this machine: the \
service will fetch its deliveries instead.</strong> The App is registered with the webhook \
<code>{}</code>, which GitHub will log but cannot reach; the service reads the App's delivery \
log every few seconds (<code>CODEX_REVIEW_DELIVERIES=pull</code>, kept in the credentials \
file), so reviews start within seconds of a comment, with no public address.</div>\n",
            escape(&format!("{}/webhook", choice.public_url))
        )
    } else if unreachable {
        format!(
            "<div class=\"box bad\" id=\"unreachable\">GitHub cannot deliver webhooks to \
<code>{}</code>: that address is not reachable from the internet. Use the service's public \
address (a tunnel while you try it out), or change the App's webhook URL on GitHub later.</div>\n",
            escape(&choice.public_url)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{TITLE}</h1>\n{notices}{warning}\
<p>GitHub will create the App <strong>{name}</strong> on {owner}, with its webhook at \
<code>{hook}</code> and these permissions: {permissions}. GitHub then sends you back here.</p>\n\
<form method=\"post\" action=\"{target}\" id=\"manifest-form\">\n\
<input type=\"hidden\" name=\"manifest\" value=\"{manifest}\">\n\
<p><button type=\"submit\">Create the GitHub App on GitHub</button></p>\n</form>\n\
<p><a href=\"/setup?key={key}\">Change the address</a></p>",
        notices = notices(settings),
        name = escape(&choice.name),
        hook = escape(&format!("{}/webhook", choice.public_url)),
        target = escape(target),
        manifest = escape(&manifest.to_string()),
        key = escape(key),
    );
    // The manifest form posts to GitHub; nothing else may be a form target.
    let action = format!("'self' {}", settings.web_url);
    page(StatusCode::OK, TITLE, &body, &action)
}

/// Opened without the one-time key printed at start: where to find the address that has it.
/// No form and no `state` are handed out.
pub fn needs_key(settings: &SetupSettings) -> Response {
    let body = format!(
        "<h1>{TITLE}</h1>\n{notices}<div class=\"box bad\" id=\"problem\">This page registers \
the service's GitHub App, so it opens only with the one-time key the service printed when it \
started. Open the whole address it printed, which ends in <code>/setup?key=...</code>:</div>\n\
<ul id=\"where-the-key-is\">\n\
<li>started in a terminal: the line <code>no GitHub App configured yet; open ...</code> in \
that terminal;</li>\n\
<li>on Fly.io: <code>fly logs</code>;</li>\n\
<li>in Docker: <code>docker logs CONTAINER</code> (or <code>docker compose logs</code>).</li>\n\
</ul>\n\
<p>A new key is made at every start: restart the service to print a fresh address.</p>",
        notices = notices(settings),
    );
    page(StatusCode::FORBIDDEN, TITLE, &body, "'self'")
}

/// A refusal or failure that leaves nothing to do but start again.
pub fn failed(settings: &SetupSettings, status: StatusCode, problem: &str) -> Response {
    let body = format!(
        "<h1>{TITLE}</h1>\n{notices}<div class=\"box bad\" id=\"problem\">{problem}</div>\n\
<p><a href=\"/setup\">Start again</a></p>",
        notices = notices(settings),
        problem = escape(problem),
    );
    page(status, TITLE, &body, "'self'")
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
    failed(settings, status, &format!("{advice} ({error})"))
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
    let next = if settings.openai_key_missing {
        "<p class=\"bad\" id=\"next\">The service stops now: set <code>OPENAI_API_KEY</code> and \
start it again (it will find the credentials file and skip this page).</p>"
    } else {
        "<p class=\"good\" id=\"next\">The service now runs with this App: no restart needed.</p>"
    };
    let install = format!("{}/installations/new", app.html_url.trim_end_matches('/'));
    let body = format!(
        "<h1>The GitHub App is ready</h1>\n{notices}\
<p>GitHub created <a href=\"{html}\">{slug}</a> (App id {id}). Its id, private key and webhook \
secret are in <code>{path}</code>, readable by this user only; keep the file with the database \
(settings in the environment take precedence over it).</p>\n{next}\n\
<p><a id=\"install\" href=\"{install}\">Install the App on your repositories</a>, then comment \
<code>@codex review</code> on a pull request.</p>",
        notices = notices(settings),
        html = escape(&app.html_url),
        slug = escape(if app.slug.is_empty() {
            &app.html_url
        } else {
            &app.slug
        }),
        id = app.app_id,
        path = escape(&settings.credentials_path.display().to_string()),
        install = escape(&install),
    );
    page(StatusCode::OK, "codex-review is set up", &body, "'self'")
}
