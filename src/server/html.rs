//! The few HTML pages the service serves (setup, status): one stylesheet, the page around
//! their bodies, and the headers that keep a page to itself (a Content-Security-Policy that
//! allows nothing but its own inline stylesheet, by hash, and forms to where they must go).
//! Pages are built with maud's `html!`, which escapes every value it is given: only the
//! stylesheet, a constant, goes in unescaped.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::Digest as _;

/// The one stylesheet: readable on a phone, light or dark as the device prefers.
const CSS: &str = "\
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--box:#f6f8fa;--accent:#0969da;--bad:#cf222e;--good:#1a7f37}\
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--box:#151b23;--accent:#4493f8;--bad:#f85149;--good:#3fb950}}\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",sans-serif;color:var(--fg);background:var(--bg)}\
main{max-width:72rem;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}\
a{color:var(--accent)}code{font:.9em ui-monospace,monospace}\
.muted{color:var(--muted)}.bad{color:var(--bad)}.good{color:var(--good)}\
.box{border:1px solid var(--line);background:var(--box);border-radius:6px;padding:.75rem 1rem;margin:1rem 0}\
.box.bad{border-color:var(--bad)}\
form p{margin:.75rem 0}label{display:block;font-weight:600}form p .muted{display:block;font-size:.9rem}\
input[type=text],input[type=url],input[type=password]{width:100%;max-width:32rem;font:inherit;padding:.4rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}\
button{font:inherit;font-weight:600;padding:.5rem 1rem;border-radius:6px;border:1px solid var(--good);background:var(--good);color:#fff;cursor:pointer}\
button.quiet{font-weight:400;padding:.2rem .6rem;background:transparent;color:var(--fg);border-color:var(--line)}\
.head{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between}.head form p{margin:0}\
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\
table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap;vertical-align:top}\
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
td.wrap{white-space:normal;min-width:16rem}\
.cards{display:flex;flex-wrap:wrap;gap:.75rem}.cards .box{margin:0;flex:1 1 9rem}\
.big{font-size:1.4rem;font-weight:600}\
svg{display:block}#cost-chart{width:100%;min-width:34rem;height:auto}\
svg text{fill:var(--muted);font:11px system-ui,sans-serif}\
svg .grid{stroke:var(--line)}\
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.85rem;padding:0;list-style:none}.legend svg{display:inline-block;vertical-align:-1px;margin-right:.25rem}\
";

/// The stylesheet's CSP source (`'sha256-...'`).
static CSS_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = sha2::Sha256::digest(CSS.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
});

/// The whole document around `body`; the stylesheet goes in as it is (a constant, allowed by
/// its hash).
fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { main { (body) } }
        }
    }
}

/// A whole page around `body`. `form_action` lists where its forms may post (`'self'`, or
/// GitHub for the manifest form).
pub fn page(status: StatusCode, title: &str, body: Markup, form_action: &str) -> Response {
    let html = document(title, body).into_string();
    let csp = format!(
        "default-src 'none'; style-src {}; img-src 'self' data:; form-action {form_action}; \
frame-ancestors 'none'; base-uri 'none'",
        *CSS_HASH
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    let csp = HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'"));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The value of the cookie `name` the request carries, if any.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// `; Secure` when the page was reached over HTTPS through a proxy (a plain-HTTP local page
/// would never send a secure cookie back).
pub fn secure(headers: &axum::http::HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

/// `response` setting `cookie` (a whole `Set-Cookie` value), never stored by a cache.
pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_stylesheet_by_hash_only() {
        let response = page(StatusCode::OK, "t", html! { p { "x" } }, "'self'");
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!csp.contains("unsafe"));
    }

    #[test]
    fn the_policy_hashes_the_stylesheet_the_page_carries() {
        let page = document("t", html! {}).into_string();
        let (_, rest) = page.split_once("<style>").unwrap();
        let (sheet, _) = rest.split_once("</style>").unwrap();
        let digest = sha2::Sha256::digest(sheet.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest);
        assert_eq!(*CSS_HASH, format!("'sha256-{hash}'"));
    }

    #[test]
    fn titles_and_bodies_are_escaped() {
        let page = document("<t>", html! { p { ("<script>&") } }).into_string();
        assert!(page.contains("<title>&lt;t&gt;</title>"), "{page}");
        assert!(page.contains("<p>&lt;script&gt;&amp;</p>"), "{page}");
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    }
}
