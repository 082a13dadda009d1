//! Where GitHub's archive links may lead, checked before anything is downloaded from one.
//! A leaf of the `github` room: the client holds one, and `archive` asks it.

/// Where GitHub's archive links may lead: the host GitHub serves archives from for its API,
/// and the hosts an operator adds; over HTTPS, or plain HTTP when the API itself is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveHosts {
    hosts: Vec<String>,
    plain_http: bool,
}

impl ArchiveHosts {
    /// The archive hosts of the API at `api_url`: `codeload.github.com` for github.com's
    /// `api.github.com`; for any other (GitHub Enterprise Server serves archives itself) the
    /// API's own host, and its `codeload.` subdomain when the host is a name (where archives
    /// are with subdomain isolation); and `extra` (host names, any case).
    pub fn for_api(api_url: &str, extra: &[String]) -> Self {
        let url = reqwest::Url::parse(api_url).ok();
        let host = url
            .as_ref()
            .and_then(|u| u.host_str())
            .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase());
        let own: Vec<String> = match host {
            Some(h) if h == "api.github.com" => vec!["codeload.github.com".into()],
            Some(h) if h.parse::<std::net::IpAddr>().is_ok() => vec![h],
            Some(h) => vec![format!("codeload.{h}"), h],
            None => Vec::new(),
        };
        Self {
            hosts: own
                .into_iter()
                .chain(extra.iter().map(|h| h.trim().to_ascii_lowercase()))
                .filter(|h| !h.is_empty())
                .collect(),
            plain_http: url.is_some_and(|u| u.scheme() == "http"),
        }
    }

    /// `location` (GitHub's archive link) when it may be downloaded from: HTTPS (or plain
    /// HTTP when the API is), one of the archive hosts, no user name or password.
    pub(super) fn check(&self, location: &str) -> Result<String, ArchiveLinkError> {
        let url = reqwest::Url::parse(location).map_err(ArchiveLinkError::NotAbsolute)?;
        let scheme_ok = url.scheme() == "https" || (self.plain_http && url.scheme() == "http");
        if !scheme_ok {
            return Err(ArchiveLinkError::Scheme(url.scheme().to_owned()));
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(ArchiveLinkError::NoHost);
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(bare)) {
            return Err(ArchiveLinkError::Elsewhere {
                host: host.to_owned(),
                hosts: self.hosts.join(", "),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ArchiveLinkError::Credentials);
        }
        Ok(url.into())
    }
}

/// Why an archive link is not downloaded from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveLinkError {
    #[error("the archive link is not an absolute URL")]
    NotAbsolute(#[source] <reqwest::Url as std::str::FromStr>::Err),
    #[error("the archive link's scheme is {0}, not https")]
    Scheme(String),
    #[error("the archive link names no host")]
    NoHost,
    #[error(
        "the archive link leads to {host}, not to a host GitHub serves archives from \
         ({hosts}; CODEX_REVIEW_ARCHIVE_HOSTS adds others)"
    )]
    Elsewhere { host: String, hosts: String },
    #[error("the archive link carries credentials")]
    Credentials,
}

impl Default for ArchiveHosts {
    /// github.com's.
    fn default() -> Self {
        Self::for_api("https://api.github.com", &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_secure_link_to_a_host_is_taken() {
        let github = ArchiveHosts::default();
        let ok = "https://codeload.github.com/o/r/legacy.tar.gz/abc?token=x";
        assert_eq!(github.check(ok).unwrap(), ok);
        for (bad, says) in [
            ("http://codeload.github.com/o/r", "scheme is http"),
            ("ftp://codeload.github.com/o/r", "scheme is ftp"),
            ("file:///etc/passwd", "scheme is file"),
            ("https://user:pw@codeload.github.com/o/r", "credentials"),
            ("/relative/path", "absolute"),
        ] {
            let err = github.check(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let err = github.check("/relative/path").unwrap_err();
        let cause = std::error::Error::source(&err).expect("the parser's error is kept");
        assert!(!err.to_string().contains(&cause.to_string()), "{err}");
        // A GitHub Enterprise Server reached over plain HTTP links over plain HTTP.
        let ghes = ArchiveHosts::for_api("http://ghe.internal/api/v3", &[]);
        assert!(ghes.check("http://ghe.internal/_codeload/o/r").is_ok());
        assert!(ghes.check("ftp://ghe.internal/o/r").is_err());
    }

    #[test]
    fn the_archive_link_may_lead_only_to_a_host_github_serves_archives_from() {
        let github = ArchiveHosts::for_api("https://api.github.com", &[]);
        assert!(github.check("https://CODELOAD.github.com/o/r/x").is_ok());
        for elsewhere in [
            "https://api.github.com/o/r/x",
            "https://evil.example/o/r/x",
            "https://codeload.github.com.evil.example/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/x",
        ] {
            let err = github.check(elsewhere).unwrap_err().to_string();
            assert!(
                err.contains("not to a host GitHub serves archives from"),
                "{err}"
            );
            assert!(err.contains("codeload.github.com"), "{err}");
        }
        // Enterprise Server: its own host, or its codeload subdomain (subdomain isolation).
        let ghes = ArchiveHosts::for_api("https://GHE.example.com/api/v3", &[]);
        for ok in [
            "https://ghe.example.com/_codeload/o/r/x",
            "https://codeload.ghe.example.com/o/r/x",
        ] {
            assert!(ghes.check(ok).is_ok(), "{ok}");
        }
        for elsewhere in [
            "https://codeload.github.com/o/r/x",
            "https://raw.ghe.example.com/o/r/x",
            "https://example.com/o/r/x",
        ] {
            assert!(ghes.check(elsewhere).is_err(), "{elsewhere}");
        }
        // An API at an address: that address.
        let local = ArchiveHosts::for_api("http://127.0.0.1:8080", &[]);
        assert!(local.check("http://127.0.0.1:9/x").is_ok());
        assert!(local.check("http://localhost:8080/x").is_err());
        let v6 = ArchiveHosts::for_api("http://[::1]:8080", &[]);
        assert!(v6.check("http://[::1]:8080/x").is_ok());
        // Hosts an operator adds.
        let extra = ArchiveHosts::for_api(
            "https://ghe.example.com/api/v3",
            &["Archives.Example.com".into()],
        );
        assert!(extra.check("https://archives.example.com/o/r").is_ok());
        assert!(extra.check("https://ghe.example.com/o/r").is_ok());
        assert!(extra.check("https://other.example.com/o/r").is_err());
    }
}
