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

use super::client::{
    ModelClient, ModelError, OnResponse, Reply, ReviewCall, Usage, parse_answer, user_input,
};
use super::error::Invalid;

/// What runs the model's tool calls. Cheap to clone: each call runs on its own task.
pub trait ToolRunner: Clone + Send + Sync + 'static {
    /// The `tools` of the request (function tools with strict schemas).
    fn definitions(&self) -> Vec<Value>;
    /// The answer to one call (text for `function_call_output.output`; an error is an answer
    /// too, so the model can correct itself).
    fn run(&self, name: String, arguments: String)
    -> impl Future<Output = String> + Send + 'static;
}

/// How much tool use one review may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolLimits {
    /// Turns that may call tools, per conversation (each part of a review, the verification).
    pub turns: u32,
    /// Tool calls per review, all conversations together.
    pub calls: u32,
    /// Input tokens per review, all conversations together, cached ones weighted by their
    /// price (a cached token at a tenth of the price counts as a tenth of a token).
    pub input_tokens: u64,
    /// Wall time per conversation, from its first request, after which no more tools are
    /// offered.
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

/// The share of a review's tool calls and input tokens kept for the verification.
const VERIFY_SHARE: f64 = 0.2;
/// The least a part's (or the verification's) share holds: a part that cannot have it gets
/// no tools at all rather than a share too small to read anything.
const FLOOR_CALLS: u32 = 8;
const FLOOR_INPUT_TOKENS: u64 = 200_000;

/// A review's tool budget, shared out: one share for each part that has tools, one for the
/// verification. The shares never add up to more than the review's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shares {
    /// Each part's share, in the order of the parts; `None`: the part has no tools.
    pub parts: Vec<Option<ToolLimits>>,
    pub verify: ToolLimits,
}

impl Shares {
    /// The parts that have no tools, because the totals could not give every part its floor.
    pub fn parts_without_tools(&self) -> Vec<usize> {
        (0..self.parts.len())
            .filter(|i| self.parts[*i].is_none())
            .collect()
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

    /// The shares of a review whose parts have these sizes (any measure, such as tokens).
    ///
    /// The verification keeps a fifth of the calls and input tokens (at least the floor, 8
    /// calls and 200k tokens, when that is no more than half the total). The rest goes in equal
    /// shares to as many parts as can each have the floor, the largest parts first; the other
    /// parts are asked without tools. When the rest is below one floor, the largest part alone
    /// gets it. The shares add up to the totals at most. Turns and the clock are per
    /// conversation already.
    pub fn shares(self, part_sizes: &[usize]) -> Shares {
        let verify_calls = split_off(u64::from(self.calls), u64::from(FLOOR_CALLS)) as u32;
        let verify_tokens = split_off(self.input_tokens, FLOOR_INPUT_TOKENS);
        let rest_calls = self.calls - verify_calls;
        let rest_tokens = self.input_tokens - verify_tokens;
        let affordable = (rest_calls / FLOOR_CALLS) as usize;
        let affordable = affordable.min((rest_tokens / FLOOR_INPUT_TOKENS) as usize);
        let with_tools = if rest_calls == 0 || rest_tokens == 0 {
            0
        } else {
            affordable
                .clamp(1, part_sizes.len().max(1))
                .min(part_sizes.len())
        };
        // The largest parts first; among equals, the earlier.
        let mut order: Vec<usize> = (0..part_sizes.len()).collect();
        order.sort_by_key(|i| (std::cmp::Reverse(part_sizes[*i]), *i));
        let mut parts = vec![None; part_sizes.len()];
        for i in order.into_iter().take(with_tools) {
            parts[i] = Some(ToolLimits {
                calls: rest_calls / with_tools as u32,
                input_tokens: rest_tokens / with_tools as u64,
                ..self
            });
        }
        Shares {
            parts,
            verify: ToolLimits {
                calls: verify_calls,
                input_tokens: verify_tokens,
                ..self
            },
        }
    }
}

/// The verification's share of `total`: a fifth, raised to `floor` when that is no more than
/// half of it.
fn split_off(total: u64, floor: u64) -> u64 {
    let fifth = (total as f64 * VERIFY_SHARE) as u64;
    fifth.max(floor.min(total / 2))
}

/// The tool budget of one conversation (a part of a review, the verification, a command's
/// answer). Its clock is the conversation's: it starts at the first request.
#[derive(Debug)]
pub struct ToolBudget {
    limits: ToolLimits,
    /// What a cached input token counts for (its price over an uncached one's).
    cached_weight: f64,
    calls: AtomicU32,
    input_tokens: AtomicU64,
}

impl ToolBudget {
    /// A budget where cached tokens count in full (see [`ToolBudget::priced`]).
    pub fn new(limits: ToolLimits) -> Self {
        Self {
            limits,
            cached_weight: 1.0,
            calls: AtomicU32::new(0),
            input_tokens: AtomicU64::new(0),
        }
    }

    /// Cached input tokens count at `weight` of an uncached one (their price ratio).
    pub fn priced(mut self, weight: f64) -> Self {
        self.cached_weight = weight.clamp(0.0, 1.0);
        self
    }

    /// The input tokens of `usage` as this budget counts them.
    fn weighed(&self, usage: Usage) -> u64 {
        let cached = usage.cached_tokens.min(usage.input_tokens);
        let fresh = usage.input_tokens - cached;
        fresh + (cached as f64 * self.cached_weight).ceil() as u64
    }

    /// Which budget is spent before a conversation's next turn, if one is (`started`: when
    /// its first request went out, `None` before it).
    fn spent(&self, turns: u32, last_input: u64, started: Option<Instant>) -> Option<&'static str> {
        if turns >= self.limits.turns {
            Some("tool turns")
        } else if self.calls.load(Ordering::Relaxed) >= self.limits.calls {
            Some("tool calls")
        } else if self.input_tokens.load(Ordering::Relaxed) + last_input > self.limits.input_tokens
        {
            // The next turn repeats at least the last one's input.
            Some("input tokens")
        } else if started.is_some_and(|t| t.elapsed() >= self.limits.wall) {
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

/// Tools for one conversation, and its budget.
pub struct ToolUse<'a, R> {
    pub runner: R,
    pub budget: &'a ToolBudget,
}

/// The answer to a call past the budget.
const OVER_BUDGET: &str =
    "error: the review's tool budget is spent; answer from what you have read so far";

/// The answer to a call whose tool did not answer before the conversation's tools ran out
/// of time.
const TOO_SLOW: &str =
    "error: the tool did not answer in time; answer from what you have read so far";

/// The share of a call's deadline kept for the final answer: tools are not offered, nor
/// waited for, once less than this much of it is left.
const ANSWER_RESERVE: u32 = 4;

impl ModelClient {
    /// Asks for an answer of `call.format`, with tools when `tools` is given. Every request
    /// (turns and retries) is reported to `on_try` as it ends, with what it billed; the deadline bounds the whole
    /// conversation from its first request; when a budget, or the time left before the last
    /// quarter of the deadline, runs out, the model is asked for its answer without tools.
    /// An answer that is not valid for the schema is asked again once.
    pub async fn ask<T: DeserializeOwned, R: ToolRunner>(
        &self,
        call: &ReviewCall<'_>,
        tools: Option<ToolUse<'_, R>>,
        on_try: &OnResponse,
    ) -> Result<Reply<T>, ModelError> {
        self.ask_within(call, tools, on_try, &mut None).await
    }

    /// [`ModelClient::ask`] on a deadline an earlier attempt may have set: when `deadline` is
    /// set, the call ends by it; when not, it is set at the first request and left there, so
    /// that asking again (without tools, say) runs on what is left of the same clock.
    pub async fn ask_within<T: DeserializeOwned, R: ToolRunner>(
        &self,
        call: &ReviewCall<'_>,
        tools: Option<ToolUse<'_, R>>,
        on_try: &OnResponse,
        deadline: &mut Option<Instant>,
    ) -> Result<Reply<T>, ModelError> {
        let billing = (call.model.unwrap_or(self.model()), call.format.name);
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
                    // The deadline is set when the first request gets a slot: the start.
                    let started = deadline.map(|d| d - self.deadline_length());
                    spent = t.budget.spent(turns, last_input, started).or_else(|| {
                        deadline
                            .is_some_and(|d| Instant::now() >= self.tools_until(d))
                            .then_some("time")
                    });
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
                .turn(&mut body, &mut max_output, deadline, billing, on_try)
                .await?;
            turns += 1;
            usage.add(turn.usage);
            if let Some(t) = &tools {
                last_input = t.budget.weighed(turn.usage);
                t.budget
                    .input_tokens
                    .fetch_add(last_input, Ordering::Relaxed);
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
                        let why = crate::error_chain::chain(&why);
                        tracing::warn!(why, "answer not valid for the schema; asking again once");
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let (Some(t), Some(true)) = (&tools, callable) else {
                return Err(ModelError::InvalidOutput(Invalid::ToolCallWithoutTools));
            };
            let until = deadline.map_or_else(Instant::now, |d| self.tools_until(d));
            let (answers, granted, late) = run_calls(t, &turn.calls, until).await;
            tool_calls += granted;
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
            if late {
                tracing::warn!(turn = turns, "tools still running when their time ran out");
                spent = Some("time");
                input.push(user_input(
                    "The time for tools is up. Give your final answer now, from what you have read; do not call tools.",
                ));
            }
        }
    }

    /// When a conversation whose deadline is `deadline` stops offering tools.
    fn tools_until(&self, deadline: Instant) -> Instant {
        deadline - self.deadline_length() / ANSWER_RESERVE
    }
}

/// Runs one turn's calls in parallel, within the budget and until `until`: the answers in
/// the calls' order, how many the budget granted, and whether some were still running at
/// `until` (they are answered as too slow; a call that panicked, as failed).
async fn run_calls<R: ToolRunner>(
    t: &ToolUse<'_, R>,
    calls: &[super::response::FunctionCall],
    until: Instant,
) -> (Vec<String>, u32, bool) {
    let granted = t.budget.take_calls(calls.len() as u32) as usize;
    let mut running = JoinSet::new();
    for (i, c) in calls.iter().enumerate().take(granted) {
        let answer = t.runner.run(c.name.clone(), c.arguments.clone());
        running.spawn(async move { (i, answer.await) });
    }
    let mut answers: Vec<Option<String>> = (0..calls.len())
        .map(|i| (i >= granted).then(|| OVER_BUDGET.to_owned()))
        .collect();
    let left = until.saturating_duration_since(Instant::now());
    let collected = tokio::time::timeout(left, async {
        while let Some(done) = running.join_next().await {
            match done {
                Ok((i, answer)) => answers[i] = Some(answer),
                Err(_) => tracing::error!("a tool call panicked"),
            }
        }
    })
    .await;
    let late = collected.is_err();
    let unanswered = if late {
        TOO_SLOW
    } else {
        "error: the tool failed"
    };
    let answers = answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| unanswered.to_owned()))
        .collect();
    (answers, granted as u32, late)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_share_what_the_verification_leaves_and_never_more_than_the_totals() {
        let limits = ToolLimits::default();
        let one = limits.shares(&[10]);
        let part = one.parts[0].unwrap();
        assert_eq!((part.calls, one.verify.calls), (96, 24));
        assert_eq!(part.input_tokens, 1_600_000);
        let four = limits.shares(&[4, 3, 2, 1]);
        let each: Vec<_> = four.parts.iter().map(|p| p.unwrap()).collect();
        assert!(
            each.iter()
                .all(|p| (p.calls, p.input_tokens) == (24, 400_000))
        );
        assert_eq!(each[0].turns, limits.turns);
        // The example: 40 calls over 8 parts gave 8×8+8 = 72. Now the verification
        // keeps its floor and the four largest parts share the rest.
        let tight = ToolLimits {
            calls: 40,
            ..limits
        }
        .shares(&[5, 80, 10, 70, 20, 60, 30, 50]);
        let given: Vec<Option<u32>> = tight.parts.iter().map(|p| p.map(|p| p.calls)).collect();
        assert_eq!(
            given,
            vec![None, Some(8), None, Some(8), None, Some(8), None, Some(8)]
        );
        assert_eq!(tight.verify.calls, 8);
        assert_eq!(tight.parts_without_tools(), vec![0, 2, 4, 6]);
        // 1M input tokens gave 1.8M: now 200k for the verification, 4 parts of 200k.
        let tokens = ToolLimits {
            input_tokens: 1_000_000,
            ..limits
        }
        .shares(&[1; 8]);
        let total: u64 = tokens.parts.iter().flatten().map(|p| p.input_tokens).sum();
        assert_eq!((total, tokens.verify.input_tokens), (800_000, 200_000));
        assert_eq!(tokens.parts.iter().flatten().count(), 4);
        // A budget under one floor goes to the largest part alone, the verification's fifth
        // apart.
        let small = ToolLimits {
            calls: 5,
            input_tokens: 50_000,
            ..limits
        }
        .shares(&[1, 3, 2]);
        assert_eq!(small.parts[0], None);
        assert_eq!(
            small.parts[1].map(|p| (p.calls, p.input_tokens)),
            Some((3, 25_000))
        );
        assert_eq!((small.verify.calls, small.verify.input_tokens), (2, 25_000));
        // No calls at all: nobody has tools.
        let none = ToolLimits { calls: 0, ..limits }.shares(&[1, 2]);
        assert_eq!(none.parts_without_tools(), vec![0, 1]);
    }

    #[test]
    fn shares_never_add_up_to_more_than_the_totals() {
        for calls in [0, 1, 7, 8, 9, 16, 40, 120, 1000] {
            for tokens in [0, 1, 199_999, 200_000, 1_000_000, 2_000_000] {
                for parts in 1..=12 {
                    let limits = ToolLimits {
                        calls,
                        input_tokens: tokens,
                        ..ToolLimits::default()
                    };
                    let sizes: Vec<usize> = (0..parts).map(|i| (i * 7919) % 13).collect();
                    let shares = limits.shares(&sizes);
                    let given = shares.parts.iter().flatten();
                    let sum_calls: u32 = given.clone().map(|p| p.calls).sum();
                    let sum_tokens: u64 = given.map(|p| p.input_tokens).sum();
                    assert!(
                        sum_calls + shares.verify.calls <= calls,
                        "{limits:?} {parts}"
                    );
                    assert!(
                        sum_tokens + shares.verify.input_tokens <= tokens,
                        "{limits:?} {parts}"
                    );
                }
            }
        }
    }

    #[test]
    fn cached_tokens_count_at_their_price() {
        let budget = ToolBudget::new(ToolLimits::default()).priced(0.1);
        let usage = Usage {
            input_tokens: 10_000,
            cached_tokens: 8_000,
            ..Usage::default()
        };
        assert_eq!(budget.weighed(usage), 2_000 + 800);
        assert_eq!(
            ToolBudget::new(ToolLimits::default()).weighed(usage),
            10_000
        );
    }
}
