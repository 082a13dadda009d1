//! Progress a person can see: while a long review runs (several parts, turns with tools, the
//! verification), the check run's title and summary say where it is. Updates go out on their
//! own task, the latest one wins, and none can land after the check is completed.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::github::RepoClient;

/// The check run's progress of one review.
pub struct Progress {
    tx: Option<watch::Sender<Option<(String, String)>>>,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Reports on check run `check` (nothing when there is none).
    pub fn start(gh: &RepoClient, check: Option<u64>) -> Self {
        let Some(check) = check else {
            return Self {
                tx: None,
                task: None,
            };
        };
        let (tx, mut rx) = watch::channel::<Option<(String, String)>>(None);
        let gh = gh.clone();
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let latest = rx.borrow_and_update().clone();
                if let Some((title, summary)) = latest
                    && let Err(e) = gh.progress_check_run(check, &title, &summary).await
                {
                    tracing::warn!(error = %e, "cannot report the review's progress");
                }
            }
        });
        Self {
            tx: Some(tx),
            task: Some(task),
        }
    }

    /// What reports the pipeline's steps on this check run, from any task.
    pub fn reporter(&self) -> Reporter {
        let tx = self.tx.clone();
        Arc::new(move |step: Step| {
            if let (Some(tx), Some(shown)) = (&tx, step.describe()) {
                let _ = tx.send(Some(shown));
            }
        })
    }

    /// Stops reporting; returns once the last update sent has landed, so that the check's
    /// completion comes after it.
    pub async fn finish(mut self) {
        drop(self.tx.take());
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Where the pipeline is, as it goes: the App shows it on the check run, the CLI on standard
/// error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The model is asked about `files` files in `parts` parts.
    Asking { parts: usize, files: usize },
    /// `done` of the `parts` parts are answered.
    Answered {
        done: usize,
        parts: usize,
        files: usize,
    },
    /// A second look at `findings` findings.
    Verifying { findings: usize },
    /// The model ran one of its tools (reading a file, a search), in any conversation.
    ToolCall,
}

/// Told each [`Step`], from whichever task reaches it.
pub type Reporter = Arc<dyn Fn(Step) + Send + Sync>;

impl Step {
    /// The check run's title and summary for this step; none for a tool call, which would
    /// cost a GitHub request each.
    pub fn describe(self) -> Option<(String, String)> {
        let shown = match self {
            Step::Asking { parts: 0 | 1, .. } => (
                "Reviewing".to_owned(),
                "The model is reviewing this pull request.".to_owned(),
            ),
            Step::Asking { parts, files } => (
                format!("Reviewing: 0 of {parts} parts"),
                format!(
                    "The model is reviewing the {files} files of this pull request in {parts} parts."
                ),
            ),
            Step::Answered { done, parts, files } => (
                format!("Reviewing: part {done} of {parts} answered"),
                format!(
                    "The model is reviewing the {files} files of this pull request in {parts} parts; {done} answered."
                ),
            ),
            Step::Verifying { findings } => (
                format!(
                    "Verifying {findings} finding{}",
                    if findings == 1 { "" } else { "s" }
                ),
                "A second model call checks each finding before it is posted.".to_owned(),
            ),
            Step::ToolCall => return None,
        };
        Some(shown)
    }
}
