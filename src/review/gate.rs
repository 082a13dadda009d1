//! Before any model call: the repository's configuration (from the base branch), who asked,
//! what they asked for, and whether an automatic review applies.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Outcome, ReviewError, Reviewer};
use crate::diff::filter::PathRules;
use crate::event::{ReviewRequest, Trigger};
use crate::github::{PullInfo, RepoClient};
use crate::ids::RepoName;
use crate::repo_config::{Association, AutoEvent, CONFIG_PATH, Loaded, RepoConfig};

/// Why a comment's command is not run: its author may not run commands here.
pub(super) const NOT_ALLOWED: &str = "the comment's author is not allowed to run commands";

/// How long a configuration read at one base SHA is reused.
const CONFIG_TTL: Duration = Duration::from_secs(60);

/// Configurations by (repository, base SHA), read at most once a minute.
#[derive(Default)]
pub struct ConfigCache {
    entries: Mutex<HashMap<(RepoName, String), (Instant, Loaded)>>,
}

impl ConfigCache {
    fn get(&self, repo: &RepoName, sha: &str) -> Option<Loaded> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&(repo.clone(), sha.to_owned()))
            .filter(|(at, _)| at.elapsed() < CONFIG_TTL)
            .map(|(_, loaded)| loaded.clone())
    }

    fn put(&self, repo: &RepoName, sha: &str, loaded: &Loaded) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 1_000 {
            entries.retain(|_, (at, _)| at.elapsed() < CONFIG_TTL);
        }
        entries.insert(
            (repo.clone(), sha.to_owned()),
            (Instant::now(), loaded.clone()),
        );
    }
}

/// What to do with a job after the checks.
pub enum Gate {
    Review(Box<Loaded>),
    /// No automatic review, for this reason: the check run says so.
    NotAutomatic(Skip),
    Done(Outcome),
}

/// Why an automatic review does not apply. Who controls the reason decides the check run
/// under a gate: GitHub counts `skipped` as passing a required check, so only a reason the
/// pull request's author cannot choose may conclude it `skipped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    TurnedOff,
    Paused,
    NotOpen,
    NotThisEvent,
    Draft,
    BaseBranch,
    IgnoredAuthor,
    IgnoredLabel,
    TitleKeyword,
    AuthorNotAllowed,
}

/// Who can make a [`Skip`] reason true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// The base branch's configuration, a pause, an event: only a maintainer.
    Maintainer,
    /// The pull request itself: a draft, a label, its title (in most teams an author may add
    /// a label).
    Author,
    /// Nobody to ask: the check stays waiting for a person allowed to run `@codex review`.
    Nobody,
}

impl Skip {
    pub fn text(self) -> &'static str {
        match self {
            Skip::TurnedOff => "automatic reviews are turned off",
            Skip::Paused => "automatic reviews of this pull request are paused",
            Skip::NotOpen => "the pull request is not open",
            Skip::NotThisEvent => "the repository does not review on this event",
            Skip::Draft => "the pull request is a draft",
            Skip::BaseBranch => "the base branch is not one the repository reviews",
            Skip::IgnoredAuthor => "the author is in auto_review.ignore_authors",
            Skip::IgnoredLabel => "the pull request has a label in auto_review.ignore_labels",
            Skip::TitleKeyword => "the title has a keyword in auto_review.ignore_title_keywords",
            Skip::AuthorNotAllowed => "the author is not allowed to trigger reviews",
        }
    }

    pub fn controller(self) -> Controller {
        match self {
            Skip::TurnedOff
            | Skip::Paused
            | Skip::NotThisEvent
            | Skip::BaseBranch
            | Skip::IgnoredAuthor => Controller::Maintainer,
            Skip::Draft | Skip::IgnoredLabel | Skip::TitleKeyword => Controller::Author,
            // A closed pull request needs no check; an author who may not trigger reviews
            // waits for a maintainer's `@codex review`.
            Skip::NotOpen | Skip::AuthorNotAllowed => Controller::Nobody,
        }
    }
}

impl Reviewer {
    /// The configuration at the PR's base SHA (never the head).
    pub(super) async fn load_config(
        &self,
        gh: &RepoClient,
        repo: &RepoName,
        base_sha: &str,
    ) -> Result<Loaded, ReviewError> {
        if let Some(loaded) = self.config_cache.get(repo, base_sha) {
            return Ok(loaded);
        }
        let loaded = Loaded::read(gh, base_sha).await?.0;
        self.config_cache.put(repo, base_sha, &loaded);
        Ok(loaded)
    }

    /// Decides whether the review `req` asks for runs: who may, the repository's switch,
    /// the limits, and for an automatic review, the repository's rules.
    pub(super) async fn gate(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
    ) -> Result<Gate, ReviewError> {
        let loaded = self.load_config(gh, &req.repo, &pull.base.sha).await?;
        let config = &loaded.config;
        match &req.trigger {
            Trigger::Comment { .. } => {
                if let Some(outcome) = self.may_run(gh, req, config).await? {
                    return Ok(Gate::Done(outcome));
                }
            }
            // Only people with write access can re-run a check, and only holders of an API
            // token can call the API: no association to check.
            Trigger::CheckRun { .. } | Trigger::Api { .. } => {
                if !config.enabled {
                    return Ok(Gate::Done(Outcome::Skipped(
                        "turned off for this repository",
                    )));
                }
                if let Some(limit) = self.limit_reached(req, config).await? {
                    return self.limited(gh, req, &limit).await;
                }
            }
            Trigger::PullRequest {
                action,
                author,
                association,
                ..
            } => {
                if let Some(error) = &loaded.error {
                    // Once per base SHA: the same broken file is not reported on every push.
                    let text = format!(
                        "<!-- codex-review config-error -->\n⚠️ **Codex review did not review this pull request automatically**: `{CONFIG_PATH}` on the base branch is invalid.\n\n{}\n\nFix the file, or comment `@{} review` to review with the default settings.",
                        crate::untrusted::text(&error.to_string(), 2_000),
                        self.bot_handle
                    );
                    self.notice_once(gh, req, "config-error", &pull.base.sha, &text)
                        .await?;
                    return Ok(Gate::Done(Outcome::Skipped("invalid configuration")));
                }
                let paused = self
                    .store
                    .is_paused(&req.repo, req.pr)
                    .await
                    .map_err(ReviewError::Store)?;
                if let Some(skip) =
                    auto_review_skip(config, action, author, association.as_deref(), pull, paused)
                {
                    tracing::info!(why = skip.text(), "no automatic review");
                    return Ok(Gate::NotAutomatic(skip));
                }
                if let Some(limit) = self.limit_reached(req, config).await? {
                    return self.limited(gh, req, &limit).await;
                }
            }
        }
        Ok(Gate::Review(Box::new(loaded)))
    }

    /// Whether the comment of `req` may have its command run: its author may run commands,
    /// the repository has not turned the app off, and, for a command that asks the model,
    /// no limit is reached. `Some` says what was done instead (one answer per comment).
    pub(super) async fn may_run(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        config: &RepoConfig,
    ) -> Result<Option<Outcome>, ReviewError> {
        let Trigger::Comment {
            author,
            association,
            comment_id,
            ..
        } = &req.trigger
        else {
            return Ok(Some(Outcome::Skipped("a command without a comment")));
        };
        if !self
            .allowed(gh, config, author, association.as_deref())
            .await?
        {
            tracing::info!(author, "comment author may not run commands here");
            return Ok(Some(Outcome::Skipped(NOT_ALLOWED)));
        }
        if !config.enabled {
            self.reply(gh, req, &format!("Codex review is turned off for this repository (`enabled: false` in `{CONFIG_PATH}` on the base branch).")).await?;
            return Ok(Some(Outcome::Replied("disabled")));
        }
        if req.command.calls_model()
            && let Some(limit) = self.limit_reached(req, config).await?
        {
            let text = format!("@{author} {}", limit.message());
            let key = format!("comment-{comment_id}");
            self.notice_once(gh, req, "rate-limit", &key, &text).await?;
            return Ok(Some(Outcome::Replied(limit.outcome())));
        }
        Ok(None)
    }

    /// A job without a comment to answer stopped by `limit`: a dollar cap is said once per
    /// pull request and window in a comment (an API review with `post: false` only records
    /// it, in its detail); an hourly limit stops it quietly.
    async fn limited(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        limit: &super::spend::Limit,
    ) -> Result<Gate, ReviewError> {
        let message = limit.message();
        tracing::info!(limit = %message, "not run: a limit is reached");
        if let Some(key) = limit.notice_key()
            && req.posts()
        {
            self.notice_once(gh, req, "spend-cap", &key, &limit.notice())
                .await?;
        }
        Ok(Gate::Done(Outcome::Limited(message)))
    }

    /// Posts a notice of `kind` and `key` unless it was given before; it counts as given
    /// once GitHub has accepted it (a failed post is tried again with the job).
    async fn notice_once(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        kind: &str,
        key: &str,
        text: &str,
    ) -> Result<(), ReviewError> {
        let store = ReviewError::Store;
        if self
            .store
            .notice_given(&req.repo, req.pr, kind, key)
            .await
            .map_err(store)?
        {
            return Ok(());
        }
        gh.comment(req.pr, text).await?;
        self.store
            .record_notice(&req.repo, req.pr, kind, key)
            .await
            .map_err(store)
    }

    /// Whether a comment's author may run commands: their association is allowed, or, when
    /// GitHub did not send one, their permission on the repository says so.
    pub(super) async fn allowed(
        &self,
        gh: &RepoClient,
        config: &RepoConfig,
        author: &str,
        association: Option<&str>,
    ) -> Result<bool, ReviewError> {
        let allowed = &config.triggers.allowed_associations;
        if let Some(a) = association.and_then(Association::from_github) {
            return Ok(allowed.contains(&a));
        }
        let owner = gh.repo().as_str().split('/').next().unwrap_or_default();
        let permission = gh.permission(author).await?;
        let as_association = Association::from_permission(author, owner, permission.as_deref());
        Ok(allowed.contains(&as_association))
    }

    pub(crate) async fn reply(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        text: &str,
    ) -> Result<(), ReviewError> {
        let mention = match &req.trigger {
            Trigger::Comment { author, .. } => format!("@{author} "),
            Trigger::PullRequest { .. } | Trigger::CheckRun { .. } | Trigger::Api { .. } => {
                String::new()
            }
        };
        gh.comment(req.pr, &format!("{mention}{text}")).await?;
        Ok(())
    }
}

/// Why an automatic review does not apply, if it does not.
fn auto_review_skip(
    config: &RepoConfig,
    action: &str,
    author: &str,
    association: Option<&str>,
    pull: &PullInfo,
    paused: bool,
) -> Option<Skip> {
    let auto = &config.auto_review;
    if !config.enabled || !auto.enabled {
        return Some(Skip::TurnedOff);
    }
    if paused {
        return Some(Skip::Paused);
    }
    if pull.state != "open" {
        return Some(Skip::NotOpen);
    }
    let event = AutoEvent::from_action(action)?;
    if !auto.on.contains(&event) {
        return Some(Skip::NotThisEvent);
    }
    if pull.draft && !auto.drafts {
        return Some(Skip::Draft);
    }
    if !auto.base_branches.is_empty() {
        let rules = PathRules::new(&auto.base_branches, &[]).ok()?;
        if !rules.includes(&pull.base.name) {
            return Some(Skip::BaseBranch);
        }
    }
    let login = pull.user.as_ref().map_or(author, |u| u.login.as_str());
    if auto
        .ignore_authors
        .iter()
        .any(|a| a.eq_ignore_ascii_case(login))
    {
        return Some(Skip::IgnoredAuthor);
    }
    if pull.labels.iter().any(|l| {
        auto.ignore_labels
            .iter()
            .any(|i| i.eq_ignore_ascii_case(&l.name))
    }) {
        return Some(Skip::IgnoredLabel);
    }
    if auto
        .ignore_title_keywords
        .iter()
        .any(|k| has_keyword(&pull.title, k))
    {
        return Some(Skip::TitleKeyword);
    }
    // Bots are governed by ignore_authors; people by the associations allowed to trigger.
    if !login.ends_with("[bot]") {
        let association = pull.author_association.as_deref().or(association);
        let allowed = association
            .and_then(Association::from_github)
            .is_some_and(|a| config.triggers.allowed_associations.contains(&a));
        if !allowed {
            return Some(Skip::AuthorNotAllowed);
        }
    }
    None
}

/// Whether `keyword` stands in `title` as a whole word, case-insensitively: `WIP` is in
/// "WIP: x" and "[wip] x", not in "Fix sWIPe". A keyword's edge that is not a letter or digit
/// (`[skip]`) needs no boundary there.
pub fn has_keyword(title: &str, keyword: &str) -> bool {
    let title: Vec<char> = title.chars().flat_map(char::to_lowercase).collect();
    let keyword: Vec<char> = keyword
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .collect();
    let (Some(&first), Some(&last)) = (keyword.first(), keyword.last()) else {
        return false;
    };
    if keyword.len() > title.len() {
        return false;
    }
    (0..=title.len() - keyword.len()).any(|at| {
        let end = at + keyword.len();
        title[at..end] == keyword[..]
            && (!first.is_alphanumeric() || at == 0 || !title[at - 1].is_alphanumeric())
            && (!last.is_alphanumeric() || end == title.len() || !title[end].is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_keywords_match_whole_words_only() {
        for title in [
            "WIP: anything",
            "[wip] parser",
            "Parser (wip)",
            "wip",
            "Do WIP",
        ] {
            assert!(has_keyword(title, "wip"), "{title}");
            assert!(has_keyword(title, "WIP"), "{title}");
        }
        for title in ["Fix sWIPe", "wiping caches", "Swipe", "w i p", ""] {
            assert!(!has_keyword(title, "wip"), "{title}");
        }
        assert!(has_keyword("[skip review] docs", "[skip review]"));
        assert!(has_keyword("x[skip]y", "[skip]"));
        assert!(has_keyword("Do not merge: yet", "do not merge"));
        assert!(!has_keyword("Do not merged", "do not merge"));
        assert!(!has_keyword("anything", ""));
        assert!(!has_keyword("anything", "  "));
    }

    #[test]
    fn only_reasons_a_maintainer_controls_may_pass_a_required_check() {
        use Controller::*;
        let all = [
            (Skip::TurnedOff, Maintainer),
            (Skip::Paused, Maintainer),
            (Skip::NotThisEvent, Maintainer),
            (Skip::BaseBranch, Maintainer),
            (Skip::IgnoredAuthor, Maintainer),
            (Skip::Draft, Author),
            (Skip::IgnoredLabel, Author),
            (Skip::TitleKeyword, Author),
            (Skip::NotOpen, Nobody),
            (Skip::AuthorNotAllowed, Nobody),
        ];
        for (skip, who) in all {
            assert_eq!(skip.controller(), who, "{}", skip.text());
        }
    }
}
