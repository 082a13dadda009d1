//! The model call the conversational commands share (`@codex ask`, a reply in a thread).

use super::{CommandError, Ctx};
use crate::model::{AnswerOutput, OutputFormat, ReviewCall, ToolBudget, ToolUse};

/// One conversational answer: `instructions` and `message` with the answer schema, the
/// repository's tools at the head when the repository allows them, paid through the
/// command's meter. Returns the answer's text.
pub(super) async fn converse(
    cx: &Ctx<'_>,
    instructions: &str,
    message: &str,
) -> Result<String, CommandError> {
    let review = &cx.config.config.review;
    let toolbox = match (cx.pull.head_sha(), cx.snapshots) {
        (Some(sha), Some(store)) if review.tools && cx.tool_limits.turns > 0 => {
            crate::codebase::at_head(store, cx.gh, &sha, cx.metrics)
                .await
                .toolbox
        }
        _ => None,
    };
    let budget = ToolBudget::new(review.budget.apply(cx.tool_limits));
    let cache_key = crate::pipeline::ask::cache_key(cx.gh.repo().as_str(), 0);
    let call = ReviewCall {
        instructions,
        user_message: message,
        model: review.model.as_deref(),
        reasoning_effort: review.reasoning_effort.map(|e| e.as_str()),
        cache_key: Some(&cache_key),
        format: OutputFormat::answer(),
    };
    let tools = toolbox.map(|runner| ToolUse {
        runner,
        budget: &budget,
    });
    let reply = cx
        .model
        .ask::<AnswerOutput, _>(&call, tools, &*cx.meter.hook())
        .await?;
    Ok(reply.output.answer)
}
