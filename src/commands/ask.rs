//! `@codex ask <question>`: a question about the pull request, answered in a comment with the
//! PR's diff as context (and the repository's tools when the repository allows them).

use crate::diff::FileDiff;
use crate::diff::chunk::{self, Budget, Source};
use crate::diff::filter::PathRules;
use crate::event::{ReviewRequest, Trigger};
use crate::github::{PullInfo, RepoClient};
use crate::ids::CommentId;
use crate::markdown::{self, markers::answers};
use crate::model::prompt;
use crate::repo_config::RepoConfig;
use crate::review::{ReviewError, Reviewer};

impl Reviewer {
    /// Answers `question` in a comment on the pull request.
    pub(crate) async fn answer_question(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        config: &RepoConfig,
        question: &str,
    ) -> Result<(), ReviewError> {
        let asked = match &req.trigger {
            Trigger::Comment { comment_id, .. } => Some(*comment_id),
            _ => None,
        };
        // A job run again after GitHub took its answer (its reply was lost) answers once.
        if let Some(asked) = asked
            && self.answered_in_conversation(gh, req, asked).await?
        {
            tracing::info!("the question was answered before; not again");
            return Ok(());
        }
        let files: Vec<FileDiff> = gh
            .files(req.pr)
            .await?
            .into_iter()
            .map(|f| f.into_diff())
            .collect();
        let rules =
            PathRules::new(&config.paths.include, &config.paths.exclude).unwrap_or_default();
        let sources: Vec<Source<'_>> = files
            .iter()
            .filter(|f| rules.skip_reason(f).is_none())
            .map(|file| Source {
                file,
                content: None,
            })
            .collect();
        // One call's worth of the diff, most important files first.
        let plan = chunk::plan(
            &sources,
            Budget {
                tokens_per_call: self.limits.chunk_tokens.saturating_sub(4_000).max(1_000),
                max_calls: 1,
            },
        );
        let diff = plan.chunks.first().map_or("", |c| c.text.as_str());
        let message = prompt::question_message(
            req.repo.as_str(),
            &pull.title,
            pull.body.as_deref().unwrap_or(""),
            diff,
            question,
        );
        let answer = self
            .converse(gh, req, pull, config, prompt::ASK_INSTRUCTIONS, &message)
            .await?;
        let text = markdown::answers::question(question, &answer, asked);
        self.reply(gh, req, &text).await
    }

    /// Whether the app's own comment answering `comment` is already in the conversation.
    async fn answered_in_conversation(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        comment: CommentId,
    ) -> Result<bool, ReviewError> {
        let bot = self.github.bot_login().await?.to_owned();
        let comments = gh.issue_comments(req.pr).await?;
        Ok(comments.iter().any(|c| {
            c.user
                .as_ref()
                .is_some_and(|u| u.login.eq_ignore_ascii_case(&bot))
                && c.body.as_deref().is_some_and(|b| answers(b, comment))
        }))
    }
}
