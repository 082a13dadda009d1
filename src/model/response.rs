//! Reading the Responses API's answers: a response object (or the last event of a stream)
//! into its parts, and the final message into the answer's type.

use serde::Deserialize;
use serde_json::{Value, json};

use super::client::Usage;
use super::error::{Invalid, ModelError, Unreached, truncate};

/// The response object of the last terminal event of a server-sent event stream
/// (`response.completed`, `response.incomplete` or `response.failed`).
pub(crate) fn final_event(stream: &str) -> Result<String, ModelError> {
    let mut last = None;
    for line in stream.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
            continue;
        };
        match event["type"].as_str() {
            Some("response.completed" | "response.incomplete" | "response.failed") => {
                last = Some(event["response"].to_string());
            }
            Some("error") => {
                let message = event["message"]
                    .as_str()
                    .unwrap_or("stream error")
                    .to_owned();
                return Err(ModelError::Failed(truncate(&message, 500)));
            }
            _ => {}
        }
    }
    last.ok_or(ModelError::Transport(Unreached::StreamEnded))
}

#[derive(Deserialize)]
struct ResponseBody {
    #[serde(default)]
    id: String,
    status: Option<String>,
    incomplete_details: Option<IncompleteDetails>,
    error: Option<ResponseError>,
    #[serde(default)]
    output: Vec<Value>,
    usage: Option<UsageBody>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ResponseError {
    message: Option<String>,
}

#[derive(Deserialize)]
struct MessageItem {
    #[serde(default)]
    content: Vec<ContentPart>,
}

#[derive(Deserialize)]
struct ContentPart {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct UsageBody {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    input_tokens_details: Option<CachedDetails>,
    output_tokens_details: Option<ReasoningDetails>,
}

#[derive(Deserialize)]
struct CachedDetails {
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Deserialize)]
struct ReasoningDetails {
    #[serde(default)]
    reasoning_tokens: u64,
}

/// The usage a 200 answer was billed for, read on its own: for an answer that made no turn
/// (a refusal, a failed response, an unreadable output), billed all the same.
pub(crate) fn billed_usage(text: &str) -> Option<Usage> {
    #[derive(Deserialize)]
    struct Billed {
        usage: Option<UsageBody>,
    }
    let usage = serde_json::from_str::<Billed>(text).ok()?.usage?;
    Some(usage.into())
}

impl From<UsageBody> for Usage {
    fn from(u: UsageBody) -> Self {
        Usage {
            input_tokens: u.input_tokens,
            cached_tokens: u.input_tokens_details.map_or(0, |d| d.cached_tokens),
            output_tokens: u.output_tokens,
            reasoning_tokens: u.output_tokens_details.map_or(0, |d| d.reasoning_tokens),
        }
    }
}

/// A function tool the model asked to run.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FunctionCall {
    pub call_id: String,
    pub name: String,
    pub arguments: String,
}

/// One answered request.
#[derive(Debug)]
pub(crate) struct Turn {
    pub id: String,
    pub usage: Usage,
    /// The reasoning and function call items, as they must be handed back in the next turn.
    pub carried: Vec<Value>,
    pub calls: Vec<FunctionCall>,
    /// The message's text (empty when the turn only calls tools).
    pub text: String,
}

/// Reads a 200 answer into its parts; a refusal, an incomplete or failed response is an error.
pub(crate) fn parse_turn(text: &str) -> Result<Turn, ModelError> {
    let mut body: ResponseBody =
        serde_json::from_str(text).map_err(|e| ModelError::InvalidOutput(Invalid::Response(e)))?;
    let usage = body.usage.take().map(Usage::from).unwrap_or_default();
    match body.status.as_deref() {
        Some("incomplete") => {
            let reason = body
                .incomplete_details
                .and_then(|d| d.reason)
                .unwrap_or_else(|| "unknown reason".into());
            // The tokens of an answer cut short are billed: they are counted.
            return Err(ModelError::Incomplete { reason, usage });
        }
        Some("failed") | Some("cancelled") => {
            let message = body
                .error
                .and_then(|e| e.message)
                .unwrap_or_else(|| "no error message".into());
            return Err(ModelError::Failed(truncate(&message, 500)));
        }
        _ => {}
    }
    let mut output_text = String::new();
    let (mut carried, mut calls) = (Vec::new(), Vec::new());
    for item in body.output {
        match item["type"].as_str() {
            Some("message") => {
                let message: MessageItem = serde_json::from_value(item)
                    .map_err(|e| ModelError::InvalidOutput(Invalid::Message(e)))?;
                for part in message.content {
                    match part.kind.as_str() {
                        "output_text" => output_text.push_str(part.text.as_deref().unwrap_or("")),
                        "refusal" => {
                            let why = part.refusal.as_deref().unwrap_or("no reason given");
                            return Err(ModelError::Refused(truncate(why, 500)));
                        }
                        _ => {}
                    }
                }
            }
            Some("function_call") => {
                let call: FunctionCall = serde_json::from_value(item.clone())
                    .map_err(|e| ModelError::InvalidOutput(Invalid::FunctionCall(e)))?;
                calls.push(call);
                carried.push(item);
            }
            Some("reasoning") => carried.push(item),
            _ => {}
        }
    }
    Ok(Turn {
        id: body.id,
        usage,
        carried,
        calls,
        text: output_text,
    })
}

/// The final answer's text as `T`.
pub(crate) fn parse_answer<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ModelError> {
    if text.trim().is_empty() {
        return Err(ModelError::InvalidOutput(Invalid::NoText));
    }
    serde_json::from_str(text).map_err(|e| ModelError::InvalidOutput(Invalid::Schema(e)))
}

/// The user message as the first input item: a message with string content, the one input
/// shape that matches exactly one branch of `InputItem` in OpenAI's description (a content
/// list matches two).
pub(crate) fn user_input(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": text})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReviewOutput;

    #[test]
    fn a_streamed_answer_is_read_from_its_final_event() {
        let review = r#"{\"findings\":[],\"overall_correctness\":\"patch is correct\",\"overall_explanation\":\"ok\",\"overall_confidence_score\":0.9}"#;
        let completed = format!(
            r#"{{"type":"response.completed","response":{{"id":"r","status":"completed","output":[{{"type":"message","content":[{{"type":"output_text","text":"{review}"}}]}}]}}}}"#
        );
        let stream = format!(
            "event: response.created\ndata: {{\"type\":\"response.created\",\"response\":{{}}}}\n\nevent: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"delta\":\"{{\"}}\n\nevent: response.completed\ndata: {completed}\n\n"
        );
        let turn = parse_turn(&final_event(&stream).unwrap()).unwrap();
        let review: ReviewOutput = parse_answer(&turn.text).unwrap();
        assert_eq!(review.overall_explanation, "ok");
        assert!(matches!(
            final_event("event: response.created\ndata: {}\n\n"),
            Err(ModelError::Transport(_))
        ));
    }

    #[test]
    fn refusals_and_incomplete_answers_are_errors() {
        let refusal = r#"{"id":"r","status":"completed","output":[{"type":"message","content":[{"type":"refusal","refusal":"no"}]}]}"#;
        assert!(matches!(parse_turn(refusal), Err(ModelError::Refused(_))));
        let incomplete = r#"{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]}"#;
        assert!(
            matches!(parse_turn(incomplete), Err(ModelError::Incomplete { reason, .. }) if reason == "max_output_tokens")
        );
        let garbage = r#"{"id":"r","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"{\"findings\":"}]}]}"#;
        let turn = parse_turn(garbage).unwrap();
        assert!(matches!(
            parse_answer::<ReviewOutput>(&turn.text),
            Err(ModelError::InvalidOutput(_))
        ));
    }
}
