//! Parse + index + render of pull request diffs.
//!
//! `cargo bench --features bench --bench diff` measures:
//! - a synthetic diff of 100,000 patch lines (200 files × 500 lines),
//! - a real diff: two versions of the `syn` crate from the local cargo registry (both are
//!   in this project's lock file, so `cargo fetch` brings them), diffed file by file with
//!   `diffy`. Set `CODEX_BENCH_OLD` and `CODEX_BENCH_NEW` to two source trees to use others.

use std::path::{Path, PathBuf};

use codex_review::diff::render::{Detail, render_file};
use codex_review::diff::{DiffLine, FileDiff, FileIndex};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

type Patches = Vec<(String, String)>;

/// 200 files of 500 patch lines: runs of context, removed and added lines of typical length.
fn synthetic() -> Patches {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..200)
        .map(|f| {
            let mut patch = String::new();
            let mut old = 1u32;
            let mut new = 1u32;
            for _hunk in 0..10 {
                let (mut body, mut o, mut n) = (String::new(), 0u32, 0u32);
                for _ in 0..50 {
                    let width = rng.usize(8..80);
                    let text: String = (0..width).map(|_| rng.alphanumeric()).collect();
                    match rng.u8(0..10) {
                        0..=5 => {
                            body.push_str(&format!(" {text}\n"));
                            o += 1;
                            n += 1;
                        }
                        6..=7 => {
                            body.push_str(&format!("+{text}\n"));
                            n += 1;
                        }
                        _ => {
                            body.push_str(&format!("-{text}\n"));
                            o += 1;
                        }
                    }
                }
                patch.push_str(&format!("@@ -{old},{o} +{new},{n} @@ fn f{f}()\n{body}"));
                old += o + 40;
                new += n + 40;
            }
            (format!("src/gen/file_{f:03}.rs"), patch)
        })
        .collect()
}

fn registry_pair() -> Option<(PathBuf, PathBuf)> {
    if let (Ok(old), Ok(new)) = (
        std::env::var("CODEX_BENCH_OLD"),
        std::env::var("CODEX_BENCH_NEW"),
    ) {
        return Some((old.into(), new.into()));
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cargo")))
        .ok()?;
    for index in std::fs::read_dir(home.join("registry/src")).ok()?.flatten() {
        let mut syn: Vec<PathBuf> = std::fs::read_dir(index.path())
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("syn-"))
            })
            .collect();
        syn.sort();
        let old = syn.iter().find(|p| p.to_string_lossy().contains("syn-2."));
        let new = syn.iter().find(|p| p.to_string_lossy().contains("syn-3."));
        if let (Some(old), Some(new)) = (old, new) {
            return Some((old.clone(), new.clone()));
        }
    }
    None
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// A real diff between two source trees, as the files API would hold it.
fn real() -> Option<Patches> {
    let (old_root, new_root) = registry_pair()?;
    let mut paths = rust_files(&old_root);
    paths.extend(rust_files(&new_root));
    paths.sort();
    paths.dedup();
    let read = |root: &Path, p: &Path| std::fs::read_to_string(root.join(p)).unwrap_or_default();
    let patches: Patches = paths
        .iter()
        .filter_map(|p| {
            let (old, new) = (read(&old_root, p), read(&new_root, p));
            if old == new {
                return None;
            }
            let text = diffy::create_patch(&old, &new).to_string();
            let at = text.find("@@")?;
            Some((p.display().to_string(), text[at..].to_owned()))
        })
        .collect();
    eprintln!(
        "real diff: {} → {}: {} files, {} patch lines, {:.1} MB",
        old_root.display(),
        new_root.display(),
        patches.len(),
        patches
            .iter()
            .map(|(_, p)| p.lines().count())
            .sum::<usize>(),
        bytes(&patches) as f64 / 1e6
    );
    Some(patches)
}

fn bytes(patches: &Patches) -> usize {
    patches.iter().map(|(_, p)| p.len()).sum()
}

fn parse_all(patches: Patches) -> Vec<(FileDiff, FileIndex)> {
    patches
        .into_iter()
        .map(|(path, patch)| {
            let file = FileDiff::from_github(path, None, "modified", Some(patch), 0, 0);
            let index = FileIndex::new(&file);
            (file, index)
        })
        .collect()
}

fn report_memory(name: &str, patches: &Patches) {
    let parsed = parse_all(patches.clone());
    let lines: usize = parsed.iter().map(|(f, _)| f.line_count()).sum();
    let hunks: usize = parsed.iter().map(|(f, _)| f.hunks.len()).sum();
    let structure = lines * std::mem::size_of::<DiffLine>()
        + hunks * std::mem::size_of::<codex_review::diff::Hunk>()
        + parsed.len() * std::mem::size_of::<FileDiff>();
    eprintln!(
        "{name}: {} patch bytes, {lines} lines; parsed structure {} bytes ({:.2}× the patch text)",
        bytes(patches),
        structure,
        structure as f64 / bytes(patches) as f64
    );
}

fn bench_set(c: &mut Criterion, name: &str, patches: Patches) {
    report_memory(name, &patches);
    let total = bytes(&patches) as u64;
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(total));
    group.sample_size(20);
    group.bench_function("parse+index", |b| {
        b.iter_batched(|| patches.clone(), parse_all, BatchSize::LargeInput)
    });
    let parsed = parse_all(patches.clone());
    group.bench_function("render", |b| {
        b.iter(|| {
            parsed
                .iter()
                .map(|(f, _)| render_file(f, Detail::Hunks).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_set(c, "synthetic-100k-lines", synthetic());
    match real() {
        Some(patches) => bench_set(c, "real-syn-2-to-3", patches),
        None => eprintln!(
            "no syn-2.* and syn-3.* in the cargo registry: real diff skipped (run `cargo fetch`)"
        ),
    }
}

criterion_group!(diff, benches);
criterion_main!(diff);
