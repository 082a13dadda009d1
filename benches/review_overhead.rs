//! What a user waits for beyond the model: one review of a 40-file, 4,600-line pull request,
//! start to finish, with the real service against the test fakes, and the model answering at
//! once. Run with GitHub on loopback and with every GitHub answer delayed by 100 ms (a
//! GitHub far away), where the time is set by the GitHub round trips made one after another.
//!
//! cargo bench --features bench --bench review_overhead [-- RUNS]
//!
//! Prints the median and the spread of the time from the delivery to the posted review, and
//! the GitHub calls one review makes.

#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code, unused_imports, clippy::all)]
mod support;

use std::time::{Duration, Instant};

use support::*;

async fn one_review(app: &TestApp, number: u64) -> (Duration, usize) {
    app.github.add_pull(forty_file_pull(number));
    let calls_before = app.github.calls().len();
    let started = Instant::now();
    let (status, _) = app
        .deliver(
            "issue_comment",
            &comment_payload(number, "@codex review", "MEMBER"),
        )
        .await;
    assert_eq!(status, 202);
    loop {
        if app.github.reviews().iter().any(|r| r.pr == number) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let took = started.elapsed();
    app.settle().await;
    (took, app.github.calls().len() - calls_before)
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(9);
    for delay in [Duration::ZERO, Duration::from_millis(100)] {
        let app = TestApp::start().await;
        app.openai
            .respond_with(|_| Reply::Review(review_with(vec![])));
        // A first review warms the installation token and the App's identity, as a running
        // service has them.
        one_review(&app, 1).await;
        app.github.state().delay = delay;
        let mut times = Vec::new();
        let mut calls = 0;
        for n in 0..runs {
            let (took, c) = one_review(&app, 100 + n).await;
            times.push(took);
            calls = c;
        }
        let (min, med, max) = median(times);
        println!(
            "GitHub delay {:>3} ms: review of 40 files / 4,600 lines, {runs} runs: median {:.1} ms (min {:.1}, max {:.1}), {calls} GitHub calls",
            delay.as_millis(),
            med.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
        );
        app.stop().await;
    }
}
