//! `codex-review eval DATASET [--config FILE]... [--set KEY=VALUE]... [--out DIR] [--slack N]`:
//! every case of a dataset through the review pipeline, without posting, once per
//! configuration, scored and reported. A configuration is a repository configuration file
//! (`codex-review.yml`: model, reasoning effort, tools, verification and any other key) named
//! after its path; without one, each case runs under its own base's configuration
//! ("default"). `--set` replaces keys of every configuration.
//!
//! Each case is written to `DIR/CONFIG/CASE.json` with the findings posted, and every model
//! exchange of it to `DIR/CONFIG/CASE.cassette.json` (see [`crate::eval::stored`]). A run that
//! stops resumes where it was (a failed case is run again). `--replay DIR` runs the current
//! build over the cassettes of DIR: the whole pipeline again, from the recorded answers,
//! with no model request; a request that no longer matches its recording fails its case as
//! stale.
//!
//! `--parallel N` runs N cases side by side (2 by default), `--runs K` each case K times;
//! progress goes to standard error when it is a terminal (see [`super::progress`]).

mod args;
mod case;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use futures_util::{StreamExt as _, TryStreamExt as _};

use super::progress::{self, Bar};
use crate::eval::dataset::{self, Case};
use crate::eval::judge::{self, Judge, Verdict, Verdicts};
use crate::eval::losses::losses;
use crate::eval::overrides::Overrides;
use crate::eval::repeats::repeats;
use crate::eval::report::{self, ConfigRun};
use crate::eval::score::{self, CaseRun, Stamp};
use crate::eval::stored::{self, Manifest};
use crate::model::cassette::{Cassette, Tape};
use crate::pipeline::Engine;
use crate::pipeline::meter::Meter;
use crate::repo_config::Loaded;
use crate::settings::CodebaseSettings;
use args::names;
pub use args::{EvalArgs, EvalArgsError, USAGE, parse_args};
use case::{Bench, Configuration};

fn configurations(args: &EvalArgs) -> anyhow::Result<Vec<Configuration>> {
    if args.configs.is_empty() {
        return Ok(vec![Configuration {
            name: "default".into(),
            text: None,
            config: None,
        }]);
    }
    let names = names(&args.configs)?;
    args.configs
        .iter()
        .zip(names)
        .map(|(path, name)| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            configuration(name, Some(text), &args.sets)
                .with_context(|| format!("{}", path.display()))
        })
        .collect()
}

/// A configuration of `text` (`None`: each case's own), with `--set` applied.
fn configuration(
    name: String,
    text: Option<String>,
    sets: &Overrides,
) -> anyhow::Result<Configuration> {
    let config = match &text {
        None => None,
        Some(text) => {
            let config = sets
                .apply(text)
                .map_err(|e| anyhow::anyhow!("line {}: `{}`: {}", e.line, e.key, e.message))?;
            Some(Loaded {
                config,
                error: None,
            })
        }
    };
    Ok(Configuration { name, text, config })
}

/// The configurations recorded in `dir`, with `--set` applied.
fn recorded(dir: &Path, sets: &Overrides) -> anyhow::Result<Vec<Configuration>> {
    stored::manifests(dir)?
        .into_iter()
        .map(|m| {
            let name = m.name.clone();
            configuration(m.name, m.text, sets).with_context(|| format!("configuration {name}"))
        })
        .collect()
}

/// Runs the dataset and writes `report.md`, `report.json` and `chart.svg` in the
/// output directory; returns the Markdown. Progress is drawn on standard error when it is a
/// terminal.
pub async fn eval(
    args: &EvalArgs,
    engine: &Engine<'_>,
    settings: &CodebaseSettings,
    (github, judge): (&case::GitHub<'_>, Option<Judge<'_>>),
) -> anyhow::Result<String> {
    let cases = read_dataset(args)?;
    let configs = match &args.replay {
        Some(dir) => recorded(dir, &args.sets)?,
        None => configurations(args)?,
    };
    // Figures without a price would compare nothing.
    for c in &configs {
        let model = c
            .config
            .as_ref()
            .and_then(|l| l.config.review.model.as_deref());
        if let Some(model) = model.filter(|m| engine.model.prices().price(m).is_none()) {
            bail!(
                "configuration {}: `review.model` {model} has no price: add one to CODEX_REVIEW_PRICES",
                c.name
            );
        }
    }
    if let Some(j) = judge.filter(|j| j.client.prices().price(j.model).is_none()) {
        bail!(
            "--judge {}: the model has no price: add one to CODEX_REVIEW_PRICES",
            j.model
        );
    }
    // Every case run of every configuration, side by side as many as `--parallel` says.
    let n = cases.len();
    let jobs: Vec<(usize, u32, usize)> = (0..configs.len())
        .flat_map(|c| (1..=args.runs).flat_map(move |k| (0..n).map(move |i| (c, k, i))))
        .collect();
    let bar = Arc::new(Bar::on_stderr(jobs.len(), "cases"));
    bar.stage("eval");
    let bench = Bench {
        engine,
        report: progress::follow_cases(Arc::clone(&bar)),
        settings,
        here: args.dataset.parent().unwrap_or(Path::new(".")),
        sets: &args.sets,
        github,
        judge,
    };
    for config in &configs {
        let folder = stored::folder(&args.out, &config.name);
        for run in 1..=args.runs {
            std::fs::create_dir_all(stored::run_folder(&folder, run))?;
        }
        if args.replay.is_none() {
            let manifest = Manifest {
                name: config.name.clone(),
                text: config.text.clone(),
            };
            stored::write(&stored::manifest_file(&folder), &manifest)?;
        }
    }
    let (bench, bar, cases_ref, configs_ref) = (&bench, &*bar, &cases, &configs);
    let mut done: Vec<((usize, u32, usize), CaseRun)> = futures_util::stream::iter(jobs)
        .map(|(c, k, i)| async move {
            bar.start();
            let (case, config) = (&cases_ref[i], &configs_ref[c]);
            let run = scored(args, bench, case, config, k).await?;
            let line = format!(
                "{} {}{}: {}",
                super::print::printable(&config.name),
                super::print::printable(&case.id),
                if args.runs > 1 {
                    format!(" (run {k})")
                } else {
                    String::new()
                },
                super::print::printable(&outcome(&run))
            );
            let tokens = run.input_tokens + run.output_tokens;
            bar.end(run.error.is_some(), tokens, run.dollars, &line);
            anyhow::Ok(((c, k, i), run))
        })
        .buffer_unordered(args.parallel.max(1))
        .try_collect()
        .await?;
    bar.finish();
    done.sort_by_key(|(job, _)| *job);
    let mut done = done.into_iter().map(|(_, run)| run);
    let runs = configs
        .iter()
        .map(|config| {
            let by_run: Vec<Vec<CaseRun>> = (0..args.runs)
                .map(|_| done.by_ref().take(cases.len()).collect())
                .collect();
            let all: Vec<CaseRun> = by_run.iter().flatten().cloned().collect();
            ConfigRun {
                totals: score::totals(&config.name, &all),
                repeats: (args.runs > 1).then(|| repeats(&cases, &by_run)),
                cases: all,
            }
        })
        .collect();
    write_report(args, &cases, runs)
}

/// Run `k` of `case` under `config`, scored. Every case is scored again (a new slack, an
/// edited label); a failed one has reported nothing: its expected findings are misses.
async fn scored(
    args: &EvalArgs,
    bench: &Bench<'_>,
    case: &Case,
    config: &Configuration,
    k: u32,
) -> anyhow::Result<CaseRun> {
    let folder = stored::run_folder(&stored::folder(&args.out, &config.name), k);
    let mut run = run_one(args, bench, case, config, k, &folder).await?;
    run.run = k;
    run.score = Some(score::score(case, &run.reported, args.slack));
    run.losses = run.trace.as_ref().map(|t| losses(case, t, args.slack));
    if let Some(judge) = bench.judge {
        judged(args, judge, case, config, k, &folder, &mut run).await?;
    }
    Ok(run)
}

/// `run`'s matches, judged: only those the judge confirms count, and what its verdicts cost
/// is added to the case's. Verdicts are read from the output folder and, for a replay, the
/// replayed one; the new ones are kept. A judge that fails fails the case.
async fn judged(
    args: &EvalArgs,
    judge: Judge<'_>,
    case: &Case,
    config: &Configuration,
    k: u32,
    folder: &Path,
    run: &mut CaseRun,
) -> anyhow::Result<()> {
    let Some(score) = run.score.as_mut() else {
        return Ok(());
    };
    let file = stored::judge_file(folder, &case.id);
    let mut known: Vec<Verdict> = stored::read::<Verdicts>(&file)
        .map(|v| v.verdicts)
        .unwrap_or_default();
    if let Some(dir) = &args.replay {
        let recorded = stored::run_folder(&stored::folder(dir, &config.name), k);
        let theirs = stored::read::<Verdicts>(&stored::judge_file(&recorded, &case.id));
        known.extend(theirs.map(|v| v.verdicts).unwrap_or_default());
    }
    match judge::judge(judge, case, &run.reported, &score.pairs, &known).await {
        Ok((judged, asked)) => {
            let rejected: Vec<usize> = judged.rejected.iter().map(|(e, _)| *e).collect();
            score.keep_pairs(case, |(e, _)| !rejected.contains(e));
            run.input_tokens += judged.input_tokens;
            run.output_tokens += judged.output_tokens;
            run.dollars = run.dollars.zip(judged.dollars).map(|(a, b)| a + b);
            run.judged = Some(judged);
            if !asked.is_empty() || !file.exists() {
                known.extend(asked);
                let mut seen = std::collections::HashSet::new();
                known.retain(|v| seen.insert(v.key.clone()));
                stored::write(&file, &Verdicts { verdicts: known })?;
            }
        }
        Err(e) => {
            score.keep_pairs(case, |_| false);
            run.error = Some(format!(
                "the judge failed: {}",
                crate::error_chain::chain(&e)
            ));
        }
    }
    Ok(())
}

/// One case: replayed from its cassette, kept from an earlier run, or run and recorded.
async fn run_one(
    args: &EvalArgs,
    bench: &Bench<'_>,
    case: &Case,
    config: &Configuration,
    k: u32,
    folder: &Path,
) -> anyhow::Result<CaseRun> {
    let file = stored::case_file(folder, &case.id);
    let stamp = Stamp::of(case, config.text.as_deref(), &args.sets.text());
    let run = if let Some(dir) = &args.replay {
        let recorded = stored::run_folder(&stored::folder(dir, &config.name), k);
        let path = stored::cassette_file(&recorded, &case.id);
        match stored::read::<Cassette>(&path) {
            Some(cassette) => {
                case::run(bench, case, config, Arc::new(Tape::player(cassette))).await
            }
            None => CaseRun::failed(&case.id, format!("no cassette at {}", path.display())),
        }
    } else {
        // A case that ran is kept, unless its line, its configuration or the binary
        // changed; a failed one is run again.
        let stored: Option<CaseRun> = stored::read(&file);
        let same = |r: &CaseRun| r.error.is_none() && r.stamp.as_ref() == Some(&stamp);
        if let Some(kept) = stored.filter(same) {
            return Ok(kept);
        }
        let tape = Arc::new(Tape::recorder());
        let run = case::run(bench, case, config, Arc::clone(&tape)).await;
        stored::write(&stored::cassette_file(folder, &case.id), &tape.cassette())?;
        run
    };
    let run = CaseRun {
        stamp: Some(stamp),
        ..run
    };
    stored::write(&file, &run)?;
    Ok(run)
}

/// The dataset, refused whole at its first bad line.
fn read_dataset(args: &EvalArgs) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(&args.dataset)
        .with_context(|| format!("reading {}", args.dataset.display()))?;
    dataset::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", args.dataset.display(), e.line, e.reason))
}

/// Writes the report files; returns the Markdown.
fn write_report(args: &EvalArgs, cases: &[Case], runs: Vec<ConfigRun>) -> anyhow::Result<String> {
    std::fs::create_dir_all(&args.out)?;
    let note = match &args.replay {
        Some(dir) => format!(
            "Replayed from the cassettes of `{}`: no model was asked.",
            dir.display()
        ),
        None => String::new(),
    };
    let md = report::markdown(&runs, &note)
        + &report::repeated(&runs)
        + &report::judged(&runs, cases)
        + &report::stages(&runs, cases);
    std::fs::write(args.out.join("report.md"), &md)?;
    std::fs::write(args.out.join("report.json"), report::json(&runs))?;
    std::fs::write(args.out.join("chart.svg"), report::chart(&runs))?;
    Ok(md)
}

fn outcome(run: &CaseRun) -> String {
    match (&run.score, &run.error) {
        (_, Some(e)) => format!("failed: {e}"),
        (Some(s), None) if s.clean => format!("clean, {} reported", s.reported),
        (Some(s), None) => format!("{} of {} found, {} noise", s.matched, s.expected, s.noise()),
        (None, None) => "not scored".into(),
    }
}

/// `codex-review eval`: the CLI's model client and limits (`OPENAI_API_KEY`, ...); a replay
/// needs no key, and its client is pointed nowhere: its cassettes answer every request.
pub async fn main(args: &EvalArgs, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = CodebaseSettings::from_lookup(&env, &format!("eval-{}", std::process::id()))?;
    let limits = crate::pipeline::Limits::default();
    let model = match &args.replay {
        None => super::model_client(&env, &limits)?,
        Some(_) => {
            let nowhere = |name: &str| match name {
                "OPENAI_API_KEY" => Some("replay".to_owned()),
                "OPENAI_BASE_URL" => Some("http://127.0.0.1:9/v1".to_owned()),
                _ => env(name),
            };
            super::model_client(&nowhere, &limits)?
        }
    };
    let engine = Engine {
        model: &model,
        limits: &limits,
        tool_limits: settings.tools,
        meter: Meter::new(),
        report: Arc::new(|_| {}),
    };
    let github = |repo: &crate::ids::RepoName| super::github_client(&env, repo);
    // A replay's judge asks the model only for pairs it has no verdict for, and only with
    // a key; without one, such a pair fails its case.
    let judge_client = match (&args.judge, &args.replay) {
        (Some(_), Some(_)) if env("OPENAI_API_KEY").is_some() => {
            Some(super::model_client(&env, &limits)?)
        }
        _ => None,
    };
    let judge = args.judge.as_deref().map(|judge| Judge {
        client: judge_client.as_ref().unwrap_or(&model),
        model: judge,
    });
    eval(args, &engine, &settings, (&github, judge)).await
}
