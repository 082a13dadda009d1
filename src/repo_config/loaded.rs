//! The configuration in force for one pull request: the file on its base branch, or the
//! defaults, with why the file was ignored.

use super::{CONFIG_PATH, ConfigError, RepoConfig};
use crate::github::{GitHubError, RepoClient};

/// The configuration in force for one review.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: RepoConfig,
    /// Why the repository's file was ignored (the defaults apply then).
    pub error: Option<ConfigError>,
}

impl Loaded {
    /// The configuration at `base_sha` (never the head), and whether the file exists.
    pub async fn read(gh: &RepoClient, base_sha: &str) -> Result<(Self, bool), GitHubError> {
        let text = gh.file_at(CONFIG_PATH, base_sha, 256 * 1024).await?;
        Ok((Self::from_file(text.as_deref()), text.is_some()))
    }

    /// The configuration a file's text gives (`None`: no file): the defaults when there is
    /// none or it is invalid, with the error kept.
    pub fn from_file(text: Option<&str>) -> Self {
        match text.map(super::parse) {
            None => Loaded {
                config: RepoConfig::default(),
                error: None,
            },
            Some(Ok(config)) => Loaded {
                config,
                error: None,
            },
            Some(Err(error)) => Loaded {
                config: RepoConfig::default(),
                error: Some(error),
            },
        }
    }
}
