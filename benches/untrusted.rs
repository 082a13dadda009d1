//! The one sanitizer every posted text goes through (`src/untrusted.rs`).
//!
//! `cargo bench --features bench --bench untrusted` measures a finding's body at the inline limit (16,000
//! characters of Markdown prose with code spans, a fenced block, mentions and entities) and a
//! summary's worth of one-line paths.

use codex_review::untrusted;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn body() -> String {
    let paragraph = "When `limit` is `0` the loop in `check()` never runs, so @org/team's requests \
pass unchecked; see &#64;ops and <b>the proxy</b> which forwards <!-- nothing --> here.\n\n\
```rust\nfn check(limit: u32) -> bool {\n    (0..limit).all(|i| ok(i))\n}\n```\n\n";
    paragraph.repeat(16_000 / paragraph.len() + 1)[..16_000].to_owned()
}

fn bench(c: &mut Criterion) {
    let text = body();
    let mut group = c.benchmark_group("untrusted");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("text, a 16,000-character body", |b| {
        b.iter(|| untrusted::text(std::hint::black_box(&text), 16_000))
    });
    let paths: Vec<String> = (0..300)
        .map(|i| format!("src/module_{i}/@scope/file name\n{i}.rs"))
        .collect();
    group.throughput(Throughput::Elements(paths.len() as u64));
    group.bench_function("code, 300 paths", |b| {
        b.iter(|| {
            paths
                .iter()
                .map(|p| untrusted::code(std::hint::black_box(p), 300).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
