//! The `codex-review` check run of a head: created, kept in progress, completed.

use http::Method;
use serde::Deserialize;

use super::client::{GitHubError, RepoClient, decode};
use crate::ids::CommitSha;

impl RepoClient {
    /// Creates a check run, in progress, on `sha`.
    pub async fn create_check_run(&self, name: &str, sha: &CommitSha) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let path = format!("/repos/{}/check-runs", self.repo());
        let body =
            serde_json::json!({"name": name, "head_sha": sha.as_str(), "status": "in_progress"});
        let text = self
            .send("create check run", Method::POST, &path, Some(&body), false)
            .await?;
        decode::<Created>("create check run", &text).map(|c| c.id)
    }

    /// Creates a check run on `sha` that is already completed (a head that is not reviewed).
    pub async fn create_completed_check_run(
        &self,
        name: &str,
        sha: &CommitSha,
        conclusion: &str,
        title: &str,
        summary: &str,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let path = format!("/repos/{}/check-runs", self.repo());
        let body = serde_json::json!({
            "name": name,
            "head_sha": sha.as_str(),
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": title, "summary": summary}
        });
        let text = self
            .send("create check run", Method::POST, &path, Some(&body), false)
            .await?;
        decode::<Created>("create check run", &text).map(|c| c.id)
    }

    /// Puts a check run (back) in progress with a title and summary. Safe to repeat.
    pub async fn progress_check_run(
        &self,
        id: u64,
        title: &str,
        summary: &str,
    ) -> Result<(), GitHubError> {
        let path = format!("/repos/{}/check-runs/{id}", self.repo());
        let body = serde_json::json!({
            "status": "in_progress",
            "output": {"title": title, "summary": summary}
        });
        self.send("update check run", Method::PATCH, &path, Some(&body), true)
            .await
            .map(drop)
    }

    /// Completes a check run with its conclusion and output. Safe to repeat.
    pub async fn complete_check_run(
        &self,
        id: u64,
        conclusion: &str,
        title: &str,
        summary: &str,
    ) -> Result<(), GitHubError> {
        let path = format!("/repos/{}/check-runs/{id}", self.repo());
        let body = serde_json::json!({
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": title, "summary": summary}
        });
        self.send(
            "complete check run",
            Method::PATCH,
            &path,
            Some(&body),
            true,
        )
        .await
        .map(drop)
    }
}
