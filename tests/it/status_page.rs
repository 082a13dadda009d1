//! The operator page: token checks over HTTP, and the page as a real headless browser
//! (Debian's chromium, driven through chromedriver) shows it after signing in with the form.

use crate::support;
use std::time::Duration;

use codex_review::store::{RunRecord, UsageRecord};
use serde_json::{Value, json};
use support::*;

const TOKEN: &str = "status-token-0123456789abcdef";
const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const DAY_MS: i64 = 86_400_000;

/// A service with the page on, one posted review, one failure and a month of earlier runs.
async fn busy_app() -> TestApp {
    let app = TestApp::start_with(Options {
        env: vec![("STATUS_TOKEN", TOKEN.to_owned())],
        ..Options::default()
    })
    .await;
    app.github.add_pull(Pull::new(
        REPO,
        3,
        HEAD,
        vec![File::new(
            "src/lib.rs",
            "modified",
            Some("@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}"),
        )],
    ));
    app.openai.push(Reply::Review(review_with(vec![
        finding("src/lib.rs", "RIGHT", 2, 2, 0, None),
        finding("src/lib.rs", "RIGHT", 2, 2, 2, None),
    ])));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(3, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    // The model refuses the key: a failure the PR is told about.
    app.openai.push(Reply::Error {
        status: 401,
        code: "invalid_api_key",
        retry_after: None,
    });
    app.deliver(
        "issue_comment",
        &comment_payload(3, "@codex review again", "MEMBER"),
    )
    .await;
    app.settle().await;
    // Earlier days, two other repositories.
    let now = codex_review::store::now_ms();
    for (i, repo) in ["acme/api", "acme/web", "acme/api"].iter().enumerate() {
        let finished = now - (i as i64 + 2) * DAY_MS;
        app.running()
            .store
            .record_run(&RunRecord {
                job_id: 900 + i as i64,
                repo: repo.to_string(),
                pr_number: 40 + i as i64,
                head_sha: Some(HEAD.into()),
                trigger_kind: "pull_request".into(),
                outcome: "posted".into(),
                detail: "posted review 1".into(),
                findings: [0, 1, 1, 0],
                model_calls: 2,
                input_tokens: 12_000,
                output_tokens: 900,
                cost_micros: Some(250_000 * (i as i64 + 1)),
                started_at: finished - 42_000,
                finished_at: finished,
                ..RunRecord::default()
            })
            .await
            .unwrap();
        // What those runs paid: the chart and the caps read the answers' usage.
        app.running()
            .store
            .record_usage(&UsageRecord {
                job_id: 900 + i as i64,
                installation_id: INSTALLATION as i64,
                repo: repo.to_string(),
                pr_number: 40 + i as i64,
                person: Some("octocat".into()),
                model: "gpt-5.1-codex".into(),
                purpose: "review".into(),
                input_tokens: 12_000,
                cached_tokens: 0,
                output_tokens: 900,
                reasoning_tokens: 0,
                cost_nanos: Some(250_000_000 * (i as i64 + 1)),
                billed_at: finished - 1_000,
            })
            .await
            .unwrap();
    }
    app
}

#[tokio::test]
async fn the_status_page_wants_its_token() {
    let app = busy_app().await;
    let (status, body) = app.get("/status").await;
    assert_eq!(status, 401);
    assert!(body.contains("action=\"/status/login\""));
    let res = app
        .http
        .get(format!("{}/status", app.url))
        .bearer_auth("status-token-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let res = app
        .http
        .get(format!("{}/status", app.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script"), "the page needs no script");
    assert_eq!(html.matches("class=\"review-row\"").count(), 5);
    assert!(
        html.contains("invalid_api_key") || html.contains("401"),
        "{html}"
    );
    // A wrong token through the form: 401 again, no cookie.
    let res = app
        .http
        .post(format!("{}/status/login", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(!res.headers().contains_key("set-cookie"));
    app.assert_no_violations();
    app.stop().await;
}

/// The session cookie for a login at `issued_ms` (the scheme `status/mod.rs` documents).
fn session_cookie(issued_ms: i64) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(TOKEN.as_bytes()).unwrap();
    mac.update(b"codex-review status session v2\0");
    mac.update(issued_ms.to_string().as_bytes());
    format!(
        "codex_review_status={issued_ms}.{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn a_session_lasts_twelve_hours_and_signing_out_ends_it() {
    let app = busy_app().await;
    let status = |cookie: String| {
        let req = app.http.get(format!("{}/status", app.url));
        async move { req.header("cookie", cookie).send().await.unwrap().status() }
    };
    // A browser that shows each answer (no redirect followed).
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = browser
        .post(format!("{}/status/login", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("Max-Age=43200") && set.contains("HttpOnly"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let issued: i64 = cookie
        .trim_start_matches("codex_review_status=")
        .split('.')
        .next()
        .unwrap()
        .parse()
        .expect("the cookie carries its issue time");
    assert_eq!(session_cookie(issued), cookie);
    assert_eq!(status(cookie.clone()).await, 200);
    // Thirteen hours old, or with a time that is not its own: refused.
    let hour = 3_600_000;
    assert_eq!(status(session_cookie(issued - 13 * hour)).await, 401);
    assert_eq!(status(session_cookie(issued - 11 * hour)).await, 200);
    let forged = cookie.replace(&issued.to_string(), &(issued + 1).to_string());
    assert_eq!(status(forged).await, 401);
    // Signing out ends the session for good, not only in this browser.
    let res = browser
        .post(format!("{}/status/logout", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(status(cookie.clone()).await, 401);
    assert_eq!(status(session_cookie(issued - 11 * hour)).await, 401);
    // The bearer token still works, and so does a new sign-in.
    let res = app
        .http
        .get(format!("{}/status", app.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        status(session_cookie(codex_review::store::now_ms())).await,
        200
    );
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_setting_there_is_no_status_page() {
    let app = TestApp::start().await;
    let (status, _) = app.get("/status").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_headless_browser_signs_in_and_sees_reviews_failures_and_the_cost_chart() {
    let Some((driver, chrome)) = browser::binaries() else {
        eprintln!(
            "skipped: no chromium and chromedriver here (Debian packages chromium, chromium-driver; .ci/run installs them)"
        );
        return;
    };
    let app = busy_app().await;
    let profile = tempfile::tempdir().unwrap();
    let browser = browser::Driver::start(&driver, &chrome, profile.path(), (390, 844)).await;
    browser
        .call(
            reqwest::Method::POST,
            "/url",
            json!({"url": format!("{}/status", app.url)}),
        )
        .await;
    // The login form, submitted as a person would: type the token, press the button.
    let field = browser.element("#token").await;
    browser
        .call(
            reqwest::Method::POST,
            &format!("/element/{field}/value"),
            json!({"text": TOKEN}),
        )
        .await;
    let button = browser.element("button[type=submit]").await;
    browser
        .call(
            reqwest::Method::POST,
            &format!("/element/{button}/click"),
            json!({}),
        )
        .await;
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = browser
            .script(
                "const rows = [...document.querySelectorAll('tr.review-row')];
                 return {
                   path: location.pathname,
                   rows: rows.length,
                   first: rows.length ? rows[0].innerText : '',
                   repos: rows.map(r => r.cells[1].innerText),
                   failures: document.querySelectorAll('tr.failure-row').length,
                   failure: (document.querySelector('tr.failure-row td.wrap') || {}).innerText || '',
                   bars: document.querySelectorAll('#cost-chart rect.bar').length,
                   legend: (document.querySelector('#cost-legend') || {}).innerText || '',
                   styled: getComputedStyle(document.querySelector('main')).maxWidth,
                   overflow: document.documentElement.scrollWidth - window.innerWidth,
                   cookie: document.cookie,
                 };",
            )
            .await;
        if seen["rows"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shot = browser
        .call(reqwest::Method::GET, "/screenshot", Value::Null)
        .await;
    if let Some(png) = shot.as_str() {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap();
        let _ = std::fs::write(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png"),
            bytes,
        );
    }
    browser.quit().await;

    assert_eq!(seen["path"], "/status", "{seen}");
    // The review, the failure and three earlier runs; newest first.
    assert_eq!(seen["rows"], 5, "{seen}");
    let repos: Vec<&str> = seen["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(repos, [REPO, REPO, "acme/api", "acme/web", "acme/api"]);
    let first = seen["first"].as_str().unwrap();
    assert!(first.contains("failed") && first.contains("#3"), "{first}");
    assert_eq!(seen["failures"], 1, "{seen}");
    assert!(seen["failure"].as_str().unwrap().contains("401"), "{seen}");
    // Today's review (if its model price is known) and three earlier days.
    assert!(seen["bars"].as_u64().unwrap() >= 3, "{seen}");
    assert!(
        seen["legend"].as_str().unwrap().contains("acme/api"),
        "{seen}"
    );
    // The stylesheet applied under the page's policy, and the page fits a phone's width.
    assert_eq!(seen["styled"], "1152px", "{seen}");
    assert!(seen["overflow"].as_i64().unwrap() <= 0, "{seen}");
    // The session cookie is not readable by script.
    assert_eq!(seen["cookie"], "", "{seen}");
    app.assert_no_violations();
    app.stop().await;
}
