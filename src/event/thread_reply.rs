//! `pull_request_review_comment`: a reply that mentions the bot in a review thread.

use serde::Deserialize;

use super::{
    Command, Event, Installation, Repository, ReviewRequest, Trigger, User, not_a_person, target,
};
use crate::ids::{CommentId, PrNumber};

#[derive(Deserialize)]
pub(super) struct ReviewCommentPayload {
    pub(super) action: String,
    installation: Option<Installation>,
    repository: Repository,
    pull_request: PullNumber,
    comment: ReviewComment,
    sender: Option<User>,
}

#[derive(Deserialize)]
struct PullNumber {
    number: u64,
}

#[derive(Deserialize)]
struct ReviewComment {
    id: u64,
    body: Option<String>,
    user: User,
    author_association: Option<String>,
    in_reply_to_id: Option<u64>,
    performed_via_github_app: Option<serde::de::IgnoredAny>,
}

/// A reply in a review thread that mentions the bot: answered in the thread (the worker checks
/// that the thread is one of the app's).
pub(super) fn review_comment(payload: ReviewCommentPayload, bot_handle: &str) -> Event {
    if payload.action != "created" {
        return Event::Ignored("review comment edited or deleted");
    }
    let comment = payload.comment;
    let Some(root) = comment.in_reply_to_id else {
        return Event::Ignored("review comment that starts a thread");
    };
    if let Some(why) = not_a_person(
        &comment.user,
        comment.performed_via_github_app.is_some(),
        payload.sender.as_ref(),
        comment.author_association.as_deref(),
    ) {
        return Event::Ignored(why);
    }
    if !super::grammar::mentions(comment.body.as_deref().unwrap_or(""), bot_handle) {
        return Event::Ignored("no mention of the bot");
    }
    let Some((installation, repo)) = target(payload.installation, &payload.repository) else {
        return Event::Ignored("delivery without an installation or a valid repository");
    };
    Event::Review(ReviewRequest {
        installation,
        repo,
        pr: PrNumber(payload.pull_request.number),
        trigger: Trigger::Comment {
            comment_id: CommentId(comment.id),
            author: comment.user.login,
            association: comment.author_association,
            in_thread: true,
        },
        command: Command::Reply { root },
    })
}
