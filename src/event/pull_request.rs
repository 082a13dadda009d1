//! `pull_request` (opened, ready, pushes) and `check_run` (a "Re-run" of the app's check).

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
pub(super) struct PullRequestPayload {
    pub(super) action: String,
    installation: Option<Installation>,
    repository: Repository,
    pull_request: PullRequest,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    state: Option<String>,
    user: User,
    author_association: Option<String>,
    head: Head,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
}

#[derive(Deserialize)]
pub(super) struct CheckRunPayload {
    pub(super) action: String,
    installation: Option<Installation>,
    repository: Repository,
    check_run: CheckRun,
    /// Who clicked "Re-run".
    sender: Option<User>,
}

#[derive(Deserialize)]
struct CheckRun {
    id: u64,
    name: String,
    head_sha: String,
    #[serde(default)]
    pull_requests: Vec<CheckRunPull>,
}

#[derive(Deserialize)]
struct CheckRunPull {
    number: u64,
}

/// The name of the App's check run (see `review::check`).
const CHECK_NAME: &str = "codex-review";

pub(super) fn check_run(payload: CheckRunPayload) -> Event {
    if payload.action != "rerequested" || payload.check_run.name != CHECK_NAME {
        return Event::Ignored("check run event not handled");
    }
    let Some(pr) = payload.check_run.pull_requests.first() else {
        return Event::Ignored("re-run of a check without a pull request");
    };
    let Some((installation, repo)) = target(payload.installation, &payload.repository) else {
        return Event::Ignored("delivery without an installation or a valid repository");
    };
    Event::Review(ReviewRequest {
        installation,
        repo,
        pr: PrNumber(pr.number),
        trigger: Trigger::CheckRun {
            check_run_id: payload.check_run.id,
            head_sha: CommitSha::parse(&payload.check_run.head_sha),
            sender: payload.sender.map(|s| s.login).unwrap_or_default(),
        },
        command: Command::review(),
    })
}

pub(super) fn pull_request(payload: PullRequestPayload) -> Event {
    let pr = payload.pull_request;
    if !matches!(
        payload.action.as_str(),
        "opened" | "reopened" | "ready_for_review" | "synchronize"
    ) {
        return Event::Ignored("pull request action not handled");
    }
    let Some((installation, repo)) = target(payload.installation, &payload.repository) else {
        return Event::Ignored("delivery without an installation or a valid repository");
    };
    let head_sha = CommitSha::parse(&pr.head.sha);
    let open = pr.state.as_deref().is_none_or(|s| s == "open");
    // Whether this event is reviewed (drafts, authors, labels, the events the repository
    // chose) is decided by the worker with the base branch's configuration.
    let review = open.then(|| ReviewRequest {
        installation,
        repo: repo.clone(),
        pr: PrNumber(pr.number),
        trigger: Trigger::PullRequest {
            action: payload.action.clone(),
            head_sha: head_sha.clone(),
            author: pr.user.login.clone(),
            association: pr.author_association.clone(),
        },
        command: Command::review(),
    });
    match (payload.action.as_str(), head_sha) {
        ("synchronize", Some(head_sha)) => Event::Pushed {
            repo,
            pr: PrNumber(pr.number),
            head_sha,
            review,
        },
        ("synchronize", None) => Event::Ignored("push to a pull request without a valid head"),
        _ => match review {
            Some(review) => Event::Review(review),
            None => Event::Ignored("pull request is not open"),
        },
    }
}
