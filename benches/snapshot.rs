//! The repository snapshot: unpacking an archive and searching the tree.
//!
//! `cargo bench --features bench --bench snapshot` builds a gzipped tar shaped like GitHub's archive of
//! 10,000 source files (about 20 MB unpacked), then measures unpacking it into a fresh
//! directory and one `search` over the unpacked tree (a pattern with a few matches, and one
//! limited by a path glob).
//!
//! Then real source code: the crates in cargo's registry on this machine (the sources this
//! project builds from), packed like GitHub's archive up to 20 MB compressed, served over
//! HTTP on loopback, and measured through the snapshot cache as a review gets it (streamed
//! download and unpack), and `search` over it.
//!
//! Then a local git repository of the same 10,000 synthetic files, snapshotted as
//! `codex-review review -` and the eval do (the tree listed with sizes, the blobs read through
//! one `git cat-file --batch`), beside `git archive` into the same unpacker (the way before,
//! which ran the filters a repository names).

use std::io::Write;

use codex_review::codebase::{Limits, SnapshotStore, Tools, local, unpack};
use codex_review::ids::{CommitSha, RepoName};
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

/// Up to `max_compressed` bytes of gzipped tar of the real sources under cargo's registry,
/// shaped like GitHub's archive; `None` when there is no registry.
fn real_archive(max_compressed: usize) -> Option<(Vec<u8>, usize, u64)> {
    let home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        .ok()?;
    let mut crates: Vec<std::path::PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .collect();
    crates.sort();
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    let (mut files, mut bytes) = (0usize, 0u64);
    'crates: for krate in crates {
        let mut stack = vec![krate.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let Ok(data) = std::fs::read(&path) else {
                        continue;
                    };
                    let rel = path.strip_prefix(krate.parent().unwrap()).unwrap();
                    let mut header = tar::Header::new_gnu();
                    header.set_size(data.len() as u64);
                    header.set_mode(0o644);
                    header.set_entry_type(tar::EntryType::Regular);
                    let name = format!("octo-real-0123456/{}", rel.display());
                    if b.append_data(&mut header, name, &data[..]).is_err() {
                        continue;
                    }
                    files += 1;
                    bytes += data.len() as u64;
                }
            }
            if b.get_ref().get_ref().len() >= max_compressed {
                break 'crates;
            }
        }
    }
    let gz = b.into_inner().ok()?;
    Some((gz.finish().ok()?, files, bytes))
}

fn real_repository(c: &mut Criterion) {
    let Some((archive, files, unpacked)) = real_archive(20 * 1024 * 1024) else {
        eprintln!("no cargo registry on this machine: the real-repository benchmark is skipped");
        return;
    };
    eprintln!(
        "real archive: {files} files, {:.1} MB unpacked, {:.1} MB compressed",
        unpacked as f64 / 1e6,
        archive.len() as f64 / 1e6
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let archive = bytes::Bytes::from(archive);
    let served = archive.clone();
    let addr = runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/archive",
            axum::routing::get(move || {
                let body = served.clone();
                async move { body }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    let url = format!("http://{addr}/archive");
    let work = tempfile::tempdir().unwrap();
    let repo = RepoName::parse("octo/real").unwrap();
    let mut group = c.benchmark_group("real_repository");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(archive.len() as u64));
    group.bench_function("unpack_from_memory", |b| {
        b.iter_batched(
            || tempfile::tempdir_in(work.path()).unwrap(),
            |dest| {
                unpack::unpack(&archive[..], dest.path(), &Limits::default()).unwrap();
                dest
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("download_and_unpack", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir_in(work.path()).unwrap();
                let store =
                    SnapshotStore::new(dir.path().join("cache"), u64::MAX, Limits::default())
                        .unwrap();
                (dir, store)
            },
            |(dir, store)| {
                let sha = CommitSha::parse(&format!("{:040x}", fastrand::u128(..))).unwrap();
                let url = url.clone();
                let snapshot = runtime
                    .block_on(store.snapshot(&repo, &sha, async move {
                        Ok::<_, codex_review::github::GitHubError>(url)
                    }))
                    .unwrap();
                (dir, store, snapshot)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let tree = tempfile::tempdir().unwrap();
    unpack::unpack(&archive[..], tree.path(), &Limits::default()).unwrap();
    let tools = Tools::new(tree.path());
    let mut group = c.benchmark_group("search_real_repository");
    group.sample_size(20);
    group.bench_function("whole_tree", |b| {
        b.iter(|| tools.search(r"fn\s+parse_\w+\(", None).unwrap())
    });
    group.finish();
}

fn local_git(c: &mut Criterion) {
    let repo = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(11);
    for i in 0..FILES {
        let dir = repo.path().join(format!("src/module_{:02}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        let text: String = (0..50)
            .map(|l| {
                let word: String = (0..rng.usize(10..60)).map(|_| rng.alphanumeric()).collect();
                format!("    let value_{l} = compute(\"{word}\", {i});\n")
            })
            .collect();
        std::fs::write(dir.join(format!("file_{i:05}.rs")), text).unwrap();
    }
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .current_dir(repo.path())
            .args([
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@example.com",
                "-c",
                "gc.auto=0",
            ])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "files"]);
    // Packed, as a repository's objects mostly are (loose, ls-tree -l inflates every
    // object's header and cat-file opens each again: several times git archive's time).
    git(&["repack", "-a", "-d", "-q"]);
    let work = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("local_git");
    group.sample_size(10);
    group.bench_function("cat_file_snapshot", |b| {
        b.iter_batched(
            || tempfile::tempdir_in(work.path()).unwrap(),
            |dest| {
                let done = local::snapshot_at(repo.path(), "HEAD", dest.path(), &Limits::default())
                    .unwrap();
                assert_eq!(done.files, FILES as u64);
                dest
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("git_archive_baseline", |b| {
        b.iter_batched(
            || tempfile::tempdir_in(work.path()).unwrap(),
            |dest| {
                let mut child = std::process::Command::new("git")
                    .current_dir(repo.path())
                    .args(["archive", "--format=tar", "--prefix=head/", "HEAD"])
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                let out = child.stdout.take().unwrap();
                let done = unpack::unpack_tar(out, dest.path(), &Limits::default()).unwrap();
                assert!(child.wait().unwrap().success());
                assert_eq!(done.files, FILES as u64);
                dest
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, snapshot, real_repository, local_git);
criterion_main!(benches);
