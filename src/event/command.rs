//! What a request asks the app to do: one enum of commands, parsed once (a comment by
//! [`super::grammar`], a reply in a thread by the event), stored with its job and dispatched
//! by the job handler: a review to the pipeline, every other command to its handler in
//! `crate::commands`.

use serde::{Deserialize, Serialize};

/// A command, as stored with its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// `@codex review` followed by optional focus areas (lower-cased, de-duplicated), and
    /// every review that is not asked for in a comment. `@codex review full` reviews the
    /// whole PR even after an earlier review.
    Review {
        #[serde(default)]
        focus_areas: Vec<String>,
        #[serde(default)]
        full: bool,
    },
    /// `@codex help`: the commands and the effective configuration.
    Help,
    /// `@codex pause`: no automatic reviews of this pull request.
    Pause,
    /// `@codex resume`: automatic reviews again.
    Resume,
    /// `@codex learnings`: the repository's learnings, numbered.
    Learnings,
    /// `@codex forget N`: removes learning N.
    Forget { number: i64 },
    /// `@codex ask <question>`: answered as a comment, with the PR's diff as context.
    Ask { question: String },
    /// A reply mentioning the bot in a review thread; `root` is the thread's first comment.
    Reply { root: u64 },
    /// `@codex <something else>`: answered with a short help.
    Unknown { word: String },
}

/// The words that give a command in a comment, each as `@codex WORD`: the help names every
/// one (a test checks it, and that the grammar reads each back).
pub const WORDS: &[&str] = &[
    "review",
    "help",
    "pause",
    "resume",
    "learnings",
    "forget",
    "ask",
];

impl Default for Command {
    fn default() -> Self {
        Command::review()
    }
}

impl Command {
    /// A review of the pull request, without focus areas.
    pub fn review() -> Self {
        Command::Review {
            focus_areas: Vec::new(),
            full: false,
        }
    }

    /// The word that gives this command in a comment (`None` for a reply in a thread and
    /// for an unknown word).
    pub fn word(&self) -> Option<&'static str> {
        match self {
            Command::Review { .. } => Some("review"),
            Command::Help => Some("help"),
            Command::Pause => Some("pause"),
            Command::Resume => Some("resume"),
            Command::Learnings => Some("learnings"),
            Command::Forget { .. } => Some("forget"),
            Command::Ask { .. } => Some("ask"),
            Command::Reply { .. } | Command::Unknown { .. } => None,
        }
    }

    /// Whether the command asks the model (and so counts against the limits and caps).
    pub fn calls_model(&self) -> bool {
        matches!(
            self,
            Command::Review { .. } | Command::Ask { .. } | Command::Reply { .. }
        )
    }

    /// The review's focus areas, in the order written (none for other commands).
    pub fn focus_areas(&self) -> &[String] {
        match self {
            Command::Review { focus_areas, .. } => focus_areas,
            _ => &[],
        }
    }

    /// `@codex review full`: the whole PR, even when an earlier review exists.
    pub fn full(&self) -> bool {
        matches!(self, Command::Review { full: true, .. })
    }

    /// The part of a job's dedupe key that says what it does: the same command with the
    /// same arguments is the same work.
    pub(super) fn key(&self) -> String {
        match self {
            Command::Review { full: true, .. } => "full".to_owned(),
            Command::Review { .. } => "review".to_owned(),
            Command::Help => "help".to_owned(),
            Command::Pause => "pause".to_owned(),
            Command::Resume => "resume".to_owned(),
            Command::Learnings => "learnings".to_owned(),
            Command::Forget { number } => format!("forget-{number}"),
            Command::Reply { root } => format!("reply-{root}"),
            // Two questions are two jobs.
            Command::Ask { question } => {
                use sha2::Digest;
                format!("ask-{}", hex::encode(&sha2::Sha256::digest(question)[..8]))
            }
            Command::Unknown { .. } => "unknown".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_read_back_as_its_command() {
        for word in WORDS {
            let text = match *word {
                "forget" => "@codex forget 2".to_owned(),
                "ask" => "@codex ask why?".to_owned(),
                _ => format!("@codex {word}"),
            };
            let command = super::super::grammar::parse(&text, "codex").unwrap();
            assert_eq!(command.word(), Some(*word), "{text}");
        }
    }
}
