//! A thin client for `POST {OPENAI_BASE_URL}/responses`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::OpenAiSettings;
use super::cassette::Tape;
use super::cost::PriceTable;
pub use super::error::ModelError;
use super::error::{Unreached, api_error, retry_after};
pub(crate) use super::response::{
    Turn, billed_usage, final_event, parse_answer, parse_turn, user_input,
};
use super::schema::{ReviewOutput, SCHEMA_NAME, answer_schema, review_schema, verify_schema};
pub use super::usage::Usage;
use crate::error_chain::chain;
use crate::retry::{RetryPolicy, backoff};

/// One answer of the API as billed: the model asked, what the call was for, its usage and
/// its price.
#[derive(Debug, Clone, PartialEq)]
pub struct Billed {
    pub model: String,
    /// The call's output format (`text.format.name`): a review, a verification, an answer.
    pub purpose: &'static str,
    pub usage: Usage,
    /// USD billionths at the price table's price (exact for prices with up to three decimals
    /// per million tokens); `None` when the model has no price.
    pub cost_nanos: Option<i64>,
}

/// Told of every request a call makes as it ends: `Some` for an answer the API billed (an
/// answer cut short, refused or unreadable included), `None` for a request that got no
/// answer (an error status, a timeout). The call waits for the returned future before it
/// goes on, so what it keeps is kept before the next request.
pub type OnResponse =
    dyn Fn(Option<Billed>) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync;

/// A hook that keeps nothing (`doctor`'s ping, tests).
pub fn ignore_responses() -> &'static OnResponse {
    &|_| Box::pin(async {})
}

/// A successful call: the structured answer and what it cost, over all its turns.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub output: T,
    pub usage: Usage,
    /// The last turn's response id.
    pub response_id: String,
    /// Requests answered (turns with tools, the final one included).
    pub turns: u32,
    /// Tool calls answered.
    pub tool_calls: u32,
    /// Whether a budget cut the tool use short (the last turn was asked without tools).
    pub budget_spent: Option<&'static str>,
}

/// A review call's answer.
pub type ModelReply = Reply<ReviewOutput>;

/// The strict JSON schema an answer must follow (`text.format`).
#[derive(Debug, Clone)]
pub struct OutputFormat {
    pub name: &'static str,
    pub schema: Value,
}

impl OutputFormat {
    /// The review output (the strict schema of `schema.rs`).
    pub fn review() -> &'static OutputFormat {
        static FORMAT: std::sync::OnceLock<OutputFormat> = std::sync::OnceLock::new();
        FORMAT.get_or_init(|| OutputFormat {
            name: SCHEMA_NAME,
            schema: review_schema(),
        })
    }

    /// A conversation answer.
    pub fn answer() -> &'static OutputFormat {
        static FORMAT: std::sync::OnceLock<OutputFormat> = std::sync::OnceLock::new();
        FORMAT.get_or_init(|| OutputFormat {
            name: "answer",
            schema: answer_schema(),
        })
    }

    /// The verification verdicts (keep, drop or lower each finding shown).
    pub fn verify() -> &'static OutputFormat {
        static FORMAT: std::sync::OnceLock<OutputFormat> = std::sync::OnceLock::new();
        FORMAT.get_or_init(|| OutputFormat {
            name: "finding_verdicts",
            schema: verify_schema(),
        })
    }
}

/// The client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct ModelClient {
    http: reqwest::Client,
    endpoint: String,
    api_key: SecretString,
    organization: Option<String>,
    project: Option<String>,
    model: String,
    reasoning_effort: String,
    prompt_cache_retention: Option<String>,
    max_output_tokens: u32,
    deadline: Duration,
    retry: RetryPolicy,
    prices: PriceTable,
    stream: bool,
    /// Requests in flight at once across the clients that share it (`None`: no limit). A
    /// slot is held for one request, not for a whole conversation.
    slots: Option<Arc<Semaphore>>,
    /// Records every exchange, or answers from recordings instead of the API.
    tape: Option<Arc<Tape>>,
    /// Where each request's time is counted (`None`: nowhere).
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// What one review call sends besides the fixed schema.
pub struct ReviewCall<'a> {
    pub instructions: &'a str,
    pub user_message: &'a str,
    /// The repository's model, instead of the service's.
    pub model: Option<&'a str>,
    /// The repository's `reasoning.effort`, instead of the service's.
    pub reasoning_effort: Option<&'a str>,
    /// `prompt_cache_key`: calls that share it (one repository) share cached prefixes.
    pub cache_key: Option<&'a str>,
    /// The schema of the answer.
    pub format: &'a OutputFormat,
}

/// Output tokens are doubled once for an answer cut short, up to this.
const MAX_OUTPUT_TOKENS_CEILING: u32 = 128_000;

impl ModelClient {
    pub fn new(settings: &OpenAiSettings, retry: RetryPolicy) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(settings.timeout)
            .user_agent(concat!("codex-review/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            endpoint: format!("{}/responses", settings.base_url),
            api_key: settings.api_key.clone(),
            organization: settings.organization.clone(),
            project: settings.project.clone(),
            model: settings.model.clone(),
            reasoning_effort: settings.reasoning_effort.clone(),
            prompt_cache_retention: settings.prompt_cache_retention.clone(),
            max_output_tokens: settings.max_output_tokens,
            deadline: settings.deadline,
            retry,
            prices: settings.prices.clone(),
            stream: settings.stream,
            slots: None,
            tape: None,
            metrics: None,
        })
    }

    /// The client with at most `slots` permits' worth of requests in flight at once.
    pub fn limited(mut self, slots: Arc<Semaphore>) -> Self {
        self.slots = Some(slots);
        self
    }

    /// The client with each request's time counted in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The client with `tape` recording its exchanges, or answering them (see
    /// [`super::cassette`]).
    pub fn with_tape(mut self, tape: Arc<Tape>) -> Self {
        self.tape = Some(tape);
        self
    }

    /// The service's model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The price table for cost estimates.
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// The JSON body of a first request without tools.
    pub fn request_body(&self, call: &ReviewCall<'_>, max_output_tokens: u32) -> Value {
        self.body(
            call,
            &[user_input(call.user_message)],
            max_output_tokens,
            None,
        )
    }

    /// The JSON body of one turn: `input` so far, and the tools offered (`Some((tools,
    /// true))`), or listed but not to be called any more (`Some((tools, false))`).
    pub(crate) fn body(
        &self,
        call: &ReviewCall<'_>,
        input: &[Value],
        max_output_tokens: u32,
        tools: Option<(&[Value], bool)>,
    ) -> Value {
        let mut body = json!({
            "model": call.model.unwrap_or(&self.model),
            "instructions": call.instructions,
            "input": input,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": call.format.name,
                    "strict": true,
                    "schema": call.format.schema
                }
            },
            "reasoning": {"effort": call.reasoning_effort.unwrap_or(&self.reasoning_effort)},
            "max_output_tokens": max_output_tokens,
            "store": false
        });
        if let Some((tools, callable)) = tools {
            body["tools"] = json!(tools);
            body["tool_choice"] = json!(if callable { "auto" } else { "none" });
            body["parallel_tool_calls"] = json!(true);
            // Nothing is stored: the reasoning of one turn travels to the next encrypted.
            body["include"] = json!(["reasoning.encrypted_content"]);
        }
        if let Some(key) = call.cache_key {
            body["prompt_cache_key"] = json!(key);
        }
        if let Some(retention) = &self.prompt_cache_retention {
            body["prompt_cache_retention"] = json!(retention);
        }
        if self.stream {
            body["stream"] = json!(true);
        }
        body
    }

    /// One request of a conversation. Transient failures are retried with backoff (honouring
    /// `retry-after`) until `deadline`; an answer cut short by `max_output_tokens` is asked
    /// again once with twice the budget (`max_output` is raised for the later turns too).
    /// `on_try` is told of every request as it ends (what it billed, priced for `model`), and
    /// waited for. Each attempt holds a slot while it is in flight; the conversation's
    /// `deadline` is set when its first request gets one.
    pub(crate) async fn turn(
        &self,
        body: &mut Value,
        max_output: &mut u32,
        deadline: &mut Option<Instant>,
        (model, purpose): (&str, &'static str),
        on_try: &OnResponse,
    ) -> Result<Turn, ModelError> {
        let billed = |usage: Usage| Billed {
            model: model.to_owned(),
            purpose,
            usage,
            cost_nanos: self.prices.cost_nanos(model, usage),
        };
        let mut attempt = 1;
        let mut grew = false;
        // Tokens of answers cut short and asked again: billed, so added to the turn's.
        let mut cut_short = Usage::default();
        loop {
            let slot = match &self.slots {
                Some(slots) => Some(slots.acquire().await.expect("never closed")),
                None => None,
            };
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + self.deadline);
            // The deadline bounds the whole call, the request in flight included.
            let left = deadline.saturating_duration_since(Instant::now());
            let started = Instant::now();
            let sent = tokio::time::timeout(left, self.send(body)).await;
            drop(slot);
            if let Some(m) = &self.metrics {
                m.model_call_took(started.elapsed());
            }
            let sent = match sent {
                Ok(sent) => sent,
                Err(_) => {
                    on_try(None).await;
                    return Err(ModelError::Deadline {
                        seconds: self.deadline.as_secs(),
                    });
                }
            };
            on_try(match &sent {
                Ok(turn) => Some(billed(turn.usage)),
                Err(failure) => failure.billed.map(billed),
            })
            .await;
            let sent = sent.map_err(|f| (f.error, f.retry_after));
            match sent {
                Ok(mut turn) => {
                    turn.usage.add(cut_short);
                    return Ok(turn);
                }
                Err((ModelError::Incomplete { reason, usage }, _))
                    if reason == "max_output_tokens" && !grew =>
                {
                    grew = true;
                    cut_short.add(usage);
                    *max_output = (*max_output * 2).min(MAX_OUTPUT_TOKENS_CEILING);
                    tracing::warn!(
                        max_output = *max_output,
                        "answer cut short; asking again with a larger budget"
                    );
                    body["max_output_tokens"] = json!(*max_output);
                }
                Err((err, retry_after)) if err.is_transient() && attempt < self.retry.attempts => {
                    let delay =
                        retry_after.unwrap_or_else(|| backoff(self.retry.base_delay, attempt));
                    let delay = delay.min(self.retry.max_delay);
                    if Instant::now() + delay > deadline {
                        tracing::warn!(error = %chain(&err), "model call deadline reached");
                        return Err(err);
                    }
                    tracing::warn!(attempt, error = %chain(&err), delay_ms = delay.as_millis() as u64, "model call failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err((err, _)) => return Err(err),
            }
        }
    }

    /// The smallest call: the key, the model and the endpoint work (`doctor`).
    pub async fn ping(&self) -> Result<(), ModelError> {
        let mut body = json!({
            "model": self.model,
            "input": "Reply with the word OK.",
            "max_output_tokens": 16,
            "store": false
        });
        let mut max_output = 16;
        let billing = (self.model.as_str(), "ping");
        self.turn(
            &mut body,
            &mut max_output,
            &mut None,
            billing,
            ignore_responses(),
        )
        .await
        .map(drop)
        .or_else(|e| match e {
            // Cut short at 16 tokens is still an answer.
            ModelError::Incomplete { .. } => Ok(()),
            e => Err(e),
        })
    }

    /// How long a conversation may take, from its first request.
    pub(crate) fn deadline_length(&self) -> Duration {
        self.deadline
    }

    /// Output tokens asked for at first.
    pub(crate) fn max_output_tokens(&self) -> u32 {
        self.max_output_tokens
    }

    async fn send(&self, body: &Value) -> Result<Turn, Failure> {
        let failure = |error| Failure {
            error,
            retry_after: None,
            billed: None,
        };
        let (status, retry_after, text) = match self.tape.as_ref().and_then(|t| t.play(body)) {
            Some(Ok((status, text))) => (status, None, text),
            Some(Err(stale)) => return Err(failure(ModelError::Stale(stale))),
            None => {
                let (status, retry_after, text) = self.post(body).await?;
                // A rate limit or a server error is tried again: the replay needs only
                // the answer that ended the request.
                let transient = status == 429 || status >= 500;
                if let Some(tape) = self.tape.as_ref().filter(|_| !transient) {
                    tape.record(body, status, &text);
                }
                (status, retry_after, text)
            }
        };
        if !(200..300).contains(&status) {
            return Err(Failure {
                error: api_error(status, &text),
                retry_after,
                billed: None,
            });
        }
        // An answer that is no turn (refused, failed, cut short, unreadable) was billed too.
        parse_turn(&text).map_err(|error| Failure {
            error,
            retry_after: None,
            billed: billed_usage(&text),
        })
    }

    /// One HTTP request: the answer's status, `retry-after` and body (for a stream, the
    /// response of its last event).
    async fn post(&self, body: &Value) -> Result<(u16, Option<Duration>, String), Failure> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose_secret())
            .json(body);
        if let Some(org) = &self.organization {
            request = request.header("OpenAI-Organization", org);
        }
        if let Some(project) = &self.project {
            request = request.header("OpenAI-Project", project);
        }
        let transport = |e: reqwest::Error| Failure {
            // The endpoint's URL stays out of a text that reaches logs and PR comments.
            error: ModelError::Transport(Unreached::Http(e.without_url())),
            retry_after: None,
            billed: None,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response.text().await.map_err(transport)?;
        let text = match self.stream && status.is_success() {
            true => final_event(&text).map_err(|error| Failure {
                error,
                retry_after: None,
                billed: None,
            })?,
            false => text,
        };
        Ok((status.as_u16(), retry_after, text))
    }
}

/// A request that gave no turn: why, when to try again, and what the API billed for it.
struct Failure {
    error: ModelError,
    retry_after: Option<Duration>,
    billed: Option<Usage>,
}
