//! The hidden markers that let the app find its own comments again. Model text cannot carry
//! one: [`crate::untrusted::text`] takes out every HTML comment opener.

use crate::ids::{CommentId, CommitSha};

/// The marker of a review of `sha` asked by `trigger`.
pub fn review(sha: &CommitSha, trigger: &str) -> String {
    format!("<!-- codex-review sha={sha} trigger={trigger} -->")
}

/// The marker of the failure notice of `trigger`.
pub fn failure(trigger: &str) -> String {
    format!("<!-- codex-review failure trigger={trigger} -->")
}

/// The marker of an answer to the comment `comment` (a question, a reply in a thread), so
/// that a job run again finds the answer it already gave.
pub fn answer(comment: CommentId) -> String {
    format!("<!-- codex-review answer=comment-{comment} -->")
}

/// Whether `body` is an answer to `comment`.
pub fn answers(body: &str, comment: CommentId) -> bool {
    body.contains(&answer(comment))
}

/// `body` without its answer marker (the thread's history, as the model reads it).
pub fn without_answer(body: &str) -> &str {
    match body.find("<!-- codex-review answer=") {
        Some(at) => &body[..at],
        None => body,
    }
}

/// Reads `(sha, trigger)` back from a body carrying a review's marker.
pub fn read_review(body: &str) -> Option<(String, String)> {
    let start = body.find("<!-- codex-review ")?;
    let rest = &body[start + "<!-- codex-review ".len()..];
    let inner = &rest[..rest.find(" -->")?];
    let mut sha = None;
    let mut trigger = None;
    for part in inner.split_whitespace() {
        if let Some(v) = part.strip_prefix("sha=") {
            sha = Some(v.to_owned());
        } else if let Some(v) = part.strip_prefix("trigger=") {
            trigger = Some(v.to_owned());
        }
    }
    Some((sha?, trigger?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::untrusted;

    #[test]
    fn answers_carry_a_marker_the_model_cannot_write() {
        let id = CommentId(77);
        let body = format!("It adds b.\n\n{}", answer(id));
        assert!(answers(&body, id));
        assert!(!answers(&body, CommentId(7)));
        assert_eq!(without_answer(&body).trim(), "It adds b.");
        let forged = untrusted::text(&answer(id), 1_000);
        assert!(!answers(&forged, id), "{forged}");
    }

    #[test]
    fn markers_round_trip() {
        let sha = CommitSha::parse(&"a".repeat(40)).unwrap();
        let body = format!("{}\nhello", review(&sha, "comment-42"));
        assert_eq!(
            read_review(&body),
            Some(("a".repeat(40), "comment-42".into()))
        );
        assert_eq!(read_review("no marker"), None);
    }

    #[test]
    fn model_text_cannot_mention_or_inject_markers() {
        let s = untrusted::text(
            "ping @alice and @org/team, mail a@b.c, `@x` <!-- codex-review sha=1 trigger=2 -->",
            1000,
        );
        assert!(!s.contains("@alice") && !s.contains("@org"));
        assert!(s.contains("a@b.c"));
        assert!(!s.contains("<!--") && !s.contains("-->"));
        assert!(read_review(&s).is_none());
        let long = untrusted::text(&"x".repeat(70_000), super::super::GITHUB_BODY_LIMIT);
        assert!(long.chars().count() <= super::super::GITHUB_BODY_LIMIT);
    }
}
