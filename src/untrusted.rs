//! The one sanitizer for text the app prints but did not write: model text (findings,
//! explanations, answers, reasons), paths and titles from the pull request, branch names,
//! people's words quoted back. Whatever it is given, what comes out
//! - mentions nobody: an `@` is followed by an invisible word joiner unless an ASCII letter or
//!   digit stands before it (an e-mail address), after a backtick and after a non-ASCII letter
//!   too, and the entity forms of `@` (`&#64;`, `&#x40;`, `&commat;`) become the same;
//! - opens no HTML comment and no HTML tag (so it can neither forge nor hide the app's hidden
//!   markers, nor close the app's `<details>`);
//! - leaves no code span or fenced code block open behind it;
//! - is cut to a length.
//!
//! [`text`] is for a block of Markdown, [`line`] for a value on one line (control characters
//! and line breaks shown as escapes: a file name can hold a newline), and [`code`] for a value
//! shown as inline code.

/// Joins `@` to what follows without showing anything: GitHub no longer sees a mention.
const WORD_JOINER: char = '\u{2060}';

/// A block of untrusted Markdown, safe to post, at most about `limit` characters.
pub fn text(s: &str, limit: usize) -> String {
    let (s, cut) = cut_to(s, limit);
    let mut out = String::with_capacity(s.len() + 16);
    // The fenced block the text is in: its character and length.
    let mut fence: Option<(char, usize)> = None;
    // The inline code span the text is in: its backtick count.
    let mut span: Option<usize> = None;
    for raw in s.split_inclusive('\n') {
        let indented = raw.trim_start_matches(' ');
        let indent = raw.len() - indented.len();
        if let Some((ch, n)) = fence {
            if indent < 4 && closes_fence(indented, ch, n) {
                fence = None;
            }
            // Inside a fence nothing is markup: mentions, entities and tags are literal. Only
            // the comment delimiters go, so that no marker can be read in the raw text.
            out.push_str(&without_comments(raw));
            continue;
        }
        if raw.trim().is_empty() {
            // A paragraph ends: a span never closed was literal backticks.
            span = None;
        }
        if span.is_none()
            && indent < 4
            && let Some(opened) = opens_fence(indented)
        {
            fence = Some(opened);
            out.push_str(&without_comments(raw));
            continue;
        }
        inline(raw, &mut span, &mut out);
    }
    if let Some(n) = span {
        out.push_str(&"`".repeat(n));
    }
    if let Some((ch, n)) = fence {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.extend(std::iter::repeat_n(ch, n));
    }
    if cut {
        out.push_str(CUT_NOTE);
    }
    out
}

/// A value shown on one line (a path, a title, a branch name): line breaks, other control
/// characters and the characters that reorder text are shown as escapes (`\n`, `\u{202e}`).
pub fn line(s: &str, limit: usize) -> String {
    text(&one_line(s), limit)
}

/// A value shown as inline code: on one line, in a run of backticks longer than any inside
/// it, with mentions neutralised.
pub fn code(s: &str, limit: usize) -> String {
    let (s, cut) = cut_to(s, limit);
    let mut value = String::with_capacity(s.len() + 4);
    let mut prev: Option<char> = None;
    // Shown as written inside the span, but never an HTML comment in the raw text.
    for c in without_comments(&one_line(s)).chars() {
        value.push(c);
        if c == '@' && !prev.is_some_and(|p| p.is_ascii_alphanumeric()) {
            value.push(WORD_JOINER);
        }
        prev = Some(c);
    }
    if cut {
        value.push('…');
    }
    let ticks = "`".repeat(longest_backtick_run(&value) + 1);
    // A value that starts or ends with a backtick needs a space inside the delimiters.
    let pad = if value.starts_with('`') || value.ends_with('`') || value.is_empty() {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{value}{pad}{ticks}")
}

/// The longest run of backticks in `s`.
pub fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` (the app's own text) cut to about `limit` characters, saying so.
pub fn truncated(s: String, limit: usize) -> String {
    match cut_to(&s, limit) {
        (kept, true) => format!("{kept}{CUT_NOTE}"),
        (_, false) => s,
    }
}

/// What ends a text that was cut.
const CUT_NOTE: &str = "\n\n…(truncated)";

/// `s` cut to `limit` characters (leaving room for the note that says so), and whether it was.
fn cut_to(s: &str, limit: usize) -> (&str, bool) {
    if s.chars().count() <= limit {
        return (s, false);
    }
    let at = s
        .char_indices()
        .nth(limit.saturating_sub(20))
        .map_or(s.len(), |(i, _)| i);
    (&s[..at], true)
}

fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                out.extend(c.escape_unicode())
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` without HTML comment delimiters (the app finds its markers in raw text).
fn without_comments(s: &str) -> String {
    s.replace("<!--", "&lt;!--").replace("-->", "--&gt;")
}

/// `(character, length)` of the fence a line opens, if it opens one.
fn opens_fence(line: &str) -> Option<(char, usize)> {
    let ch = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = line.chars().take_while(|c| *c == ch).count();
    // An info string after backticks may not hold a backtick.
    let info = &line[n..];
    (n >= 3 && !(ch == '`' && info.contains('`'))).then_some((ch, n))
}

fn closes_fence(line: &str, ch: char, n: usize) -> bool {
    let run = line.chars().take_while(|c| *c == ch).count();
    run >= n && line[run..].trim().is_empty()
}

/// One line outside fences: code spans tracked, the rest neutralised.
fn inline(raw: &str, span: &mut Option<usize>, out: &mut String) {
    let chars: Vec<char> = raw.chars().collect();
    let mut prev: Option<char> = out.chars().next_back();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            *span = match *span {
                Some(open) if open == run => None,
                None => Some(run),
                open => open,
            };
            out.extend(std::iter::repeat_n('`', run));
            i += run;
            prev = Some('`');
            continue;
        }
        let rest = &chars[i..];
        if c == '@' {
            out.push('@');
            if !prev.is_some_and(|p| p.is_ascii_alphanumeric()) {
                out.push(WORD_JOINER);
            }
        } else if c == '&'
            && let Some(len) = at_entity(rest)
        {
            out.push('@');
            out.push(WORD_JOINER);
            i += len;
            prev = Some('@');
            continue;
        } else if c == '<' && (span.is_none() && starts_markup(rest) || opens_comment(rest)) {
            out.push_str("&lt;");
        } else if c == '-' && rest.starts_with(&['-', '-', '>']) {
            out.push_str("--&gt;");
            i += 3;
            prev = Some('>');
            continue;
        } else {
            out.push(c);
        }
        prev = Some(c);
        i += 1;
    }
}

fn opens_comment(rest: &[char]) -> bool {
    rest.starts_with(&['<', '!', '-', '-'])
}

/// Whether `<` followed by `rest[1..]` would open an HTML tag or comment.
fn starts_markup(rest: &[char]) -> bool {
    rest.get(1)
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
}

/// The length of an entity for `@` at the start of `rest`: `&#64;`, `&#064;`, `&#x40;`,
/// `&#X0040;`, `&commat;` (any case; the `;` may be missing, as browsers allow).
fn at_entity(rest: &[char]) -> Option<usize> {
    let word: String = rest
        .iter()
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase();
    let end = |len: usize| {
        if word[len..].starts_with(';') {
            len + 1
        } else {
            len
        }
    };
    if word.starts_with("&commat") {
        return Some(end("&commat".len()));
    }
    let (digits, radix, at) = if let Some(hex) = word.strip_prefix("&#x") {
        (hex, 16, 3)
    } else if let Some(dec) = word.strip_prefix("&#") {
        (dec, 10, 2)
    } else {
        return None;
    };
    let len = digits.chars().take_while(|c| c.is_digit(radix)).count();
    (len > 0 && u32::from_str_radix(&digits[..len], radix).ok() == Some(64)).then(|| end(at + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether GitHub would see a mention in `s`: an `@` and a login character right after it,
    /// not after an ASCII letter or digit (GitHub's rule, seen from outside).
    fn mentions(s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        chars.iter().enumerate().any(|(i, c)| {
            *c == '@'
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric())
                && !(i > 0 && chars[i - 1].is_ascii_alphanumeric())
        })
    }

    #[test]
    fn nobody_is_mentioned_whatever_stands_before_the_at() {
        for attack in [
            "ping @octocat",
            "@org/team please look",
            "`@org/team`",
            "é@org/team",
            "日本@org",
            "(@admin)",
            "x\n@admin",
        ] {
            let safe = text(attack, 200);
            assert!(!mentions(&safe), "{attack:?} -> {safe:?}");
        }
        // An e-mail address stays as it is.
        assert_eq!(
            text("write to ops@example.com", 200),
            "write to ops@example.com"
        );
    }

    #[test]
    fn entity_forms_of_the_at_sign_are_neutralised() {
        for attack in [
            "&#64;org/team",
            "&#064;admin",
            "&#x40;admin",
            "&#X0040;admin",
            "&commat;admin",
            "&COMMAT;admin",
            "&#64admin",
        ] {
            let safe = text(attack, 200);
            assert!(!safe.contains('&'), "{attack:?} -> {safe:?}");
            assert!(!mentions(&safe), "{attack:?} -> {safe:?}");
            assert!(safe.contains("admin") || safe.contains("org/team"));
        }
        // Other entities are left alone.
        assert_eq!(text("a &amp; b &#65;", 200), "a &amp; b &#65;");
    }

    #[test]
    fn no_comment_tag_or_marker_escapes_the_text() {
        let forged = text("<!-- codex-review sha=x trigger=y -->", 200);
        assert!(
            !forged.contains("<!--") && !forged.contains("-->"),
            "{forged}"
        );
        let closing = text("done</details><img src=x>", 200);
        assert!(
            !closing.contains("</details>") && !closing.contains("<img"),
            "{closing}"
        );
        // Comparisons and generics read as before.
        assert_eq!(
            text("when a < b and `Vec<u8>`", 200),
            "when a < b and `Vec<u8>`"
        );
    }

    #[test]
    fn code_spans_and_fences_are_closed() {
        assert_eq!(text("call `foo(", 200), "call `foo(`");
        assert_eq!(text("a ``b` c", 200), "a ``b` c``");
        assert_eq!(text("```rust\nlet x = 1;", 200), "```rust\nlet x = 1;\n```");
        assert_eq!(
            text("~~~~\nx\n~~~~\nafter `y`", 200),
            "~~~~\nx\n~~~~\nafter `y`"
        );
        // A backtick left open in an earlier paragraph was never a span.
        assert_eq!(text("a ` b\n\nc", 200), "a ` b\n\nc");
        // Inside a fence, text is code: left as it is, but for comment delimiters.
        assert_eq!(text("```\n@x <b>\n```", 200), "```\n@x <b>\n```");
        let fenced = text("```\n<!-- codex-review sha=a trigger=b -->\n```", 200);
        assert!(
            !fenced.contains("<!--") && !fenced.contains("-->"),
            "{fenced}"
        );
        let spanned = text("`<!-- codex-review answer=comment-1 -->`", 200);
        assert!(
            !spanned.contains("<!--") && !spanned.contains("-->"),
            "{spanned}"
        );
    }

    #[test]
    fn a_line_shows_line_breaks_and_reordering_as_escapes() {
        assert_eq!(line("src/a\nb.rs", 100), "src/a\\nb.rs");
        assert_eq!(line("evil\u{202e}txt.rs", 100), "evil\\u{202e}txt.rs");
        let safe = line("x\n@org/team <!-- y", 100);
        assert!(!safe.contains('\n') && !mentions(&safe) && !safe.contains("<!--"));
    }

    #[test]
    fn code_is_one_span_whatever_it_holds() {
        assert_eq!(code("src/lib.rs", 100), "`src/lib.rs`");
        assert_eq!(code("a`b", 100), "``a`b``");
        assert_eq!(code("`x", 100), "`` `x ``");
        assert_eq!(code("a<!--b", 100), "`a&lt;!--b`");
        let path = code("docs/\n@org/team.md", 100);
        assert!(path.starts_with('`') && !path.contains('\n') && !mentions(&path));
    }

    #[test]
    fn long_text_is_cut_and_says_so() {
        let cut = text(&"x".repeat(1_000), 100);
        assert!(cut.chars().count() < 120 && cut.ends_with("…(truncated)"));
    }
}
