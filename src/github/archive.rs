//! The repository's archive link (`GET /tarball/{ref}` answers 302 to a short-lived URL on
//! another host, which needs no credentials), checked before anything is downloaded from it.

use super::client::{GitHubError, RepoClient};
use super::transport::Request;
use crate::ids::CommitSha;

impl RepoClient {
    /// The short-lived download link of the repository's archive at `sha`
    /// (`GET /tarball/{ref}` answers 302 to another host, which needs no credentials).
    /// The link must be HTTPS (or plain HTTP when the API is), name a host, and carry no
    /// credentials: the download goes to that host only, and follows no further redirect.
    pub async fn archive_location(&self, sha: &CommitSha) -> Result<String, GitHubError> {
        let path = format!("/repos/{}/tarball/{sha}", self.repo());
        let location = self
            .call(Request {
                redirect: true,
                ..Request::get("get archive link", &path)
            })
            .await?;
        download_link(&location, self.plain_http).map_err(|message| GitHubError::Decode {
            call: "get archive link",
            message,
        })
    }
}

/// GitHub's archive link, checked: HTTPS (or plain HTTP when `plain_http`), a host, no user
/// name or password.
fn download_link(location: &str, plain_http: bool) -> Result<String, String> {
    let url = reqwest::Url::parse(location)
        .map_err(|_| "the archive link is not an absolute URL".to_owned())?;
    let scheme_ok = url.scheme() == "https" || (plain_http && url.scheme() == "http");
    if !scheme_ok {
        return Err(format!(
            "the archive link's scheme is {}, not https",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the archive link names no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the archive link carries credentials".into());
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_secure_link_to_a_host_is_taken() {
        let ok = "https://codeload.github.com/o/r/legacy.tar.gz/abc?token=x";
        assert_eq!(download_link(ok, false).unwrap(), ok);
        for (bad, says) in [
            ("http://codeload.github.com/o/r", "scheme is http"),
            ("ftp://codeload.github.com/o/r", "scheme is ftp"),
            ("file:///etc/passwd", "scheme is file"),
            ("https://user:pw@codeload.github.com/o/r", "credentials"),
            ("/relative/path", "absolute"),
        ] {
            let err = download_link(bad, false).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        // A GitHub Enterprise Server reached over plain HTTP links over plain HTTP.
        assert!(download_link("http://ghe.internal/_codeload/o/r", true).is_ok());
        assert!(download_link("ftp://ghe.internal/o/r", true).is_err());
    }
}
