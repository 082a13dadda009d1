//! GitHub webhook payloads turned into the few domain events the app acts on.
//!
//! Only the fields the app needs are deserialized; everything else in GitHub's (large)
//! payloads is skipped. A payload is either an [`Event::Review`] to enqueue, a `ping`, or
//! ignored with a reason that the delivery log keeps.

use serde::{Deserialize, Serialize};

use crate::ids::{CommentId, CommitSha, InstallationId, PrNumber, RepoName};
pub use command::{Command, WORDS};

mod command;
pub mod grammar;
mod pull_request;
mod thread_reply;
use pull_request::{CheckRunPayload, PullRequestPayload, check_run, pull_request};
use thread_reply::{ReviewCommentPayload, review_comment};

/// What a correctly signed delivery means to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// GitHub's hello when the webhook is set up.
    Ping,
    /// A pull request should be reviewed.
    Review(ReviewRequest),
    /// New commits were pushed to a pull request: queued reviews of older heads are stale,
    /// and the repository's configuration may ask for an automatic review of the new head.
    Pushed {
        repo: RepoName,
        pr: PrNumber,
        head_sha: CommitSha,
        review: Option<ReviewRequest>,
    },
    /// Nothing to do; the reason is recorded with the delivery.
    Ignored(&'static str),
}

/// A command on a pull request (a review unless a comment says otherwise), as stored with
/// its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct ReviewRequest {
    pub installation: InstallationId,
    pub repo: RepoName,
    pub pr: PrNumber,
    pub trigger: Trigger,
    /// What the request asks for, with its arguments.
    pub command: Command,
}

/// A request as jobs store it, this release's shape and the one before (a `task` beside
/// the review's `focus_areas` and `full`), so that jobs queued before an upgrade still run.
#[derive(Deserialize)]
struct Stored {
    installation: InstallationId,
    repo: RepoName,
    pr: PrNumber,
    trigger: Trigger,
    #[serde(default, alias = "task")]
    command: Command,
    #[serde(default)]
    focus_areas: Vec<String>,
    #[serde(default)]
    full: bool,
}

impl From<Stored> for ReviewRequest {
    fn from(s: Stored) -> Self {
        let command = match s.command {
            Command::Review {
                focus_areas,
                full: full_now,
            } if focus_areas.is_empty() && !full_now => Command::Review {
                focus_areas: s.focus_areas,
                full: s.full,
            },
            command => command,
        };
        ReviewRequest {
            installation: s.installation,
            repo: s.repo,
            pr: s.pr,
            trigger: s.trigger,
            command,
        }
    }
}

impl ReviewRequest {
    /// The head SHA the trigger names, when it names one (pull request events).
    pub fn head_sha(&self) -> Option<&CommitSha> {
        match &self.trigger {
            Trigger::PullRequest { head_sha, .. } | Trigger::CheckRun { head_sha, .. } => {
                head_sha.as_ref()
            }
            Trigger::Comment { .. } | Trigger::Api { .. } => None,
        }
    }

    /// Whether the review is posted on the pull request (everything but an API request with
    /// `post: false`, which leaves the PR untouched: no check run, no comment, no review).
    pub fn posts(&self) -> bool {
        !matches!(self.trigger, Trigger::Api { post: false, .. })
    }

    /// Requests with the same key ask for the same work: a second one joins a queued or
    /// running job instead of adding another.
    pub fn dedupe_key(&self) -> String {
        let mut focus = self.command.focus_areas().to_vec();
        focus.sort();
        let task = self.command.key();
        // A comment joins only its own author's queued request: each person is authorized
        // on their own.
        let who = match &self.trigger {
            Trigger::Comment { author, .. } => author.as_str(),
            // Each API request waits for its own result.
            Trigger::Api { review, .. } => review.as_str(),
            Trigger::PullRequest { .. } | Trigger::CheckRun { .. } => "",
        };
        format!(
            "{}#{}#{task}#{}#{}#{who}",
            self.repo,
            self.pr,
            focus.join(","),
            self.head_sha().map_or("", CommitSha::as_str),
        )
    }
}

/// Why the review was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// `@codex review` in a comment.
    Comment {
        comment_id: CommentId,
        author: String,
        /// `author_association` as GitHub sent it (checked against the repository's
        /// configuration by the worker).
        #[serde(default)]
        association: Option<String>,
        /// The comment is a review comment (in a thread on the diff), not a PR conversation
        /// comment: its reactions and replies have their own endpoints.
        #[serde(default)]
        in_thread: bool,
    },
    /// A pull request opened ready for review, or moved from draft to ready.
    PullRequest {
        action: String,
        head_sha: Option<CommitSha>,
        #[serde(default)]
        author: String,
        #[serde(default)]
        association: Option<String>,
    },
    /// "Re-run" on the `codex-review` check (GitHub lets only people with write access).
    CheckRun {
        check_run_id: u64,
        head_sha: Option<CommitSha>,
        /// Who clicked "Re-run" (the delivery's `sender.login`).
        #[serde(default)]
        sender: String,
    },
    /// `POST /v1/reviews` with one of the service's `API_TOKENS`.
    Api {
        /// The review's id in the API (`rev_...`).
        review: String,
        /// Post the review on the pull request (`false`: only return the result).
        post: bool,
        /// The id of the token that asked (`ApiToken::id`, which does not reveal it).
        #[serde(default)]
        token: String,
    },
}

impl Trigger {
    /// Who is charged for the work (the per-person limit): a comment's author, a pull
    /// request's author for its automatic reviews, the person who re-ran a check, and for the
    /// review API its token, as `api:` and the token's id (no login holds a colon).
    pub fn person(&self) -> Option<String> {
        let login = match self {
            Trigger::Comment { author, .. } | Trigger::PullRequest { author, .. } => author,
            Trigger::CheckRun { sender, .. } => sender,
            Trigger::Api { token, .. } => {
                return (!token.is_empty()).then(|| format!("api:{token}"));
            }
        };
        Some(login.clone()).filter(|l| !l.is_empty())
    }

    /// A short id that names this trigger in the review marker: the comment or the head SHA.
    pub fn marker_id(&self) -> String {
        match self {
            Trigger::Comment { comment_id, .. } => format!("comment-{comment_id}"),
            Trigger::PullRequest {
                action, head_sha, ..
            } => match head_sha {
                Some(sha) => format!("{action}-{}", sha.short()),
                None => action.clone(),
            },
            Trigger::CheckRun { check_run_id, .. } => format!("rerun-{check_run_id}"),
            Trigger::Api { review, .. } => review.clone(),
        }
    }
}

/// A body that could not be read as JSON at all (the webhook answers 400).
#[derive(Debug, thiserror::Error)]
#[error("the payload is not JSON")]
pub struct NotJson(#[source] serde_json::Error);

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
    #[serde(rename = "type", default)]
    kind: String,
}

impl User {
    fn is_bot(&self) -> bool {
        self.kind.eq_ignore_ascii_case("bot") || self.login.ends_with("[bot]")
    }
}

#[derive(Deserialize)]
struct IssueCommentPayload {
    action: String,
    installation: Option<Installation>,
    repository: Repository,
    issue: Issue,
    comment: Comment,
    sender: Option<User>,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    /// Present (an object) only when the issue is a pull request.
    pull_request: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    body: Option<String>,
    user: User,
    author_association: Option<String>,
    /// Set when an App (this one included) wrote the comment.
    performed_via_github_app: Option<serde::de::IgnoredAny>,
}

/// The installation and repository a delivery is about, when both are usable.
/// Why a comment is not a person's to act on (a bot, this or another App, a mannequin
/// account, which no configuration can allow), or `None`.
fn not_a_person(
    user: &User,
    via_app: bool,
    sender: Option<&User>,
    association: Option<&str>,
) -> Option<&'static str> {
    if user.is_bot() || via_app || sender.is_some_and(User::is_bot) {
        Some("comment by a bot")
    } else if association == Some("MANNEQUIN") {
        Some("comment by a mannequin account")
    } else {
        None
    }
}

fn target(
    installation: Option<Installation>,
    repository: &Repository,
) -> Option<(InstallationId, RepoName)> {
    Some((
        InstallationId(installation?.id),
        RepoName::parse(&repository.full_name)?,
    ))
}

/// Reads a delivery of kind `event_name` (`X-GitHub-Event`).
///
/// Returns [`NotJson`] only for bodies that are not JSON; a JSON payload of an unexpected
/// shape is ignored (GitHub adds fields and events over time).
pub fn parse(event_name: &str, body: &[u8], bot_handle: &str) -> Result<Event, NotJson> {
    parse_delivery(event_name, body, bot_handle).map(|(event, _)| event)
}

/// [`parse`], with the payload's top-level `action` (kept with the delivery) read in the
/// same pass over the body.
pub fn parse_delivery(
    event_name: &str,
    body: &[u8],
    bot_handle: &str,
) -> Result<(Event, Option<String>), NotJson> {
    fn typed<T: serde::de::DeserializeOwned>(
        body: &[u8],
        action: impl FnOnce(&T) -> String,
        handle: impl FnOnce(T) -> Event,
        unexpected: &'static str,
    ) -> Result<(Event, Option<String>), NotJson> {
        Ok(match from_json::<T>(body)? {
            Some(payload) => {
                let action = action(&payload);
                (handle(payload), Some(action))
            }
            None => (Event::Ignored(unexpected), None),
        })
    }
    let (event, action) = match event_name {
        "issue_comment" => typed::<IssueCommentPayload>(
            body,
            |p| p.action.clone(),
            |p| issue_comment(p, bot_handle),
            "issue_comment payload of an unexpected shape",
        )?,
        "check_run" => typed::<CheckRunPayload>(
            body,
            |p| p.action.clone(),
            check_run,
            "check_run payload of an unexpected shape",
        )?,
        "pull_request_review_comment" => typed::<ReviewCommentPayload>(
            body,
            |p| p.action.clone(),
            |p| review_comment(p, bot_handle),
            "pull_request_review_comment payload of an unexpected shape",
        )?,
        "pull_request" => typed::<PullRequestPayload>(
            body,
            |p| p.action.clone(),
            pull_request,
            "pull_request payload of an unexpected shape",
        )?,
        other => {
            #[derive(Deserialize)]
            struct ActionOnly {
                action: Option<serde_json::Value>,
            }
            // Reads the whole body (so malformed JSON is refused) but keeps only `action`.
            let action = match serde_json::from_slice::<ActionOnly>(body) {
                Ok(payload) => payload.action.and_then(|a| a.as_str().map(str::to_owned)),
                // JSON, but not an object: no action.
                Err(e) if e.is_data() => None,
                Err(e) => return Err(NotJson(e)),
            };
            let event = if other == "ping" {
                Event::Ping
            } else {
                Event::Ignored("event not handled")
            };
            (event, action)
        }
    };
    Ok((event, action.filter(|a| a.len() <= 64)))
}

/// `Ok(None)` for JSON that does not fit `T`; `Err` for text that is not JSON.
fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, NotJson> {
    match serde_json::from_slice::<T>(body) {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_data() => Ok(None),
        Err(e) => Err(NotJson(e)),
    }
}

fn issue_comment(payload: IssueCommentPayload, bot_handle: &str) -> Event {
    if payload.action != "created" {
        return Event::Ignored("comment edited or deleted");
    }
    if payload.issue.pull_request.is_none() {
        return Event::Ignored("comment on an issue, not a pull request");
    }
    let comment = payload.comment;
    if let Some(why) = not_a_person(
        &comment.user,
        comment.performed_via_github_app.is_some(),
        payload.sender.as_ref(),
        comment.author_association.as_deref(),
    ) {
        return Event::Ignored(why);
    }
    let Some(command) = grammar::parse(comment.body.as_deref().unwrap_or(""), bot_handle) else {
        return Event::Ignored("no command for the bot");
    };
    // Contributors and first-timers cannot run commands by default; the worker checks the
    // repository's `triggers.allowed_associations` (which may allow them) before any model
    // call.
    let Some((installation, repo)) = target(payload.installation, &payload.repository) else {
        return Event::Ignored("delivery without an installation or a valid repository");
    };
    Event::Review(ReviewRequest {
        installation,
        repo,
        pr: PrNumber(payload.issue.number),
        trigger: Trigger::Comment {
            comment_id: CommentId(comment.id),
            author: comment.user.login,
            association: comment.author_association,
            in_thread: false,
        },
        command,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn comment(body: &str, association: &str, user_type: &str) -> Vec<u8> {
        json!({
            "action": "created",
            "installation": {"id": 7},
            "repository": {"full_name": "octo/hello"},
            "issue": {"number": 3, "pull_request": {"url": "x"}},
            "comment": {"id": 99, "body": body, "author_association": association,
                        "user": {"login": "alice", "type": user_type}},
            "sender": {"login": "alice", "type": user_type}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn member_comment_becomes_a_review_request() {
        let event = parse(
            "issue_comment",
            &comment("@codex review security", "MEMBER", "User"),
            "codex",
        )
        .unwrap();
        let Event::Review(req) = event else {
            panic!("{event:?}")
        };
        assert_eq!(req.pr, PrNumber(3));
        assert_eq!(req.installation, InstallationId(7));
        assert_eq!(req.command.focus_areas(), ["security"]);
        assert_eq!(req.trigger.marker_id(), "comment-99");
    }

    #[test]
    fn bot_comments_are_ignored_and_other_authors_left_to_the_worker() {
        let event = parse(
            "issue_comment",
            &comment("@codex review", "OWNER", "Bot"),
            "codex",
        );
        assert!(matches!(event.unwrap(), Event::Ignored(_)));
        // The repository's configuration decides (in the worker) who may run commands.
        let event = parse(
            "issue_comment",
            &comment("@codex review", "CONTRIBUTOR", "User"),
            "codex",
        );
        let Event::Review(req) = event.unwrap() else {
            panic!()
        };
        assert!(
            matches!(req.trigger, Trigger::Comment { association: Some(ref a), .. } if a == "CONTRIBUTOR")
        );
        let event = parse(
            "issue_comment",
            &comment("@codex pause", "MEMBER", "User"),
            "codex",
        );
        let Event::Review(req) = event.unwrap() else {
            panic!()
        };
        assert_eq!(req.command, Command::Pause);
        assert_ne!(req.dedupe_key(), {
            let mut review = req.clone();
            review.command = Command::review();
            review.dedupe_key()
        });
    }

    fn pull_request(action: &str, draft: bool, association: &str) -> Vec<u8> {
        json!({
            "action": action,
            "installation": {"id": 7},
            "repository": {"full_name": "octo/hello"},
            "pull_request": {"number": 5, "draft": draft, "state": "open",
                             "author_association": association,
                             "user": {"login": "bob", "type": "User"},
                             "head": {"sha": "0123456789abcdef0123456789abcdef01234567"}}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn ready_pull_requests_by_trusted_authors_are_reviewed() {
        let review = |action, draft, assoc| {
            parse("pull_request", &pull_request(action, draft, assoc), "codex").unwrap()
        };
        let Event::Review(req) = review("ready_for_review", false, "MEMBER") else {
            panic!()
        };
        assert_eq!(req.trigger.marker_id(), "ready_for_review-0123456");
        assert!(matches!(review("opened", false, "OWNER"), Event::Review(_)));
        // Drafts and outside authors are decided by the worker with the configuration.
        assert!(matches!(review("opened", true, "OWNER"), Event::Review(_)));
        assert!(matches!(
            review("synchronize", false, "OWNER"),
            Event::Pushed { .. }
        ));
        assert!(matches!(
            review("closed", false, "OWNER"),
            Event::Ignored(_)
        ));
        assert!(matches!(
            review("opened", false, "CONTRIBUTOR"),
            Event::Review(_)
        ));
    }

    #[test]
    fn not_json_is_an_error_but_odd_json_is_ignored() {
        assert!(parse("issue_comment", b"{not json", "codex").is_err());
        assert!(parse("workflow_run", b"<xml/>", "codex").is_err());
        assert_eq!(
            parse("issue_comment", b"{\"action\":1}", "codex").unwrap(),
            Event::Ignored("issue_comment payload of an unexpected shape")
        );
        assert_eq!(parse("ping", b"{}", "codex").unwrap(), Event::Ping);
    }

    #[test]
    fn a_job_stored_by_the_release_before_reads_as_its_command() {
        let trigger = json!({"kind": "comment", "comment_id": 9, "author": "alice",
                             "association": "MEMBER", "in_thread": false});
        let old = json!({"installation": 7, "repo": "octo/hello", "pr": 3, "trigger": trigger,
                         "task": {"kind": "review"}, "focus_areas": ["security"], "full": true});
        let req: ReviewRequest = serde_json::from_value(old).unwrap();
        assert_eq!(
            req.command,
            Command::Review {
                focus_areas: vec!["security".into()],
                full: true
            }
        );
        let old = json!({"installation": 7, "repo": "octo/hello", "pr": 3, "trigger": trigger,
                         "task": {"kind": "forget", "number": 2}, "focus_areas": []});
        let req: ReviewRequest = serde_json::from_value(old).unwrap();
        assert_eq!(req.command, Command::Forget { number: 2 });
        // This release's shape reads back as written.
        let again: ReviewRequest =
            serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
        assert_eq!(again, req);
    }
}
