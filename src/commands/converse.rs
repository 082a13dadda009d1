//! The model call the conversational commands share (`@codex ask`, a reply in a thread).

use crate::event::ReviewRequest;
use crate::github::{PullInfo, RepoClient};
use crate::model::{AnswerOutput, OutputFormat, ReviewCall, ToolBudget, ToolUse};
use crate::repo_config::RepoConfig;
use crate::review::{ReviewError, Reviewer};

impl Reviewer {
    /// One conversational answer (`@codex ask`, a reply in a thread): `instructions` and
    /// `message` with the answer schema, the repository's tools at the head when the
    /// repository allows them, paid through the run's meter. Returns the answer's text.
    pub(crate) async fn converse(
        &self,
        gh: &RepoClient,
        req: &ReviewRequest,
        pull: &PullInfo,
        config: &RepoConfig,
        instructions: &str,
        message: &str,
    ) -> Result<String, ReviewError> {
        let toolbox = match pull.head_sha() {
            Some(sha) if config.review.tools => self.codebase(gh, &sha, true).await.toolbox,
            _ => None,
        };
        let budget = ToolBudget::new(config.review.budget.apply(self.tool_limits));
        let cache_key = crate::pipeline::ask::cache_key(req.repo.as_str(), 0);
        let call = ReviewCall {
            instructions,
            user_message: message,
            model: config.review.model.as_deref(),
            reasoning_effort: config.review.reasoning_effort.map(|e| e.as_str()),
            cache_key: Some(&cache_key),
            format: OutputFormat::answer(),
        };
        let meter = crate::review::tally::meter(&self.metrics);
        let tools = toolbox.map(|runner| ToolUse {
            runner,
            budget: &budget,
        });
        let reply = self
            .model
            .ask::<AnswerOutput, _>(&call, tools, &*meter.hook())
            .await?;
        Ok(reply.output.answer)
    }
}
