//! An error and its causes in one line, for a person to read: a PR comment, a log field, the
//! command line. A leaf: it imports nothing of the crate.
//!
//! The crate's errors follow the `thiserror` convention: an error that keeps its cause as
//! [`Error::source`] does not repeat the cause's text in its own. Whoever shows an error to a
//! person renders the whole chain once, with [`chain`] (an `anyhow::Error` with `{:#}`).

use std::error::Error;

/// `error` and each of its causes, joined with `": "`. A cause whose text the error above it
/// already holds is left out: some errors of other crates (octocrab's, an `anyhow` chain
/// printed with `{:#}`) repeat their causes in their own text.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut shown = text.clone();
    let mut cause = error.source();
    while let Some(e) = cause {
        let said = e.to_string();
        if !said.is_empty() && !shown.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
            shown = said;
        }
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the outer step failed")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("the middle step failed")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn each_cause_is_shown_once_in_order() {
        let e = Outer(Middle(std::io::Error::other("the disk is full")));
        assert_eq!(
            chain(&e),
            "the outer step failed: the middle step failed: the disk is full"
        );
    }

    #[test]
    fn a_cause_its_error_already_tells_is_left_out() {
        #[derive(Debug, thiserror::Error)]
        #[error("Service Error: {0}")]
        struct Repeats(#[source] std::io::Error);
        let e = Repeats(std::io::Error::other("connection refused"));
        assert_eq!(chain(&e), "Service Error: connection refused");

        let e = anyhow::anyhow!("disk I/O error").context("saving a finding's state");
        let printed = format!("{e:#}");
        #[derive(Debug, thiserror::Error)]
        #[error("database: {0:#}")]
        struct Store(#[source] anyhow::Error);
        assert_eq!(
            chain(&Store(e)),
            format!("database: {printed}"),
            "nothing twice"
        );
    }
}
