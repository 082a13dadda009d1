//! The repository's archive link (`GET /tarball/{ref}` answers 302 to a short-lived URL on
//! another host, which needs no credentials), checked before anything is downloaded from it:
//! it must lead to a host GitHub names for archives.

use super::client::{GitHubError, RepoClient};
use super::transport::Request;
use crate::ids::CommitSha;

impl RepoClient {
    /// The short-lived download link of the repository's archive at `sha`
    /// (`GET /tarball/{ref}` answers 302 to another host, which needs no credentials).
    /// The link must lead to one of the client's [`ArchiveHosts`](super::ArchiveHosts), over HTTPS (or plain HTTP
    /// when the API is), and carry no credentials: the download goes to that host only, and
    /// follows no further redirect.
    pub async fn archive_location(&self, sha: &CommitSha) -> Result<String, GitHubError> {
        let path = format!("/repos/{}/tarball/{sha}", self.repo());
        let location = self
            .call(Request {
                redirect: true,
                ..Request::get("get archive link", &path)
            })
            .await?;
        self.archive
            .check(&location)
            .map_err(|e| GitHubError::decode("get archive link", e))
    }
}
