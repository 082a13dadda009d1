//! The Markdown the bot posts, built in one room: each piece is a function of typed values,
//! and every value that is not the app's own (the model's text, a person's words, a path, a
//! configuration value) goes through the one sanitizer, [`crate::untrusted`]. The app's hidden
//! markers are written here too, so nothing else can hold one.
//!
//! Here: the markers, the failure notice, the review's summary (with its section on earlier
//! findings), the inline comment, the answers (a question, a reply in a finding's thread, a
//! dismissal) and the commands' replies (help, pause, learnings, an unknown word). Each takes
//! values of its own or of the rooms below (a finding, a trace, a usage); the pipeline and the
//! App's job handler map theirs into them.

pub mod answers;
pub mod commands;
pub mod inline;
pub mod markers;
pub mod summary;

/// GitHub refuses comment bodies longer than this (characters).
pub const GITHUB_BODY_LIMIT: usize = 65_536;

/// The comment posted when a review could not be done: `what_failed` is untrusted (an error
/// may quote GitHub or the model), `what_to_do` is the app's own advice.
pub fn failure_comment(marker_id: &str, what_failed: &str, what_to_do: &str) -> String {
    format!(
        "{}\n⚠️ **Codex review could not review this pull request.**\n\n{}\n\n{what_to_do}",
        markers::failure(marker_id),
        crate::untrusted::text(what_failed, 4_000)
    )
}
