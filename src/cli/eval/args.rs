//! The arguments of `codex-review eval`, and the names of its configurations.

use std::path::PathBuf;

use anyhow::bail;

use crate::eval::overrides::{NotKeyValue, Overrides};

pub const USAGE: &str = "usage: codex-review eval DATASET [--config FILE]... [--set KEY=VALUE]... [OPTIONS]\n       codex-review eval DATASET --replay DIR [--set KEY=VALUE]... [OPTIONS]\n\n\
DATASET     JSON Lines of labelled cases (see eval/dataset.schema.json)\n\
--config    a repository configuration to run every case under (repeatable)\n\
--set       replace a configuration key, such as review.min_priority=0 (repeatable)\n\
--out       where scored cases, cassettes and the report go (default eval-out, or\n\
            eval-replay for a replay); a rerun resumes\n\
--replay    run the pipeline again over the cassettes recorded in DIR, without a model\n\
--slack     lines a finding may be off and still match (default 3)\n\
--parallel  cases run side by side (default 2)\n\
--runs      times each case runs; the report gives means and 95% intervals (default 1)\n\
--judge     a model that checks each matched finding names the expected problem";

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
    /// Cases run side by side.
    pub parallel: usize,
    /// Times each case runs.
    pub runs: u32,
    /// The model that judges matched findings (`None`: no judge).
    pub judge: Option<String>,
}

/// What is wrong with the arguments of `eval`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalArgsError {
    #[error("{0} needs a value")]
    NoValue(&'static str),
    #[error(transparent)]
    Set(#[from] NotKeyValue),
    #[error("--parallel takes a number of cases, at least 1")]
    Parallel,
    #[error("--runs takes a number of runs, at least 1")]
    Runs,
    #[error("--slack takes a number of lines")]
    Slack(#[source] std::num::ParseIntError),
    #[error("unknown option {0}")]
    Unknown(String),
    #[error("one dataset only ({0})")]
    SecondDataset(String),
    #[error("a dataset is required")]
    NoDataset,
    #[error("--replay runs the recorded configurations: no --config")]
    ReplayWithConfig,
    #[error("--out must not be the directory replayed")]
    OutIsReplayed,
}

/// Parses the arguments after `eval`.
pub fn parse_args(args: &[String]) -> Result<EvalArgs, EvalArgsError> {
    let mut parsed = EvalArgs {
        dataset: PathBuf::new(),
        configs: Vec::new(),
        out: PathBuf::new(),
        replay: None,
        sets: Overrides::default(),
        slack: 3,
        parallel: 2,
        runs: 1,
        judge: None,
    };
    let mut it = args.iter();
    let (mut dataset, mut out) = (None, None);
    while let Some(arg) = it.next() {
        let mut value = |name| it.next().cloned().ok_or(EvalArgsError::NoValue(name));
        match arg.as_str() {
            "--config" => parsed.configs.push(value("--config")?.into()),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--replay" => parsed.replay = Some(value("--replay")?.into()),
            "--set" => parsed.sets.push(&value("--set")?)?,
            "--judge" => parsed.judge = Some(value("--judge")?),
            "--parallel" => {
                parsed.parallel = value("--parallel")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(EvalArgsError::Parallel)?;
            }
            "--runs" => {
                parsed.runs = value("--runs")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(EvalArgsError::Runs)?;
            }
            "--slack" => {
                parsed.slack = value("--slack")?.parse().map_err(EvalArgsError::Slack)?;
            }
            other if other.starts_with('-') => {
                return Err(EvalArgsError::Unknown(other.to_owned()));
            }
            other if dataset.is_none() => dataset = Some(PathBuf::from(other)),
            other => return Err(EvalArgsError::SecondDataset(other.to_owned())),
        }
    }
    parsed.dataset = dataset.ok_or(EvalArgsError::NoDataset)?;
    if parsed.replay.is_some() && !parsed.configs.is_empty() {
        return Err(EvalArgsError::ReplayWithConfig);
    }
    let default_out = if parsed.replay.is_some() {
        "eval-replay"
    } else {
        "eval-out"
    };
    parsed.out = out.unwrap_or_else(|| default_out.into());
    if parsed.replay.as_ref() == Some(&parsed.out) {
        return Err(EvalArgsError::OutIsReplayed);
    }
    Ok(parsed)
}

/// Names of configuration files: each file's name without its extension, with as many of
/// its folders before it as tell it apart from the others (`a/x.yml` and `b/x.yml` are
/// `a/x` and `b/x`).
pub(super) fn names(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
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
        let slack = args(&["d.jsonl", "--slack", "many"]).unwrap_err();
        assert!(std::error::Error::source(&slack).is_some(), "{slack}");
        assert!(args(&["d.jsonl", "--set", "nothing"]).is_err());
        assert!(args(&["d.jsonl", "--frobnicate", "4"]).is_err());
        let scaled = args(&[
            "d.jsonl",
            "--parallel",
            "8",
            "--runs",
            "3",
            "--judge",
            "gpt-5-mini",
        ])
        .unwrap();
        assert_eq!(
            (scaled.parallel, scaled.runs, scaled.judge.as_deref()),
            (8, 3, Some("gpt-5-mini"))
        );
        assert_eq!((full.parallel, full.runs, full.judge), (2, 1, None));
        assert!(args(&["d.jsonl", "--parallel", "0"]).is_err());
        assert!(args(&["d.jsonl", "--runs", "0"]).is_err());
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
