//! `codex-review review`: the review pipeline from the command line, without an App.
//!
//! ```text
//! codex-review review https://github.com/OWNER/REPO/pull/N [--post]   (GITHUB_TOKEN)
//! git diff main... | codex-review review -
//! options: --focus security,performance   --json   --no-tools   --no-verify
//! ```
//!
//! It runs the review pipeline the App runs (`crate::pipeline`); only its context stage
//! (`context.rs`) and its output differ. The model reads the repository with its tools as in
//! the App: the pull request's head from GitHub's archive, or for a local diff the HEAD of the
//! git work tree the command runs in. Its findings are verified before they are printed or
//! posted.

mod codebase;
mod config;
mod context;
pub mod eval;
mod print;
pub mod progress;
mod server;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::sync::Semaphore;

use crate::github::RepoClient;
use crate::ids::{PrNumber, RepoName};
use crate::model::ModelClient;
use crate::pipeline::Limits;
use crate::pipeline::{self, Destination, Engine, Spent};
use crate::retry::RetryPolicy;
use crate::settings::{CodebaseSettings, OpenAiSettings};

pub const USAGE: &str =
    "usage: codex-review review (URL | -) [--post] [--json] [--focus AREA[,AREA...]]\n\n\
URL   a pull request, https://github.com/OWNER/REPO/pull/N (needs GITHUB_TOKEN)\n\
-     a unified diff on standard input, such as `git diff main... | codex-review review -`\n\
--post   post the review on the pull request, as the App would\n\
--json   print the model's structured output\n\
--focus  what to look for first\n\
--no-tools   the model sees the diff only (no reading of the repository)\n\
--no-verify  print the findings without checking them first
--server URL ask a running codex-review service instead (its review API; token in
             CODEX_REVIEW_API_TOKEN; with --post it posts, else it only prints)";

/// What to review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdin,
    Pull { repo: RepoName, pr: PrNumber },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewArgs {
    pub target: Target,
    pub post: bool,
    pub json: bool,
    pub focus: Vec<String>,
    pub tools: bool,
    pub verify: bool,
    /// `--server URL`: ask that service's review API instead of reviewing here.
    pub server: Option<String>,
    /// The pull request URL as given (sent to the server).
    pub url: Option<String>,
}

/// What is wrong with the arguments of `review`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("--server needs the service's address")]
    NoServer,
    #[error("--server needs an http(s) address, not {0:?}")]
    ServerNotHttp(String),
    #[error("--focus needs a value")]
    NoFocus,
    #[error("not a pull request URL: {0}")]
    NotAPullRequest(String),
    #[error("unknown argument {0:?}")]
    Unknown(String),
    #[error("name a pull request URL, or - for a diff on standard input")]
    NoTarget,
    /// `--post` or `--server` with a diff on standard input.
    #[error("{0} needs a pull request URL")]
    NeedsPullRequest(&'static str),
}

/// Parses the arguments after `review`.
pub fn parse_args(args: &[String]) -> Result<ReviewArgs, ArgsError> {
    let mut target = None;
    let (mut post, mut json, mut focus) = (false, false, Vec::new());
    let (mut tools, mut verify) = (true, true);
    let (mut server, mut given_url) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--post" => post = true,
            "--no-tools" => tools = false,
            "--no-verify" => verify = false,
            "--json" => json = true,
            "--server" => {
                let url = it.next().ok_or(ArgsError::NoServer)?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(ArgsError::ServerNotHttp(url.clone()));
                }
                server = Some(url.clone());
            }
            "--focus" => {
                let list = it.next().ok_or(ArgsError::NoFocus)?;
                focus.extend(
                    list.split(',')
                        .map(|a| a.trim().to_lowercase())
                        .filter(|a| !a.is_empty()),
                );
            }
            "-" => target = Some(Target::Stdin),
            url if url.starts_with("https://") || url.starts_with("http://") => {
                target = Some(
                    parse_pull_url(url).ok_or_else(|| ArgsError::NotAPullRequest(url.into()))?,
                );
                given_url = Some(url.to_owned());
            }
            other => return Err(ArgsError::Unknown(other.to_owned())),
        }
    }
    let target = target.ok_or(ArgsError::NoTarget)?;
    if post && target == Target::Stdin {
        return Err(ArgsError::NeedsPullRequest("--post"));
    }
    if server.is_some() && target == Target::Stdin {
        return Err(ArgsError::NeedsPullRequest("--server"));
    }
    Ok(ReviewArgs {
        target,
        post,
        json,
        focus,
        tools,
        verify,
        server,
        url: given_url,
    })
}

/// `https://github.com/OWNER/REPO/pull/N` as a target.
pub(crate) fn parse_pull_url(url: &str) -> Option<Target> {
    let (repo, pr) = crate::github::pull_of_url(url)?;
    Some(Target::Pull { repo, pr })
}

/// Runs a review; `stdin` is read only for `-`. Findings go to `out`, progress to standard
/// error (a bar on a terminal, plain lines otherwise).
pub async fn review(
    args: &ReviewArgs,
    env: impl Fn(&str) -> Option<String>,
    stdin: impl FnOnce() -> std::io::Result<String>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let (Some(server), Some(url)) = (&args.server, &args.url) {
        return server::review(server, url, args, &env, out).await;
    }
    let limits = Limits::default();
    let model = model_client(&env, &limits)?;
    let settings = CodebaseSettings::from_lookup(&env, &format!("cli-{}", std::process::id()))?;
    let prepared = match &args.target {
        Target::Stdin => {
            let text = stdin().context("reading the diff from standard input")?;
            context::of_diff(&text, args, &settings)?
        }
        Target::Pull { repo, pr } => {
            let gh = github_client(&env, repo)?;
            context::of_pull(gh, *pr, args, &settings, None).await?
        }
    };
    let ctx = &prepared.ctx;
    let (bar, meter) = (
        Arc::new(progress::Bar::on_stderr(0, "parts")),
        crate::pipeline::meter::Meter::new(),
    );
    let engine = Engine {
        model: &model,
        limits: &limits,
        tool_limits: settings.tools,
        meter: meter.clone(),
        report: progress::follow_review(Arc::clone(&bar), meter),
    };
    let reviewed = pipeline::review(&engine, ctx).await?;
    bar.finish();
    let spent = Spent::of(&model, &ctx.config, &engine.meter);
    if reviewed.nothing_to_review.is_some() {
        writeln!(
            out,
            "Nothing to review: {} file(s), none with reviewable line changes.",
            ctx.pr_files.len()
        )?;
    } else if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&reviewed.answer.output)?
        )?;
    } else {
        print::print_review(out, &reviewed, &spent)?;
    }
    if args.post {
        let (Some((gh, head)), Some((pr, blob_base))) = (&ctx.head, &prepared.pull) else {
            bail!("--post needs a pull request")
        };
        let trigger = format!("cli-{}", crate::ids::random_hex(6)?);
        let to = Destination {
            sha: head,
            trigger: &trigger,
            blob_base: blob_base.as_deref(),
            earlier: "",
        };
        let review = pipeline::publish(ctx, &reviewed, &spent, &to);
        let id = gh.create_review(*pr, &review).await?;
        writeln!(out, "Posted review {id} on {}#{pr}.", gh.repo())?;
    }
    Ok(())
}

/// The model client of a command: `OPENAI_*` settings, `limits`' requests in flight.
fn model_client(
    env: &impl Fn(&str) -> Option<String>,
    limits: &Limits,
) -> anyhow::Result<ModelClient> {
    let openai = OpenAiSettings::from_lookup(env)?;
    let slots = Arc::new(Semaphore::new(limits.model_concurrency.max(1)));
    Ok(ModelClient::new(&openai, RetryPolicy::default())?.limited(slots))
}

fn github_client(
    env: &impl Fn(&str) -> Option<String>,
    repo: &RepoName,
) -> anyhow::Result<RepoClient> {
    let token = env("GITHUB_TOKEN")
        .filter(|t| !t.trim().is_empty())
        .context("GITHUB_TOKEN is required to review a pull request by URL")?;
    let token = secrecy::SecretString::from(token.trim().to_owned());
    let base = env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
    let extra = crate::settings::archive_hosts(env)?;
    let archive = crate::github::ArchiveHosts::for_api(&base, &extra);
    let crab = crate::github::http::octocrab(
        &base,
        octocrab::AuthState::AccessToken { token },
        Duration::from_secs(30),
    )?;
    Ok(RepoClient::new(
        Arc::new(crab),
        repo.clone(),
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
        },
    )
    .with_archive_hosts(Arc::new(archive)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_read() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            args(&[
                "https://github.com/octo/hello/pull/42",
                "--post",
                "--focus",
                "security, Performance"
            ])
            .unwrap(),
            ReviewArgs {
                target: Target::Pull {
                    repo: RepoName::parse("octo/hello").unwrap(),
                    pr: PrNumber(42)
                },
                post: true,
                json: false,
                focus: vec!["security".into(), "performance".into()],
                tools: true,
                verify: true,
                server: None,
                url: Some("https://github.com/octo/hello/pull/42".into()),
            }
        );
        let remote = args(&[
            "https://github.com/octo/hello/pull/42",
            "--server",
            "https://review.example.com",
        ])
        .unwrap();
        assert_eq!(remote.server.as_deref(), Some("https://review.example.com"));
        assert!(args(&["-", "--server", "https://review.example.com"]).is_err());
        assert!(
            args(&[
                "https://github.com/o/r/pull/1",
                "--server",
                "review.example.com"
            ])
            .is_err()
        );
        assert_eq!(args(&["-", "--json"]).unwrap().target, Target::Stdin);
        assert!(args(&["-", "--post"]).is_err());
        assert!(args(&[]).is_err());
        assert!(args(&["https://github.com/octo/hello/issues/1"]).is_err());
        assert!(args(&["--frobnicate"]).is_err());
    }
}
