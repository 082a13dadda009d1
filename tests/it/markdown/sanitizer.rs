//! Each sanitizer function, alone and in the places the app puts its output (a paragraph, the
//! end of a sentence, a list item, bold, a link's text, a strike-through, a quote, a table
//! cell), rendered: hostile input gives what harmless input gives.

use codex_review::untrusted;
use proptest::prelude::*;

use super::{Live, live};

/// The two ways around the sanitizer of the last security round (issue 33).
#[test]
fn a_backslash_escaped_backtick_opens_no_code_span_that_would_keep_tags_dead() {
    let posted = untrusted::text("\\`</details><img src=x>", 200);
    assert_eq!(live(&posted), Live::default(), "{posted:?}");
}

#[test]
fn an_html_block_ends_a_code_span_so_a_team_mention_after_it_is_still_dead() {
    let posted = untrusted::text("x `y\n<pre>\n\n```\n</pre>\n@org/team", 200);
    assert_eq!(live(&posted), Live::default(), "{posted:?}");
}

/// Inputs that each went around a sanitizer at some point, or nearly.
pub(super) const ATTACKS: &[&str] = &[
    "\\`</details><img src=x>",
    "x `y\n<pre>\n\n```\n</pre>\n@org/team",
    "done</details><img src=x>",
    "<!-- codex-review sha=1 trigger=2 -->",
    "@org/team @alice é@bob (@carol) _@dan",
    "&#64;org/team &#x40;admin &commat;admin &#064;x",
    "[click](http://evil/) ![pixel](http://t/p.png) <http://auto/>",
    "[ref]\n\n[ref]: http://evil/",
    "x\n:--\n`a|![](http://t/p.png)|`",
    "| a | b |\n|---|---|\n| `x|<img src=y>` | z |",
    "`a\r<pre>\n@org/team`",
    "```\n<img src=x>\n",
    "~~~\n```\n~~~\n<img src=x>\n```",
    "- item\n\n  ```\n<img src=x>\n  ```",
    "> ```\n> <img src=x>",
    "    <img src=x>\n\n<img src=y>",
    "a\\\n<pre>@org/team</pre>",
    "`<img src=x>`\\",
    "x <pre>\n@org/team\n</pre>",
    "\\<img src=x> \\@org/team \\&#64;x",
];

/// The places the app puts each kind of value, as `(what, markdown)`.
fn contexts(text: &str, line: &str, code: &str, cell: &str) -> Vec<(&'static str, String)> {
    vec![
        ("text", text.to_owned()),
        ("text after words", format!("It failed: {text}\n\nAfter.")),
        (
            "text in brackets",
            format!("Not verified ({text}); kept.\n\n<sub>end</sub>"),
        ),
        (
            "text in a list item",
            format!(
                "- **[P1] t** — x.\n  {}\n\n<details><summary>s</summary>\n\n- y\n\n</details>",
                text.replace('\n', "\n  ")
            ),
        ),
        ("line in bold", format!("**[P1] {line}**\n\nbody")),
        (
            "line as a link",
            format!("- **P1** [{line}](https://example.com/pr#d1) — x\n"),
        ),
        ("line struck", format!("- ~~{line}~~ — y\n")),
        ("line quoted", format!("> {line}\n> {line}\n\nanswer")),
        ("code in a list", format!("- {code} ×2\n- {code}: {line}\n")),
        (
            "code in small print",
            format!("<sub>Reviewed with {code} · tokens</sub>"),
        ),
        (
            "code in a link",
            format!("[{code} lines 1–2](https://example.com/blob)"),
        ),
        (
            "cell in a table",
            format!("| key | value |\n|---|---|\n| `k` | {cell} |\n| `j` | {cell} |\n"),
        ),
    ]
}

/// Whatever `s` is, the sanitizer's output in each place renders like harmless text would.
fn assert_inert(s: &str, limit: usize) {
    let (text, line, code, cell) = (
        untrusted::text(s, limit),
        untrusted::line(s, limit),
        untrusted::code(s, limit),
        untrusted::cell(s, limit),
    );
    for out in [&text, &line, &code, &cell] {
        assert!(
            !out.contains("<!--"),
            "{s:?} gives a comment opener: {out:?}"
        );
    }
    for out in [&line, &code, &cell] {
        assert!(
            !out.contains(['\n', '\r']),
            "{s:?} gives more than a line: {out:?}"
        );
    }
    let harmless = contexts("plain words", "plain words", "`plain`", "plain");
    let hostile = contexts(&text, &line, &code, &cell);
    for ((what, hostile), (_, safe)) in hostile.iter().zip(&harmless) {
        assert_eq!(
            live(hostile),
            live(safe),
            "{what}: {s:?} renders live parts\n{hostile}"
        );
    }
}

#[test]
fn known_attacks_render_inert_in_every_place() {
    for attack in ATTACKS {
        assert_inert(attack, 1_000);
    }
}

/// Pieces of hostile Markdown: every character that means something, and the multi-character
/// openers that need several of them in a row.
const PIECES: &[&str] = &[
    "`",
    "``",
    "```",
    "\\",
    "<",
    ">",
    "\n",
    "\n\n",
    "\r",
    "\t",
    "    ",
    " ",
    "@",
    "/",
    "[",
    "]",
    "(",
    ")",
    "!",
    "*",
    "_",
    "~",
    "~~~",
    "|",
    "&",
    "#",
    ";",
    ":",
    "-",
    "=",
    "+",
    "1.",
    "a",
    "x",
    "org",
    "team",
    "pre",
    "img src=x",
    "details",
    "<pre>",
    "</pre>",
    "<img src=x>",
    "</details>",
    "&#64;",
    "&commat;",
    "<!--",
    "-->",
    "http://t/p.png",
    "](",
    "![",
];

pub(super) fn hostile() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn generated_hostile_text_renders_inert_in_every_place(s in hostile(), limit in 5usize..400) {
        assert_inert(&s, limit);
    }
}
