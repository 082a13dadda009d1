//! Where the pipeline is, as it goes: each stage tells a [`Reporter`] its [`Step`]; the App
//! shows it on the check run, the CLI on standard error.

use std::sync::Arc;

/// Where the pipeline is, as it goes: the App shows it on the check run, the CLI on standard
/// error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The model is asked about `files` files in `parts` parts.
    Asking { parts: usize, files: usize },
    /// `done` of the `parts` parts are answered.
    Answered {
        done: usize,
        parts: usize,
        files: usize,
    },
    /// A second look at `findings` findings.
    Verifying { findings: usize },
    /// The model ran one of its tools (reading a file, a search), in any conversation.
    ToolCall,
}

/// Told each [`Step`], from whichever task reaches it.
pub type Reporter = Arc<dyn Fn(Step) + Send + Sync>;

impl Step {
    /// The check run's title and summary for this step; none for a tool call, which would
    /// cost a GitHub request each.
    pub fn describe(self) -> Option<(String, String)> {
        let shown = match self {
            Step::Asking { parts: 0 | 1, .. } => (
                "Reviewing".to_owned(),
                "The model is reviewing this pull request.".to_owned(),
            ),
            Step::Asking { parts, files } => (
                format!("Reviewing: 0 of {parts} parts"),
                format!(
                    "The model is reviewing the {files} files of this pull request in {parts} parts."
                ),
            ),
            Step::Answered { done, parts, files } => (
                format!("Reviewing: part {done} of {parts} answered"),
                format!(
                    "The model is reviewing the {files} files of this pull request in {parts} parts; {done} answered."
                ),
            ),
            Step::Verifying { findings } => (
                format!(
                    "Verifying {findings} finding{}",
                    if findings == 1 { "" } else { "s" }
                ),
                "A second model call checks each finding before it is posted.".to_owned(),
            ),
            Step::ToolCall => return None,
        };
        Some(shown)
    }
}
