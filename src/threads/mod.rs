//! Findings that live across pushes. A posted inline finding is stored with its
//! review comment and thread; a later review of the pull request reads the threads, takes the
//! findings people dismissed (a reply such as "won't fix", or a 👎 on the comment) out of play,
//! shows the model the open ones whose code changed, and resolves the threads of those the
//! model judges fixed and of those whose lines were deleted.

pub mod dismiss;
pub mod follow;

use std::collections::{HashMap, HashSet};

use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::github::{GitHubError, RepoClient, ReviewThread};
use crate::ids::{CommitSha, PrNumber, RepoName};
use crate::model::normalize_title;
use crate::repo_config::Association;
use crate::store::{FindingState, Store, StoredFinding};
use follow::{Followed, follow};

/// Open findings whose comments are checked for 👎 per review at most.
const MAX_REACTION_CHECKS: usize = 30;
/// Reaction reads in flight at once (GitHub asks integrators not to flood it; thread
/// resolutions, which are mutations, stay one at a time).
const REACTION_CONCURRENCY: usize = 6;
/// Earlier heads compared with the current one per review at most.
const MAX_COMPARISONS: usize = 5;
/// Open findings of a summary shown to the model per review at most.
const MAX_SUMMARY_SHOWN: usize = 20;
/// Lines of code shown per earlier finding at most.
const MAX_SHOWN_LINES: u32 = 40;

/// An open finding shown to the model, with its place and code now.
#[derive(Debug, Clone)]
pub struct Shown {
    pub finding: StoredFinding,
    pub start: u32,
    pub end: u32,
    /// Numbered lines at the current head.
    pub code: String,
}

/// What a review learns of the earlier findings of its pull request.
#[derive(Debug, Default)]
pub struct Earlier {
    /// Open findings whose code changed since they were posted: the model says which are fixed.
    pub shown: Vec<Shown>,
    /// Open findings whose lines were all deleted since.
    pub outdated: Vec<StoredFinding>,
    /// `(path, normalised title)` of the PR's dismissed findings: never posted again.
    pub dismissed: HashSet<(String, String)>,
    /// Findings dismissed since the last review (by reply or reaction).
    pub newly_dismissed: usize,
    /// Open findings with a 👎 only from people who may not run commands (not a dismissal).
    pub ignored_reactions: usize,
    /// Ids of the pull request's open P0 and P1 findings, before this review judges them.
    pub open_urgent: Vec<String>,
}

impl Earlier {
    /// The open P0 and P1 findings that stay open after a review that judged `fixed` fixed
    /// (those whose lines were deleted are outdated, not open).
    pub fn open_urgent_after(&self, fixed: &[String]) -> usize {
        self.open_urgent
            .iter()
            .filter(|id| !fixed.contains(id) && !self.outdated.iter().any(|o| &o.id == *id))
            .count()
    }

    /// Whether a new finding is one people dismissed on this pull request.
    pub fn is_dismissed(&self, path: &str, title: &str) -> bool {
        self.dismissed
            .contains(&(path.to_owned(), normalize_title(title)))
    }

    /// The section of the user message: `[ID] title (path:line)` and the code now.
    pub fn prompt_section(&self) -> String {
        let mut s = String::new();
        for shown in &self.shown {
            let f = &shown.finding;
            let title: String = f.title.split_whitespace().collect::<Vec<_>>().join(" ");
            s.push_str(&format!(
                "[{}] {title} ({}:{})\n",
                f.id, f.path, shown.start
            ));
            s.push_str(shown.code.trim_end());
            s.push('\n');
        }
        s
    }
}

/// Who may dismiss a finding, with a reply or a 👎: the same people who may run commands.
pub struct Authority<'a> {
    pub bot_login: &'a str,
    pub bot_handle: &'a str,
    /// `OWNER`, `MEMBER`, ... as configured for the repository.
    pub associations: &'a [Association],
    /// Keep a dismissal's reason as a learning of the repository.
    pub learn: bool,
}

/// Reads the PR's threads and decides what becomes of each open finding before the model is
/// asked. `head_text` gives a file's text at the current head.
pub async fn review_earlier<F, Fut>(
    gh: &RepoClient,
    store: &Store,
    pr: PrNumber,
    head: &CommitSha,
    authority: &Authority<'_>,
    head_text: F,
) -> Result<Earlier, EarlierError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let repo = gh.repo().clone();
    let open = store
        .threaded_findings(&repo, pr, "open")
        .await
        .map_err(EarlierError::Store)?;
    let mut earlier = Earlier::default();
    if !open.is_empty() {
        let threads: HashMap<String, ReviewThread> = gh
            .review_threads(pr)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let mut live = Vec::new();
        for finding in open {
            let Some(thread) = threads.get(&finding.thread_id) else {
                continue;
            };
            // A thread resolved by hand stays in play: anyone who may comment can resolve it,
            // so it neither dismisses the finding nor stops it being found fixed.
            if let Some((reason, by)) = dismissed_in(thread, authority) {
                store
                    .set_finding_state(
                        &repo,
                        pr,
                        &finding.fingerprint,
                        FindingState::Dismissed,
                        reason.as_deref(),
                        Some(&by),
                    )
                    .await
                    .map_err(EarlierError::Store)?;
                if let Some(reason) = reason.as_deref().filter(|_| authority.learn) {
                    store
                        .add_learning(&repo, reason, &by)
                        .await
                        .map_err(EarlierError::Store)?;
                }
                earlier.newly_dismissed += 1;
                continue;
            }
            live.push(finding);
        }
        // The 👎 of the first findings, asked a few at a time (reads; answers kept in order).
        let ids: Vec<u64> = live
            .iter()
            .take(MAX_REACTION_CHECKS)
            .map(|f| f.comment_id)
            .collect();
        let mut downs: Vec<Vec<String>> = futures_util::stream::iter(ids)
            .map(|id| gh.comment_reactions(id, "-1"))
            .buffered(REACTION_CONCURRENCY)
            .try_collect()
            .await?;
        downs.resize(live.len(), Vec::new());
        let mut still = Vec::new();
        let mut who = HashMap::new();
        for (finding, downs) in live.into_iter().zip(downs) {
            // A 👎 counts only from a person who may run commands: a reaction carries no
            // association, so theirs is read from their permission on the repository.
            let mut by = None;
            let mut ignored = false;
            for login in downs.iter().filter(|l| *l != authority.bot_login) {
                if may_run_commands(gh, authority, login, &mut who).await? {
                    by = Some(login);
                    break;
                }
                ignored = true;
            }
            if ignored && by.is_none() {
                earlier.ignored_reactions += 1;
            }
            if let Some(by) = by {
                store
                    .set_finding_state(
                        &repo,
                        pr,
                        &finding.fingerprint,
                        FindingState::Dismissed,
                        None,
                        Some(by),
                    )
                    .await
                    .map_err(EarlierError::Store)?;
                earlier.newly_dismissed += 1;
                continue;
            }
            still.push(finding);
        }
        follow_changes(gh, head, still, &mut earlier, &head_text).await?;
    }
    show_summary_findings(store, &repo, pr, &mut earlier, &head_text).await?;
    earlier.dismissed = dismissed_set(store, &repo, pr)
        .await
        .map_err(EarlierError::Store)?;
    earlier.open_urgent = store
        .holding_findings(&repo, pr, 1)
        .await
        .map_err(EarlierError::Store)?
        .into_iter()
        .map(|f| f.id)
        .collect();
    Ok(earlier)
}

/// Findings posted in a summary have no thread to follow or dismiss: each is shown to the
/// model at the lines where it was posted, until a review says it is fixed.
async fn show_summary_findings<F, Fut>(
    store: &Store,
    repo: &RepoName,
    pr: PrNumber,
    earlier: &mut Earlier,
    head_text: &F,
) -> Result<(), EarlierError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let in_summary = store
        .open_summary_findings(repo, pr)
        .await
        .map_err(EarlierError::Store)?;
    for finding in in_summary.into_iter().take(MAX_SUMMARY_SHOWN) {
        let (start, end) = (
            finding.start,
            finding.end.min(finding.start + MAX_SHOWN_LINES),
        );
        let code = match head_text(finding.path.clone()).await {
            Some(text) if finding.side == "RIGHT" => numbered(&text, start, end),
            Some(_) => "(a deleted line of the base)\n".to_owned(),
            None => "(the file is not at this head)\n".to_owned(),
        };
        earlier.shown.push(Shown {
            finding,
            start,
            end,
            code,
        });
    }
    Ok(())
}

/// `(path, normalised title)` of the PR's dismissed findings.
pub async fn dismissed_set(
    store: &Store,
    repo: &RepoName,
    pr: PrNumber,
) -> anyhow::Result<HashSet<(String, String)>> {
    Ok(store
        .dismissed_findings(repo, pr)
        .await?
        .into_iter()
        .map(|(path, title)| (path, normalize_title(&title)))
        .collect())
}

/// Where each open finding's lines went since the head it was posted on.
async fn follow_changes<F, Fut>(
    gh: &RepoClient,
    head: &CommitSha,
    open: Vec<StoredFinding>,
    earlier: &mut Earlier,
    head_text: &F,
) -> Result<(), EarlierError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let mut by_head: HashMap<String, Vec<StoredFinding>> = HashMap::new();
    for f in open.into_iter().filter(|f| f.side == "RIGHT") {
        by_head.entry(f.head_sha.clone()).or_default().push(f);
    }
    for (posted_on, findings) in by_head.into_iter().take(MAX_COMPARISONS) {
        let Some(base) = CommitSha::parse(&posted_on).filter(|b| b != head) else {
            continue;
        };
        // Gone (a force-push) or not an ancestor: the lines cannot be followed.
        let Some(files) = follow::changes_since(gh, &base, head).await? else {
            continue;
        };
        for finding in findings {
            let Some(file) = files.get(&finding.path) else {
                continue;
            };
            let (start, end, text) = match follow(file, finding.start, finding.end) {
                Followed::Unchanged { .. } => continue,
                Followed::Changed { start, end } => {
                    (start, end, head_text(file.path.clone()).await)
                }
                // Gone from where it was: outdated only when the code is gone from the file.
                Followed::Deleted => {
                    let text = head_text(file.path.clone()).await;
                    let moved = text
                        .as_deref()
                        .and_then(|t| follow::moved_to(file, finding.start, finding.end, t));
                    match moved {
                        Some((start, end)) => (start, end, text),
                        None => {
                            earlier.outdated.push(finding);
                            continue;
                        }
                    }
                }
            };
            let end = end.min(start + MAX_SHOWN_LINES);
            let code = match text {
                Some(text) => numbered(&text, start, end),
                None => "(the code could not be read)\n".to_owned(),
            };
            earlier.shown.push(Shown {
                finding,
                start,
                end,
                code,
            });
        }
    }
    Ok(())
}

/// Lines `start..=end` of `text`, each with its number.
fn numbered(text: &str, start: u32, end: u32) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l))
        .filter(|(n, _)| (start..=end).contains(n))
        .map(|(n, l)| format!("{n}: {l}\n"))
        .collect()
}

/// Whether `login` may run commands here (asked once per review and person).
async fn may_run_commands(
    gh: &RepoClient,
    authority: &Authority<'_>,
    login: &str,
    known: &mut HashMap<String, bool>,
) -> Result<bool, GitHubError> {
    if let Some(&allowed) = known.get(login) {
        return Ok(allowed);
    }
    let owner = gh.repo().as_str().split('/').next().unwrap_or_default();
    let permission = gh.permission(login).await?;
    let association = Association::from_permission(login, owner, permission.as_deref());
    let allowed = authority.associations.contains(&association);
    known.insert(login.to_owned(), allowed);
    Ok(allowed)
}

/// A reply of an authorised person that dismisses the finding: its reason and author.
fn dismissed_in(
    thread: &ReviewThread,
    authority: &Authority<'_>,
) -> Option<(Option<String>, String)> {
    thread.comments.iter().skip(1).find_map(|c| {
        let author = c.author.as_deref()?;
        let allowed = Association::from_github(&c.association)
            .is_some_and(|a| authority.associations.contains(&a));
        if author == authority.bot_login || !allowed {
            return None;
        }
        dismiss::dismissal(&c.body, authority.bot_handle).map(|d| (d.reason, author.to_owned()))
    })
}

/// What the review did with its earlier findings, for the summary.
#[derive(Debug, Default)]
pub struct Settled {
    /// `(title, path, line)` of the findings resolved as fixed.
    pub fixed: Vec<(String, String, u32)>,
    pub outdated: Vec<(String, String, u32)>,
    /// `(title, path, line)` of the findings marked fixed that were reported again: their
    /// threads are unresolved.
    pub reopened: Vec<(String, String, u32)>,
}

impl Settled {
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty() && self.outdated.is_empty() && self.reopened.is_empty()
    }
}

/// A finding marked fixed that the model reported again, where it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reopened {
    pub fingerprint: String,
    pub thread_id: String,
    pub title: String,
    pub path: String,
    pub line: u32,
}

/// Opens again the findings marked fixed that a review of `head` reported again: their
/// threads are unresolved and their state is open, so they hold the gate again.
pub async fn reopen(
    gh: &RepoClient,
    store: &Store,
    pr: PrNumber,
    head: &CommitSha,
    reopened: &[Reopened],
    settled: &mut Settled,
) -> Result<(), EarlierError> {
    let repo = gh.repo().clone();
    for r in reopened {
        // Recorded first: a thread left resolved by a failure still holds the gate.
        store
            .reopen_finding(&repo, pr, &r.fingerprint, head.as_str())
            .await
            .map_err(EarlierError::Store)?;
        gh.unresolve_thread(&r.thread_id).await?;
        settled
            .reopened
            .push((r.title.clone(), r.path.clone(), r.line));
    }
    Ok(())
}

/// Resolves the threads of the findings the model judged fixed (only ids it was shown count)
/// and of the outdated ones, and records their state.
pub async fn settle(
    gh: &RepoClient,
    store: &Store,
    repo: &RepoName,
    pr: PrNumber,
    earlier: &Earlier,
    fixed_ids: &[String],
) -> Settled {
    let mut settled = Settled::default();
    let fixed = earlier
        .shown
        .iter()
        .filter(|s| fixed_ids.iter().any(|id| id.trim() == s.finding.id))
        .map(|s| (&s.finding, FindingState::Fixed));
    let outdated = earlier.outdated.iter().map(|f| (f, FindingState::Outdated));
    for (finding, state) in fixed.chain(outdated) {
        // A finding of a summary has no thread: its state is all there is.
        if !finding.thread_id.is_empty()
            && let Err(e) = gh.resolve_thread(&finding.thread_id).await
        {
            tracing::warn!(error = %crate::error_chain::chain(&e), "cannot resolve a finding's thread");
            continue;
        }
        if let Err(e) = store
            .set_finding_state(repo, pr, &finding.fingerprint, state, None, None)
            .await
        {
            tracing::warn!(error = format!("{e:#}"), "cannot record a finding's state");
        }
        let entry = (finding.title.clone(), finding.path.clone(), finding.start);
        match state {
            FindingState::Fixed => settled.fixed.push(entry),
            _ => settled.outdated.push(entry),
        }
    }
    settled
}

/// Why the earlier findings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EarlierError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("database")]
    Store(#[source] anyhow::Error),
}
