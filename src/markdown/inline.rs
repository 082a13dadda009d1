//! One inline comment of a review: priority, title, paragraph, and a suggestion block.

use std::fmt::Write as _;

use crate::model::Finding;
use crate::untrusted::{self, longest_backtick_run};

/// Characters of a finding's paragraph (and of a suggestion) at most.
const INLINE_LIMIT: usize = 16_000;

/// Where the comment sits, as far as its text depends on it.
#[derive(Debug, Clone, Copy)]
pub struct Seat {
    /// On the new side of the diff: a suggestion there replaces the commented lines.
    pub right_side: bool,
    /// The lines were moved into the diff: a suggestion would replace other lines than the
    /// model wrote it for, and the comment says where the model pointed.
    pub clamped: bool,
}

/// The body of the inline comment of `finding`, seated as `seat` says.
pub fn comment(finding: &Finding, seat: Seat) -> String {
    let f = finding;
    let mut body = format!(
        "**[P{}] {}**\n\n{}",
        f.priority,
        untrusted::line(f.title.trim(), 200),
        untrusted::text(f.body.trim(), INLINE_LIMIT)
    );
    if let Some(code) = f.suggestion.as_deref()
        && seat.right_side
        && !seat.clamped
        && code.len() <= INLINE_LIMIT
        // Code holding an HTML comment could carry a forged marker: left out.
        && !code.contains("<!--")
    {
        let fence = "`".repeat(longest_backtick_run(code).max(2) + 1);
        let code = code.strip_suffix('\n').unwrap_or(code);
        let _ = write!(body, "\n\n{fence}suggestion\n{code}\n{fence}");
    }
    if seat.clamped {
        let _ = write!(
            body,
            "\n\n<sub>The model pointed at lines {}–{}; this comment sits on the part inside the diff.</sub>",
            f.code_location.line_range.start, f.code_location.line_range.end
        );
    }
    body
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggestion_fences_outgrow_backticks_in_the_code() {
        assert_eq!(crate::untrusted::longest_backtick_run("a ``` b ```` c"), 4);
    }
}
