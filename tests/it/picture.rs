//! The picture of what the App posts (`docs/review.png`): a review the service posts through
//! the fake GitHub, its Markdown rendered by a CommonMark parser into a page styled like a pull
//! request's conversation (`picture.css`, this project's own stylesheet), drawn by headless
//! chromium. `scripts/render-review-picture` runs this test with `CODEX_REVIEW_PICTURE` set to
//! the file to write; without it the test checks the page and writes nothing.

use crate::support;
use codex_review::diff::LineKind;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd, html};
use serde_json::{Value, json};
use support::*;

const HEAD: &str = "4a1f0c2d9e8b7a6f5e4d3c2b1a09f8e7d6c5b4a3";
const STYLE: &str = include_str!("picture.css");

const PAGINATION_PATCH: &str = "@@ -1,4 +1,5 @@
 def page_slice(items, page, per_page):
     \"\"\"Return the items of a 1-based page.\"\"\"
-    start = (page - 1) * per_page
-    return items[start:start + per_page]
+    start = page * per_page
+    end = start + per_page
+    return items[start:end]";

const SEARCH_PATCH: &str = "@@ -0,0 +1,10 @@
+from functools import lru_cache
+
+from app.index import run_query
+from app.pagination import page_slice
+
+
+@lru_cache(maxsize=1024)
+def search_page(query, page, per_page=20):
+    results = run_query(query)
+    return page_slice(results, page, per_page)";

/// The new side of `patch`, as the head's file.
fn head_file(patch: &str) -> String {
    patch
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with('-'))
        .map(|l| format!("{}\n", &l[1..]))
        .collect()
}

fn pull() -> Pull {
    let mut pull = Pull::new(
        REPO,
        42,
        HEAD,
        vec![
            File::new("app/pagination.py", "modified", Some(PAGINATION_PATCH)),
            File::new("app/search.py", "added", Some(SEARCH_PATCH)),
        ],
    );
    pull.title = "Cache pages of search results".into();
    pull.body = "Search pages are computed on every request. This caches them by query and \
                 page, and tidies the slicing helper."
        .into();
    pull.head_ref = "cache-search-pages".into();
    for (path, patch) in [
        ("app/pagination.py", PAGINATION_PATCH),
        ("app/search.py", SEARCH_PATCH),
    ] {
        pull.contents.insert(path.into(), head_file(patch));
    }
    pull
}

/// What the model answers: a P1 with a suggestion and a P2 without one.
fn answer() -> Value {
    json!({
        "findings": [
            {
                "title": "Page 1 now skips the first `per_page` results",
                "body": "Pages are 1-based (see the docstring and every caller in `app/search.py`), \
                         but the start index is now `page * per_page`: page 1 begins at the second \
                         page and the last page is never returned.",
                "confidence_score": 0.93,
                "priority": 1,
                "code_location": {"file_path": "app/pagination.py", "side": "RIGHT",
                                  "line_range": {"start": 3, "end": 3}},
                "suggestion": "    start = (page - 1) * per_page"
            },
            {
                "title": "Cached pages never expire",
                "body": "`lru_cache` keeps each page until the process restarts, so documents \
                         indexed after the first search for a query never appear in its results. \
                         Bound the entries' age, or clear the cache when the index changes.",
                "confidence_score": 0.71,
                "priority": 2,
                "code_location": {"file_path": "app/search.py", "side": "RIGHT",
                                  "line_range": {"start": 7, "end": 8}},
                "suggestion": null
            }
        ],
        "overall_correctness": "patch is incorrect",
        "overall_explanation": "The new slicing start shifts every page by one, and the cache \
                                serves stale results once the index changes.",
        "overall_confidence_score": 0.86,
        "fixed_finding_ids": []
    })
}

/// One line of a patch: old and new numbers, `-`, `+` or ` `, and its text.
struct PatchLine<'a> {
    old: Option<u64>,
    new: Option<u64>,
    kind: char,
    text: &'a str,
}

/// The lines of `patch`, numbered by the service's own diff parser.
fn patch_lines(patch: &str) -> Vec<PatchLine<'_>> {
    let hunks = codex_review::diff::parse_patch(patch).expect("a valid patch");
    hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .map(|l| PatchLine {
            old: l.old.map(u64::from),
            new: l.new.map(u64::from),
            kind: match l.kind {
                LineKind::Added => '+',
                LineKind::Removed => '-',
                LineKind::Context => ' ',
            },
            text: &patch[l.start as usize..l.end as usize],
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A table of diff rows, as a review thread shows the lines it comments on.
fn diff_table(rows: &[(Option<u64>, Option<u64>, char, &str)]) -> String {
    let mut out = String::from("<table class=\"diff\">");
    for (old, new, kind, text) in rows {
        let class = match kind {
            '+' => "add",
            '-' => "del",
            _ => "ctx",
        };
        let number = |n: &Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "<tr class=\"{class}\"><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"code\"><span class=\"sign\">{kind}</span>{}</td></tr>",
            number(old),
            number(new),
            escape(text)
        ));
    }
    out.push_str("</table>");
    out
}

/// Markdown as GitHub renders it; a ` ```suggestion ` block becomes the "Suggested change" box,
/// the commented lines struck out over their replacement.
fn markdown(text: &str, replaced: &[(u64, &str)]) -> String {
    let mut events = Vec::new();
    let mut suggestion: Option<String> = None;
    for event in Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match (&mut suggestion, event) {
            (None, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))))
                if &*lang == "suggestion" =>
            {
                suggestion = Some(String::new());
            }
            (Some(code), Event::Text(t)) => code.push_str(&t),
            (Some(code), Event::End(TagEnd::CodeBlock)) => {
                let mut rows: Vec<(Option<u64>, Option<u64>, char, &str)> = replaced
                    .iter()
                    .map(|(n, line)| (Some(*n), None, '-', *line))
                    .collect();
                let first = replaced.first().map_or(1, |(n, _)| *n);
                rows.extend(
                    code.lines()
                        .enumerate()
                        .map(|(i, line)| (None, Some(first + i as u64), '+', line)),
                );
                events.push(Event::Html(
                    format!(
                        "<div class=\"suggestion\"><div class=\"suggestion-head\">Suggested change</div>{}</div>",
                        diff_table(&rows)
                    )
                    .into(),
                ));
                suggestion = None;
            }
            (Some(_), _) => {}
            (None, event) => events.push(event),
        }
    }
    let mut out = String::new();
    html::push_html(&mut out, events.into_iter());
    out
}

/// An inline comment as a review thread: the file, the lines up to the commented one, the body.
fn thread(comment: &Value, patch: &str) -> String {
    let path = comment["path"].as_str().unwrap();
    let line = comment["line"].as_u64().unwrap();
    let start = comment["start_line"].as_u64().unwrap_or(line);
    let lines = patch_lines(patch);
    let shown: Vec<_> = lines
        .iter()
        .filter(|l| {
            l.new.is_some_and(|n| n + 3 >= line && n <= line)
                || (l.kind == '-' && l.old.is_some_and(|o| o + 3 >= line && o <= line))
        })
        .map(|l| (l.old, l.new, l.kind, l.text))
        .collect();
    let replaced: Vec<(u64, &str)> = lines
        .iter()
        .filter_map(|l| Some((l.new?, l.text)))
        .filter(|(n, _)| (start..=line).contains(n))
        .collect();
    format!(
        "<div class=\"thread\"><div class=\"thread-file\">{}</div>{}\
         <div class=\"comment\"><div class=\"author\"><span class=\"avatar\"></span><b>codex-review</b>\
         <span class=\"bot\">bot</span></div><div class=\"body\">{}</div></div></div>",
        escape(path),
        diff_table(&shown),
        markdown(comment["body"].as_str().unwrap(), &replaced)
    )
}

/// The posted review as a pull request's conversation shows it.
fn page(pull: &Pull, review: &support::fake_github::Review) -> String {
    let patches: Vec<(&str, &str)> = pull
        .files
        .iter()
        .map(|f| (f.filename.as_str(), f.patch.as_deref().unwrap_or("")))
        .collect();
    let threads: String = review
        .comments
        .iter()
        .map(|c| {
            let path = c["path"].as_str().unwrap();
            let patch = patches.iter().find(|(p, _)| *p == path).unwrap().1;
            thread(c, patch)
        })
        .collect();
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>{STYLE}</style></head><body>\
         <main id=\"review\"><header><h1>{} <span class=\"number\">#{}</span></h1>\
         <p><span class=\"state\">Open</span> <b>octocat</b> wants to merge 2 commits into \
         <code>main</code> from <code>{}</code></p></header>\
         <section class=\"timeline\"><div class=\"event\"><span class=\"avatar\"></span>\
         <b>codex-review</b> <span class=\"bot\">bot</span> reviewed</div>\
         <div class=\"comment summary\"><div class=\"body\">{}</div></div>{threads}</section>\
         </main></body></html>",
        escape(&pull.title),
        pull.number,
        escape(&pull.head_ref),
        markdown(&review.body, &[])
    )
}

#[tokio::test]
async fn the_picture_of_a_posted_review_shows_its_summary_and_a_suggestion() {
    let app = TestApp::start().await;
    let pull = pull();
    app.github.add_pull(pull.clone());
    app.openai.push(Reply::Review(answer()));
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(42, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;

    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    let review = &reviews[0];
    assert_eq!(review.comments.len(), 2, "{review:#?}");
    let page = page(&pull, review);
    // The summary's table and verdict, both threads, the suggestion as a box, no raw fence.
    assert!(page.contains("<table>"), "{page}");
    assert!(page.contains("Cached pages never expire"), "{page}");
    assert!(page.contains("Suggested change"), "{page}");
    assert!(page.contains("    start = (page - 1) * per_page"), "{page}");
    assert!(!page.contains("```"), "{page}");
    assert!(!page.contains("language-suggestion"), "{page}");

    if let Some((driver, chrome)) = browser::binaries() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("review.html");
        std::fs::write(&file, &page).unwrap();
        let profile = tempfile::tempdir().unwrap();
        let browser = browser::Driver::start(&driver, &chrome, profile.path(), (1000, 2400)).await;
        browser
            .call(
                reqwest::Method::POST,
                "/url",
                json!({"url": format!("file://{}", file.display())}),
            )
            .await;
        // Drawn as laid out: nothing wider than the page, the suggestion's rows in place.
        let layout = browser
            .script(
                "const m = document.querySelector('main'); \
                 return [m.scrollWidth <= m.clientWidth, \
                         document.querySelectorAll('.suggestion tr').length];",
            )
            .await;
        assert_eq!(layout, json!([true, 2]), "{page}");
        let png = browser.screenshot("main").await;
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        if let Ok(out) = std::env::var("CODEX_REVIEW_PICTURE") {
            std::fs::write(&out, &png).unwrap_or_else(|e| panic!("{out}: {e}"));
            eprintln!("wrote {out} ({} bytes)", png.len());
        }
        browser.quit().await;
    } else {
        assert!(
            std::env::var("CODEX_REVIEW_PICTURE").is_err(),
            "CODEX_REVIEW_PICTURE needs chromium and chromedriver (Debian packages chromium, chromium-driver)"
        );
        eprintln!("skipped the drawing: no chromium and chromedriver here");
    }
    app.assert_no_violations();
    app.stop().await;
}
