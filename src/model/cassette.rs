//! Cassettes: every request a client sends to the Responses API with the answer it got,
//! recorded for one review, so that the review can run again from those answers without a
//! model (`codex-review eval --replay`).
//!
//! A client with a [`Tape`] that records sends each request and keeps it with the answer. A
//! client with a tape that plays sends nothing: each request is looked up among the
//! recordings not used yet and answered with the one equal to it. A request with no equal
//! recording is *stale* (the prompt, the tools, the schema or a tool's answer changed): it is
//! answered with [`super::ModelError::Stale`], naming its turn and where it first differs from
//! the nearest recording of that turn, and never with the answer to something else.
//!
//! Tool answers travel in the next request (`function_call_output` items), so they are
//! recorded with it and compared like the rest of it.
//!
//! The fence tags of untrusted data are random per review (the data must not be able to
//! guess its end line). They are the only random part of a request: before a request is
//! recorded or compared, each tag is replaced by `fence-N`, N counting the distinct tags in
//! the order they appear ([`normalize`]). The product keeps its unpredictable tags; a replay
//! still notices a change to the fence lines' wording, or a tag used where another was.

use std::sync::Mutex;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request and the API's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// What the call was for (`text.format.name`): a review, a verification...
    pub purpose: String,
    /// The request's turn in its conversation, 1 for the first.
    pub turn: u32,
    /// The request as sent, its fence tags numbered (see [`normalize`]).
    pub request: Value,
    /// The answer's HTTP status.
    pub status: u16,
    /// The answer's body (for a stream, the response of its last event).
    pub response: String,
}

/// The exchanges of one review.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cassette {
    pub exchanges: Vec<Exchange>,
}

/// What a client does with its requests: record them, or answer them from a cassette.
#[derive(Debug)]
pub struct Tape {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Record(Mutex<Vec<Exchange>>),
    Play {
        /// Recordings not used yet.
        left: Mutex<Vec<Exchange>>,
        /// Why requests were stale, in the order they were made.
        stale: Mutex<Vec<Stale>>,
    },
}

impl Tape {
    /// A tape that records what the client sends and gets.
    pub fn recorder() -> Self {
        Self {
            mode: Mode::Record(Mutex::default()),
        }
    }

    /// A tape that answers from `cassette` and sends nothing.
    pub fn player(cassette: Cassette) -> Self {
        Self {
            mode: Mode::Play {
                left: Mutex::new(cassette.exchanges),
                stale: Mutex::default(),
            },
        }
    }

    /// What was recorded so far (nothing, for a tape that plays).
    pub fn cassette(&self) -> Cassette {
        match &self.mode {
            Mode::Record(done) => Cassette {
                exchanges: done.lock().expect("not poisoned").clone(),
            },
            Mode::Play { .. } => Cassette::default(),
        }
    }

    /// Why the first stale request was stale, if one was.
    pub fn stale(&self) -> Option<String> {
        match &self.mode {
            Mode::Play { stale, .. } => stale
                .lock()
                .expect("not poisoned")
                .first()
                .map(ToString::to_string),
            Mode::Record(_) => None,
        }
    }

    /// The recorded answer to `request` (`Some(Ok((status, body)))`), why there is none
    /// (`Some(Err(why))`), or `None` when the tape records and the request is to be sent.
    pub(crate) fn play(&self, request: &Value) -> Option<Result<(u16, String), Stale>> {
        let Mode::Play { left, stale } = &self.mode else {
            return None;
        };
        let request = normalize(request);
        let mut left = left.lock().expect("not poisoned");
        if let Some(i) = left.iter().position(|e| e.request == request) {
            let e = left.remove(i);
            return Some(Ok((e.status, e.response)));
        }
        let why = why_stale(&request, &left);
        stale.lock().expect("not poisoned").push(why.clone());
        Some(Err(why))
    }

    /// Keeps `request` and its answer, when the tape records.
    pub(crate) fn record(&self, request: &Value, status: u16, response: &str) {
        if let Mode::Record(done) = &self.mode {
            let request = normalize(request);
            let exchange = Exchange {
                purpose: purpose(&request),
                turn: turn(&request),
                request,
                status,
                response: response.to_owned(),
            };
            done.lock().expect("not poisoned").push(exchange);
        }
    }
}

/// The name of `request`'s output format (`ping` without one).
fn purpose(request: &Value) -> String {
    request["text"]["format"]["name"]
        .as_str()
        .unwrap_or("ping")
        .to_owned()
}

/// The request's turn: 1, plus one for each run of tool answers in its input.
fn turn(request: &Value) -> u32 {
    let Some(input) = request["input"].as_array() else {
        return 1;
    };
    let mut turn = 1;
    let mut answering = false;
    for item in input {
        let answer = item["type"] == "function_call_output";
        if answer && !answering {
            turn += 1;
        }
        answering = answer;
    }
    turn
}

/// A request that matches none of the recordings left: its turn, and where it first differs
/// from the nearest recording of the same purpose and turn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("stale: turn {turn} of a `{purpose}` conversation has no recording")]
    Unrecorded { purpose: String, turn: u32 },
    #[error("stale: turn {turn} of a `{purpose}` conversation differs from its recording at {at}")]
    Differs {
        purpose: String,
        turn: u32,
        /// The JSON path of the first difference.
        at: String,
    },
}

/// Why `request` matches none of the recordings `left`: its turn, and where it first differs
/// from the recording of the same purpose and turn that shares the longest start with it.
fn why_stale(request: &Value, left: &[Exchange]) -> Stale {
    let (purpose, turn) = (purpose(request), turn(request));
    let text = request.to_string();
    let nearest = left
        .iter()
        .filter(|e| e.purpose == purpose && e.turn == turn)
        .max_by_key(|e| common_prefix(&e.request.to_string(), &text));
    match nearest {
        None => Stale::Unrecorded { purpose, turn },
        Some(e) => Stale::Differs {
            at: first_difference(&e.request, request, "$".into()),
            purpose,
            turn,
        },
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// The JSON path of the first place where `recorded` and `now` differ.
fn first_difference(recorded: &Value, now: &Value, path: String) -> String {
    match (recorded, now) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .find(|k| a.get(*k) != b.get(*k))
                .map_or(path.clone(), |k| match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => first_difference(x, y, format!("{path}.{k}")),
                    _ => format!("{path}.{k}"),
                })
        }
        (Value::Array(a), Value::Array(b)) => {
            match (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
                Some(i) => match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => first_difference(x, y, format!("{path}[{i}]")),
                    _ => format!("{path}[{i}]"),
                },
                None => path,
            }
        }
        (Value::String(a), Value::String(b)) => {
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or_else(|| a.lines().count().min(b.lines().count()));
            format!("{path} (line {})", line + 1)
        }
        _ => path,
    }
}

/// `request` with its fence tags replaced by `fence-1`, `fence-2`... in the order they first
/// appear, and without `stream` (how the answer travels, not what was asked).
pub fn normalize(request: &Value) -> Value {
    static FENCE: OnceLock<regex::Regex> = OnceLock::new();
    let fence = FENCE.get_or_init(|| {
        regex::Regex::new(r"(?:BEGIN|END) UNTRUSTED [A-Z ]+ DATA ([0-9a-f]{16})").expect("valid")
    });
    let mut request = request.clone();
    if let Some(map) = request.as_object_mut() {
        map.remove("stream");
    }
    let text = request.to_string();
    let mut tags: Vec<&str> = Vec::new();
    for found in fence.captures_iter(&text) {
        let tag = found.get(1).map_or("", |m| m.as_str());
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.is_empty() {
        return request;
    }
    let mut text = text.clone();
    for (i, tag) in tags.iter().enumerate() {
        text = text.replace(tag, &format!("fence-{}", i + 1));
    }
    serde_json::from_str(&text).unwrap_or(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(tag: &str, diff: &str, answers: usize) -> Value {
        let mut input = vec![json!({"role": "user", "content": format!(
            "BEGIN UNTRUSTED PULL REQUEST DATA {tag}\n{diff}\nEND UNTRUSTED PULL REQUEST DATA {tag}\n"
        )})];
        for i in 0..answers {
            input.push(json!({"type": "function_call", "call_id": format!("c{i}")}));
            input.push(
                json!({"type": "function_call_output", "call_id": format!("c{i}"), "output": "x"}),
            );
        }
        json!({"model": "m", "input": input, "text": {"format": {"name": "codex_review"}}, "stream": true})
    }

    #[test]
    fn a_request_is_answered_from_its_recording_whatever_its_fence_tag() {
        let recorder = Tape::recorder();
        recorder.record(&request("0123456789abcdef", "+a", 0), 200, "first");
        recorder.record(&request("0123456789abcdef", "+a", 1), 200, "second");
        let cassette = recorder.cassette();
        assert_eq!(cassette.exchanges[1].turn, 2);
        assert_eq!(cassette.exchanges[0].purpose, "codex_review");
        assert!(
            cassette.exchanges[0].request["input"][0]["content"]
                .as_str()
                .unwrap()
                .contains("DATA fence-1\n")
        );
        let player = Tape::player(cassette);
        let now = |answers| request("fedcba9876543210", "+a", answers);
        assert_eq!(player.play(&now(1)), Some(Ok((200, "second".into()))));
        assert_eq!(player.play(&now(0)), Some(Ok((200, "first".into()))));
        assert_eq!(player.stale(), None);
        // Used once: the same request again has no recording left.
        let again = player.play(&now(0)).unwrap().unwrap_err().to_string();
        assert_eq!(
            again,
            "stale: turn 1 of a `codex_review` conversation has no recording"
        );
    }

    #[test]
    fn a_changed_request_is_stale_and_names_its_turn_and_place() {
        let recorder = Tape::recorder();
        recorder.record(&request("0123456789abcdef", "+a", 0), 200, "first");
        recorder.record(&request("0123456789abcdef", "+a", 2), 200, "third");
        let player = Tape::player(recorder.cassette());
        let why = player
            .play(&request("fedcba9876543210", "+b", 2))
            .unwrap()
            .unwrap_err()
            .to_string();
        assert_eq!(
            why,
            "stale: turn 3 of a `codex_review` conversation differs from its recording at $.input[0].content (line 2)"
        );
        assert_eq!(player.stale(), Some(why));
        assert!(Tape::recorder().play(&json!({})).is_none());
    }
}
