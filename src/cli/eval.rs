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

mod case;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::eval::dataset::{self, Case};
use crate::eval::losses::losses;
use crate::eval::overrides::Overrides;
use crate::eval::report::{self, ConfigRun};
use crate::eval::score::{self, CaseRun, Stamp};
use crate::eval::stored::{self, Manifest};
use crate::model::cassette::{Cassette, Tape};
use crate::review::Loaded;
use crate::review::meter::Meter;
use crate::review::pipeline::Engine;
use crate::settings::CodebaseSettings;
use case::{Bench, Configuration};

pub const USAGE: &str = "usage: codex-review eval DATASET [--config FILE]... [--set KEY=VALUE]... [--out DIR] [--slack N]\n       codex-review eval DATASET --replay DIR [--set KEY=VALUE]... [--out DIR] [--slack N]\n\n\
DATASET     JSON Lines of labelled cases (see eval/dataset.schema.json)\n\
--config    a repository configuration to run every case under (repeatable)\n\
--set       replace a configuration key, such as review.min_priority=0 (repeatable)\n\
--out       where scored cases, cassettes and the report go (default eval-out, or\n\
            eval-replay for a replay); a rerun resumes\n\
--replay    run the pipeline again over the cassettes recorded in DIR, without a model\n\
--slack     lines a finding may be off and still match (default 3)";

/// What `eval` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalArgs {
    pub dataset: PathBuf,
    pub configs: Vec<PathBuf>,
    pub out: PathBuf,
    /// The recorded run to replay.
    pub replay: Option<PathBuf>,
    pub sets: Overrides,
    pub slack: u32,
}

/// Parses the arguments after `eval`.
pub fn parse_args(args: &[String]) -> Result<EvalArgs, String> {
    let mut parsed = EvalArgs {
        dataset: PathBuf::new(),
        configs: Vec::new(),
        out: PathBuf::new(),
        replay: None,
        sets: Overrides::default(),
        slack: 3,
    };
    let mut it = args.iter();
    let (mut dataset, mut out) = (None, None);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--config" => parsed.configs.push(value("--config")?.into()),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--replay" => parsed.replay = Some(value("--replay")?.into()),
            "--set" => parsed.sets.push(&value("--set")?)?,
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
    if parsed.replay.is_some() && !parsed.configs.is_empty() {
        return Err("--replay runs the recorded configurations: no --config".into());
    }
    let default_out = if parsed.replay.is_some() {
        "eval-replay"
    } else {
        "eval-out"
    };
    parsed.out = out.unwrap_or_else(|| default_out.into());
    if parsed.replay.as_ref() == Some(&parsed.out) {
        return Err("--out must not be the directory replayed".into());
    }
    Ok(parsed)
}

/// Names of configuration files: each file's name without its extension, with as many of
/// its folders before it as tell it apart from the others (`a/x.yml` and `b/x.yml` are
/// `a/x` and `b/x`).
fn names(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let parts: Vec<Vec<String>> = paths
        .iter()
        .map(|p| {
            let mut parts: Vec<String> = p
                .with_extension("")
                .components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect();
            parts.reverse();
            parts
        })
        .collect();
    let name = |parts: &[String], n: usize| {
        let mut taken: Vec<&str> = parts.iter().take(n).map(String::as_str).collect();
        taken.reverse();
        taken.join("/")
    };
    let mut depth = vec![1; paths.len()];
    loop {
        let now: Vec<String> = (0..paths.len())
            .map(|i| name(&parts[i], depth[i]))
            .collect();
        let mut grew = false;
        for i in 0..paths.len() {
            let clash = (0..paths.len()).any(|j| j != i && now[j] == now[i]);
            if clash && depth[i] < parts[i].len() {
                depth[i] += 1;
                grew = true;
            }
        }
        if !grew {
            if let Some(i) = (0..now.len()).find(|&i| now[i + 1..].contains(&now[i])) {
                bail!("{} is given twice", paths[i].display());
            }
            return Ok(now);
        }
    }
}

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
/// output directory; returns the Markdown.
pub async fn eval(
    args: &EvalArgs,
    engine: &Engine<'_>,
    settings: &CodebaseSettings,
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
    let bench = Bench {
        engine,
        settings,
        here: args.dataset.parent().unwrap_or(Path::new(".")),
        sets: &args.sets,
    };
    let mut runs = Vec::new();
    for config in configs {
        let folder = stored::folder(&args.out, &config.name);
        std::fs::create_dir_all(&folder)?;
        if args.replay.is_none() {
            let manifest = Manifest {
                name: config.name.clone(),
                text: config.text.clone(),
            };
            stored::write(&stored::manifest_file(&folder), &manifest)?;
        }
        let mut done = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().enumerate() {
            let mut run = run_one(args, &bench, case, &config, &folder).await?;
            // Every case is scored again (a new slack, an edited label); a failed one has
            // reported nothing: its expected findings are misses.
            run.score = Some(score::score(case, &run.reported, args.slack));
            run.losses = run.trace.as_ref().map(|t| losses(case, t, args.slack));
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
    write_report(args, &cases, runs)
}

/// One case: replayed from its cassette, kept from an earlier run, or run and recorded.
async fn run_one(
    args: &EvalArgs,
    bench: &Bench<'_>,
    case: &Case,
    config: &Configuration,
    folder: &Path,
) -> anyhow::Result<CaseRun> {
    let file = stored::case_file(folder, &case.id);
    let stamp = Stamp::of(case, config.text.as_deref(), &args.sets.text());
    let run = if let Some(dir) = &args.replay {
        let recorded = stored::folder(dir, &config.name);
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
    let md = report::markdown(&runs, &note) + &report::stages(&runs, cases);
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
    let settings = CodebaseSettings::from_lookup(&env, &format!("eval-{}", std::process::id()))
        .map_err(anyhow::Error::msg)?;
    let limits = crate::settings::Limits::default();
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
    eval(args, &engine, &settings).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_read() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let full = args(&[
            "d.jsonl",
            "--config",
            "a.yml",
            "--config",
            "b.yml",
            "--out",
            "o",
            "--slack",
            "0",
            "--set",
            "review.min_priority=0",
        ])
        .unwrap();
        assert_eq!(
            full.configs,
            [PathBuf::from("a.yml"), PathBuf::from("b.yml")]
        );
        assert_eq!(
            (full.out, full.slack, full.replay),
            (PathBuf::from("o"), 0, None)
        );
        assert_eq!(full.sets.text(), "review.min_priority=0\n");
        let replay = args(&["d.jsonl", "--replay", "o"]).unwrap();
        assert_eq!(replay.replay, Some(PathBuf::from("o")));
        assert_eq!(
            (replay.out, replay.slack),
            (PathBuf::from("eval-replay"), 3)
        );
        assert!(args(&["d.jsonl", "--replay", "o", "--config", "a.yml"]).is_err());
        assert!(args(&["d.jsonl", "--replay", "o", "--out", "o"]).is_err());
        assert!(args(&["--out", "o"]).is_err());
        assert!(args(&["d.jsonl", "e.jsonl"]).is_err());
        assert!(args(&["d.jsonl", "--slack", "many"]).is_err());
        assert!(args(&["d.jsonl", "--set", "nothing"]).is_err());
        assert!(args(&["d.jsonl", "--frobnicate", "4"]).is_err());
    }

    #[test]
    fn configurations_are_named_after_as_much_of_their_path_as_tells_them_apart() {
        let paths = |p: &[&str]| p.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            names(&paths(&["a/x.yml", "b/x.yml", "c/y.yml"])).unwrap(),
            ["a/x", "b/x", "y"]
        );
        assert_eq!(
            names(&paths(&["p/a/x.yml", "q/a/x.yml"])).unwrap(),
            ["p/a/x", "q/a/x"]
        );
        assert!(names(&paths(&["a/x.yml", "a/x.yml"])).is_err());
    }
}
