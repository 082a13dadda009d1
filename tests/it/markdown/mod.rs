//! Posted text rendered by a real CommonMark parser (pulldown-cmark, with GitHub's tables,
//! strikethrough, task lists and footnotes): whatever untrusted text goes in, the rendering
//! holds no raw HTML tag, link, image or live `@mention` that harmless text in its place would
//! not give. GitHub passes raw HTML through (filtered) and links mentions in text outside
//! code, so each of those coming from untrusted text would be a way around the sanitizer.

mod posted;
mod replies;
mod sanitizer;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// What GitHub would act on in rendered Markdown.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Live {
    /// Raw HTML tags and comments, as `<details`, `</sub`, `<!--`, in order.
    pub tags: Vec<String>,
    /// `@login` and `@org/team` mentions in text outside code, in order.
    pub mentions: Vec<String>,
    /// Links and images, as `link DEST` or `image DEST`, in order.
    pub links: Vec<String>,
}

/// What GitHub would act on in `markdown`.
pub fn live(markdown: &str) -> Live {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut live = Live::default();
    // One text node of the HTML: consecutive text events (the parser splits them at escapes
    // and entities), since GitHub looks for mentions in each text node.
    let mut node = String::new();
    let mut in_code_block = false;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(t) if !in_code_block => {
                node.push_str(&t);
                continue;
            }
            Event::Html(html) | Event::InlineHtml(html) => tags(&html, &mut live.tags),
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Start(Tag::Link { dest_url, .. }) => live.links.push(format!("link {dest_url}")),
            Event::Start(Tag::Image { dest_url, .. }) => {
                live.links.push(format!("image {dest_url}"))
            }
            _ => {}
        }
        mentions(&node, &mut live.mentions);
        node.clear();
    }
    mentions(&node, &mut live.mentions);
    live
}

/// The tags in raw HTML: `<` and a letter, `/`, `!` or `?`, with the name that follows.
fn tags(html: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = html.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let opens = *c == '<'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        if opens {
            let name: String = chars[i..]
                .iter()
                .take_while(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '<' | '/' | '!' | '?' | '-')
                })
                .collect();
            out.push(name.to_ascii_lowercase());
        }
    }
}

/// Mentions in one text node as GitHub finds them: `@`, not after an ASCII letter, digit or
/// `_`, then a login (and `/team`).
fn mentions(node: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = node.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let after_word = i > 0 && (chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
        let login = chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric());
        if *c == '@' && login && !after_word {
            let name: String = chars[i..]
                .iter()
                .skip(1)
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_'))
                .collect();
            out.push(format!("@{name}"));
        }
    }
}

#[test]
fn the_oracle_sees_tags_mentions_links_and_images_but_not_code() {
    let seen = live(
        "<details><summary>x</summary>\n\nhi @alice and @org/team, a@b.c, `@bob`\n\n\
         ![p](http://t/p.png) [l](http://l/) &#64;carol\n\n```\n@dave <img>\n```\n\n</details>",
    );
    assert_eq!(
        seen.tags,
        ["<details", "<summary", "</summary", "</details"]
    );
    assert_eq!(seen.mentions, ["@alice", "@org/team", "@carol"]);
    assert_eq!(seen.links, ["image http://t/p.png", "link http://l/"]);
}
