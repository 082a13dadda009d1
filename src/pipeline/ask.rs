//! The ask stage: the model is asked about a planned set of chunks, in parallel, with the
//! repository's tools when there are any; the merge stage makes one answer of them. Used by the App's
//! reviews and by `codex-review review`.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::PipelineError;
use super::tooling::{OnTry, Tooling};
use crate::codebase::Toolbox;
use crate::diff::chunk::Plan;
use crate::model::prompt::{self, PromptInput};
use crate::model::{ModelClient, ModelError, ModelReply, ReviewOutput, ToolUse, Usage};

/// What the model is told about the change besides the diff.
pub struct Subject<'a> {
    pub repo: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub base_ref: &'a str,
    pub head_ref: &'a str,
    /// The short SHA of the earlier reviewed head, for an incremental review.
    pub since: Option<&'a str>,
}

/// What every model call of one review shares.
pub struct CallSettings {
    pub focus_areas: Vec<String>,
    /// The repository's guidelines for every file (the same in each of its reviews).
    pub guidelines: String,
    /// The guidelines for some of the paths this review shows.
    pub path_guidelines: String,
    /// Reasons maintainers gave when dismissing earlier findings (`- reason (by login)`).
    pub notes: String,
    pub language: String,
    pub suggestions: bool,
    pub model: Option<String>,
    pub reasoning_effort: Option<String>,
    /// The repository's tools, when the model may read it.
    pub tooling: Option<Tooling>,
    /// Earlier findings to judge (`[ID] title (path:line)` and the code now), shown in the
    /// first part.
    pub earlier: String,
    /// Told `(parts answered, parts)` as the parts finish.
    pub on_part: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

impl Default for CallSettings {
    fn default() -> Self {
        Self {
            focus_areas: Vec::new(),
            guidelines: String::new(),
            path_guidelines: String::new(),
            notes: String::new(),
            language: "English".into(),
            suggestions: true,
            model: None,
            reasoning_effort: None,
            tooling: None,
            earlier: String::new(),
            on_part: None,
        }
    }
}

/// What the model said about each part of the change, before the merge stage.
pub struct Asked {
    /// The parts' answers, in the order of the parts (those that failed left out).
    pub outputs: Vec<ReviewOutput>,
    pub usage: Usage,
    /// Conversations (one per part).
    pub calls: usize,
    /// Requests in all (a conversation with tools has several).
    pub turns: u32,
}

/// What the model said about the whole change, merged over its parts.
pub struct Answer {
    pub output: ReviewOutput,
    pub usage: Usage,
    /// Conversations (one per part).
    pub calls: usize,
    /// Requests in all (a conversation with tools has several).
    pub turns: u32,
}

/// Lanes of a repository's review conversations, each its own `prompt_cache_key`.
const CACHE_LANES: usize = 4;

/// The `prompt_cache_key` of conversation `lane` of a repository (parts take lanes in turn;
/// other calls take lane 0). OpenAI routes a key to one machine, whose cache holds the
/// prefixes it has seen, and spreads a key over more machines past about 15 requests a
/// minute, where a conversation's next turn may miss its own prefix. One key per repository
/// passes that rate on a large review with tools (8 parts of several turns each); one per
/// conversation would lose the prefix the repository's reviews share (instructions, tools,
/// schema, guidelines, notes). Four lanes keep a conversation on one key, at a rate one
/// machine serves, while every lane still carries the repository's shared prefix.
pub fn cache_key(repo: &str, lane: usize) -> String {
    match lane % CACHE_LANES {
        0 => format!("codex-review:{repo}"),
        lane => format!("codex-review:{repo}:{lane}"),
    }
}

/// The fence of the review's pull request data, one for all its parts: a tag none of the
/// texts inside it contains.
fn fence(
    subject: &Subject<'_>,
    plan: &Plan,
    settings: &CallSettings,
    skipped: &[(String, String)],
) -> String {
    let mut texts = vec![
        subject.title,
        subject.description,
        subject.base_ref,
        subject.head_ref,
        &settings.earlier,
    ];
    texts.extend(plan.chunks.iter().map(|c| c.text.as_str()));
    texts.extend(plan.reviewed.iter().map(String::as_str));
    texts.extend(
        skipped
            .iter()
            .flat_map(|(p, why)| [p.as_str(), why.as_str()]),
    );
    prompt::fence_for(&texts)
}

/// The user message of part `i` of `plan`.
fn part_message(
    subject: &Subject<'_>,
    plan: &Plan,
    i: usize,
    settings: &CallSettings,
    skipped: &[(String, String)],
    tools: bool,
    fence: &str,
) -> String {
    let chunk = &plan.chunks[i];
    let parts = plan.chunks.len();
    let elsewhere: Vec<String> = plan
        .reviewed
        .iter()
        .filter(|p| !chunk.files.contains(p))
        .cloned()
        .collect();
    prompt::user_message(&PromptInput {
        fence,
        repo: subject.repo,
        title: subject.title,
        description: subject.description,
        base_ref: subject.base_ref,
        head_ref: subject.head_ref,
        diff: &chunk.text,
        not_shown: skipped,
        part: (parts > 1).then_some((i + 1, parts)),
        since: subject.since,
        elsewhere: &elsewhere,
        focus_areas: &settings.focus_areas,
        guidelines: &settings.guidelines,
        path_guidelines: &settings.path_guidelines,
        notes: &settings.notes,
        language: &settings.language,
        suggestions: settings.suggestions,
        tools,
        earlier: if i == 0 { &settings.earlier } else { "" },
    })
}

/// One conversation per part, in parallel (each request within the process-wide limit of
/// the client), each with its share of the tool budget. A part that fails with tools is
/// asked once more without them; a part that fails anyway leaves its files in `skipped`.
/// When every part fails, the first error is returned (a transient one, if any, so the job
/// is retried).
pub async fn ask_model(
    model: &ModelClient,
    subject: &Subject<'_>,
    plan: &Plan,
    settings: &CallSettings,
    skipped: &mut Vec<(String, String)>,
    on_try: OnTry,
) -> Result<Asked, PipelineError> {
    let parts = plan.chunks.len();
    let tooling = settings.tooling.as_ref();
    let mut calls = JoinSet::new();
    let fence = fence(subject, plan, settings, skipped);
    for i in 0..plan.chunks.len() {
        let budget = tooling.and_then(|t| t.part_budget(i));
        let tools = budget.is_some();
        let message = part_message(subject, plan, i, settings, skipped, tools, &fence);
        // Asked again without tools, the message must not offer them.
        let plain = part_message(subject, plan, i, settings, skipped, false, &fence);
        let model = model.clone();
        let (model_name, effort) = (settings.model.clone(), settings.reasoning_effort.clone());
        let cache_key = cache_key(subject.repo, i);
        let (tooling, on_try) = (tooling.cloned(), on_try.clone());
        calls.spawn(async move {
            let call = |tools: bool| crate::model::ReviewCall {
                instructions: prompt::instructions(tools),
                user_message: if tools { &message } else { &plain },
                model: model_name.as_deref(),
                reasoning_effort: effort.as_deref(),
                cache_key: Some(&cache_key),
                format: crate::model::OutputFormat::review(),
            };
            let (Some(tooling), Some(budget)) = (tooling, budget) else {
                return (i, model.ask(&call(false), None::<ToolUse<'_, Toolbox>>, &*on_try).await);
            };
            let tools = ToolUse {
                runner: tooling.toolbox.clone(),
                budget: &budget,
            };
            // One clock for the part: asked again, it runs on what is left of it.
            let mut deadline = None;
            let first: Result<ModelReply, _> =
                model.ask_within(&call(true), Some(tools), &*on_try, &mut deadline).await;
            match first {
                // Only a conversation that used tools can have failed for them.
                Err(e) if e.may_pass_without_tools() && budget.calls_used() > 0 => {
                    tracing::warn!(part = i + 1, error = %crate::error_chain::chain(&e), "part failed with tools; asking once without");
                    let no_tools = None::<ToolUse<'_, Toolbox>>;
                    let again = model.ask_within(&call(false), no_tools, &*on_try, &mut deadline).await;
                    (i, again.map_err(|_| e))
                }
                reply => (i, reply),
            }
        });
    }
    let mut results: Vec<(usize, Result<ModelReply, ModelError>)> = Vec::with_capacity(parts);
    while let Some(joined) = calls.join_next().await {
        results.push(joined.map_err(|e| {
            PipelineError::Internal(anyhow::Error::new(e).context("model call task"))
        })?);
        if let Some(on_part) = &settings.on_part {
            on_part(results.len(), parts);
        }
    }
    results.sort_by_key(|(i, _)| *i);

    let mut outputs: Vec<ReviewOutput> = Vec::with_capacity(parts);
    let mut usage = Usage::default();
    let mut turns = 0;
    let mut errors: Vec<ModelError> = Vec::new();
    for (i, result) in results {
        match result {
            Ok(reply) => {
                tracing::info!(
                    part = i + 1,
                    parts,
                    response_id = %reply.response_id,
                    turns = reply.turns,
                    tool_calls = reply.tool_calls,
                    budget_spent = reply.budget_spent.unwrap_or(""),
                    input_tokens = reply.usage.input_tokens,
                    cached_tokens = reply.usage.cached_tokens,
                    output_tokens = reply.usage.output_tokens,
                    reasoning_tokens = reply.usage.reasoning_tokens,
                    findings = reply.output.findings.len(),
                    "model answered"
                );
                usage.add(reply.usage);
                turns += reply.turns;
                outputs.push(reply.output);
            }
            Err(e) => {
                tracing::warn!(part = i + 1, parts, error = %crate::error_chain::chain(&e), "model call failed");
                for path in &plan.chunks[i].files {
                    skipped.push((
                        path.clone(),
                        format!(
                            "the model call for its part failed: {}",
                            crate::error_chain::chain(&e)
                        ),
                    ));
                }
                errors.push(e);
            }
        }
    }
    if errors.len() == parts {
        let pick = errors
            .iter()
            .position(ModelError::is_transient)
            .unwrap_or(0);
        return Err(errors.swap_remove(pick).into());
    }
    Ok(Asked {
        outputs,
        usage,
        calls: parts,
        turns,
    })
}
