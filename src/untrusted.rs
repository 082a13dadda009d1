//! The one sanitizer for text the app posts but did not write: model text (findings,
//! explanations, answers, reasons), paths and titles from the pull request, branch names,
//! people's words quoted back, values from a repository's configuration file.
//!
//! The idea is to decide what is code and what is prose the app's way (fenced blocks, code
//! spans and backslash escapes, read as CommonMark reads them in the plain cases), then to
//! write each back out in a form that means the same to any CommonMark parser, whatever the
//! input would have meant to one:
//! - prose has every character that could start raw HTML, a link or an image, a table cell,
//!   a code span or a fence escaped (`<` as `&lt;`, the `&` of an entity, `` ` ``, `\`, `[`,
//!   `]`, `|`, `~`, `>`), and a line that could be a table's delimiter row starts with a
//!   backslash; so no tag (a `</details>` closing the app's own, an `<img>` pixel), no HTML
//!   block ending a code span, no `&#64;` turning into `@` can come out of it, while emphasis,
//!   lists and headings stay;
//! - an `@` in prose or in a code span is followed by an invisible word joiner unless an ASCII
//!   letter or digit stands before it (an e-mail address): GitHub sees no mention;
//! - a code span is written on one line between backtick runs longer than any inside it; a
//!   fenced block on lines of its own behind a backtick fence longer than any run inside it:
//!   the content can close neither, and no prose is left that could open one;
//! - nothing, code included, holds `<!--` (the app finds its hidden markers in raw text);
//! - the text is cut to a length.
//!
//! [`text`] is for a block of Markdown (it may follow words on a line, and be indented as a
//! whole), [`line`] for a value on one line (control characters and line breaks shown as
//! escapes: a file name can hold a newline), [`code`] for a value shown as inline code and
//! [`cell`] for a value in a table cell. `tests/it/markdown` renders each, in the places the
//! app puts it, with a CommonMark parser.

/// Joins `@` to what follows without showing anything: GitHub no longer sees a mention. Also
/// splits `<!--` in code, where the text is shown as written.
const WORD_JOINER: char = '\u{2060}';

/// A block of untrusted Markdown, safe to post, at most about `limit` characters. (Prose
/// indented by four spaces after a blank line is an indented code block to CommonMark: shown
/// with its escapes, which is harmless, if not pretty.)
pub fn text(s: &str, limit: usize) -> String {
    let (s, cut) = cut_to(s, limit);
    // CommonMark ends a line at a lone `\r` too.
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = s.split('\n').collect();
    // `(is a fenced block, Markdown)` of each block, joined by line breaks.
    let mut blocks: Vec<(bool, String)> = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let Some(fence) = Fence::opened_by(line) {
            paragraph_end(&mut paragraph, &mut blocks);
            let mut content = Vec::new();
            while i < lines.len() && !fence.closed_by(lines[i]) {
                content.push(fence.content(lines[i]));
                i += 1;
            }
            // Past the closing line, when there is one.
            i += 1;
            blocks.push((true, fence.written(&content)));
        } else if line.trim().is_empty() {
            paragraph_end(&mut paragraph, &mut blocks);
            blocks.push((false, String::new()));
        } else {
            paragraph.push(line);
        }
    }
    paragraph_end(&mut paragraph, &mut blocks);
    let mut out = String::with_capacity(s.len() + 16);
    // A fence opens and closes only on lines of its own, also after the caller's words.
    if blocks.first().is_some_and(|(fenced, _)| *fenced) {
        out.push('\n');
    }
    let joined: Vec<&str> = blocks.iter().map(|(_, b)| b.as_str()).collect();
    out.push_str(&joined.join("\n"));
    if blocks.last().is_some_and(|(fenced, _)| *fenced) {
        out.push('\n');
    }
    if cut {
        out.push_str(CUT_NOTE);
    }
    out
}

/// A value shown on one line (a path, a title, a branch name): line breaks, other control
/// characters and the characters that reorder text are shown as escapes (`\n`, `\u{202e}`).
/// Its code spans stay; see [`cell`] for a table.
pub fn line(s: &str, limit: usize) -> String {
    let (s, cut) = cut_to(s, limit);
    let mut out = prose(&one_line(s), true);
    if cut {
        out.push('…');
    }
    out
}

/// A value in a cell of a Markdown table: [`line`] without code spans, since GitHub splits a
/// table row at every unescaped `|`, inside code spans too.
pub fn cell(s: &str, limit: usize) -> String {
    let (s, cut) = cut_to(s, limit);
    let mut out = prose(&one_line(s), false);
    if cut {
        out.push('…');
    }
    out
}

/// A value shown as inline code: on one line, in a run of backticks longer than any inside
/// it, with mentions neutralised.
pub fn code(s: &str, limit: usize) -> String {
    let (s, cut) = cut_to(s, limit);
    let mut value = one_line(s);
    if cut {
        value.push('…');
    }
    span(&value)
}

/// The longest run of backticks in `s`.
pub fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` (the app's own text, holding sanitised values) cut to about `limit` characters after a
/// whole line, saying so: a code span or an escape never runs over two lines, so none is
/// left half open. (A fenced block cut in two runs to the end, note included: still code.)
pub fn truncated(s: String, limit: usize) -> String {
    match cut_to(&s, limit) {
        (kept, true) => match kept.rfind('\n') {
            Some(at) => format!("{}{CUT_NOTE}", &kept[..at]),
            None => CUT_NOTE.trim_start().to_owned(),
        },
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

/// The lines gathered since the last blank line or fence, as one block of prose (code spans
/// may run over its lines, as in CommonMark).
fn paragraph_end(paragraph: &mut Vec<&str>, blocks: &mut Vec<(bool, String)>) {
    if !paragraph.is_empty() {
        blocks.push((false, prose(&paragraph.join("\n"), true)));
        paragraph.clear();
    }
}

/// A fenced code block of the input: its character, length, indentation and info string.
struct Fence {
    ch: char,
    len: usize,
    indent: usize,
    info: String,
}

impl Fence {
    /// The fence `line` opens, if it opens one.
    fn opened_by(line: &str) -> Option<Fence> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        // `ch` is ASCII: as many bytes as characters.
        let len = rest.chars().take_while(|c| *c == ch).count();
        let info = &rest[len..];
        // An info string after backticks may not hold a backtick.
        (indent <= 3 && len >= 3 && !(ch == '`' && info.contains('`'))).then(|| Fence {
            ch,
            len,
            indent,
            info: info.trim().to_owned(),
        })
    }

    fn closed_by(&self, line: &str) -> bool {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let run = rest.chars().take_while(|c| *c == self.ch).count();
        indent <= 3 && run >= self.len && rest[run..].trim().is_empty()
    }

    /// A line of content without the fence's own indentation.
    fn content<'a>(&self, line: &'a str) -> &'a str {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        &line[spaces.min(self.indent)..]
    }

    /// The block written back: at the start of a line, behind a backtick fence longer than
    /// any run in the content, with the info string's first word when it names a language.
    fn written(&self, content: &[&str]) -> String {
        let body = unmarked(&content.join("\n"));
        let ticks = "`".repeat((longest_backtick_run(&body) + 1).max(3));
        let language = self
            .info
            .split_whitespace()
            .next()
            .filter(|w| {
                w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '.' | '#'))
            })
            .unwrap_or("");
        if content.is_empty() {
            format!("{ticks}{language}\n{ticks}")
        } else {
            format!("{ticks}{language}\n{body}\n{ticks}")
        }
    }
}

/// `s` without `<!--` (split by a word joiner, invisible where the text is shown as code).
fn unmarked(s: &str) -> String {
    s.replace("<!--", "<\u{2060}!--")
}

/// A code span holding `content` (on one line, as CommonMark shows it) and nothing else.
fn span(content: &str) -> String {
    let chars: Vec<char> = unmarked(&content.replace('\n', " ")).chars().collect();
    let mut value = String::with_capacity(chars.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        value.push(*c);
        let after_word = i > 0 && chars[i - 1].is_ascii_alphanumeric();
        if *c == '@' && !after_word && chars.get(i + 1) != Some(&WORD_JOINER) {
            value.push(WORD_JOINER);
        }
    }
    let ticks = "`".repeat(longest_backtick_run(&value) + 1);
    // CommonMark takes one space off each end when both have one: a value that starts or
    // ends with a backtick (or is empty) gets one on each side.
    let pad = if value.is_empty() || value.starts_with('`') || value.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{value}{pad}{ticks}")
}

/// Prose written back with its code spans (when `spans`) rewritten by [`span`] and every
/// other character that could start HTML, a link, a table cell, a span or a fence escaped.
fn prose(src: &str, spans: bool) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        if i == 0 || chars[i - 1] == '\n' {
            i += delimiter_row_guard(&chars[i..], &mut out);
        }
        let Some(&c) = chars.get(i) else { break };
        match c {
            '\\' => match chars.get(i + 1) {
                // A backslash escape: the character is literal (a `` \` `` opens no span).
                Some(&next) if next.is_ascii_punctuation() => {
                    match next {
                        '<' => out.push_str("&lt;"),
                        '@' => at_sign(&mut out),
                        _ => {
                            out.push('\\');
                            out.push(next);
                        }
                    }
                    i += 2;
                }
                _ => {
                    out.push_str("\\\\");
                    i += 1;
                }
            },
            '`' => {
                let run = chars[i..].iter().take_while(|c| **c == '`').count();
                match closing_run(&chars, i + run, run).filter(|_| spans) {
                    Some(end) => {
                        let content: String = chars[i + run..end].iter().collect();
                        out.push_str(&span(&content));
                        i = end + run;
                    }
                    None => {
                        out.push_str(&"\\`".repeat(run));
                        i += run;
                    }
                }
            }
            '<' => {
                out.push_str("&lt;");
                i += 1;
            }
            '@' => {
                at_sign(&mut out);
                i += 1;
            }
            '&' if entity_at(&chars[i..]) => {
                out.push_str("\\&");
                i += 1;
            }
            '[' | ']' | '|' | '~' | '>' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `@`, joined to what follows unless it is part of an e-mail address.
fn at_sign(out: &mut String) {
    let after_word = out
        .chars()
        .next_back()
        .is_some_and(|p| p.is_ascii_alphanumeric());
    out.push('@');
    if !after_word {
        out.push(WORD_JOINER);
    }
}

/// Where the run of exactly `run` backticks that closes a span opened before `from` starts.
fn closing_run(chars: &[char], from: usize, run: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == '`' {
            let here = chars[j..].iter().take_while(|c| **c == '`').count();
            if here == run {
                return Some(j);
            }
            j += here;
        } else {
            j += 1;
        }
    }
    None
}

/// A line of only `-`, `:` and blanks could be a table's delimiter row (one column needs no
/// `|`), under which GitHub splits the next lines at every `|`, code spans included: its first
/// mark is escaped (the blanks before it are copied). Returns how many characters were copied.
fn delimiter_row_guard(line: &[char], out: &mut String) -> usize {
    let line = line.split(|c| *c == '\n').next().unwrap_or_default();
    let marks = line.iter().any(|c| matches!(c, '-' | ':'));
    if !marks || !line.iter().all(|c| matches!(c, '-' | ':' | ' ' | '\t')) {
        return 0;
    }
    let blanks = line.iter().take_while(|c| matches!(c, ' ' | '\t')).count();
    out.extend(&line[..blanks]);
    out.push('\\');
    blanks
}

/// Whether an entity reference (`&#64;`, `&#x40;`, `&commat;`, `&lt;`...) starts `rest`:
/// CommonMark would decode it, and `&#64;` is an `@`.
fn entity_at(rest: &[char]) -> bool {
    let body: Vec<char> = rest.iter().skip(1).take(34).copied().collect();
    let Some(end) = body.iter().position(|c| *c == ';') else {
        return false;
    };
    let name = &body[..end];
    match name {
        ['#', 'x' | 'X', hex @ ..] => !hex.is_empty() && hex.iter().all(char::is_ascii_hexdigit),
        ['#', digits @ ..] => !digits.is_empty() && digits.iter().all(char::is_ascii_digit),
        [first, ..] => first.is_ascii_alphabetic() && name.iter().all(char::is_ascii_alphanumeric),
        [] => false,
    }
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
            "x\\@admin",
            "`x`@admin",
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
    fn entity_references_are_shown_as_written_so_none_becomes_an_at_sign() {
        for (attack, shown) in [
            ("&#64;org/team", "\\&#64;org/team"),
            ("&#x40;admin", "\\&#x40;admin"),
            ("&COMMAT;admin", "\\&COMMAT;admin"),
            ("a &amp; b", "a \\&amp; b"),
        ] {
            assert_eq!(text(attack, 200), shown);
        }
        // No entity without its `;` (CommonMark needs one): as written. `&y;` might be one.
        assert_eq!(text("&#64admin && x&y;z", 200), "&#64admin && x\\&y;z");
    }

    #[test]
    fn no_comment_tag_or_marker_escapes_the_text() {
        let forged = text("<!-- codex-review sha=x trigger=y -->", 200);
        assert_eq!(forged, "&lt;!-- codex-review sha=x trigger=y --\\>");
        let closing = text("done</details><img src=x>", 200);
        assert_eq!(closing, "done&lt;/details\\>&lt;img src=x\\>");
        // Comparisons read as before; code is shown as written.
        assert_eq!(
            text("when a < b and `Vec<u8>`", 200),
            "when a &lt; b and `Vec<u8>`"
        );
    }

    #[test]
    fn backslash_escapes_count_and_open_nothing() {
        // The escaped backtick is a backtick, not a span whose end would free the tags.
        assert_eq!(text("\\`<b>`", 200), "\\`&lt;b\\>\\`");
        assert_eq!(
            text("\\<b> \\@x \\*y\\*", 200),
            "&lt;b\\> @\u{2060}x \\*y\\*"
        );
        // A backslash before anything else is a backslash.
        assert_eq!(text("C:\\dir", 200), "C:\\\\dir");
    }

    #[test]
    fn links_images_tables_and_html_blocks_cannot_start() {
        assert_eq!(
            text("![p](http://t/p.png) [x](y)", 200),
            "!\\[p\\](http://t/p.png) \\[x\\](y)"
        );
        assert_eq!(text("a | b\n:--\n<pre>", 200), "a \\| b\n\\:--\n&lt;pre\\>");
    }

    #[test]
    fn code_spans_and_fences_are_rewritten_closed() {
        // A backtick without its partner is shown as one.
        assert_eq!(text("call `foo(", 200), "call \\`foo(");
        assert_eq!(text("a ``b` c", 200), "a \\`\\`b\\` c");
        assert_eq!(text("a ` b\n\nc `d`", 200), "a \\` b\n\nc `d`");
        // A span over two lines is written on one; runs inside make the delimiters longer.
        assert_eq!(text("see `a\nb` and ``x`y``", 200), "see `a b` and ``x`y``");
        // A fence stands on lines of its own, closed, behind backticks.
        assert_eq!(
            text("```rust\nlet x = 1;", 200),
            "\n```rust\nlet x = 1;\n```\n"
        );
        assert_eq!(
            text("~~~~\nx\n~~~~\nafter `y`", 200),
            "\n```\nx\n```\nafter `y`"
        );
        assert_eq!(text("a\n````\n```\n````", 200), "a\n````\n```\n````\n");
        // Inside a fence, text is code: left as it is, but for comment openers.
        assert_eq!(text("```\n@x <b>\n```", 200), "\n```\n@x <b>\n```\n");
        for marked in [
            "```\n<!-- codex-review sha=a trigger=b -->\n```",
            "`<!-- codex-review answer=comment-1 -->`",
        ] {
            let safe = text(marked, 200);
            assert!(!safe.contains("<!--"), "{safe}");
        }
    }

    #[test]
    fn a_line_shows_line_breaks_and_reordering_as_escapes() {
        assert_eq!(line("src/a\nb.rs", 100), "src/a\\\\nb.rs");
        assert_eq!(line("evil\u{202e}txt.rs", 100), "evil\\\\u{202e}txt.rs");
        let safe = line("x\n@org/team <!-- y", 100);
        assert!(!safe.contains('\n') && !mentions(&safe) && !safe.contains("<!--"));
        assert_eq!(line("```\nx", 100), "\\`\\`\\`\\\\nx");
        assert_eq!(line(&"x".repeat(200), 100).chars().count(), 81);
    }

    #[test]
    fn a_cell_has_no_code_span_for_a_pipe_to_split() {
        assert_eq!(cell("`a|b`", 100), "\\`a\\|b\\`");
    }

    #[test]
    fn code_is_one_span_whatever_it_holds() {
        assert_eq!(code("src/lib.rs", 100), "`src/lib.rs`");
        assert_eq!(code("a`b", 100), "``a`b``");
        assert_eq!(code("`x", 100), "`` `x ``");
        assert_eq!(code("a<!--b", 100), "`a<\u{2060}!--b`");
        let path = code("docs/\n@org/team.md", 100);
        assert!(path.starts_with('`') && !path.contains('\n') && !mentions(&path));
        // Written again as text, a span is the same span.
        for value in ["src/lib.rs", "a`b", "`x", "x`", "@org/x", "a<!--b"] {
            assert_eq!(text(&code(value, 100), 200), code(value, 100));
        }
    }

    #[test]
    fn long_text_is_cut_and_says_so() {
        let cut = text(&"x".repeat(1_000), 100);
        assert!(cut.chars().count() < 120 && cut.ends_with("…(truncated)"));
    }

    #[test]
    fn the_apps_text_is_cut_after_a_whole_line() {
        let first = format!("a {}", code(&"<img>".repeat(5), 50));
        let s = format!("{first}\n{first}\n");
        assert_eq!(truncated(s.clone(), 100), s);
        assert_eq!(truncated(s, 55), format!("{first}\n\n…(truncated)"));
        assert_eq!(truncated("x".repeat(50), 30), "…(truncated)");
    }
}
