//! `codex-review review`: the review pipeline from the command line, without an App.
//!
//! ```text
//! codex-review review https://github.com/OWNER/REPO/pull/N [--post]   (GITHUB_TOKEN)
//! git diff main... | codex-review review -
//! options: --focus security,performance   --json   --no-tools   --no-verify
//! ```
//!
//! The model reads the repository with its tools as in the App: the pull request's head from
//! GitHub's archive, or for a local diff the HEAD of the git work tree the command runs in.
//! Its findings are verified before they are printed or posted.

mod codebase;
mod config;
mod print;
mod server;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::sync::Semaphore;

use crate::diff::chunk::{self, Budget, Source};
use crate::diff::{FileDiff, split_diff};
use crate::github::{NewReview, RepoClient};
use crate::ids::{PrNumber, RepoName};
use crate::model::{ModelClient, ToolBudget, Usage};
use crate::retry::RetryPolicy;
use crate::review::ask::{self, CallSettings, OnTry, Subject, Tooling};
use crate::review::publish;
use crate::review::verify::{self, VerifyInput};
use crate::review::{filter, place};
use crate::settings::{CodebaseSettings, Limits, OpenAiSettings};

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

/// Parses the arguments after `review`.
pub fn parse_args(args: &[String]) -> Result<ReviewArgs, String> {
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
                let url = it.next().ok_or("--server needs the service's address")?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("--server needs an http(s) address, not {url:?}"));
                }
                server = Some(url.clone());
            }
            "--focus" => {
                let list = it.next().ok_or("--focus needs a value")?;
                focus.extend(
                    list.split(',')
                        .map(|a| a.trim().to_lowercase())
                        .filter(|a| !a.is_empty()),
                );
            }
            "-" => target = Some(Target::Stdin),
            url if url.starts_with("https://") || url.starts_with("http://") => {
                target = Some(
                    parse_pull_url(url).ok_or_else(|| format!("not a pull request URL: {url}"))?,
                );
                given_url = Some(url.to_owned());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let target = target.ok_or("name a pull request URL, or - for a diff on standard input")?;
    if post && target == Target::Stdin {
        return Err("--post needs a pull request URL".into());
    }
    if server.is_some() && target == Target::Stdin {
        return Err("--server needs a pull request URL".into());
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

fn parse_pull_url(url: &str) -> Option<Target> {
    let path = url.split("://").nth(1)?.split_once('/')?.1;
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts[..] {
        [owner, name, "pull", number, ..] => Some(Target::Pull {
            repo: RepoName::parse(&format!("{owner}/{name}"))?,
            pr: PrNumber(number.parse().ok()?),
        }),
        _ => None,
    }
}

/// Runs a review; `stdin` is read only for `-`. Findings go to `out`, progress to stderr.
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
    let openai = OpenAiSettings::from_lookup(&env).map_err(anyhow::Error::msg)?;
    let model = ModelClient::new(&openai, RetryPolicy::default())?;
    let limits = Limits::default();
    let codebase_settings =
        CodebaseSettings::from_lookup(&env, &format!("cli-{}", std::process::id()))
            .map_err(anyhow::Error::msg)?;

    let (files, subject_owned, github, loaded) = match &args.target {
        Target::Stdin => {
            let text = stdin().context("reading the diff from standard input")?;
            let files = split_diff(&text);
            if files.is_empty() {
                bail!("standard input holds no diff");
            }
            let subject = (
                "local diff".to_owned(),
                "Local changes".to_owned(),
                String::new(),
                "base".to_owned(),
                "working tree".to_owned(),
            );
            (files, subject, None, config::of_work_tree())
        }
        Target::Pull { repo, pr } => {
            let gh = github_client(&env, repo)?;
            let pull = gh.pull(*pr).await?;
            let files: Vec<FileDiff> = gh
                .files(*pr)
                .await?
                .into_iter()
                .map(crate::github::ChangedFile::into_diff)
                .collect();
            let head = pull
                .head_sha()
                .context("the pull request's head is not a commit id")?;
            let subject = (
                repo.to_string(),
                pull.title.clone(),
                pull.body.clone().unwrap_or_default(),
                pull.base.name.clone(),
                pull.head.name.clone(),
            );
            let loaded = config::of_pull(&gh, &pull.base.sha).await?;
            (files, subject, Some((gh, *pr, head)), loaded)
        }
    };
    let config = &loaded.config;

    // The same stages as the App's: select, then after the model place and filter.
    let (reviewable, mut skipped) = filter::select(&files, &config.paths);
    let sources: Vec<Source<'_>> = reviewable
        .into_iter()
        .map(|file| Source {
            file,
            content: None,
        })
        .collect();
    let plan = chunk::plan(
        &sources,
        Budget {
            tokens_per_call: limits.diff_tokens_per_call(),
            max_calls: limits.max_calls,
        },
    );
    skipped.extend(plan.skipped.iter().cloned());
    if plan.chunks.is_empty() {
        writeln!(
            out,
            "Nothing to review: {} file(s), none with reviewable line changes.",
            files.len()
        )?;
        return Ok(());
    }
    let subject = Subject {
        repo: &subject_owned.0,
        title: &subject_owned.1,
        description: &subject_owned.2,
        base_ref: &subject_owned.3,
        head_ref: &subject_owned.4,
        since: None,
    };
    let codebase = match (&github, args.tools && codebase_settings.tools.turns > 0) {
        (_, false) => None,
        (Some((gh, _, head)), true) => Some(codebase::for_pull(&codebase_settings, gh, head).await),
        (None, true) => Some(codebase::for_work_tree(&codebase_settings)),
    };
    if let Some(note) = codebase.as_ref().and_then(|c| c.note.as_deref()) {
        eprintln!("codex-review: {note}");
    }
    let tooling = codebase
        .as_ref()
        .and_then(|c| c.toolbox.clone())
        .map(|toolbox| Tooling {
            toolbox,
            budget: Arc::new(ToolBudget::new(codebase_settings.tools)),
        });
    // The request's focus areas first, then the repository's (as a comment's in the App).
    let mut focus_areas = args.focus.clone();
    for area in &config.review.focus_areas {
        if !focus_areas.contains(area) {
            focus_areas.push(area.clone());
        }
    }
    let settings = CallSettings {
        focus_areas,
        language: config.review.language.clone(),
        suggestions: config.review.suggestions,
        model: config.review.model.clone(),
        reasoning_effort: config
            .review
            .reasoning_effort
            .map(|e| e.as_str().to_owned()),
        tooling: tooling.clone(),
        ..CallSettings::default()
    };
    let slots = Arc::new(Semaphore::new(limits.model_concurrency));
    let on_try: OnTry = Arc::new(|_| {});
    let progress = print::Progress::start(plan.chunks.len());
    let answer = ask::ask_model(
        &model,
        &slots,
        &subject,
        &plan,
        &settings,
        &mut skipped,
        on_try.clone(),
    )
    .await;
    progress.stop();
    let answer = answer?;

    let mut placement = place::place(answer.output.findings.clone(), &files, &plan.reviewed);
    let mut in_repo = std::collections::HashMap::new();
    if let Some(t) = &tooling {
        for f in &placement.outside {
            let path = &f.code_location.file_path;
            in_repo.insert(path.clone(), t.toolbox.has_file(path).await);
        }
    }
    // Without the repository, findings on other files stay in the summary.
    place::settle_outside(&mut placement, |path| {
        in_repo.get(path).copied().flatten().unwrap_or(true)
    });
    // No earlier review from here: only the repository's settings take findings out.
    let filtered = filter::filter(
        &mut placement,
        &config.review,
        &Default::default(),
        &Default::default(),
        &files,
        &mut Default::default(),
    );
    let verification = if args.verify && config.review.verify {
        let no_text = |_: &str| None;
        let input = VerifyInput {
            model: &model,
            slots: &slots,
            repo: subject.repo,
            pr_title: subject.title,
            files: &files,
            head_text: &no_text,
            tooling: tooling.as_ref(),
            model_name: config.review.model.as_deref(),
            reasoning_effort: config.review.reasoning_effort.map(|e| e.as_str()),
            on_try,
        };
        eprintln!("codex-review: verifying the findings…");
        let priority = config.review.verify_priority;
        Some(verify::verify(&input, &mut placement, priority).await)
    } else {
        None
    };
    place::cap_inline(&mut placement, config.review.max_inline_comments);
    let mut usage = answer.usage;
    usage.add(verification.as_ref().map_or(Usage::default(), |v| v.usage));
    let requests = answer.turns + verification.as_ref().map_or(0, |v| v.turns);
    let trace = tooling.as_ref().map(|t| t.toolbox.trace());
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer.output)?)?;
    } else {
        print::print_human(out, &answer.output, &placement, &skipped)?;
        print::print_process(out, verification.as_ref(), trace.as_ref())?;
        let cost = model.prices().cost(model.model(), usage);
        writeln!(
            out,
            "\n{requests} model request(s) · tokens: {} in ({} cached), {} out ({} reasoning){}",
            usage.input_tokens,
            usage.cached_tokens,
            usage.output_tokens,
            usage.reasoning_tokens,
            cost.map_or_else(String::new, |c| format!(" · ≈ ${c:.4}"))
        )?;
    }

    if args.post {
        let Some((gh, pr, head)) = github else {
            bail!("--post needs a pull request")
        };
        let trigger = format!(
            "cli-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        );
        let body = publish::summary(&publish::SummaryInput {
            sha: &head,
            trigger: &trigger,
            output: &answer.output,
            placement: &placement,
            focus_areas: &settings.focus_areas,
            not_reviewed: &skipped,
            reviewed_files: plan.reviewed.len(),
            model_calls: requests as usize,
            model: model.model(),
            usage,
            cost: model.prices().cost(model.model(), usage),
            since: None,
            repeated: 0,
            below_thresholds: filtered.below,
            config_error: loaded.error.as_ref().map(ToString::to_string),
            blob_base: None,
            verification: verification.as_ref(),
            verify_cost: verification
                .as_ref()
                .and_then(|v| model.prices().cost(model.model(), v.usage)),
            trace: trace.as_ref(),
            codebase_note: codebase.as_ref().and_then(|c| c.note.as_deref()),
            earlier: "",
            dismissed: 0,
            ignored_reactions: 0,
        });
        let review = NewReview {
            commit_id: head.to_string(),
            body,
            event: "COMMENT",
            comments: placement
                .inline
                .iter()
                .map(publish::inline_comment)
                .collect(),
        };
        let id = gh.create_review(pr, &review).await?;
        writeln!(out, "Posted review {id} on {}#{pr}.", gh.repo())?;
    }
    Ok(())
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
    ))
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
