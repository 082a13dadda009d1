//! The CLI's context stage. A pull request by URL is read from GitHub with a token, as the App
//! reads it: its files, the configuration and AGENTS.md guidelines of its base, the content of
//! its most valuable files, and its head for the model's tools. A local diff is read from
//! standard input, with the configuration and guidelines of the work tree's `HEAD` (it has no
//! base on GitHub), and the work tree's `HEAD` for the tools. Neither has earlier reviews:
//! nothing is left out as dismissed or already posted.

use anyhow::{Context as _, bail};

use super::ReviewArgs;
use super::codebase::{self, CliCodebase};
use super::config;
use crate::codebase::local;
use crate::diff::{FileDiff, split_diff};
use crate::github::RepoClient;
use crate::ids::PrNumber;
use crate::pipeline::context::{agents_files, compose_guidelines, fetch_contents, guidelines};
use crate::pipeline::filter;
use crate::pipeline::{Context, Described, wants_tools};
use crate::repo_config::Loaded;
use crate::settings::CodebaseSettings;

/// A review's context, and what keeps the repository's files on disk while it runs.
pub struct Prepared {
    pub ctx: Context,
    /// Where `--post` posts: the pull request, and the web address of files at its head.
    pub pull: Option<(PrNumber, Option<String>)>,
    _codebase: Option<CliCodebase>,
}

/// Makes the configuration of a review from the text of the base's configuration file
/// (`None`: there is none), for an eval that replaces it or sets keys of it.
pub type MakeConfig<'a> = &'a dyn Fn(Option<&str>) -> anyhow::Result<Loaded>;

/// The context of pull request `pr`, under the configuration of its base (said on standard
/// error), or the one `make` makes of it.
pub async fn of_pull(
    gh: RepoClient,
    pr: PrNumber,
    args: &ReviewArgs,
    settings: &CodebaseSettings,
    make: Option<MakeConfig<'_>>,
) -> anyhow::Result<Prepared> {
    let pull = gh.pull(pr).await?;
    let head = pull
        .head_sha()
        .context("the pull request's head is not a commit id")?;
    let loaded = async {
        match make {
            None => config::of_pull(&gh, &pull.base.sha).await,
            Some(make) => {
                let path = crate::repo_config::CONFIG_PATH;
                make(
                    gh.file_at(path, &pull.base.sha, 256 * 1024)
                        .await?
                        .as_deref(),
                )
            }
        }
    };
    let (files, loaded, base_tree) =
        tokio::join!(gh.files(pr), loaded, gh.tree_paths(&pull.base.sha));
    let files: Vec<FileDiff> = files?.into_iter().map(|f| f.into_diff()).collect();
    let loaded = loaded?;
    let base_tree = base_tree
        .inspect_err(|e| {
            eprintln!(
                "codex-review: no AGENTS.md guidelines: {}",
                crate::error_chain::chain(e)
            )
        })
        .ok();
    let (reviewable, not_reviewed) = filter::select(&files, &loaded.config.paths);
    let changed: Vec<&str> = reviewable.iter().map(|f| f.path.as_str()).collect();
    let config = &loaded.config;
    let tools = args.tools && wants_tools(&config.review);
    // The files' contents come from the snapshot when there is one (no more GitHub calls);
    // without tools there is none, and they are read at once with the rest.
    let (guidelines, codebase, read_now) = tokio::join!(
        guidelines(&gh, &pull.base.sha, config, &changed, base_tree.as_ref()),
        async {
            match tools {
                true => Some(codebase::for_pull(settings, &gh, &head).await),
                false => None,
            }
        },
        async {
            match tools {
                true => None,
                false => Some(fetch_contents(&gh, &head, &reviewable, None).await),
            }
        }
    );
    let contents = match read_now {
        Some(contents) => contents,
        None => {
            let snapshot = codebase.as_ref().and_then(|c| c.toolbox.as_ref());
            fetch_contents(&gh, &head, &reviewable, snapshot).await
        }
    };
    let selected = changed.iter().map(|p| (*p).to_owned()).collect();
    let described = Described {
        repo: gh.repo().to_string(),
        title: pull.title.clone(),
        description: pull.body.clone().unwrap_or_default(),
        base_ref: pull.base.name.clone(),
        head_ref: pull.head.name.clone(),
    };
    let mut ctx = context(described, loaded, args, files, selected, not_reviewed);
    ctx.contents = contents;
    ctx.guidelines = guidelines;
    let blob_base = pull.blob_base(&head);
    ctx.head = Some((gh, head));
    Ok(with_codebase(ctx, Some((pr, blob_base)), codebase))
}

/// The context of the local diff `text`.
pub fn of_diff(
    text: &str,
    args: &ReviewArgs,
    settings: &CodebaseSettings,
) -> anyhow::Result<Prepared> {
    let files = split_diff(text);
    if files.is_empty() {
        bail!("standard input holds no diff");
    }
    let loaded = config::of_work_tree();
    let (reviewable, not_reviewed) = filter::select(&files, &loaded.config.paths);
    let changed: Vec<&str> = reviewable.iter().map(|f| f.path.as_str()).collect();
    let paths = local::paths_at_head();
    let guidelines = local_guidelines(&loaded, &changed, paths, local::file_at_head);
    let selected = changed.iter().map(|p| (*p).to_owned()).collect();
    let tools = args.tools && wants_tools(&loaded.config.review);
    let described = Described {
        repo: "local diff".into(),
        title: "Local changes".into(),
        description: String::new(),
        base_ref: "base".into(),
        head_ref: "working tree".into(),
    };
    // No file content is sent with the hunks: the diff may hold changes that `HEAD` does not.
    let mut ctx = context(described, loaded, args, files, selected, not_reviewed);
    ctx.guidelines = guidelines;
    let codebase = tools.then(|| codebase::for_work_tree(settings));
    Ok(with_codebase(ctx, None, codebase))
}

/// The context of the change from `base` to `head` of the git repository at `dir` (an eval
/// case): its configuration (unless `config` replaces it) and AGENTS.md guidelines from
/// `base`, the text of its first changed files at `head`, and `head` for the tools. The
/// model sees `described` (a title and a description written like a pull request's) and
/// neutral branch names: a revision's name may carry the answer.
pub fn of_revisions(
    dir: &std::path::Path,
    (base, head): (&str, &str),
    (title, description): (&str, &str),
    config: Option<Loaded>,
    args: &ReviewArgs,
    settings: &CodebaseSettings,
) -> anyhow::Result<Prepared> {
    let text = local::diff(dir, base, head)?;
    let files = split_diff(&text);
    if files.is_empty() {
        bail!("{base}..{head} changes nothing");
    }
    let loaded = config.unwrap_or_else(|| {
        Loaded::from_file(local::file_at(dir, base, crate::repo_config::CONFIG_PATH).as_deref())
    });
    let (reviewable, not_reviewed) = filter::select(&files, &loaded.config.paths);
    let changed: Vec<&str> = reviewable.iter().map(|f| f.path.as_str()).collect();
    // As the App: the text of the first changed files at the head, and AGENTS.md guidelines
    // of the base.
    let contents = changed
        .iter()
        .take(crate::pipeline::context::MAX_CONTENT_FILES)
        .filter_map(|p| local::file_at(dir, head, p).map(|text| ((*p).to_owned(), text)))
        .filter(|(_, text)| text.len() <= crate::pipeline::context::MAX_CONTENT_BYTES)
        .collect();
    let paths = local::paths_at(dir, base);
    let read = |path: &str| local::file_at(dir, base, path);
    let guidelines = local_guidelines(&loaded, &changed, paths, read);
    let selected = changed.iter().map(|p| (*p).to_owned()).collect();
    let tools = args.tools && wants_tools(&loaded.config.review);
    let described = Described {
        repo: dir
            .file_name()
            .map_or("local", |n| n.to_str().unwrap_or("local"))
            .into(),
        title: title.into(),
        description: description.into(),
        base_ref: "main".into(),
        head_ref: "change".into(),
    };
    let mut ctx = context(described, loaded, args, files, selected, not_reviewed);
    ctx.guidelines = guidelines;
    ctx.contents = contents;
    let codebase = tools.then(|| codebase::for_revision(settings, dir, head));
    Ok(with_codebase(ctx, None, codebase))
}

/// The configured instructions and the AGENTS.md guidelines for `changed`, from a revision
/// of a local repository with `paths`, its files read with `read`.
fn local_guidelines(
    loaded: &Loaded,
    changed: &[&str],
    paths: Option<Vec<String>>,
    read: impl Fn(&str) -> Option<String>,
) -> crate::repo_config::Guidelines {
    let agents = agents_files(&paths.unwrap_or_default(), changed);
    let texts = agents
        .into_iter()
        .filter_map(|path| read(&path).map(|text| (path, text)))
        .filter(|(_, text)| text.len() <= crate::pipeline::context::MAX_AGENTS_BYTES);
    compose_guidelines(&loaded.config, changed, texts)
}

/// A context with what both kinds share, and nothing read yet.
fn context(
    described: Described,
    loaded: Loaded,
    args: &ReviewArgs,
    pr_files: Vec<FileDiff>,
    selected: Vec<String>,
    not_reviewed: Vec<(String, String)>,
) -> Context {
    Context {
        described,
        config: loaded.config,
        config_error: loaded.error.as_ref().map(ToString::to_string),
        focus_areas: args.focus.clone(),
        pr_files,
        since: None,
        selected,
        not_reviewed,
        contents: Default::default(),
        guidelines: Default::default(),
        notes: String::new(),
        toolbox: None,
        codebase_note: None,
        earlier: Default::default(),
        known: Default::default(),
        verify: args.verify,
        head: None,
    }
}

/// `ctx` with the repository's tools, when there are any; their note goes to standard error.
fn with_codebase(
    mut ctx: Context,
    pull: Option<(PrNumber, Option<String>)>,
    codebase: Option<CliCodebase>,
) -> Prepared {
    if let Some(c) = &codebase {
        ctx.toolbox = c.toolbox.clone();
        ctx.codebase_note = c.note.clone();
        if let Some(note) = &c.note {
            eprintln!("codex-review: {}", super::print::printable(note));
        }
    }
    Prepared {
        ctx,
        pull,
        _codebase: codebase,
    }
}
