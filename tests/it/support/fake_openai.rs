//! A fake Responses API: checks the bearer key, validates every request against
//! `CreateResponse` from OpenAI's OpenAPI description, refuses a non-strict schema with the
//! 400 OpenAI gives, and answers from a script (reviews, 429 with retry-after, 5xx,
//! incomplete answers, refusals).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::spec;

pub const API_KEY: &str = "sk-test-0123456789abcdef";

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A completed response whose output text is this review JSON.
    Review(Value),
    /// An error status with OpenAI's error envelope and optional `retry-after` seconds.
    Error {
        status: u16,
        code: &'static str,
        retry_after: Option<u64>,
    },
    /// `status: incomplete` because of `max_output_tokens`.
    Incomplete,
    /// A refusal content part.
    Refusal(&'static str),
    /// A completed response whose output text is this (for text that is not valid JSON).
    Text(&'static str),
    /// Wait before answering (to trip the client's timeout).
    Delay(Duration, Box<Reply>),
    /// A turn that calls function tools: `(name, arguments)` each, after a reasoning item
    /// (with `encrypted_content` when the request included it).
    ToolCalls(Vec<(&'static str, Value)>),
}

/// The `text.format.name` of the verification call.
pub const VERIFY_FORMAT: &str = "finding_verdicts";

/// Verdicts keeping every finding `[ID]` shown in a verification request.
pub fn keep_all(request: &Value) -> Value {
    let message = request["input"][0]["content"].as_str().unwrap_or("");
    let verdicts: Vec<Value> = message
        .lines()
        .filter_map(|l| {
            l.strip_prefix('[')?
                .split_once(']')
                .map(|(id, _)| id.to_owned())
        })
        .map(|id| json!({"id": id, "keep": true, "reason": "The code shown supports it.", "priority": null}))
        .collect();
    json!({ "verdicts": verdicts })
}

/// Answers a request when the script is empty (a fake model that reads its input).
pub type Responder = Box<dyn Fn(&Value) -> Reply + Send + Sync>;

#[derive(Default)]
pub struct AiState {
    pub script: VecDeque<Reply>,
    /// Answers to verification calls (their own queue, so a test scripts the review and the
    /// verification apart); when empty, every finding is kept.
    pub verify_script: VecDeque<Reply>,
    /// `OpenAI-Organization` and `OpenAI-Project` of each request.
    pub headers: Vec<(Option<String>, Option<String>)>,
    pub responder: Option<Responder>,
    pub requests: Vec<Value>,
    pub violations: Vec<String>,
    /// `encrypted_content` of the reasoning items this fake handed out (only those resolve
    /// when nothing is stored).
    pub reasoning_issued: std::collections::HashSet<String>,
    /// When set, usage is counted and cached as OpenAI does (see [`PromptCache`]); otherwise
    /// every answer reports the same fixed usage.
    pub cache: Option<PromptCache>,
}

/// Bytes per token of the fake's tokenizer (English and code average about four).
const BYTES_PER_TOKEN: usize = 4;

/// Requests a minute one machine takes for a `prompt_cache_key` before OpenAI spreads the
/// key over more machines.
const PER_MACHINE_PER_MINUTE: usize = 15;

/// OpenAI's prompt caching, as documented: a request's prompt (tools, then the output format,
/// then the instructions, then the input items, in that order) is routed by its
/// `prompt_cache_key` to a machine, and a later request on that machine reads from its cache
/// the longest prefix it shares with an earlier prompt, counted from 1,024 tokens and in
/// steps of 128. Past [`PER_MACHINE_PER_MINUTE`] requests of a key in the last minute, the
/// overflow goes to further machines, whose caches start empty.
#[derive(Default)]
pub struct PromptCache {
    /// Prompts seen, by key and machine.
    prompts: std::collections::HashMap<(String, usize), Vec<Vec<u8>>>,
    /// When each key was last asked, for the overflow.
    recent: std::collections::HashMap<String, Vec<std::time::Instant>>,
    /// Input and cached tokens of every answer so far.
    input: usize,
    cached: usize,
    /// Input and cached tokens of the first turns of conversations (no tool output yet).
    first_turns: (usize, usize),
}

impl PromptCache {
    /// `(input_tokens, cached_tokens)` of `request`, which is then cached.
    fn usage(&mut self, request: &Value) -> (usize, usize) {
        let mut prompt = Vec::new();
        for part in [
            &request["tools"],
            &request["text"]["format"],
            &request["instructions"],
        ] {
            prompt.extend(part.to_string().into_bytes());
        }
        for item in request["input"].as_array().into_iter().flatten() {
            prompt.extend(item.to_string().into_bytes());
        }
        let key = request["prompt_cache_key"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let now = std::time::Instant::now();
        let recent = self.recent.entry(key.clone()).or_default();
        recent.retain(|t| now.duration_since(*t) < Duration::from_secs(60));
        let machine = recent.len() / PER_MACHINE_PER_MINUTE;
        recent.push(now);
        let earlier = self.prompts.entry((key, machine)).or_default();
        let shared = earlier
            .iter()
            .map(|p| p.iter().zip(&prompt).take_while(|(a, b)| a == b).count())
            .max()
            .unwrap_or(0);
        let tokens = prompt.len().div_ceil(BYTES_PER_TOKEN);
        let shared_tokens = shared / BYTES_PER_TOKEN;
        let cached = if shared_tokens >= 1024 {
            1024 + (shared_tokens - 1024) / 128 * 128
        } else {
            0
        };
        earlier.push(prompt);
        let cached = cached.min(tokens);
        self.input += tokens;
        self.cached += cached;
        let first_turn = request["input"]
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i["type"] != "function_call_output"));
        if first_turn {
            self.first_turns.0 += tokens;
            self.first_turns.1 += cached;
        }
        (tokens, cached)
    }
}

#[derive(Clone)]
pub struct FakeOpenAi {
    state: Arc<Mutex<AiState>>,
    /// Checks for violations when the test drops its last handle (the server has none).
    guard: Option<Arc<super::ProtocolGuard>>,
    pub addr: SocketAddr,
    pub base_url: String,
}

/// A review with no findings.
pub fn clean_review() -> Value {
    json!({
        "findings": [],
        "overall_correctness": "patch is correct",
        "overall_explanation": "Nothing in this change needs fixing.",
        "overall_confidence_score": 0.9,
        "fixed_finding_ids": []
    })
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(AiState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let checked = state.clone();
        let fake = FakeOpenAi {
            guard: Some(super::ProtocolGuard::new("OpenAI", move || {
                checked.lock().unwrap().violations.clone()
            })),
            state,
            addr,
            base_url: format!("http://{addr}/v1"),
        };
        let app = Router::new()
            .route("/v1/responses", post(responses))
            .with_state(FakeOpenAi {
                guard: None,
                ..fake.clone()
            });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    pub fn state(&self) -> MutexGuard<'_, AiState> {
        self.state.lock().unwrap()
    }

    /// Counts and caches prompts as OpenAI does from now on ([`PromptCache`]).
    pub fn cache_like_openai(&self) {
        self.state().cache = Some(PromptCache::default());
    }

    /// `(input_tokens, cached_tokens)` summed over the answers since [`Self::cache_like_openai`],
    /// of every turn, then of the conversations' first turns only.
    pub fn usage_seen(&self) -> [(u64, u64); 2] {
        let st = self.state();
        let cache = st.cache.as_ref().expect("cache_like_openai was called");
        let (first_input, first_cached) = cache.first_turns;
        [
            (cache.input as u64, cache.cached as u64),
            (first_input as u64, first_cached as u64),
        ]
    }

    pub fn respond_with(&self, responder: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        self.state().responder = Some(Box::new(responder));
    }

    /// The violations seen so far, cleared (for tests that provoke them on purpose).
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.state().violations)
    }

    pub fn push_verify(&self, reply: Reply) {
        self.state().verify_script.push_back(reply);
    }

    pub fn push(&self, reply: Reply) {
        self.state().script.push_back(reply);
    }

    /// The review calls' requests (every turn), without the verification calls'.
    pub fn requests(&self) -> Vec<Value> {
        self.all_requests()
            .into_iter()
            .filter(|r| r["text"]["format"]["name"] != VERIFY_FORMAT)
            .collect()
    }

    /// The verification calls' requests.
    pub fn verify_requests(&self) -> Vec<Value> {
        self.all_requests()
            .into_iter()
            .filter(|r| r["text"]["format"]["name"] == VERIFY_FORMAT)
            .collect()
    }

    pub fn all_requests(&self) -> Vec<Value> {
        self.state().requests.clone()
    }
}

fn openai_error(status: u16, code: &str, message: &str, retry_after: Option<u64>) -> Response {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "invalid_request_error",
        429 if code == "insufficient_quota" => "insufficient_quota",
        429 => "requests",
        _ => "server_error",
    };
    let mut r = (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        ),
    )
        .into_response();
    if let Some(s) = retry_after {
        r.headers_mut()
            .insert("retry-after", s.to_string().parse().unwrap());
    }
    r
}

/// The first rule of strict structured outputs that `schema` breaks, as OpenAI words it.
fn strict_violation(schema: &Value, context: &str) -> Option<String> {
    if schema["type"] == "object" {
        if schema["additionalProperties"] != json!(false) {
            return Some(format!(
                "In context={context}, 'additionalProperties' is required to be supplied and to be false."
            ));
        }
        let props = schema["properties"].as_object()?;
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for name in props.keys() {
            if !required.contains(&name.as_str()) {
                return Some(format!(
                    "In context={context}, 'required' is required to be supplied and to be an array including every key in properties. Missing '{name}'."
                ));
            }
        }
        for (name, sub) in props {
            if let Some(v) = strict_violation(sub, &format!("{context}.{name}")) {
                return Some(v);
            }
        }
    }
    if let Some(items) = schema.get("items") {
        return strict_violation(items, &format!("{context}[]"));
    }
    None
}

async fn responses(
    State(fake): State<FakeOpenAi>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {API_KEY}") {
        return openai_error(401, "invalid_api_key", "Incorrect API key provided.", None);
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return openai_error(
            400,
            "invalid_json",
            "We could not parse the JSON body of your request.",
            None,
        );
    };
    let reply = {
        let mut st = fake.state();
        st.requests.push(body.clone());
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        st.headers
            .push((header("openai-organization"), header("openai-project")));
        for e in spec::check_openai_request(&body) {
            st.violations.push(e);
        }
        let format = &body["text"]["format"];
        if format["type"] == "json_schema"
            && format["strict"] == json!(true)
            && let Some(v) = strict_violation(&format["schema"], "()")
        {
            {
                let name = format["name"].as_str().unwrap_or("");
                return openai_error(
                    400,
                    "invalid_json_schema",
                    &format!("Invalid schema for response_format '{name}': {v}"),
                    None,
                );
            }
        }
        for tool in body["tools"].as_array().into_iter().flatten() {
            if tool["type"] == "function"
                && tool["strict"] == json!(true)
                && let Some(v) = strict_violation(&tool["parameters"], "()")
            {
                let name = tool["name"].as_str().unwrap_or("");
                return openai_error(
                    400,
                    "invalid_function_parameters",
                    &format!("Invalid schema for function '{name}': {v}"),
                    None,
                );
            }
        }
        if let Some((code, message)) = pairing_error(&body, &st.reasoning_issued) {
            return openai_error(400, code, &message, None);
        }
        let tools_offered = body["tools"].as_array().is_some_and(|t| !t.is_empty());
        let may_call = tools_offered && body["tool_choice"] != json!("none");
        let reply = if format["name"] == VERIFY_FORMAT {
            st.verify_script
                .pop_front()
                .unwrap_or_else(|| Reply::Review(keep_all(&body)))
        } else {
            match st.script.pop_front() {
                Some(reply) => reply,
                None => match &st.responder {
                    Some(respond) => respond(&body),
                    None => Reply::Review(clean_review()),
                },
            }
        };
        if matches!(reply, Reply::ToolCalls(_)) && !may_call {
            // The real model cannot call a tool it was not offered (or was told not to call).
            st.violations.push(format!(
                "a tool call was scripted for a request that cannot call tools (tool_choice {})",
                body["tool_choice"]
            ));
        }
        reply
    };
    let response = answer(&body, reply, &fake).await;
    if body["stream"] == json!(true) && response.status().is_success() {
        return as_event_stream(response).await;
    }
    response
}

/// The same answer as server-sent events, as the Responses API streams it.
async fn as_event_stream(response: Response) -> Response {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let full: Value = serde_json::from_slice(&bytes).unwrap();
    let terminal = match full["status"].as_str() {
        Some("incomplete") => "response.incomplete",
        Some("failed") => "response.failed",
        _ => "response.completed",
    };
    let mut created = full.clone();
    created["status"] = json!("in_progress");
    created["output"] = json!([]);
    let mut events =
        vec![json!({"type": "response.created", "sequence_number": 0, "response": created})];
    if let Some(text) = full["output"]
        .as_array()
        .and_then(|o| o.iter().find(|i| i["type"] == "message"))
        .and_then(|m| m["content"][0]["text"].as_str())
    {
        for (i, piece) in text.as_bytes().chunks(40).enumerate() {
            events.push(json!({"type": "response.output_text.delta", "sequence_number": i + 1, "delta": String::from_utf8_lossy(piece)}));
        }
    }
    events.push(json!({"type": terminal, "sequence_number": events.len(), "response": full}));
    let body: String = events
        .iter()
        .map(|e| format!("event: {}\ndata: {}\n\n", e["type"].as_str().unwrap(), e))
        .collect();
    ([("content-type", "text/event-stream")], body).into_response()
}

/// What the Responses API refuses in a multi-turn input: an output without its call, a call
/// without its output, and (with `store: false`) a reasoning item it cannot resolve.
fn pairing_error(
    body: &Value,
    issued: &std::collections::HashSet<String>,
) -> Option<(&'static str, String)> {
    let items = body["input"].as_array()?;
    let of = |kind: &str| -> Vec<&str> {
        items
            .iter()
            .filter(|i| i["type"] == kind)
            .filter_map(|i| i["call_id"].as_str())
            .collect()
    };
    let (calls, outputs) = (of("function_call"), of("function_call_output"));
    if let Some(orphan) = outputs.iter().find(|o| !calls.contains(o)) {
        return Some((
            "invalid_request_error",
            format!("No tool call found for function call output with call_id {orphan}."),
        ));
    }
    if let Some(unanswered) = calls.iter().find(|c| !outputs.contains(c)) {
        return Some((
            "invalid_request_error",
            format!("No tool output found for function call {unanswered}."),
        ));
    }
    if body["store"] == json!(false) {
        for item in items.iter().filter(|i| i["type"] == "reasoning") {
            let known = item["encrypted_content"]
                .as_str()
                .is_some_and(|e| issued.contains(e));
            if !known {
                return Some((
                    "invalid_request_error",
                    format!(
                        "Item with id '{}' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.",
                        item["id"].as_str().unwrap_or("")
                    ),
                ));
            }
        }
    }
    None
}

async fn answer(request: &Value, reply: Reply, fake: &FakeOpenAi) -> Response {
    let model = request["model"].as_str().unwrap_or("gpt-5.1-codex");
    let id = format!("resp_{:032x}", fastrand::u128(..));
    let (input, cached) = match &mut fake.state().cache {
        Some(cache) => cache.usage(request),
        None => (1834, 1024),
    };
    let usage = json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": 412,
        "output_tokens_details": {"reasoning_tokens": 256},
        "total_tokens": input + 412
    });
    let base = |status: &str, output: Value, incomplete: Value| {
        json!({
            "id": id, "object": "response", "created_at": 1_763_000_000, "status": status,
            "error": null, "incomplete_details": incomplete, "instructions": request["instructions"],
            "max_output_tokens": request["max_output_tokens"], "model": model, "output": output,
            "parallel_tool_calls": true, "previous_response_id": null,
            "reasoning": {"effort": request["reasoning"]["effort"], "summary": null},
            "store": false, "temperature": 1.0, "text": request["text"], "tool_choice": "auto",
            "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": usage, "metadata": {}
        })
    };
    let reasoning = json!({"id": format!("rs_{id}"), "type": "reasoning", "summary": []});
    match reply {
        Reply::ToolCalls(calls) => {
            let mut reasoning = reasoning.clone();
            let include = request["include"]
                .as_array()
                .is_some_and(|i| i.contains(&json!("reasoning.encrypted_content")));
            if include {
                let token = format!("enc_{:032x}", fastrand::u128(..));
                fake.state().reasoning_issued.insert(token.clone());
                reasoning["encrypted_content"] = json!(token);
            }
            let mut output = vec![reasoning];
            for (name, arguments) in calls {
                let n = fastrand::u64(..);
                output.push(json!({
                    "type": "function_call", "id": format!("fc_{n:016x}"),
                    "call_id": format!("call_{n:016x}"), "name": name,
                    "arguments": arguments.to_string(), "status": "completed"
                }));
            }
            axum::Json(base("completed", json!(output), Value::Null)).into_response()
        }
        Reply::Review(review) => {
            let message = json!({
                "id": format!("msg_{id}"), "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": review.to_string(), "annotations": [], "logprobs": []}]
            });
            axum::Json(base("completed", json!([reasoning, message]), Value::Null)).into_response()
        }
        Reply::Error {
            status,
            code,
            retry_after,
        } => {
            let message = match status {
                429 if code == "insufficient_quota" => {
                    "You exceeded your current quota, please check your plan and billing details."
                }
                429 => "Rate limit reached for requests per min. Please try again in 1s.",
                _ => "The server had an error while processing your request. Sorry about that!",
            };
            openai_error(status, code, message, retry_after)
        }
        Reply::Incomplete => axum::Json(base(
            "incomplete",
            json!([reasoning]),
            json!({"reason": "max_output_tokens"}),
        ))
        .into_response(),
        Reply::Text(text) => {
            let message = json!({
                "id": format!("msg_{id}"), "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
            });
            axum::Json(base("completed", json!([reasoning, message]), Value::Null)).into_response()
        }
        Reply::Refusal(text) => {
            let message = json!({
                "id": format!("msg_{id}"), "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "refusal", "refusal": text}]
            });
            axum::Json(base("completed", json!([message]), Value::Null)).into_response()
        }
        Reply::Delay(d, inner) => {
            tokio::time::sleep(d).await;
            Box::pin(answer(request, *inner, fake)).await
        }
    }
}
