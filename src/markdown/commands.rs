//! The commands' replies: the list of commands and the help with the configuration in force,
//! pause and resume, the learnings, and a word that is no command. Configuration values and
//! learnings are people's words: each goes through [`crate::untrusted`].

use crate::repo_config::{CONFIG_PATH, RepoConfig};
use crate::untrusted;

/// The list of commands (also the answer to a word that is none).
pub fn commands(handle: &str) -> String {
    format!(
        "Commands:\n\n\
         - `@{handle} review [focus areas]`: review this pull request (the changes since the last review, if any), looking first at the focus areas, such as `security performance`\n\
         - `@{handle} review full`: review the whole pull request again\n\
         - `@{handle} pause` / `@{handle} resume`: stop or restart automatic reviews of this pull request\n\
         - `@{handle} ask <question>`: a question about this pull request, answered here\n\
         - `@{handle} learnings` / `@{handle} forget N`: what reviews of this repository learnt from dismissed findings, and removing one\n\
         - in a finding's thread, `@{handle} dismiss [reason]` (or a line starting with \"won't fix\", \"false positive\", \"not a bug\"), or a 👎 on the comment: the finding is never posted again on this pull request\n\
         - `@{handle} help`: this help and the configuration in force"
    )
}

/// The answer to `@codex help`: the commands, then the configuration `config` in force for the
/// pull request, and why the repository's file was ignored (`error`) when it was.
pub fn help(handle: &str, config: &RepoConfig, error: Option<&str>) -> String {
    let c = config;
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.iter()
                .map(|s| untrusted::cell(s, 100))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let on: Vec<String> = c
        .auto_review
        .on
        .iter()
        .map(|e| {
            serde_json::to_value(e)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    let associations: Vec<String> = c
        .triggers
        .allowed_associations
        .iter()
        .map(|a| {
            serde_json::to_value(a)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    let mut text = commands(handle);
    text.push_str(&format!(
        "\n\nConfiguration in force for this pull request (`{CONFIG_PATH}` on the base branch):\n\n"
    ));
    if let Some(e) = error {
        text.push_str(&format!(
            "⚠️ The file is invalid and the defaults apply: {}\n\n",
            untrusted::text(e, 1_000)
        ));
    }
    text.push_str(&format!(
        "| key | value |\n|---|---|\n\
         | `enabled` | {} |\n\
         | `auto_review.enabled` | {} |\n\
         | `auto_review.drafts` | {} |\n\
         | `auto_review.on` | {} |\n\
         | `auto_review.base_branches` | {} |\n\
         | `auto_review.ignore_authors` | {} |\n\
         | `auto_review.ignore_labels` | {} |\n\
         | `auto_review.ignore_title_keywords` | {} |\n\
         | `paths.include` | {} |\n\
         | `paths.exclude` | {} |\n\
         | `review.focus_areas` | {} |\n\
         | `review.min_priority` | {} |\n\
         | `review.min_confidence` | {} |\n\
         | `review.max_inline_comments` | {} |\n\
         | `review.suggestions` | {} |\n\
         | `review.language` | {} |\n\
         | `review.model` | {} |\n\
         | `review.reasoning_effort` | {} |\n\
         | `triggers.allowed_associations` | {} |\n\
         | `triggers.max_per_pr_per_hour` | {} |\n\
         | `gate.fail_on_priority` | {} |\n\
         | `spend.daily_usd` / `spend.monthly_usd` | {} / {} |\n",
        c.enabled,
        c.auto_review.enabled,
        c.auto_review.drafts,
        list(&on),
        list(&c.auto_review.base_branches),
        list(&c.auto_review.ignore_authors),
        list(&c.auto_review.ignore_labels),
        list(&c.auto_review.ignore_title_keywords),
        list(&c.paths.include),
        list(&c.paths.exclude),
        list(&c.review.focus_areas),
        c.review.min_priority,
        c.review.min_confidence,
        c.review.max_inline_comments,
        c.review.suggestions,
        untrusted::cell(&c.review.language, 40),
        c.review
            .model
            .as_deref()
            .map_or("(service default)".to_owned(), |m| untrusted::cell(m, 100)),
        c.review
            .reasoning_effort
            .map_or("(service default)", |e| e.as_str()),
        list(&associations),
        c.triggers.max_per_pr_per_hour,
        c.gate
            .fail_on_priority
            .map_or("(none)".to_owned(), |p| format!("P{p}")),
        usd(c.spend.daily_usd),
        usd(c.spend.monthly_usd),
    ));
    text
}

/// `$12.50`, or `(none)`.
fn usd(cap: Option<f64>) -> String {
    cap.map_or("(none)".to_owned(), |usd| format!("${usd:.2}"))
}

/// The answer to a word that is no command (`word` keeps letters, digits and `-` only).
pub fn unknown(handle: &str, word: &str) -> String {
    let word: String = word
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-')
        .collect();
    format!("I don't know the command `{word}`. {}", commands(handle))
}

/// The answer to `@codex pause` (`paused`) or `@codex resume`.
pub fn paused(handle: &str, paused: bool) -> String {
    if paused {
        format!(
            "Automatic reviews of this pull request are paused. Comment `@{handle} resume` to turn them back on; `@{handle} review` still works."
        )
    } else {
        "Automatic reviews of this pull request are back on.".to_owned()
    }
}

/// One learning as listed: its number, the reason and who gave it.
pub struct Learnt<'a> {
    pub number: i64,
    pub reason: &'a str,
    pub author: &'a str,
}

/// The answer to `@codex learnings`; `enabled` when the repository uses them.
pub fn learnings(handle: &str, learnt: &[Learnt<'_>], enabled: bool) -> String {
    let mut text = if learnt.is_empty() {
        format!(
            "No learnings yet. When someone dismisses a finding in its thread with a reason (`@{handle} dismiss <reason>`, or `won't fix: <reason>`), the reason is kept here and given to later reviews of this repository."
        )
    } else {
        let mut text = String::from("Learnings of this repository (newest first):\n\n");
        for l in learnt {
            text.push_str(&format!(
                "{}. {} (by {})\n",
                l.number,
                untrusted::line(l.reason, 500),
                untrusted::line(l.author, 100).replace('@', "")
            ));
        }
        text.push_str(&format!("\n`@{handle} forget N` removes one."));
        text
    };
    if !enabled {
        text.push_str("\n\nThey are not used: `review.learnings` is `false` for this repository.");
    }
    text
}

/// The answer to `@codex forget N`: `removed` when learning `number` existed.
pub fn forgotten(handle: &str, number: i64, removed: bool) -> String {
    if removed {
        format!("Learning {number} is forgotten.")
    } else {
        format!("There is no learning {number}; `@{handle} learnings` lists them.")
    }
}
