//! The answers the bot posts to a person: to a question in the conversation, to a reply in a
//! finding's thread, and the confirmation of a dismissal. The model's answer and the person's
//! question are untrusted.

use crate::ids::CommentId;
use crate::untrusted;

use super::markers;

/// Characters of an answer posted at most.
pub const MAX_ANSWER_CHARS: usize = 20_000;

/// The answer to `question` (quoted back, line by line), with the marker of the comment that
/// asked it when there is one.
pub fn question(question: &str, answer: &str, asked: Option<CommentId>) -> String {
    let quoted: String = question
        .lines()
        .map(|l| format!("> {}\n", untrusted::line(l, 2_000)))
        .collect();
    let marker = asked.map(markers::answer).unwrap_or_default();
    format!(
        "\n\n{quoted}\n{}\n\n{marker}",
        untrusted::text(answer.trim(), MAX_ANSWER_CHARS)
    )
}

/// The model's answer in a finding's thread, marked as the answer to the comment that asked
/// (when a comment asked).
pub fn in_thread(answer: &str, asked: Option<CommentId>) -> String {
    format!(
        "{}\n\n{}",
        untrusted::text(answer.trim(), MAX_ANSWER_CHARS),
        asked.map(markers::answer).unwrap_or_default()
    )
}

/// The confirmation of a dismissal in the finding's thread; `learnt` when its reason is kept
/// as a learning.
pub fn dismissed(learnt: bool, asked: Option<CommentId>) -> String {
    let mut text =
        String::from("Dismissed: this finding will not be posted again on this pull request.");
    if learnt {
        text.push_str(" The reason is kept as a learning for later reviews of this repository.");
    }
    text.push_str("\n\n");
    text.push_str(&asked.map(markers::answer).unwrap_or_default());
    text
}
