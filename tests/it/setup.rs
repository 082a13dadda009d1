//! Setup mode: from no settings to a registered App through GitHub's manifest flow, against a
//! fake github.com, and on to normal mode on the same address without a restart.

use crate::support;
use std::collections::HashMap;
use std::sync::Arc;

use codex_review::app;
use codex_review::settings::{Settings, Startup};
use serde_json::Value;
use support::*;

const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

type Env = Arc<HashMap<&'static str, String>>;

/// The environment of a first start: no App settings, fakes for GitHub and OpenAI.
fn first_start(github: &FakeGitHub, openai: &FakeOpenAi, dir: &tempfile::TempDir) -> Env {
    Arc::new(HashMap::from([
        ("LISTEN_ADDR", "127.0.0.1:0".to_string()),
        ("GITHUB_URL", github.base_url.clone()),
        ("GITHUB_API_URL", github.base_url.clone()),
        ("OPENAI_API_KEY", fake_openai::API_KEY.to_string()),
        ("OPENAI_BASE_URL", openai.base_url.clone()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("data/codex.db").display()),
        ),
        ("CODEX_REVIEW_REDELIVER_HOURS", "0".to_string()),
        (
            "CODEX_REVIEW_SNAPSHOT_DIR",
            dir.path().join("snapshots").display().to_string(),
        ),
        ("CODEX_REVIEW_INSTANCE", "setup-test".to_string()),
    ]))
}

async fn start_setup(env: &Env) -> app::Setup {
    install_crypto();
    let lookup = env.clone();
    let Startup::Setup(setup) = Startup::from_lookup(&|k| lookup.get(k).cloned()).unwrap() else {
        panic!("expected setup mode without App settings");
    };
    let reload = env.clone();
    app::start_setup(
        setup,
        move || Settings::with_credentials(&|k| reload.get(k).cloned()),
        Options::default().tuning,
    )
    .await
    .unwrap()
}

/// A client that does not follow redirects (each hop is checked).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `attr` in the first tag that contains `marker`.
pub(crate) fn attr(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    let tag = &html[start..end];
    let key = format!("{attr}=\"");
    let from = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} in {tag}"))
        + key.len();
    let len = tag[from..].find('"').unwrap();
    unescape(&tag[from..from + len])
}

/// Opens the confirmation page for `query` and submits its form to the fake github.com;
/// returns the manifest, where GitHub sends the person back, and the cookie the page set.
pub(crate) async fn register(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    query: &str,
) -> (Value, String, String) {
    let res = http
        .get(format!("{base}/setup?key={key}&{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/setup"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let action = attr(&html, "id=\"manifest-form\"", "action");
    assert!(
        csp.contains(&format!(
            "form-action 'self' {}",
            action
                .split("/settings")
                .next()
                .unwrap()
                .split("/organizations")
                .next()
                .unwrap()
        )),
        "{csp}"
    );
    let manifest = attr(&html, "name=\"manifest\"", "value");
    let parsed: Value = serde_json::from_str(&manifest).unwrap();
    let res = http
        .post(&action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("manifest", &manifest)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "{:?}", res.text().await);
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    (parsed, back, cookie)
}

/// GitHub's redirect back to the service, followed by the browser that opened the page.
pub(crate) async fn come_back(
    http: &reqwest::Client,
    back: &str,
    cookie: &str,
) -> reqwest::Response {
    http.get(back)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn param(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn the_manifest_flow_registers_the_app_and_the_service_goes_on_without_a_restart() {
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = first_start(&github, &openai, &dir);
    let setup = start_setup(&env).await;
    let base = format!("http://{}", setup.addr);
    let http = browser();

    // `/` leads to the setup page, which asks for the public URL, prefilled with its own.
    let res = http.get(format!("{base}/")).send().await.unwrap();
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/setup");
    let html = http
        .get(format!("{base}/setup?key={}", setup.key))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(attr(&html, "id=\"public_url\"", "value"), base);
    assert!(!html.contains("openai-missing"));
    // Through a proxy (another machine), the page wants the key printed at start.
    let proxied = |query: &str| {
        http.get(format!("{base}/setup{query}"))
            .header("x-forwarded-for", "203.0.113.9")
    };
    let res = proxied("").send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("one-time key"));
    let res = proxied("?key=0000").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = proxied(&format!("?key={}", setup.key))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(attr(&html, "name=\"key\"", "value"), setup.key);
    // A bad address is named, and nothing goes to GitHub.
    let res = http
        .get(format!(
            "{base}/setup?key={}&public_url=ftp%3A%2F%2Fx",
            setup.key
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("public URL"));

    // An organisation's App: the form posts to the organisation's page, with the addresses.
    let (manifest, back, cookie) = register(
        &http,
        &base,
        &setup.key,
        "public_url=https%3A%2F%2Freview.example.com%2F&org=acme&name=codex-review-first",
    )
    .await;
    assert_eq!(
        manifest["hook_attributes"]["url"],
        "https://review.example.com/webhook"
    );
    assert_eq!(manifest["url"], "https://review.example.com");
    // A public URL GitHub cannot reach is flagged (and still allowed).
    let html = http
        .get(format!(
            "{base}/setup?key={}&public_url=http%3A%2F%2Flocalhost%3A3000",
            setup.key
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"unreachable\""), "{html}");
    assert_eq!(manifest["redirect_url"], format!("{base}/setup/callback"));
    assert_eq!(github.state().manifest_apps[0].org.as_deref(), Some("acme"));
    assert!(back.starts_with(&format!("{base}/setup/callback?code=")));
    let code = param(&back, "code");
    assert_eq!(param(&back, "state").len(), 32);

    // A wrong state is refused before the code is used.
    let res = http
        .get(format!(
            "{base}/setup/callback?code={code}&state=0123456789abcdef"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("state does not match"));
    assert!(!github.state().manifest_apps[0].converted);
    let credentials = dir.path().join("data/codex-review.credentials.json");
    assert!(!credentials.exists());

    // The right state from another browser (no cookie, or another page's): refused, and
    // neither the code nor the state is used up.
    let res = http.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("another browser"));
    let res = come_back(&http, &back, "codex_review_setup=0123").await;
    assert_eq!(res.status(), 400);
    assert!(!github.state().manifest_apps[0].converted);

    // An expired code: GitHub's 404, explained.
    github.expire_manifest_codes();
    let res = come_back(&http, &back, &cookie).await;
    assert_eq!(res.status(), 400);
    let text = res.text().await.unwrap();
    assert!(text.contains("within an hour"), "{text}");
    assert!(!credentials.exists());
    // The state was used up with it.
    let res = come_back(&http, &back, &cookie).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("state does not match"));

    // Again, on the person's own account: the App is created and its credentials written.
    let (_, back, cookie) = register(
        &http,
        &base,
        &setup.key,
        "public_url=https%3A%2F%2Freview.example.com",
    )
    .await;
    let res = come_back(&http, &back, &cookie).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let install = attr(&html, "id=\"install\"", "href");
    assert!(install.ends_with("/installations/new"), "{install}");
    assert!(install.contains("/apps/codex-review-review"), "{install}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the credentials file must be private");
    }
    let stored: Value = serde_json::from_slice(&std::fs::read(&credentials).unwrap()).unwrap();
    let secret = github.state().manifest_apps[1].webhook_secret.clone();
    assert_eq!(stored["app_id"], APP_ID);
    assert_eq!(stored["webhook_secret"], secret.as_str());
    assert_eq!(stored["private_key"], PRIVATE_KEY);

    // Normal mode on the same address, without a restart: the setup routes are gone, and a
    // delivery signed with the new secret is reviewed.
    let running = setup.configured().await.unwrap().expect("normal mode");
    assert_eq!(running.addr.to_string(), base.trim_start_matches("http://"));
    for path in ["/setup", "/setup/callback?code=x&state=y", "/"] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    github.add_pull(Pull::new(
        REPO,
        12,
        HEAD,
        vec![File::new(
            "src/lib.rs",
            "modified",
            Some("@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}"),
        )],
    ));
    openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    let body = serde_json::to_vec(&comment_payload(12, "@codex review", "MEMBER")).unwrap();
    let res = http
        .post(format!("{base}/webhook"))
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", "5a1c0c00-0000-11ee-8000-000000000001")
        .header(
            "x-hub-signature-256",
            codex_review::server::sign(&secret, &body),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    wait_for("the review", || !github.reviews().is_empty()).await;
    assert_eq!(github.reviews()[0].comments.len(), 1);
    running.shutdown().await.unwrap();

    // The next start finds the file and skips setup.
    let lookup = env.clone();
    assert!(matches!(
        Startup::from_lookup(&|k| lookup.get(k).cloned()).unwrap(),
        Startup::Serve(_)
    ));
}

#[tokio::test]
async fn without_an_openai_key_the_page_says_how_to_set_it_and_the_service_stops_after_setup() {
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = (*first_start(&github, &openai, &dir)).clone();
    env.remove("OPENAI_API_KEY");
    env.insert("PUBLIC_URL", "https://public.example.org".into());
    let env = Arc::new(env);
    let setup = start_setup(&env).await;
    let base = format!("http://{}", setup.addr);
    let http = browser();
    let html = http
        .get(format!("{base}/setup?key={}", setup.key))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"openai-missing\""));
    assert!(html.contains("export OPENAI_API_KEY="));
    assert_eq!(
        attr(&html, "id=\"public_url\"", "value"),
        "https://public.example.org"
    );

    let (_, back, cookie) = register(
        &http,
        &base,
        &setup.key,
        "public_url=https%3A%2F%2Fpublic.example.org",
    )
    .await;
    let html = come_back(&http, &back, &cookie).await.text().await.unwrap();
    assert!(html.contains("set <code>OPENAI_API_KEY</code>"), "{html}");
    let Err(err) = setup.configured().await else {
        panic!("the service cannot run without OPENAI_API_KEY");
    };
    assert!(format!("{err:#}").contains("OPENAI_API_KEY"), "{err:#}");
    assert!(
        dir.path()
            .join("data/codex-review.credentials.json")
            .exists()
    );
}

#[test]
fn serve_without_settings_prints_where_the_setup_page_is() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_codex-review"))
        .arg("serve")
        .env_clear()
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/c.db", dir.path().display()),
        )
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    assert!(url.contains("/setup?key="), "{line}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let page = rt.block_on(async { reqwest::get(&url).await.unwrap().text().await.unwrap() });
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.contains("Public URL of this service"));
    assert!(page.contains("id=\"openai-missing\""));
}

/// A first start in setup mode against fresh fakes.
pub(crate) struct Fresh {
    pub github: FakeGitHub,
    pub openai: FakeOpenAi,
    pub dir: tempfile::TempDir,
    pub setup: app::Setup,
    /// The setup page's address (`http://127.0.0.1:PORT`).
    pub base: String,
}

pub(crate) async fn fresh() -> Fresh {
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let setup = start_setup(&first_start(&github, &openai, &dir)).await;
    let base = format!("http://{}", setup.addr);
    Fresh {
        github,
        openai,
        dir,
        setup,
        base,
    }
}

#[tokio::test]
async fn every_visitor_needs_the_key_whatever_host_it_names() {
    let Fresh {
        github,
        openai,
        dir: _dir,
        setup,
        base,
    } = fresh().await;
    let http = browser();
    let port = setup.addr.port();
    // Every connection here comes from loopback, as through `ssh -R`, `ngrok tcp` (which pass
    // the visitor's own `Host`) or nginx's default `proxy_pass http://127.0.0.1:3000` (which
    // sends `Host: 127.0.0.1:3000` and no forwarding header): no host opens the page.
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "localhost".to_owned(),
        "127.0.0.1:3000".to_owned(),
        format!("[::1]:{port}"),
        "review.example.test".to_owned(),
        format!("review.example.test:{port}"),
        "127.0.0.1.nip.io".to_owned(),
    ] {
        for query in [
            "".to_owned(),
            "?public_url=https%3A%2F%2Freview.example.test".to_owned(),
            "?key=".to_owned(),
            format!("?key={}x", setup.key),
            format!("?key={}", &setup.key[..setup.key.len() - 1]),
        ] {
            let res = http
                .get(format!("{base}/setup{query}"))
                .header("host", &host)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "{host}{query}");
            assert!(res.headers().get("set-cookie").is_none(), "{host}{query}");
            let html = res.text().await.unwrap();
            // No form and no state: only where the address with the key is.
            assert!(!html.contains("<form"), "{host}{query}: {html}");
            assert!(!html.contains("manifest"), "{host}{query}");
            assert!(!html.contains(&setup.key), "{host}{query}");
            for place in ["one-time key", "/setup?key=", "fly logs", "docker logs"] {
                assert!(
                    html.contains(place),
                    "{host}{query}: no {place:?} in {html}"
                );
            }
        }
        let res = http
            .get(format!("{base}/setup?key={}", setup.key))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{host} with the key");
        let html = res.text().await.unwrap();
        assert_eq!(attr(&html, "name=\"key\"", "value"), setup.key);
    }
    assert!(github.state().manifest_apps.is_empty());
    assert!(github.state().violations.is_empty());
    assert!(openai.state().violations.is_empty());
}

#[tokio::test]
async fn two_callbacks_at_once_exchange_one_code_and_write_the_file_once() {
    let Fresh {
        github,
        openai,
        dir,
        setup,
        base,
    } = fresh().await;
    let http = browser();
    let (_, first, first_cookie) = register(
        &http,
        &base,
        &setup.key,
        "public_url=https%3A%2F%2Freview.example.com&name=codex-review-one",
    )
    .await;
    let (_, second, second_cookie) = register(
        &http,
        &base,
        &setup.key,
        "public_url=https%3A%2F%2Freview.example.com&name=codex-review-two",
    )
    .await;
    // GitHub answers slowly: both callbacks are in flight together.
    github.state().delay = std::time::Duration::from_millis(300);
    let (a, b) = tokio::join!(
        come_back(&http, &first, &first_cookie),
        come_back(&http, &second, &second_cookie)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(matches!(statuses[1], 404 | 409), "{statuses:?}");
    let converted: Vec<_> = github
        .state()
        .manifest_apps
        .iter()
        .filter(|a| a.converted)
        .map(|a| a.webhook_secret.clone())
        .collect();
    assert_eq!(converted.len(), 1, "one code exchanged");
    let stored: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("data/codex-review.credentials.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["webhook_secret"], converted[0].as_str());
    github.state().delay = std::time::Duration::ZERO;
    let running = setup.configured().await.unwrap().expect("normal mode");
    running.shutdown().await.unwrap();
    assert!(github.state().violations.is_empty());
    assert!(openai.state().violations.is_empty());
}
