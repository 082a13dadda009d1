//! No trigger lost to downtime: at start the service asks GitHub to redeliver the recent
//! deliveries that failed and that it never stored, once.

use crate::support;
use std::time::Duration;

use serde_json::json;
use support::*;

const HEAD: &str = "7777777777777777777777777777777777777777";

fn attempt(
    id: u64,
    guid: &str,
    delivered_at: &str,
    status_code: u16,
    redelivery: bool,
) -> serde_json::Value {
    json!({
        "id": id, "guid": guid, "delivered_at": delivered_at, "redelivery": redelivery,
        "duration": 0.3, "status": if status_code == 202 { "OK" } else { "failed to connect" },
        "status_code": status_code, "event": "issue_comment", "action": "created",
        "installation_id": INSTALLATION, "repository_id": 1
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_missed_while_down_are_redelivered_once() {
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    // The address the service will listen on, known before it starts (GitHub's webhook URL).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let missed = "1b3c5d7e-0000-11ee-8000-000000000001";
    let recovered = "1b3c5d7e-0000-11ee-8000-000000000002";
    let old = "1b3c5d7e-0000-11ee-8000-000000000003";
    {
        let mut st = github.state();
        st.hook_target = Some((format!("http://127.0.0.1:{port}"), SECRET.into()));
        // Newest first, as GitHub lists them; served two per page.
        st.hook_deliveries = vec![
            attempt(14, recovered, "2999-01-01T00:02:00Z", 202, true),
            attempt(13, missed, "2999-01-01T00:01:00Z", 502, false),
            attempt(12, recovered, "2999-01-01T00:00:00Z", 502, false),
            attempt(11, old, "2020-01-01T00:00:00Z", 502, false),
        ];
        st.hook_payloads.insert(
            missed.into(),
            (
                "issue_comment".into(),
                comment_payload(70, "@codex review", "MEMBER"),
            ),
        );
    }
    github.add_pull(Pull::new(
        REPO,
        70,
        HEAD,
        vec![File::new(
            "src/lib.rs",
            "added",
            Some("@@ -0,0 +1,2 @@\n+a\n+b"),
        )],
    ));
    let mut options = Options {
        fakes: Some((github.clone(), openai.clone())),
        ..Options::default()
    };
    options
        .env
        .push(("LISTEN_ADDR", format!("127.0.0.1:{port}")));
    options
        .env
        .push(("CODEX_REVIEW_REDELIVER_HOURS", "24".into()));
    options.tuning.redeliver_every = Duration::from_millis(300);
    let app = TestApp::start_with(options).await;

    wait_for("the redelivered trigger's review", || {
        github.reviews().len() == 1
    })
    .await;
    // Later passes find it stored (GitHub's list here never shows the redelivery's success,
    // so only the store keeps it from being asked again).
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(github.state().redelivery_requests, vec![13]);
    assert!(app.running().store.has_delivery(missed).await.unwrap());
    assert_eq!(github.reviews().len(), 1);
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("codex_review_redeliveries_total 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_failing_is_asked_for_twice_in_all() {
    install_crypto();
    let github = FakeGitHub::start(APP_ID, PUBLIC_KEY.as_bytes(), "").await;
    let openai = FakeOpenAi::start().await;
    let failing = "2c4e6a8b-0000-11ee-8000-000000000001";
    {
        let mut st = github.state();
        // GitHub's redeliveries go nowhere (the webhook URL is wrong), and its list shows
        // only the original failure: the later attempts are out of its window.
        st.hook_target = Some(("http://127.0.0.1:9".into(), SECRET.into()));
        st.hook_deliveries = vec![attempt(21, failing, "2999-01-01T00:00:00Z", 502, false)];
        st.hook_payloads.insert(
            failing.into(),
            (
                "issue_comment".into(),
                comment_payload(71, "@codex review", "MEMBER"),
            ),
        );
    }
    let mut options = Options {
        fakes: Some((github.clone(), openai.clone())),
        ..Options::default()
    };
    options
        .env
        .push(("CODEX_REVIEW_REDELIVER_HOURS", "24".into()));
    options.tuning.redeliver_every = Duration::from_millis(50);
    let app = TestApp::start_with(options).await;
    let passes = || {
        github
            .state()
            .calls
            .iter()
            .filter(|c| c.path == "/app/hook/deliveries")
            .count()
    };
    wait_for("eight passes over the deliveries", || passes() >= 8).await;
    assert_eq!(github.state().redelivery_requests, vec![21, 21]);
    assert_eq!(
        app.running()
            .store
            .redeliveries_asked(failing)
            .await
            .unwrap(),
        2
    );
    app.stop().await;
}
