//! The webhook path: signature check on any header and body, then payload parsing under any
//! event name. Nothing may panic.
#![no_main]

use codex_review::server::WebhookSecrets;
use libfuzzer_sys::fuzz_target;

const EVENTS: &[&str] = &[
    "issue_comment",
    "pull_request",
    "check_run",
    "ping",
    "push",
    "star",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let (header, body) = rest.split_at(split);
    let secrets = WebhookSecrets::new(vec![secrecy::SecretString::from("fuzz-secret")]);
    let _ = secrets.verify(Some(header), body);
    let signed = secrets.sign(body);
    assert!(secrets.verify(Some(signed.as_bytes()), body));
    let event = EVENTS[selector as usize % EVENTS.len()];
    let _ = codex_review::event::parse(event, body, "codex");
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = codex_review::commands::parse(text, "codex");
    }
});
