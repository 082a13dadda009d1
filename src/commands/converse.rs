//! The model call the conversational commands share (`@codex ask`, a reply in a thread).

use std::sync::Arc;

use crate::event::ReviewRequest;
use crate::github::{PullInfo, RepoClient};
use crate::model::{AnswerOutput, OutputFormat, ReviewCall, ToolBudget, ToolUse, Usage};
use crate::repo_config::RepoConfig;
use crate::review::{ReviewError, Reviewer};

impl Reviewer {
    /// One conversational answer (`@codex ask`, a reply in a thread): `instructions` and
    /// `message` with the answer schema, the repository's tools at the head when the
    /// repository allows them, counted in the metrics and the cost. Returns the answer's text.
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
        let cache_key = crate::review::ask::cache_key(req.repo.as_str(), 0);
        let call = ReviewCall {
            instructions,
            user_message: message,
            model: config.review.model.as_deref(),
            reasoning_effort: config.review.reasoning_effort.map(|e| e.as_str()),
            cache_key: Some(&cache_key),
            format: OutputFormat::answer(),
        };
        let metrics = Arc::clone(&self.metrics);
        let on_try = move |usage: Option<Usage>| match usage {
            Some(usage) => {
                metrics.model_call("ok");
                metrics.tokens(usage);
            }
            None => metrics.model_call("error"),
        };
        let tools = toolbox.map(|runner| ToolUse {
            runner,
            budget: &budget,
        });
        let reply = self
            .model
            .ask::<AnswerOutput, _>(&call, tools, &on_try)
            .await?;
        let model_used = config
            .review
            .model
            .clone()
            .unwrap_or_else(|| self.model.model().to_owned());
        let cost = self.model.prices().cost(&model_used, reply.usage);
        self.metrics.cost(cost);
        crate::review::tally::spent(reply.turns, reply.usage, cost);
        Ok(reply.output.answer)
    }
}
