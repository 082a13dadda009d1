//! The repository snapshot: unpacking an archive and searching the tree.
//!
//! `cargo bench --bench snapshot` builds a gzipped tar shaped like GitHub's archive of
//! 10,000 source files (about 20 MB unpacked), then measures unpacking it into a fresh
//! directory and one `search` over the unpacked tree (a pattern with a few matches, and one
//! limited by a path glob).

use std::io::Write;

use codex_review::repo::{Limits, Tools, unpack};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const FILES: usize = 10_000;

fn archive() -> (Vec<u8>, u64) {
    let mut rng = fastrand::Rng::with_seed(11);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    let mut total = 0u64;
    for i in 0..FILES {
        let mut text = String::new();
        for l in 0..50 {
            let width = rng.usize(10..60);
            let word: String = (0..width).map(|_| rng.alphanumeric()).collect();
            text.push_str(&format!("    let value_{l} = compute(\"{word}\", {i});\n"));
        }
        if i % 1000 == 7 {
            text.push_str("fn parse_config(input: &str) -> Config {\n");
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        let path = format!("octo-big-0123456/src/module_{:02}/file_{i:05}.rs", i % 100);
        b.append_data(&mut header, path, text.as_bytes()).unwrap();
        total += text.len() as u64;
    }
    let mut gz = b.into_inner().unwrap();
    gz.flush().unwrap();
    (gz.finish().unwrap(), total)
}

fn snapshot(c: &mut Criterion) {
    let (archive, unpacked_bytes) = archive();
    eprintln!(
        "archive: {FILES} files, {:.1} MB unpacked, {:.1} MB compressed",
        unpacked_bytes as f64 / 1e6,
        archive.len() as f64 / 1e6
    );
    let work = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(unpacked_bytes));
    group.bench_function("unpack_10k_files", |b| {
        b.iter_batched(
            || tempfile::tempdir_in(work.path()).unwrap(),
            |dest| {
                unpack::unpack(&archive[..], dest.path(), &Limits::default()).unwrap();
                dest
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let tree = tempfile::tempdir().unwrap();
    unpack::unpack(&archive[..], tree.path(), &Limits::default()).unwrap();
    let tools = Tools::new(tree.path());
    let mut group = c.benchmark_group("search_10k_files");
    group.sample_size(20);
    group.bench_function("whole_tree", |b| {
        b.iter(|| tools.search(r"fn\s+parse_config", None).unwrap())
    });
    group.bench_function("path_glob", |b| {
        b.iter(|| {
            tools
                .search(r"fn\s+parse_config", Some("src/module_07/**"))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
