//! What a review's tool calls run against, and the record of what they looked at.
//!
//! The source is the snapshot of the reviewed commit; for a repository over the snapshot's
//! limits, single files read through GitHub's contents API and paths listed from its tree
//! (no `search`: that would mean reading every file); for the local CLI, a snapshot of the git
//! work tree's HEAD. Every source confines paths the same way and fences its answers.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OnceCell;

use super::Snapshot;
use super::tools::{self, Looked, ToolCall, Tools};
use crate::error_chain::chain;
use crate::github::RepoClient;
use crate::metrics::Metrics;
use crate::model::ToolRunner;

/// Larger files are not read through the contents API.
const MAX_REMOTE_FILE_BYTES: usize = 1024 * 1024;

/// What the tools look at.
pub enum Source {
    /// The snapshot of the reviewed commit (held while the tools live).
    Snapshot(Snapshot),
    /// A snapshot that belongs to no cache (the local CLI's work tree).
    Local(Tools),
    /// The contents API at a commit, for a repository over the snapshot's limits.
    Contents { gh: RepoClient, sha: String },
}

/// What the reviewer looked at, for the summary (paths and patterns, never contents).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Files read, with how often.
    pub read: BTreeMap<String, u32>,
    /// Searches (pattern, and ` in GLOB` when one was given), with how often.
    pub searched: BTreeMap<String, u32>,
    /// File listings.
    pub listed: u32,
    /// Calls answered with an error (a path outside the repository, a bad pattern...).
    pub refused: u32,
}

impl Trace {
    pub fn is_empty(&self) -> bool {
        self.read.is_empty() && self.searched.is_empty() && self.listed == 0 && self.refused == 0
    }

    fn record(&mut self, looked: Looked) {
        match looked {
            Looked::Read(path) => *self.read.entry(path).or_default() += 1,
            Looked::Searched(pattern) => *self.searched.entry(pattern).or_default() += 1,
            Looked::Listed => self.listed += 1,
            Looked::Refused => self.refused += 1,
        }
    }
}

struct Inner {
    source: Source,
    /// The snapshot's tools (one index read for all calls).
    tools: Option<Tools>,
    /// The head tree's paths, for the contents source (listed once, when first needed).
    tree: OnceCell<Result<(Vec<String>, bool), String>>,
    trace: Mutex<Trace>,
    metrics: Option<Arc<Metrics>>,
}

/// The tools of one review; cheap to clone, shared by its model calls.
#[derive(Clone)]
pub struct Toolbox {
    inner: Arc<Inner>,
    /// Told of each call this clone runs (see [`Toolbox::observed`]).
    on_call: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Toolbox {
    pub fn new(source: Source, metrics: Option<Arc<Metrics>>) -> Self {
        let tools = match &source {
            Source::Snapshot(snapshot) => Some(snapshot.tools()),
            Source::Local(tools) => Some(tools.clone()),
            Source::Contents { .. } => None,
        };
        Self {
            inner: Arc::new(Inner {
                source,
                tools,
                tree: OnceCell::new(),
                trace: Mutex::new(Trace::default()),
                metrics,
            }),
            on_call: None,
        }
    }

    /// This toolbox (the same files, trace and metrics), telling `on_call` of each call it
    /// runs: the review's progress counts them.
    pub fn observed(&self, on_call: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            on_call: Some(on_call),
        }
    }

    /// Whether the tools read single files through the API (the repository is over the
    /// snapshot's limits).
    pub fn is_fallback(&self) -> bool {
        matches!(self.inner.source, Source::Contents { .. })
    }

    /// What the calls so far looked at.
    pub fn trace(&self) -> Trace {
        self.inner
            .trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The text of a file at the commit, for the app's own use (not recorded as looked at).
    pub async fn text_of(&self, path: &str) -> Option<String> {
        let path = tools::normalize(path).ok()?;
        match (&self.inner.tools, &self.inner.source) {
            (Some(tools), _) => {
                let tools = tools.clone();
                tokio::task::spawn_blocking(move || tools.text(&path).ok())
                    .await
                    .ok()
                    .flatten()
            }
            (None, Source::Contents { gh, sha }) => gh
                .file_at(&path, sha, MAX_REMOTE_FILE_BYTES)
                .await
                .ok()
                .flatten(),
            (None, _) => None,
        }
    }

    /// Whether `path` is a file of the repository at the commit (`None`: cannot tell).
    pub async fn has_file(&self, path: &str) -> Option<bool> {
        let path = tools::normalize(path).ok()?;
        match &self.inner.tools {
            Some(tools) => Some(tools.has_file(&path)),
            None => match self.tree().await {
                Ok((_, true)) | Err(_) => None,
                Ok((paths, false)) => Some(paths.contains(&path)),
            },
        }
    }

    /// Runs one call; the answer is fenced text.
    pub async fn call(&self, name: &str, arguments: &str) -> String {
        let (text, looked) = match &self.inner.tools {
            Some(tools) => {
                let (tools, name_owned, args) =
                    (tools.clone(), name.to_owned(), arguments.to_owned());
                tokio::task::spawn_blocking(move || tools.call(&name_owned, &args))
                    .await
                    .unwrap_or_else(|_| (tools::fenced("error: the tool failed"), Looked::Refused))
            }
            None => self.remote_call(name, arguments).await,
        };
        if let Some(metrics) = &self.inner.metrics {
            metrics.tool_call(known_tool(name), !matches!(looked, Looked::Refused));
        }
        self.inner
            .trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(looked);
        if let Some(on_call) = &self.on_call {
            on_call();
        }
        text
    }

    /// A call answered through the contents API.
    async fn remote_call(&self, name: &str, arguments: &str) -> (String, Looked) {
        let Source::Contents { gh, sha } = &self.inner.source else {
            unreachable!("only the contents source has no snapshot tools");
        };
        let call = match ToolCall::parse(name, arguments) {
            Ok(call) => call,
            Err(e) => return (tools::fenced(&format!("error: {e}")), Looked::Refused),
        };
        let answer = match &call {
            ToolCall::Read {
                path,
                start_line,
                end_line,
            } => match tools::normalize(path) {
                Err(e) => Err(e),
                Ok(path) => match self.known(&path).await {
                    Err(e) => Err(e),
                    Ok(false) => Err(format!(
                        "{path:?} is not a file of the repository at this commit"
                    )),
                    Ok(true) => match gh.file_at(&path, sha, MAX_REMOTE_FILE_BYTES).await {
                        Ok(Some(text)) => tools::number_lines(&path, &text, *start_line, *end_line),
                        Ok(None) => Err(format!(
                            "{path:?} cannot be read: not a file, binary, or over 1 MiB"
                        )),
                        Err(e) => Err(format!("GitHub could not be read: {}", chain(&e))),
                    },
                },
            },
            ToolCall::List { path_glob } => match self.tree().await {
                Ok((paths, _)) => tools::list_paths(paths.iter().map(String::as_str), path_glob.as_deref()),
                Err(e) => Err(e),
            },
            ToolCall::Search { .. } => Err(
                "search is not available for this repository (it is over the snapshot's size limits); use list_files and read_file"
                    .into(),
            ),
        };
        let looked = call.looked(answer.is_ok());
        (tools::fenced(&tools::answer_text(answer)), looked)
    }

    async fn tree(&self) -> Result<&(Vec<String>, bool), String> {
        let Source::Contents { gh, sha } = &self.inner.source else {
            unreachable!("only the contents source lists the tree");
        };
        self.inner
            .tree
            .get_or_init(|| async {
                gh.tree_paths(sha).await.map_err(|e| {
                    format!("the repository's files could not be listed: {}", chain(&e))
                })
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether `path` is a file of the head tree (yes when GitHub cut the listing short).
    async fn known(&self, path: &str) -> Result<bool, String> {
        let (paths, truncated) = self.tree().await?;
        Ok(*truncated || paths.iter().any(|p| p == path))
    }
}

/// A tool name for metrics: one of ours, or `unknown` (the model's text is not a label).
fn known_tool(name: &str) -> &'static str {
    match name {
        "read_file" => "read_file",
        "search" => "search",
        "list_files" => "list_files",
        _ => "unknown",
    }
}

impl ToolRunner for Toolbox {
    fn definitions(&self) -> Vec<Value> {
        let all = tools::definitions();
        if self.is_fallback() {
            all.into_iter().filter(|d| d["name"] != "search").collect()
        } else {
            all
        }
    }

    fn run(
        &self,
        name: String,
        arguments: String,
    ) -> impl Future<Output = String> + Send + 'static {
        let toolbox = self.clone();
        async move { toolbox.call(&name, &arguments).await }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn an_observed_toolbox_tells_of_each_of_its_calls_and_shares_the_trace() {
        let dir = tempfile::tempdir().unwrap();
        let toolbox = Toolbox::new(Source::Local(Tools::new(dir.path())), None);
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&calls);
        let observed = toolbox.observed(Arc::new(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        }));
        let read = r#"{"path":"a.rs","start_line":null,"end_line":null}"#;
        observed.call("read_file", read).await;
        observed.clone().call("list_files", "{}").await;
        toolbox.call("read_file", read).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // No snapshot here: every call is refused, and all three are in the one trace.
        assert_eq!(toolbox.trace().refused, 3);
    }
}
