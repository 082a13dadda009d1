//! What an eval keeps on disk, under its output directory:
//!
//! ```text
//! OUT/report.md, report.json, chart.svg
//! OUT/FOLDER/configuration.json     the configuration's name and file text
//! OUT/FOLDER/CASE.json              the case's scored run (a `CaseRun`)
//! OUT/FOLDER/CASE.cassette.json     every model exchange of the case (a `Cassette`)
//! OUT/FOLDER/CASE.judge.json        the verdicts of `--judge` on its matches, if asked
//! OUT/FOLDER/run-K/CASE.json ...     the same for run K of `--runs` (K from 2)
//! ```
//!
//! A file is written whole or not at all (to a temporary name, then renamed): a run stopped
//! midway leaves no half-written case behind, and resumes from the cases that ended.
//!
//! A configuration's folder is its name with `/` written `--`. A replay reads the
//! configurations and cassettes of a directory like this one.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// A configuration as recorded: what a replay runs again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The configuration's name in reports.
    pub name: String,
    /// The configuration file's text; `None`: each case's own configuration.
    pub text: Option<String>,
}

/// The folder of configuration `name`.
pub fn folder(root: &Path, name: &str) -> PathBuf {
    root.join(name.replace('/', "--"))
}

/// Where run `run` (1 for the first) of a configuration whose folder is `folder` is kept.
pub fn run_folder(folder: &Path, run: u32) -> PathBuf {
    match run {
        0 | 1 => folder.to_owned(),
        k => folder.join(format!("run-{k}")),
    }
}

pub fn manifest_file(folder: &Path) -> PathBuf {
    folder.join("configuration.json")
}

pub fn case_file(folder: &Path, id: &str) -> PathBuf {
    folder.join(format!("{id}.json"))
}

/// The verdicts of `--judge` on the case's matches.
pub fn judge_file(folder: &Path, id: &str) -> PathBuf {
    folder.join(format!("{id}.judge.json"))
}

pub fn cassette_file(folder: &Path, id: &str) -> PathBuf {
    folder.join(format!("{id}.cassette.json"))
}

/// Writes `value` as pretty JSON, whole or not at all.
pub fn write<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec_pretty(value)?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads a JSON file (`None` when there is none or it does not read as a `T`).
pub fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The configurations recorded under `root`, by name.
pub fn manifests(root: &Path) -> anyhow::Result<Vec<Manifest>> {
    let entries = std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))?;
    let mut found: Vec<Manifest> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| read(&manifest_file(&e.path())))
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    if found.is_empty() {
        anyhow::bail!("{} holds no recorded configuration", root.display());
    }
    Ok(found)
}
