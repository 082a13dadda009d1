//! The CLI's and the eval's git: a repository's own configuration and attributes may name
//! filters, diff drivers, text conversions and a file-system monitor; none of them runs, and
//! what is read is what was committed.

use std::path::Path;
use std::process::{Command, Stdio};

use codex_review::codebase::{Limits, Tools, local};

/// `git` in `dir`, quietly, as a fixed author.
fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A repository of two commits (`base`, `head`) whose attributes send every file through a
/// driver its configuration names; each driver touches a file in `marks` when it runs.
fn hostile_repository(dir: &Path, marks: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join(".gitattributes"), "* filter=evil diff=evil\n").unwrap();
    std::fs::write(dir.join("src/a.rs"), "fn a() -> u32 {\n    1\n}\n").unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["tag", "base"]);
    std::fs::write(dir.join("src/a.rs"), "fn a() -> u32 {\n    2\n}\n").unwrap();
    git(dir, &["commit", "-q", "-am", "head"]);
    git(dir, &["tag", "head"]);
    // Named after the commits: committing ran none of them.
    let touch = |name: &str| format!("touch {}; ", marks.join(name).display());
    for (key, value) in [
        ("filter.evil.smudge", format!("{}cat", touch("smudge"))),
        ("filter.evil.clean", format!("{}cat", touch("clean"))),
        ("diff.evil.textconv", format!("{}cat", touch("textconv"))),
        (
            "diff.evil.command",
            format!("{}true", touch("diff-command")),
        ),
        ("diff.external", format!("{}true", touch("diff-external"))),
        ("core.fsmonitor", format!("{}true", touch("fsmonitor"))),
    ] {
        git(dir, &["config", key, &value]);
    }
    std::fs::write(
        dir.join(".git/info/attributes"),
        "* filter=evil diff=evil\n",
    )
    .unwrap();
}

#[test]
fn a_repositorys_own_filters_and_diff_drivers_never_run() {
    let root = tempfile::tempdir().unwrap();
    let (repo, marks) = (root.path().join("repo"), root.path().join("marks"));
    std::fs::create_dir_all(&marks).unwrap();
    hostile_repository(&repo, &marks);

    // The eval's context: the diff, files at both ends, the paths; the tools' snapshot.
    let diff = local::diff(&repo, "base", "head").unwrap();
    assert!(diff.contains("-    1\n+    2\n"), "{diff}");
    assert_eq!(
        local::file_at(&repo, "head", "src/a.rs").as_deref(),
        Some("fn a() -> u32 {\n    2\n}\n")
    );
    assert_eq!(
        local::paths_at(&repo, "base").unwrap(),
        [".gitattributes", "src/a.rs"]
    );
    let snapshot = root.path().join("snapshot");
    std::fs::create_dir(&snapshot).unwrap();
    let unpacked = local::snapshot_at(&repo, "head", &snapshot, &Limits::default()).unwrap();
    assert_eq!(unpacked.files, 2);
    let (answer, _) = Tools::new(&snapshot).call(
        "read_file",
        r#"{"path":"src/a.rs","start_line":null,"end_line":null}"#,
    );
    assert!(answer.contains("2:     2\n"), "{answer}");

    let ran: Vec<String> = std::fs::read_dir(&marks)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(ran.is_empty(), "drivers ran: {ran:?}");
}

#[test]
fn a_local_snapshot_keeps_the_archives_rules() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    std::fs::create_dir_all(repo.join("src/deep")).unwrap();
    std::fs::write(repo.join("src/deep/lib.rs"), "pub fn f() {}\n").unwrap();
    std::fs::write(repo.join("big.txt"), "x".repeat(5_000)).unwrap();
    std::fs::write(repo.join("bin.dat"), b"\0\x01\x02").unwrap();
    std::os::unix::fs::symlink("src/deep/lib.rs", repo.join("inside")).unwrap();
    std::os::unix::fs::symlink("../../etc/passwd", repo.join("outside")).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "all"]);
    let limits = Limits {
        file_bytes: 4_096,
        ..Limits::default()
    };
    // Run from a subdirectory: the whole tree is read all the same.
    let dest = root.path().join("snapshot");
    std::fs::create_dir(&dest).unwrap();
    let unpacked = local::snapshot_at(&repo.join("src"), "HEAD", &dest, &limits).unwrap();
    let skipped: Vec<&str> = unpacked.skipped.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(skipped, ["big.txt", "outside"], "{unpacked:?}");
    let tools = Tools::new(&dest);
    let (listed, _) = tools.call("list_files", r#"{"path_glob":null}"#);
    for path in ["bin.dat", "big.txt", "inside", "src/deep/lib.rs"] {
        assert!(listed.contains(path), "{path}: {listed}");
    }
    let (linked, _) = tools.call(
        "read_file",
        r#"{"path":"inside","start_line":null,"end_line":null}"#,
    );
    assert!(linked.contains("pub fn f() {}"), "{linked}");
    // A file over the limit is not read at all, here or one at a time.
    assert!(local::file_at(&repo, "HEAD", "big.txt").is_some());
    let limit = local::MAX_FILE_BYTES as usize + 1;
    std::fs::write(repo.join("huge.txt"), "y".repeat(limit)).unwrap();
    git(&repo, &["add", "huge.txt"]);
    git(&repo, &["commit", "-q", "-m", "huge"]);
    assert_eq!(local::file_at(&repo, "HEAD", "huge.txt"), None);
    assert_eq!(local::file_at(&repo, "HEAD", "src"), None, "a tree");
    assert_eq!(local::file_at(&repo, "HEAD", "missing"), None);
}
