//! GitHub webhook payloads turned into the few domain events the app acts on.
//!
//! Only the fields the app needs are deserialized; everything else in GitHub's (large)
//! payloads is skipped. A payload is either an [`Event::Review`] to enqueue, a `ping`, or
//! ignored with a reason that the delivery log keeps.

use serde::{Deserialize, Serialize};

use crate::command::{self, Command};
use crate::ids::{CommentId, CommitSha, InstallationId, PrNumber, RepoName};

/// What a correctly signed delivery means to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// GitHub's hello when the webhook is set up.
    Ping,
    /// A pull request should be reviewed.
    Review(ReviewRequest),
    /// New commits were pushed to a pull request: queued reviews of older heads are stale.
    Pushed {
        repo: RepoName,
        pr: PrNumber,
        head_sha: CommitSha,
    },
    /// Nothing to do; the reason is recorded with the delivery.
    Ignored(&'static str),
}

/// A pull request to review, as stored with its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequest {
    pub installation: InstallationId,
    pub repo: RepoName,
    pub pr: PrNumber,
    pub trigger: Trigger,
    /// Focus areas from the comment, in the order written.
    pub focus_areas: Vec<String>,
    /// `@codex review full`: the whole PR, even when an earlier review exists.
    #[serde(default)]
    pub full: bool,
}

impl ReviewRequest {
    /// The head SHA the trigger names, when it names one (pull request events).
    pub fn head_sha(&self) -> Option<&CommitSha> {
        match &self.trigger {
            Trigger::PullRequest { head_sha, .. } => head_sha.as_ref(),
            Trigger::Comment { .. } => None,
        }
    }

    /// Requests with the same key ask for the same work: a second one joins a queued or
    /// running job instead of adding another.
    pub fn dedupe_key(&self) -> String {
        let mut focus = self.focus_areas.clone();
        focus.sort();
        format!(
            "{}#{}#{}#{}#{}",
            self.repo,
            self.pr,
            if self.full { "full" } else { "default" },
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
    },
    /// A pull request opened ready for review, or moved from draft to ready.
    PullRequest {
        action: String,
        head_sha: Option<CommitSha>,
    },
}

impl Trigger {
    /// A short id that names this trigger in the review marker: the comment or the head SHA.
    pub fn marker_id(&self) -> String {
        match self {
            Trigger::Comment { comment_id, .. } => format!("comment-{comment_id}"),
            Trigger::PullRequest { action, head_sha } => match head_sha {
                Some(sha) => format!("{action}-{}", sha.short()),
                None => action.clone(),
            },
        }
    }
}

/// A body that could not be read as JSON at all (the webhook answers 400).
#[derive(Debug, thiserror::Error)]
#[error("the payload is not JSON: {0}")]
pub struct NotJson(#[source] serde_json::Error);

/// Associations that may spend the model budget.
const TRUSTED_ASSOCIATIONS: &[&str] = &["OWNER", "MEMBER", "COLLABORATOR"];

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

#[derive(Deserialize)]
struct PullRequestPayload {
    action: String,
    installation: Option<Installation>,
    repository: Repository,
    pull_request: PullRequest,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    #[serde(default)]
    draft: bool,
    state: Option<String>,
    user: User,
    author_association: Option<String>,
    head: Head,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
}

/// Reads a delivery of kind `event_name` (`X-GitHub-Event`).
///
/// Returns [`NotJson`] only for bodies that are not JSON; a JSON payload of an unexpected
/// shape is ignored (GitHub adds fields and events over time).
pub fn parse(event_name: &str, body: &[u8], bot_handle: &str) -> Result<Event, NotJson> {
    match event_name {
        "ping" => check_json(body).map(|()| Event::Ping),
        "issue_comment" => Ok(match from_json::<IssueCommentPayload>(body)? {
            Some(payload) => issue_comment(payload, bot_handle),
            None => Event::Ignored("issue_comment payload of an unexpected shape"),
        }),
        "pull_request" => Ok(match from_json::<PullRequestPayload>(body)? {
            Some(payload) => pull_request(payload),
            None => Event::Ignored("pull_request payload of an unexpected shape"),
        }),
        _ => check_json(body).map(|()| Event::Ignored("event not handled")),
    }
}

/// `Ok(None)` for JSON that does not fit `T`; `Err` for text that is not JSON.
fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, NotJson> {
    match serde_json::from_slice::<T>(body) {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_data() => Ok(None),
        Err(e) => Err(NotJson(e)),
    }
}

fn check_json(body: &[u8]) -> Result<(), NotJson> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map(|_| ())
        .map_err(NotJson)
}

fn issue_comment(payload: IssueCommentPayload, bot_handle: &str) -> Event {
    if payload.action != "created" {
        return Event::Ignored("comment edited or deleted");
    }
    if payload.issue.pull_request.is_none() {
        return Event::Ignored("comment on an issue, not a pull request");
    }
    let comment = payload.comment;
    if comment.user.is_bot()
        || comment.performed_via_github_app.is_some()
        || payload.sender.as_ref().is_some_and(User::is_bot)
    {
        return Event::Ignored("comment by a bot");
    }
    let Some(Command::Review { focus_areas, full }) =
        command::parse(comment.body.as_deref().unwrap_or(""), bot_handle)
    else {
        return Event::Ignored("no command for the bot");
    };
    if !is_trusted(comment.author_association.as_deref()) {
        return Event::Ignored("comment author is not an owner, member or collaborator");
    }
    let (Some(installation), Some(repo)) = (
        payload.installation,
        RepoName::parse(&payload.repository.full_name),
    ) else {
        return Event::Ignored("delivery without an installation or a valid repository");
    };
    Event::Review(ReviewRequest {
        installation: InstallationId(installation.id),
        repo,
        pr: PrNumber(payload.issue.number),
        trigger: Trigger::Comment {
            comment_id: CommentId(comment.id),
            author: comment.user.login,
        },
        focus_areas,
        full,
    })
}

fn pull_request(payload: PullRequestPayload) -> Event {
    let pr = payload.pull_request;
    if payload.action == "synchronize" {
        return match (
            RepoName::parse(&payload.repository.full_name),
            CommitSha::parse(&pr.head.sha),
        ) {
            (Some(repo), Some(head_sha)) => Event::Pushed {
                repo,
                pr: PrNumber(pr.number),
                head_sha,
            },
            _ => Event::Ignored("push to a pull request without a valid repository or head"),
        };
    }
    match payload.action.as_str() {
        "ready_for_review" => {}
        "opened" if !pr.draft => {}
        "opened" => return Event::Ignored("pull request opened as a draft"),
        _ => return Event::Ignored("pull request action not handled"),
    }
    if pr.state.as_deref().is_some_and(|s| s != "open") {
        return Event::Ignored("pull request is not open");
    }
    if pr.user.is_bot() {
        return Event::Ignored("pull request by a bot");
    }
    // Automatic reviews spend the budget on the author's behalf: only for trusted authors.
    // Anyone trusted can still ask for a review of an outside contribution with a comment.
    if !is_trusted(pr.author_association.as_deref()) {
        return Event::Ignored("pull request author is not an owner, member or collaborator");
    }
    let (Some(installation), Some(repo)) = (
        payload.installation,
        RepoName::parse(&payload.repository.full_name),
    ) else {
        return Event::Ignored("delivery without an installation or a valid repository");
    };
    Event::Review(ReviewRequest {
        installation: InstallationId(installation.id),
        repo,
        pr: PrNumber(pr.number),
        trigger: Trigger::PullRequest {
            action: payload.action,
            head_sha: CommitSha::parse(&pr.head.sha),
        },
        focus_areas: Vec::new(),
        full: false,
    })
}

fn is_trusted(association: Option<&str>) -> bool {
    association.is_some_and(|a| TRUSTED_ASSOCIATIONS.contains(&a))
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
        assert_eq!(req.focus_areas, vec!["security"]);
        assert_eq!(req.trigger.marker_id(), "comment-99");
    }

    #[test]
    fn untrusted_or_bot_comments_are_ignored() {
        for (assoc, kind) in [
            ("CONTRIBUTOR", "User"),
            ("NONE", "User"),
            ("FIRST_TIME_CONTRIBUTOR", "User"),
            ("OWNER", "Bot"),
        ] {
            let event = parse(
                "issue_comment",
                &comment("@codex review", assoc, kind),
                "codex",
            )
            .unwrap();
            assert!(matches!(event, Event::Ignored(_)), "{assoc} {kind}");
        }
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
        assert!(matches!(review("opened", true, "OWNER"), Event::Ignored(_)));
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
            Event::Ignored(_)
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
}
