//! One case of an eval under one configuration: its context (as `review` reads a change),
//! the shared pipeline with the model behind a [`Tape`] (recording, or answering from a
//! cassette), and what the review would post.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::{ReviewArgs, Target, context};
use crate::eval::dataset::{Case, Source};
use crate::eval::overrides::Overrides;
use crate::eval::score::CaseRun;
use crate::github::RepoClient;
use crate::ids::RepoName;
use crate::model::cassette::Tape;
use crate::pipeline::meter::Meter;
use crate::pipeline::progress::Reporter;
use crate::pipeline::{self, Engine};
use crate::repo_config::Loaded;
use crate::settings::CodebaseSettings;

/// The title of a case that gives none: nothing of its id, revisions or labels.
const NEUTRAL_TITLE: &str = "Proposed changes";

/// A configuration to run: its name, and the configuration that replaces the cases' own.
pub struct Configuration {
    pub name: String,
    /// The file's text (`None`: each case's own configuration).
    pub text: Option<String>,
    pub config: Option<Loaded>,
}

/// What every case of a run shares.
pub struct Bench<'a> {
    pub engine: &'a Engine<'a>,
    /// Where each case's pipeline reports its steps (the eval's bar counts its tool calls).
    pub report: Reporter,
    pub settings: &'a CodebaseSettings,
    /// The dataset's directory: local repositories are relative to it.
    pub here: &'a Path,
    pub sets: &'a Overrides,
    /// A GitHub client for a pull request case's repository (`GITHUB_TOKEN`, as `review URL`).
    pub github: &'a GitHub<'a>,
    /// `--judge`: the model that checks matches, and its client.
    pub judge: Option<crate::eval::judge::Judge<'a>>,
}

/// Makes the GitHub client of a repository.
pub type GitHub<'a> = dyn Fn(&RepoName) -> anyhow::Result<RepoClient> + 'a;

/// Runs `case` under `config`, its model exchanges through `tape`. A case that fails keeps
/// what its answers cost; a request the tape cannot answer fails it as stale.
pub async fn run(
    bench: &Bench<'_>,
    case: &Case,
    config: &Configuration,
    tape: Arc<Tape>,
) -> CaseRun {
    let started = Instant::now();
    let model = bench.engine.model.clone().with_tape(Arc::clone(&tape));
    // The case's own meter: what it spent, failed or not, is what its figures say.
    let engine = Engine {
        model: &model,
        limits: bench.engine.limits,
        tool_limits: bench.engine.tool_limits,
        meter: Meter::new(),
        report: Arc::clone(&bench.report),
    };
    let done = |reported, error: Option<String>| {
        let spent = engine.meter.total();
        // A stale request fails the case, whatever the pipeline made of its error.
        let stale = tape.stale();
        CaseRun {
            id: case.id.clone(),
            score: None,
            stale: stale.is_some(),
            run: 1,
            error: stale.or(error),
            reported,
            input_tokens: spent.usage.input_tokens,
            output_tokens: spent.usage.output_tokens,
            dollars: spent.cost_usd(),
            seconds: started.elapsed().as_secs_f64(),
            stamp: None,
            trace: None,
            losses: None,
            judged: None,
        }
    };
    let prepared = match prepare(bench, case, config).await {
        Ok(p) => p,
        Err(e) => return done(Vec::new(), Some(format!("{e:#}"))),
    };
    let reviewed = match pipeline::review(&engine, &prepared.ctx).await {
        Ok(r) => r,
        Err(e) => return done(Vec::new(), Some(crate::error_chain::chain(&e))),
    };
    let p = &reviewed.placement;
    let reported: Vec<_> = p
        .inline
        .iter()
        .map(|x| x.finding.clone())
        .chain(p.summary_only.iter().map(|u| u.finding.clone()))
        .collect();
    let run = done(reported, None);
    if run.stale {
        return CaseRun {
            reported: Vec::new(),
            ..run
        };
    }
    CaseRun {
        trace: Some(reviewed.trace),
        ..run
    }
}

/// The case's context, under the configuration (with `--set` applied).
async fn prepare(
    bench: &Bench<'_>,
    case: &Case,
    config: &Configuration,
) -> anyhow::Result<context::Prepared> {
    let args = ReviewArgs {
        target: Target::Stdin,
        post: false,
        json: false,
        focus: Vec::new(),
        tools: true,
        verify: true,
        server: None,
        url: None,
    };
    // The configuration file of the case's base, replaced or with keys set.
    let make = |text: Option<&str>| -> anyhow::Result<Loaded> {
        match &config.config {
            Some(loaded) => Ok(loaded.clone()),
            None if bench.sets.is_empty() => Ok(Loaded::from_file(text)),
            None => {
                let path = crate::repo_config::CONFIG_PATH;
                let config = bench
                    .sets
                    .apply(text.unwrap_or(""))
                    .map_err(|e| anyhow::anyhow!("{path} with --set: {e}"))?;
                Ok(Loaded {
                    config,
                    error: None,
                })
            }
        }
    };
    match &case.source {
        Source::Local { repo, base, head } => of_repository(
            bench,
            case,
            &bench.here.join(repo),
            (base, head),
            &args,
            &make,
        ),
        Source::Patch { base, patch } => {
            // A repository of the package's name, so nothing random reaches the model; the
            // context reads all it needs at once, and the repository can go.
            let package = case.origin.as_ref().map(|o| o.package.as_str());
            let name = package.and_then(|p| p.rsplit('/').next()).unwrap_or("repo");
            let (base, patch) = (bench.here.join(base), bench.here.join(patch));
            let repo = crate::eval::patched::materialize(&base, &patch, name)?;
            let revisions = (crate::eval::patched::BASE, crate::eval::patched::HEAD);
            of_repository(bench, case, repo.path(), revisions, &args, &make)
        }
        Source::PullRequest(url) => {
            let Some(Target::Pull { repo, pr }) = crate::cli::parse_pull_url(url) else {
                anyhow::bail!("{url} is not a pull request URL");
            };
            let gh = (bench.github)(&repo)?;
            let mut prepared = context::of_pull(gh, pr, &args, bench.settings, Some(&make)).await?;
            // The pull request's own title and description, unless the case gives its own;
            // neutral branch names, as for a local case.
            let d = &mut prepared.ctx.described;
            if let Some(title) = &case.title {
                d.title = title.clone();
            }
            if let Some(description) = &case.description {
                d.description = description.clone();
            }
            (d.base_ref, d.head_ref) = ("main".into(), "change".into());
            Ok(prepared)
        }
    }
}

/// The context of revisions `base..head` of the git repository `dir`, under the configuration
/// `make` makes of the base's file.
fn of_repository(
    bench: &Bench<'_>,
    case: &Case,
    dir: &Path,
    (base, head): (&str, &str),
    args: &ReviewArgs,
    make: context::MakeConfig<'_>,
) -> anyhow::Result<context::Prepared> {
    let path = crate::repo_config::CONFIG_PATH;
    let loaded = make(crate::codebase::local::file_at(dir, base, path).as_deref())?;
    let described = (
        case.title.as_deref().unwrap_or(NEUTRAL_TITLE),
        case.description.as_deref().unwrap_or(""),
    );
    context::of_revisions(
        dir,
        (base, head),
        described,
        Some(loaded),
        args,
        bench.settings,
    )
}
