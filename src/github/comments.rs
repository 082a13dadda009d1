//! Listing the app's own comments on a pull request, to find an answer it already gave (a job
//! run again after GitHub took its comment must not answer twice).

use serde::Deserialize;

use super::client::{GitHubError, Login, RepoClient};
use crate::ids::PrNumber;

/// A comment in a pull request's conversation or in one of its review threads.
#[derive(Debug, Clone, Deserialize)]
pub struct CommentInfo {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub user: Option<Login>,
    /// For a review comment: the thread's first comment it answers.
    #[serde(default)]
    pub in_reply_to_id: Option<u64>,
}

impl RepoClient {
    /// The comments of the pull request's conversation, oldest first.
    pub async fn issue_comments(&self, pr: PrNumber) -> Result<Vec<CommentInfo>, GitHubError> {
        self.all_pages(
            "list comments",
            &format!("/repos/{}/issues/{pr}/comments", self.repo()),
        )
        .await
    }

    /// The review comments of the pull request (every thread), oldest first.
    pub async fn review_comments(&self, pr: PrNumber) -> Result<Vec<CommentInfo>, GitHubError> {
        self.all_pages(
            "list review comments",
            &format!("/repos/{}/pulls/{pr}/comments", self.repo()),
        )
        .await
    }

    async fn all_pages(
        &self,
        call: &'static str,
        path: &str,
    ) -> Result<Vec<CommentInfo>, GitHubError> {
        let mut all = Vec::new();
        for page in 1..=100u32 {
            let batch: Vec<CommentInfo> = self
                .get_json(call, &format!("{path}?per_page=100&page={page}"))
                .await?;
            let last = batch.len() < 100;
            all.extend(batch);
            if last {
                break;
            }
        }
        Ok(all)
    }
}
