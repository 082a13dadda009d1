//! `@codex help`: the commands and the configuration in force for the pull request.

use crate::event::ReviewRequest;
use crate::github::RepoClient;
use crate::repo_config::CONFIG_PATH;
use crate::review::{Loaded, ReviewError, Reviewer};

impl Reviewer {
    /// Answers `@codex help`.
    pub(crate) async fn help(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        loaded: &Loaded,
    ) -> Result<(), ReviewError> {
        self.reply(gh, req, &help_text(&self.bot_handle, loaded))
            .await
    }
}

/// The list of commands (also the answer to a word that is none).
pub(crate) fn commands_text(handle: &str) -> String {
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

fn help_text(handle: &str, loaded: &Loaded) -> String {
    let c = &loaded.config;
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.iter()
                .map(|s| crate::untrusted::cell(s, 100))
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
    let mut text = commands_text(handle);
    text.push_str(&format!(
        "\n\nConfiguration in force for this pull request (`{CONFIG_PATH}` on the base branch):\n\n"
    ));
    if let Some(e) = &loaded.error {
        text.push_str(&format!(
            "⚠️ The file is invalid and the defaults apply: {}\n\n",
            crate::untrusted::text(&e.to_string(), 1_000)
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
        crate::untrusted::cell(&c.review.language, 40),
        c.review
            .model
            .as_deref()
            .map_or("(service default)".to_owned(), |m| crate::untrusted::cell(
                m, 100
            )),
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
