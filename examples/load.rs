//! Load benchmark: signed webhook deliveries against a running `codex-review serve`.
//!
//! `scripts/load.sh` starts the service on a fresh SQLite file and runs this twice: ignored
//! events (a `star` delivery: verified, parsed, stored) and triggers (an `@codex review`
//! comment on a distinct pull request each: verified, parsed, stored with its job). It prints
//! answer latency percentiles and throughput, then checks on `/metrics` that every trigger
//! became a job (no delivery lost).
//!
//! cargo run --release --example load -- URL SECRET KIND REQUESTS CONCURRENCY

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codex_review::server::sign;
use serde_json::json;

fn payload(kind: &str, n: u64) -> serde_json::Value {
    match kind {
        "trigger" => json!({
            "action": "created",
            "installation": {"id": 1 + n % 50},
            "repository": {"full_name": "load/test"},
            "issue": {"number": n, "pull_request": {"url": "x"}},
            "comment": {"id": n, "body": "@codex review", "author_association": "MEMBER",
                        "user": {"login": format!("user{n}"), "type": "User"}},
            "sender": {"login": format!("user{n}"), "type": "User"}
        }),
        _ => json!({"action": "created", "starred_at": "2026-11-21T00:00:00Z",
                    "repository": {"full_name": "load/test"}, "sender": {"login": "someone", "type": "User"}}),
    }
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, secret, kind, requests, concurrency] = &args[..] else {
        eprintln!("usage: load URL SECRET (ignored|trigger) REQUESTS CONCURRENCY");
        std::process::exit(2);
    };
    let requests: u64 = requests.parse().expect("REQUESTS");
    let concurrency: u64 = concurrency.parse().expect("CONCURRENCY");
    let event = if kind == "trigger" {
        "issue_comment"
    } else {
        "star"
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .unwrap();
    // Bodies and signatures are prepared first: the timing is the service's, not ours.
    let offset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        * 1000;
    let prepared: Arc<Vec<(String, String, Vec<u8>)>> = Arc::new(
        (0..requests)
            .map(|i| {
                let body = serde_json::to_vec(&payload(kind, offset + i)).unwrap();
                (
                    format!("load-{kind}-{}", offset + i),
                    sign(secret, &body),
                    body,
                )
            })
            .collect(),
    );
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, prepared, next, failures) = (
            client.clone(),
            format!("{url}/webhook"),
            prepared.clone(),
            next.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, signature, body)) = prepared.get(i as usize) else {
                    break;
                };
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("x-github-event", event)
                    .header("x-github-delivery", id)
                    .header("x-hub-signature-256", signature)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let ok = matches!(&res, Ok(r) if r.status().is_success());
                if let Ok(r) = res {
                    let _ = r.bytes().await;
                }
                latencies.push(t.elapsed());
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1];
    println!(
        "{kind}: {requests} deliveries, concurrency {concurrency}: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, failures {}",
        requests as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all.last().unwrap().as_secs_f64() * 1e3,
        failures.load(Ordering::Relaxed)
    );
    if failures.load(Ordering::Relaxed) > 0 {
        std::process::exit(1);
    }
}
