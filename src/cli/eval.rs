//! `codex-review eval DATASET [--config FILE]... [--out DIR] [--slack N]`: every case of a
//! dataset through the review pipeline, without posting, once per configuration, scored
//! and reported. A configuration is a repository configuration file (`codex-review.yml`:
//! model, reasoning effort, tools, verification and any other key) named after its file;
//! without one, each case runs under its own base's configuration ("default").
//!
//! Each case is written to `DIR/CONFIG/CASE.json` with the findings posted, so a run that
//! stops resumes where it was (a failed case is run again), and `--replay DIR` scores the
//! stored findings again (a new slack, a new scorer) without a model call. A case that fails
//! is recorded with its error and the run goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::{ReviewArgs, Target, context};
use crate::eval::dataset::{self, Case, Source};
use crate::eval::report::{self, ConfigRun};
use crate::eval::score::{self, CaseRun};
use crate::review::Loaded;
use crate::review::meter::Meter;
use crate::review::pipeline::{self, Engine};
use crate::settings::CodebaseSettings;

pub const USAGE: &str = "usage: codex-review eval DATASET [--config FILE]... [--out DIR] [--slack N]\n       codex-review eval DATASET --replay DIR [--slack N]\n\n\
DATASET     JSON Lines of labelled cases (see eval/dataset.schema.json)\n\
--config    a repository configuration to run every case under (repeatable)\n\
--out       where scored cases and the report go (default eval-out); a rerun resumes\n\
--replay    score the cases stored in DIR again, without calling the model\n\
--slack     lines a finding may be off and still match (default 3)";

/// What `eval` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalArgs {
    pub dataset: PathBuf,
    pub configs: Vec<PathBuf>,
    pub out: PathBuf,
    pub replay: bool,
    pub slack: u32,
}

/// Parses the arguments after `eval`.
pub fn parse_args(args: &[String]) -> Result<EvalArgs, String> {
    let mut parsed = EvalArgs {
        dataset: PathBuf::new(),
        configs: Vec::new(),
        out: PathBuf::from("eval-out"),
        replay: false,
        slack: 3,
    };
    let mut it = args.iter();
    let mut dataset = None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--config" => parsed.configs.push(value("--config")?.into()),
            "--out" => parsed.out = value("--out")?.into(),
            "--replay" => {
                parsed.out = value("--replay")?.into();
                parsed.replay = true;
            }
            "--slack" => {
                parsed.slack = value("--slack")?
                    .parse()
                    .map_err(|_| "--slack takes a number of lines".to_owned())?;
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other if dataset.is_none() => dataset = Some(PathBuf::from(other)),
            other => return Err(format!("one dataset only ({other})")),
        }
    }
    parsed.dataset = dataset.ok_or("a dataset is required")?;
    if parsed.replay && !parsed.configs.is_empty() {
        return Err("--replay scores what is stored: no --config".into());
    }
    Ok(parsed)
}

/// A configuration to run: its name, and the configuration that replaces the cases' own.
struct Configuration {
    name: String,
    config: Option<Loaded>,
}

fn configurations(args: &EvalArgs) -> anyhow::Result<Vec<Configuration>> {
    if args.configs.is_empty() {
        return Ok(vec![Configuration {
            name: "default".into(),
            config: None,
        }]);
    }
    args.configs
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let config = crate::repo_config::parse(&text).map_err(|e| {
                anyhow::anyhow!("{}:{}: `{}`: {}", path.display(), e.line, e.key, e.message)
            })?;
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("config")
                .to_owned();
            Ok(Configuration {
                name,
                config: Some(Loaded {
                    config,
                    error: None,
                }),
            })
        })
        .collect()
}

/// Runs the dataset and writes `report.md`, `report.json` and `chart.svg` in the
/// output directory; returns the Markdown.
pub async fn eval(
    args: &EvalArgs,
    engine: &Engine<'_>,
    settings: &CodebaseSettings,
) -> anyhow::Result<String> {
    let cases = read_dataset(args)?;
    let here = args.dataset.parent().unwrap_or(Path::new("."));
    let configs = configurations(args)?;
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
    let mut runs = Vec::new();
    for config in configs {
        let dir = args.out.join(&config.name);
        std::fs::create_dir_all(&dir)?;
        let mut done = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().enumerate() {
            let file = dir.join(format!("{}.json", case.id));
            // A scored case is kept; a failed one is run again.
            let stored: Option<CaseRun> = std::fs::read(&file)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let run = match stored.filter(|r| r.error.is_none()) {
                Some(stored) => stored,
                None => {
                    let run = run_case(engine, settings, here, case, &config, args.slack).await;
                    std::fs::write(&file, serde_json::to_vec_pretty(&run)?)?;
                    run
                }
            };
            eprintln!(
                "[{}/{}] {} {}: {}",
                i + 1,
                cases.len(),
                super::print::printable(&config.name),
                super::print::printable(&case.id),
                super::print::printable(&outcome(&run))
            );
            done.push(run);
        }
        runs.push(ConfigRun {
            totals: score::totals(&config.name, &done),
            cases: done,
        });
    }
    write_report(args, runs)
}

/// The dataset, refused whole at its first bad line.
fn read_dataset(args: &EvalArgs) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(&args.dataset)
        .with_context(|| format!("reading {}", args.dataset.display()))?;
    dataset::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", args.dataset.display(), e.line, e.reason))
}

/// Writes the report files; returns the Markdown.
fn write_report(args: &EvalArgs, runs: Vec<ConfigRun>) -> anyhow::Result<String> {
    std::fs::create_dir_all(&args.out)?;
    let md = report::markdown(&runs, "");
    std::fs::write(args.out.join("report.md"), &md)?;
    std::fs::write(args.out.join("report.json"), report::json(&runs))?;
    std::fs::write(args.out.join("chart.svg"), report::chart(&runs))?;
    Ok(md)
}

fn outcome(run: &CaseRun) -> String {
    match (&run.score, &run.error) {
        (Some(s), _) if s.clean => format!("clean, {} reported", s.reported),
        (Some(s), _) => format!("{} of {} found, {} noise", s.matched, s.expected, s.noise()),
        (None, Some(e)) => format!("failed: {e}"),
        (None, None) => "failed".into(),
    }
}

/// The stored runs of every configuration directory of `args.out`, scored again.
fn replay(args: &EvalArgs, cases: &[Case]) -> anyhow::Result<Vec<ConfigRun>> {
    let mut names: Vec<String> = std::fs::read_dir(&args.out)
        .with_context(|| format!("reading {}", args.out.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("{} holds no stored run", args.out.display());
    }
    let mut runs = Vec::new();
    for name in names {
        let mut done = Vec::new();
        for case in cases {
            let file = args.out.join(&name).join(format!("{}.json", case.id));
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let mut run: CaseRun = serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", file.display()))?;
            if run.error.is_none() {
                run.score = Some(score::score(case, &run.reported, args.slack));
            }
            done.push(run);
        }
        runs.push(ConfigRun {
            totals: score::totals(&name, &done),
            cases: done,
        });
    }
    Ok(runs)
}

/// One case under one configuration: its context, the pipeline, the posted findings scored.
async fn run_case(
    engine: &Engine<'_>,
    settings: &CodebaseSettings,
    here: &Path,
    case: &Case,
    config: &Configuration,
    slack: u32,
) -> CaseRun {
    let started = Instant::now();
    // The case's own meter: what it spent, failed or not, is what its figures say.
    let engine = Engine {
        model: engine.model,
        limits: engine.limits,
        tool_limits: engine.tool_limits,
        meter: Meter::new(),
        report: engine.report.clone(),
    };
    let meter = &engine.meter;
    let failed = |error: String| {
        let spent = meter.total();
        CaseRun {
            id: case.id.clone(),
            score: None,
            error: Some(error),
            reported: Vec::new(),
            input_tokens: spent.usage.input_tokens,
            output_tokens: spent.usage.output_tokens,
            dollars: spent.cost_usd(),
            seconds: started.elapsed().as_secs_f64(),
        }
    };
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
    let prepared = match &case.source {
        Source::Local { repo, base, head } => context::of_revisions(
            &here.join(repo),
            (base, head),
            config.config.clone(),
            &args,
            settings,
        ),
        Source::Patch { base, patch } => {
            let package = case.origin.as_ref().map(|o| o.package.as_str());
            let name = package.and_then(|p| p.rsplit('/').next()).unwrap_or("repo");
            crate::eval::patched::materialize(&here.join(base), &here.join(patch), name)
                .map_err(anyhow::Error::msg)
                .and_then(|repo| {
                    // The context reads all it needs now: the repository can go.
                    let revisions = (crate::eval::patched::BASE, crate::eval::patched::HEAD);
                    context::of_revisions(
                        repo.path(),
                        revisions,
                        config.config.clone(),
                        &args,
                        settings,
                    )
                })
        }
        Source::PullRequest(_) => Err(anyhow::anyhow!(
            "pull request cases are not run yet: use a local repository with base and head"
        )),
    };
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => return failed(format!("{e:#}")),
    };
    let reviewed = match pipeline::review(&engine, &prepared.ctx).await {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    let spent = meter.total();
    let p = &reviewed.placement;
    let reported: Vec<_> = p
        .inline
        .iter()
        .map(|x| x.finding.clone())
        .chain(p.summary_only.iter().map(|u| u.finding.clone()))
        .collect();
    CaseRun {
        id: case.id.clone(),
        score: Some(score::score(case, &reported, slack)),
        error: None,
        reported,
        input_tokens: spent.usage.input_tokens,
        output_tokens: spent.usage.output_tokens,
        dollars: spent.cost_usd(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// `codex-review eval`: a replay needs no model; a run uses the CLI's model client and
/// limits (`OPENAI_API_KEY`, ...), without progress lines of its own.
pub async fn main(args: &EvalArgs, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    if args.replay {
        return write_report(args, replay(args, &read_dataset(args)?)?);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = CodebaseSettings::from_lookup(&env, &format!("eval-{}", std::process::id()))
        .map_err(anyhow::Error::msg)?;
    let limits = crate::settings::Limits::default();
    let model = super::model_client(&env, &limits)?;
    let engine = Engine {
        model: &model,
        limits: &limits,
        tool_limits: settings.tools,
        meter: Meter::new(),
        report: Arc::new(|_| {}),
    };
    eval(args, &engine, &settings).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_read() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let full = args(&[
            "d.jsonl", "--config", "a.yml", "--config", "b.yml", "--out", "o", "--slack", "0",
        ])
        .unwrap();
        assert_eq!(
            full.configs,
            [PathBuf::from("a.yml"), PathBuf::from("b.yml")]
        );
        assert_eq!(
            (full.out, full.slack, full.replay),
            (PathBuf::from("o"), 0, false)
        );
        let replay = args(&["d.jsonl", "--replay", "o"]).unwrap();
        assert!(replay.replay && replay.out == Path::new("o") && replay.slack == 3);
        assert!(args(&["d.jsonl", "--replay", "o", "--config", "a.yml"]).is_err());
        assert!(args(&["--out", "o"]).is_err());
        assert!(args(&["d.jsonl", "e.jsonl"]).is_err());
        assert!(args(&["d.jsonl", "--slack", "many"]).is_err());
        assert!(args(&["d.jsonl", "--parallel", "4"]).is_err());
    }
}
