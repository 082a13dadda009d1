//! Secrets never reach the logs: every log line of a full review (at TRACE, every crate) is
//! captured and searched for the webhook secret, the API key, the private key, and the
//! installation tokens and JWTs the fake GitHub saw.

#[path = "it/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_review_logs_no_secret() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(captured.clone())
        .with_ansi(false)
        .json()
        .with_current_span(true)
        .init();

    let app = TestApp::start().await;
    let patch = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+C\n d";
    app.github.add_pull(Pull::new(
        REPO,
        1,
        &"7".repeat(40),
        vec![File::new("src/lib.rs", "modified", Some(patch))],
    ));
    app.openai.push(Reply::Error {
        status: 429,
        code: "rate_limit_exceeded",
        retry_after: Some(0),
    });
    app.openai.push(Reply::Review(review_with(vec![finding(
        "src/lib.rs",
        "RIGHT",
        2,
        2,
        1,
        None,
    )])));
    assert_eq!(
        app.deliver(
            "issue_comment",
            &comment_payload(1, "@codex review", "MEMBER")
        )
        .await
        .0,
        202
    );
    // A bad signature is logged too.
    app.post_webhook(
        &[
            ("x-github-event", "ping"),
            ("x-hub-signature-256", "sha256=00"),
        ],
        b"{}".to_vec(),
    )
    .await;
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);
    let tokens: Vec<String> = app.github.state().tokens.iter().cloned().collect();
    assert!(!tokens.is_empty());
    app.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("review queued") && logs.contains("model answered"),
        "logs were captured"
    );
    let key_body: String = PRIVATE_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(3)
        .collect();
    let mut secrets = vec![
        SECRET.to_string(),
        "old-secret".to_string(),
        support::fake_openai::API_KEY.to_string(),
        key_body,
        "eyJ0eXAiOiJKV1Qi".to_string(), // a JWT header
        "eyJhbGciOiJSUzI1NiIs".to_string(),
    ];
    secrets.extend(tokens);
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs: {}…",
            &secret[..8.min(secret.len())]
        );
    }
}
