//! A conversation with tools (`read_file`, `search`): the model's function calls are run, in
//! parallel within a turn, and answered with one `function_call_output` each; turns go on until the
//! model gives its structured answer or a budget runs out, when one last turn asks for the
//! answer without tools.
//!
//! Reasoning is kept across turns with `store: false`: each request repeats the input so far
//! with the model's reasoning items (their `encrypted_content`, asked for with `include`) and
//! its calls. Nothing of a review is kept at OpenAI, which is what a reviewer of private code
//! should promise; the price is a larger request per turn, most of which the prompt cache
//! serves at the cached rate (the conversation only grows at its end).

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::client::{ModelClient, ModelError, Reply, ReviewCall, Usage, parse_answer, user_input};

/// What runs the model's tool calls. Cheap to clone: each call runs on its own task.
pub trait ToolRunner: Clone + Send + Sync + 'static {
    /// The `tools` of the request (function tools with strict schemas).
    fn definitions(&self) -> Vec<Value>;
    /// The answer to one call (text for `function_call_output.output`; an error is an answer
    /// too, so the model can correct itself).
    fn run(&self, name: String, arguments: String)
    -> impl Future<Output = String> + Send + 'static;
}

/// No tools: a plain structured call.
#[derive(Clone, Copy)]
pub struct NoTools;

impl ToolRunner for NoTools {
    fn definitions(&self) -> Vec<Value> {
        Vec::new()
    }

    #[allow(clippy::manual_async_fn)] // the future must not borrow `self`
    fn run(&self, _: String, _: String) -> impl Future<Output = String> + Send + 'static {
        async { "error: no tools are available".to_owned() }
    }
}

/// How much tool use one review may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolLimits {
    /// Turns that may call tools, per conversation (each part of a review, the verification).
    pub turns: u32,
    /// Tool calls per review, all conversations together.
    pub calls: u32,
    /// Input tokens per review, all conversations together (cached ones included).
    pub input_tokens: u64,
    /// Wall time per review after which no more tools are called.
    pub wall: Duration,
}

impl Default for ToolLimits {
    fn default() -> Self {
        Self {
            turns: 12,
            calls: 120,
            input_tokens: 2_000_000,
            wall: Duration::from_secs(600),
        }
    }
}

impl ToolLimits {
    /// Each limit the lower of the two (a repository may lower the service's, never raise).
    pub fn min(self, other: ToolLimits) -> ToolLimits {
        ToolLimits {
            turns: self.turns.min(other.turns),
            calls: self.calls.min(other.calls),
            input_tokens: self.input_tokens.min(other.input_tokens),
            wall: self.wall.min(other.wall),
        }
    }
}

/// The budget of one review, shared by its conversations.
#[derive(Debug)]
pub struct ToolBudget {
    limits: ToolLimits,
    until: Instant,
    calls: AtomicU32,
    input_tokens: AtomicU64,
}

impl ToolBudget {
    pub fn new(limits: ToolLimits) -> Self {
        Self {
            limits,
            until: Instant::now() + limits.wall,
            calls: AtomicU32::new(0),
            input_tokens: AtomicU64::new(0),
        }
    }

    /// Which budget is spent before a conversation's next turn, if one is.
    fn spent(&self, turns: u32, last_input: u64) -> Option<&'static str> {
        if turns >= self.limits.turns {
            Some("tool turns")
        } else if self.calls.load(Ordering::Relaxed) >= self.limits.calls {
            Some("tool calls")
        } else if self.input_tokens.load(Ordering::Relaxed) + last_input > self.limits.input_tokens
        {
            // The next turn repeats at least the last one's input.
            Some("input tokens")
        } else if Instant::now() >= self.until {
            Some("time")
        } else {
            None
        }
    }

    /// Takes up to `wanted` calls from the budget; returns how many may run.
    fn take_calls(&self, wanted: u32) -> u32 {
        let mut granted = 0;
        let _ = self
            .calls
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                granted = wanted.min(self.limits.calls.saturating_sub(used));
                Some(used + granted)
            });
        granted
    }

    /// Tool calls run so far.
    pub fn calls_used(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// Tools for one conversation, and the review's budget.
pub struct ToolUse<'a, R> {
    pub runner: R,
    pub budget: &'a ToolBudget,
}

/// The answer to a call past the budget.
const OVER_BUDGET: &str =
    "error: the review's tool budget is spent; answer from what you have read so far";

impl ModelClient {
    /// Asks for an answer of `call.format`, with tools when `tools` is given. Every request
    /// (turns and retries) is reported to `on_try`; the deadline bounds the whole
    /// conversation; an answer that is not valid for the schema is asked again once.
    pub async fn ask<T: DeserializeOwned, R: ToolRunner>(
        &self,
        call: &ReviewCall<'_>,
        tools: Option<ToolUse<'_, R>>,
        on_try: &(dyn Fn(Option<Usage>) + Sync),
    ) -> Result<Reply<T>, ModelError> {
        let deadline = self.deadline();
        let mut max_output = self.max_output_tokens();
        let mut input = vec![user_input(call.user_message)];
        let definitions = tools.as_ref().map(|t| t.runner.definitions());
        let mut usage = Usage::default();
        let (mut turns, mut tool_calls, mut last_input) = (0u32, 0u32, 0u64);
        let mut spent: Option<&'static str> = None;
        let mut reasked = false;
        loop {
            let callable = tools.as_ref().map(|t| {
                if spent.is_none() {
                    spent = t.budget.spent(turns, last_input);
                    if let Some(which) = spent {
                        tracing::info!(budget = which, turns, "tool budget spent; asking for the answer");
                        input.push(user_input(&format!(
                            "The budget for tools is spent ({which}). Give your final answer now, from what you have read; do not call tools."
                        )));
                    }
                }
                spent.is_none()
            });
            let offered = definitions.as_deref().zip(callable);
            let mut body = self.body(call, &input, max_output, offered);
            let turn = self
                .turn(&mut body, &mut max_output, deadline, on_try)
                .await?;
            turns += 1;
            usage.add(turn.usage);
            last_input = turn.usage.input_tokens;
            if let Some(t) = &tools {
                t.budget
                    .input_tokens
                    .fetch_add(turn.usage.input_tokens, Ordering::Relaxed);
            }
            if turn.calls.is_empty() {
                match parse_answer::<T>(&turn.text) {
                    Ok(output) => {
                        return Ok(Reply {
                            output,
                            usage,
                            response_id: turn.id,
                            turns,
                            tool_calls,
                            budget_spent: spent,
                        });
                    }
                    Err(ModelError::InvalidOutput(why)) if !reasked => {
                        reasked = true;
                        tracing::warn!(why, "answer not valid for the schema; asking again once");
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let (Some(t), Some(true)) = (&tools, callable) else {
                return Err(ModelError::InvalidOutput(
                    "the model called a tool when none could be called".into(),
                ));
            };
            let granted = t.budget.take_calls(turn.calls.len() as u32) as usize;
            tool_calls += granted as u32;
            let mut running = JoinSet::new();
            for (i, c) in turn.calls.iter().enumerate().take(granted) {
                let answer = t.runner.run(c.name.clone(), c.arguments.clone());
                running.spawn(async move { (i, answer.await) });
            }
            let mut answers: Vec<String> = (0..turn.calls.len())
                .map(|i| {
                    if i < granted {
                        "error: the tool failed"
                    } else {
                        OVER_BUDGET
                    }
                    .to_owned()
                })
                .collect();
            let left = deadline.saturating_duration_since(Instant::now());
            let collected = tokio::time::timeout(left, async {
                while let Some(done) = running.join_next().await {
                    if let Ok((i, answer)) = done {
                        answers[i] = answer;
                    } else {
                        tracing::error!("a tool call panicked");
                    }
                }
            })
            .await;
            if collected.is_err() {
                return Err(ModelError::Transport(
                    "no answer within the call's deadline (tools still running)".into(),
                ));
            }
            tracing::debug!(
                turn = turns,
                calls = turn.calls.len(),
                granted,
                "tools answered"
            );
            input.extend(turn.carried);
            for (c, answer) in turn.calls.iter().zip(answers) {
                input.push(json!({
                    "type": "function_call_output",
                    "call_id": c.call_id,
                    "output": answer
                }));
            }
        }
    }
}
