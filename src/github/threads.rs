//! Review threads: the pull request's threads through GraphQL (`reviewThreads`), resolving
//! one (`resolveReviewThread`) or opening it again (`unresolveReviewThread`), and the reactions on a review comment (REST; GitHub sends no
//! webhook for reactions).

use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{GitHubError, RepoClient, Unexpected, decode};
use super::transport::Request;
use crate::ids::PrNumber;

/// One review thread of a pull request.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewThread {
    /// The thread's GraphQL node id (`PRRT_...`).
    pub id: String,
    pub is_resolved: bool,
    /// Its comments in order: the first is the one that started it.
    pub comments: Vec<ThreadComment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThreadComment {
    /// The REST id of the comment.
    pub id: u64,
    pub body: String,
    pub author: Option<String>,
    /// `OWNER`, `MEMBER`, `COLLABORATOR`, ...
    pub association: String,
    pub created_at: String,
    /// The REST id of the review the comment belongs to.
    pub review_id: Option<u64>,
}

const THREADS: &str = "query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          isResolved
          comments(first: 50) {
            nodes {
              databaseId
              body
              createdAt
              authorAssociation
              author { login }
              pullRequestReview { databaseId }
            }
          }
        }
      }
    }
  }
}";

const RESOLVE: &str = "mutation($id: ID!) {
  resolveReviewThread(input: {threadId: $id}) {
    thread { id isResolved }
  }
}";

const UNRESOLVE: &str = "mutation($id: ID!) {
  unresolveReviewThread(input: {threadId: $id}) {
    thread { id isResolved }
  }
}";

/// Threads read at most (100 per page).
const MAX_PAGES: usize = 10;

impl RepoClient {
    /// The pull request's review threads with their comments.
    pub async fn review_threads(&self, pr: PrNumber) -> Result<Vec<ReviewThread>, GitHubError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            page_info: PageInfo,
            nodes: Vec<Node>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PageInfo {
            has_next_page: bool,
            end_cursor: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Node {
            id: String,
            is_resolved: bool,
            comments: Comments,
        }
        #[derive(Deserialize)]
        struct Comments {
            nodes: Vec<CommentNode>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct CommentNode {
            database_id: Option<u64>,
            body: String,
            created_at: String,
            author_association: String,
            author: Option<Login>,
            pull_request_review: Option<ReviewRef>,
        }
        #[derive(Deserialize)]
        struct Login {
            login: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ReviewRef {
            database_id: Option<u64>,
        }
        let (owner, name) = self.repo().as_str().split_once('/').unwrap_or_default();
        let mut threads = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let variables = json!({"owner": owner, "name": name, "number": pr.0, "after": after});
            let data = self
                .graphql("list review threads", THREADS, variables)
                .await?;
            let page: Page =
                serde_json::from_value(data["repository"]["pullRequest"]["reviewThreads"].clone())
                    .map_err(|e| GitHubError::decode("list review threads", e))?;
            for node in page.nodes {
                threads.push(ReviewThread {
                    id: node.id,
                    is_resolved: node.is_resolved,
                    comments: node
                        .comments
                        .nodes
                        .into_iter()
                        .filter_map(|c| {
                            Some(ThreadComment {
                                id: c.database_id?,
                                body: c.body,
                                author: c.author.map(|a| a.login),
                                association: c.author_association,
                                created_at: c.created_at,
                                review_id: c.pull_request_review.and_then(|r| r.database_id),
                            })
                        })
                        .collect(),
                });
            }
            match (page.page_info.has_next_page, page.page_info.end_cursor) {
                (true, Some(cursor)) => after = Some(cursor),
                _ => break,
            }
        }
        Ok(threads)
    }

    /// Resolves a review thread (resolving a resolved one changes nothing).
    pub async fn resolve_thread(&self, id: &str) -> Result<(), GitHubError> {
        let data = self
            .graphql("resolve review thread", RESOLVE, json!({"id": id}))
            .await?;
        if data["resolveReviewThread"]["thread"]["isResolved"] != json!(true) {
            return Err(GitHubError::decode(
                "resolve review thread",
                Unexpected("the thread is not resolved after the mutation"),
            ));
        }
        Ok(())
    }

    /// Unresolves a review thread: a finding reported again after it was marked fixed.
    pub async fn unresolve_thread(&self, id: &str) -> Result<(), GitHubError> {
        let data = self
            .graphql("unresolve review thread", UNRESOLVE, json!({"id": id}))
            .await?;
        if data["unresolveReviewThread"]["thread"]["isResolved"] != json!(false) {
            return Err(GitHubError::decode(
                "unresolve review thread",
                Unexpected("the thread is still resolved after the mutation"),
            ));
        }
        Ok(())
    }

    /// Logins of the people who reacted with `content` (`-1` for 👎) to a review comment.
    pub async fn comment_reactions(
        &self,
        comment: u64,
        content: &str,
    ) -> Result<Vec<String>, GitHubError> {
        #[derive(Deserialize)]
        struct Reaction {
            user: Option<User>,
        }
        #[derive(Deserialize)]
        struct User {
            login: String,
        }
        let path = format!(
            "/repos/{}/pulls/comments/{comment}/reactions?content={content}&per_page=100",
            self.repo()
        );
        let text = self
            .call(Request::get("list review comment reactions", &path))
            .await?;
        let reactions: Vec<Reaction> = decode("list review comment reactions", &text)?;
        Ok(reactions
            .into_iter()
            .filter_map(|r| r.user.map(|u| u.login))
            .collect())
    }

    /// One GraphQL request; GitHub answers errors with 200 and an `errors` list.
    async fn graphql(
        &self,
        call: &'static str,
        query: &str,
        variables: Value,
    ) -> Result<Value, GitHubError> {
        let body = json!({"query": query, "variables": variables});
        let path = self.graphql_path();
        let text = self
            .call_graphql(Request {
                call,
                method: Method::POST,
                path: &path,
                body: Some(&body),
                // A read, or a resolve that is the same when repeated.
                idempotent: true,
                accept: None,
                redirect: false,
                next: None,
            })
            .await?;
        let mut answer: Value = decode(call, &text)?;
        if let Some(errors) = answer["errors"].as_array().filter(|e| !e.is_empty()) {
            let message = errors
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(GitHubError::Api {
                call,
                status: 422,
                message: format!("GraphQL: {message}"),
                rate_limited: false,
                retry_in: None,
            });
        }
        Ok(answer["data"].take())
    }
}
