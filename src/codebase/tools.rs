//! The tools the model may call (`read_file`, `search`), run in-process over a snapshot: no
//! shell, no process, nothing of the repository is executed. A path the model gives is looked up in the
//! snapshot's index, never opened on the file system, so no path can reach outside it; `..`
//! and absolute paths are refused with an error answer. Answers are line-numbered, bounded in
//! lines, bytes and matches (with a note when cut), and fenced as untrusted data like the diff.

use std::collections::BinaryHeap;
use std::fmt::Write;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::unpack::{Packed, index_path, pack_path};

use serde::Deserialize;
use serde_json::{Value, json};

/// Lines `read_file` returns at most per call.
pub const MAX_READ_LINES: usize = 400;
/// Bytes of one answer at most (before the fence).
pub const MAX_ANSWER_BYTES: usize = 32 * 1024;
/// Matches `search` returns at most.
pub const MAX_MATCHES: usize = 100;
/// Paths `list_files` returns at most.
pub const MAX_LISTED: usize = 500;
/// Characters of one matching line shown at most.
const MAX_LINE_CHARS: usize = 240;
/// A pattern compiles to at most this much memory.
const MAX_REGEX_BYTES: usize = 1 << 20;

/// The function tools offered to the model, with strict schemas (every parameter required,
/// optional ones nullable).
pub fn definitions() -> Vec<Value> {
    vec![
        json!({
            "type": "function",
            "name": "read_file",
            "description": "Read lines of a file of the repository at the reviewed commit. Lines come back as `N: text`.",
            "strict": true,
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Repository-relative path, such as src/main.rs."},
                    "start_line": {"type": ["integer", "null"], "description": "First line (1-based); null for the start."},
                    "end_line": {"type": ["integer", "null"], "description": "Last line (inclusive); null for as far as allowed."}
                },
                "required": ["path", "start_line", "end_line"],
                "additionalProperties": false
            }
        }),
        json!({
            "type": "function",
            "name": "search",
            "description": "Search the repository's files with a regular expression (Rust regex syntax). Matches come back as `path:line: text`.",
            "strict": true,
            "parameters": {
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "A regular expression, such as fn\\s+parse_config."},
                    "path_glob": {"type": ["string", "null"], "description": "Only files matching this glob, such as src/**/*.rs; null for all."}
                },
                "required": ["pattern", "path_glob"],
                "additionalProperties": false
            }
        }),
        json!({
            "type": "function",
            "name": "list_files",
            "description": "List the repository's file paths, optionally only those matching a glob.",
            "strict": true,
            "parameters": {
                "type": "object",
                "properties": {
                    "path_glob": {"type": ["string", "null"], "description": "Such as tests/**; null for all."}
                },
                "required": ["path_glob"],
                "additionalProperties": false
            }
        }),
    ]
}

/// What one call did, for the summary's "What the reviewer looked at".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Looked {
    Read(String),
    Searched(String),
    Listed,
    Refused,
}

/// The tools over one snapshot directory.
#[derive(Debug, Clone)]
pub struct Tools {
    pack: PathBuf,
    index_file: PathBuf,
    index: Arc<OnceLock<Result<Vec<Packed>, String>>>,
}

impl Tools {
    /// Tools over the snapshot unpacked into `snapshot` (see `unpack`).
    pub fn new(snapshot: impl AsRef<Path>) -> Self {
        let snapshot = snapshot.as_ref();
        Self {
            pack: pack_path(snapshot),
            index_file: index_path(snapshot),
            index: Arc::new(OnceLock::new()),
        }
    }

    /// The text files in the pack, in path order (read once).
    fn index(&self) -> Result<&[Packed], String> {
        self.index
            .get_or_init(|| {
                let text = super::disk::open(&self.index_file)
                    .and_then(std::io::read_to_string)
                    .map_err(|_| "the snapshot's index cannot be read".to_owned())?;
                text.lines()
                    .map(|l| {
                        serde_json::from_str(l)
                            .map_err(|_| "the snapshot's index is damaged".to_owned())
                    })
                    .collect()
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    /// Runs the tool `name` with its JSON `arguments`; the answer is fenced text, an error
    /// answer for anything the tool refuses.
    pub fn call(&self, name: &str, arguments: &str) -> (String, Looked) {
        let (answer, looked) = match ToolCall::parse(name, arguments) {
            Ok(call) => {
                let answer = match &call {
                    ToolCall::Read {
                        path,
                        start_line,
                        end_line,
                    } => self.read_file(path, *start_line, *end_line),
                    ToolCall::Search { pattern, path_glob } => {
                        self.search(pattern, path_glob.as_deref())
                    }
                    ToolCall::List { path_glob } => self.list_files(path_glob.as_deref()),
                };
                let looked = call.looked(answer.is_ok());
                (answer, looked)
            }
            Err(e) => (Err(e), Looked::Refused),
        };
        (fenced(&answer_text(answer)), looked)
    }

    /// The snapshot's file at a repository-relative `path`.
    fn lookup(&self, path: &str) -> Result<&Packed, String> {
        let wanted = normalize(path)?;
        let index = self.index()?;
        match index.binary_search_by(|p| p.path.as_str().cmp(&wanted)) {
            Ok(i) => Ok(&index[i]),
            Err(i) => {
                let dir = format!("{wanted}/");
                if index.get(i).is_some_and(|p| p.path.starts_with(&dir)) {
                    Err(format!(
                        "{path:?} is a directory; list_files shows its files"
                    ))
                } else {
                    Err(format!(
                        "{path:?} is not a file of the repository at this commit"
                    ))
                }
            }
        }
    }

    /// The bytes of a text file of the pack.
    fn bytes(&self, file: &Packed, into: &mut Vec<u8>) -> Result<(), String> {
        let pack =
            super::disk::open(&self.pack).map_err(|_| "the snapshot cannot be read".to_owned())?;
        into.resize(file.len as usize, 0);
        pack.read_exact_at(into, file.offset)
            .map_err(|_| "the snapshot cannot be read".to_owned())
    }

    /// The whole text of a file of the snapshot (for the app's own use, not the model's).
    pub fn text(&self, path: &str) -> Result<String, String> {
        let file = self.lookup(path)?;
        unreadable(path, file)?;
        let mut bytes = Vec::new();
        self.bytes(file, &mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Whether `path` is a file of the snapshot.
    pub fn has_file(&self, path: &str) -> bool {
        self.lookup(path).is_ok()
    }

    /// `read_file`: lines `start..=end` (1-based) as `N: text`.
    pub fn read_file(
        &self,
        path: &str,
        start: Option<i64>,
        end: Option<i64>,
    ) -> Result<String, String> {
        let file = self.lookup(path)?;
        unreadable(path, file)?;
        let mut bytes = Vec::new();
        self.bytes(file, &mut bytes)?;
        number_lines(path, &String::from_utf8_lossy(&bytes), start, end)
    }

    /// `search`: matching lines as `path:line: text`, in path order. The text files are read
    /// from the snapshot's pack in one sequential pass; the first matches in path order are
    /// kept (bounded), the rest counted.
    pub fn search(&self, pattern: &str, path_glob: Option<&str>) -> Result<String, String> {
        let regex = regex::bytes::RegexBuilder::new(pattern)
            .size_limit(MAX_REGEX_BYTES)
            .dfa_size_limit(MAX_REGEX_BYTES)
            .multi_line(true)
            .build()
            .map_err(|e| {
                format!(
                    "the pattern is not a valid regular expression: {}",
                    last_line(&e.to_string())
                )
            })?;
        let glob = compile_glob(path_glob)?;
        let index = self.index()?;
        let mut wanted: Vec<(usize, &Packed)> = index
            .iter()
            .enumerate()
            .filter(|(_, p)| p.text && glob.as_ref().is_none_or(|g| g.is_match(&p.path)))
            .collect();
        wanted.sort_by_key(|(_, p)| p.offset);
        let mut pack = BufReader::with_capacity(
            1 << 20,
            super::disk::open(&self.pack).map_err(|_| "the snapshot cannot be read".to_owned())?,
        );
        let (mut at, mut total) = (0u64, 0usize);
        let mut kept: BinaryHeap<(usize, usize, String)> = BinaryHeap::new();
        let mut bytes = Vec::new();
        for (rank, file) in &wanted {
            if file.offset != at {
                pack.seek(SeekFrom::Start(file.offset))
                    .map_err(|_| "the snapshot cannot be read".to_owned())?;
            }
            bytes.resize(file.len as usize, 0);
            pack.read_exact(&mut bytes)
                .map_err(|_| "the snapshot cannot be read".to_owned())?;
            at = file.offset + file.len;
            for_each_matching_line(&regex, &bytes, |line_no, line| {
                total += 1;
                let key = (*rank, line_no);
                if kept.len() < MAX_MATCHES || kept.peek().is_some_and(|(r, l, _)| key < (*r, *l)) {
                    let text = String::from_utf8_lossy(line);
                    let text = text.trim_end_matches('\r');
                    let cut: String = text.chars().take(MAX_LINE_CHARS).collect();
                    let ellipsis = if cut.len() < text.len() { "…" } else { "" };
                    kept.push((key.0, key.1, format!("{cut}{ellipsis}")));
                    if kept.len() > MAX_MATCHES {
                        kept.pop();
                    }
                }
            });
        }
        if total == 0 {
            return Ok(format!("no match in {} files", wanted.len()));
        }
        let mut out = String::new();
        for (rank, line_no, text) in kept.into_sorted_vec() {
            if out.len() > MAX_ANSWER_BYTES {
                break;
            }
            let _ = writeln!(out, "{}:{line_no}: {text}", index[rank].path);
        }
        let shown = out.lines().count();
        if total > shown {
            let _ = write!(
                out,
                "({} more matches not shown: narrow the pattern or path_glob)",
                total - shown
            );
        } else {
            let _ = write!(out, "({shown} matches in {} files searched)", wanted.len());
        }
        Ok(out)
    }

    /// `list_files`: repository paths, in order.
    pub fn list_files(&self, path_glob: Option<&str>) -> Result<String, String> {
        list_paths(self.index()?.iter().map(|f| f.path.as_str()), path_glob)
    }
}

/// One tool call, its arguments read.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    Read {
        path: String,
        start_line: Option<i64>,
        end_line: Option<i64>,
    },
    Search {
        pattern: String,
        path_glob: Option<String>,
    },
    List {
        path_glob: Option<String>,
    },
}

impl ToolCall {
    /// The call `name` with its JSON `arguments`, or why it cannot be run.
    pub fn parse(name: &str, arguments: &str) -> Result<ToolCall, String> {
        #[derive(Deserialize)]
        struct Read {
            path: String,
            start_line: Option<i64>,
            end_line: Option<i64>,
        }
        #[derive(Deserialize)]
        struct Search {
            pattern: String,
            path_glob: Option<String>,
        }
        #[derive(Deserialize)]
        struct List {
            path_glob: Option<String>,
        }
        let invalid = |e: serde_json::Error| format!("invalid arguments: {e}");
        match name {
            "read_file" => serde_json::from_str::<Read>(arguments)
                .map(|a| ToolCall::Read {
                    path: a.path,
                    start_line: a.start_line,
                    end_line: a.end_line,
                })
                .map_err(invalid),
            "search" => serde_json::from_str::<Search>(arguments)
                .map(|a| ToolCall::Search {
                    pattern: a.pattern,
                    path_glob: a.path_glob,
                })
                .map_err(invalid),
            "list_files" => serde_json::from_str::<List>(arguments)
                .map(|a| ToolCall::List {
                    path_glob: a.path_glob,
                })
                .map_err(invalid),
            other => Err(format!(
                "there is no tool named {:?}",
                other.chars().take(40).collect::<String>()
            )),
        }
    }

    /// What the call looked at, once run (`ok`: it answered without an error).
    pub fn looked(&self, ok: bool) -> Looked {
        match self {
            _ if !ok => Looked::Refused,
            ToolCall::Read { path, .. } => Looked::Read(normalize(path).unwrap_or_default()),
            ToolCall::Search { pattern, path_glob } => Looked::Searched(match path_glob {
                Some(glob) if !glob.trim().is_empty() => format!("{pattern} in {glob}"),
                _ => pattern.clone(),
            }),
            ToolCall::List { .. } => Looked::Listed,
        }
    }
}

/// The text of an answer, `error: ...` for a refusal.
pub fn answer_text(answer: Result<String, String>) -> String {
    match answer {
        Ok(text) => text,
        Err(e) => format!("error: {e}"),
    }
}

/// A repository-relative path in its plain form (`a/b.rs`), or why it is not one: `..`,
/// absolute paths, backslashes and NUL are refused, never resolved.
pub fn normalize(path: &str) -> Result<String, String> {
    if path.contains('\0') || path.contains('\\') {
        return Err("not a repository path".into());
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path.trim()).components() {
        match component {
            Component::Normal(name) => parts.push(name.to_str().unwrap_or_default()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{path:?} is not a path inside the repository (no `..`, no absolute paths)"
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err("an empty path".into());
    }
    Ok(parts.join("/"))
}

/// `read_file`'s answer for the text of `path`: lines `start..=end` (1-based) as `N: text`,
/// bounded in lines and bytes, with a note saying where to read on when cut.
pub fn number_lines(
    path: &str,
    text: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    let start = start.unwrap_or(1).max(1) as usize;
    if total == 0 {
        return Ok(format!("({path} is empty)"));
    }
    if start > total {
        return Err(format!(
            "{path:?} has {total} lines; line {start} is past its end"
        ));
    }
    let wanted_end = end.map_or(total, |e| (e.max(1) as usize).min(total));
    let mut out = String::new();
    let mut last = start.saturating_sub(1);
    for (i, line) in lines.iter().enumerate().take(wanted_end).skip(start - 1) {
        let n = i + 1;
        if n - start >= MAX_READ_LINES || out.len() + line.len() > MAX_ANSWER_BYTES {
            break;
        }
        let _ = writeln!(out, "{n}: {line}");
        last = n;
    }
    if last < wanted_end {
        let _ = write!(
            out,
            "(cut at line {last} of {total}: read on with start_line={})",
            last + 1
        );
    } else {
        let _ = write!(out, "(lines {start}-{last} of {total})");
    }
    Ok(out)
}

/// Why a file of the snapshot has no text to read: too large (with its size), or binary.
fn unreadable(path: &str, file: &Packed) -> Result<(), String> {
    if file.too_large {
        return Err(format!(
            "{path:?} is too large to read: {} bytes, over the snapshot's limit for one file",
            file.len
        ));
    }
    if !file.text {
        return Err(format!("{path:?} is a binary file"));
    }
    Ok(())
}

/// `list_files`' answer over `paths` (in order), bounded.
pub fn list_paths<'a>(
    paths: impl Iterator<Item = &'a str>,
    path_glob: Option<&str>,
) -> Result<String, String> {
    let glob = compile_glob(path_glob)?;
    let mut out = String::new();
    let mut total = 0usize;
    for path in paths {
        if glob.as_ref().is_some_and(|g| !g.is_match(path)) {
            continue;
        }
        total += 1;
        if total <= MAX_LISTED {
            out.push_str(path);
            out.push('\n');
        }
    }
    if total > MAX_LISTED {
        let _ = write!(
            out,
            "({} more files not listed: narrow path_glob)",
            total - MAX_LISTED
        );
    } else {
        let _ = write!(out, "({total} files)");
    }
    Ok(out)
}

fn compile_glob(glob: Option<&str>) -> Result<Option<globset::GlobMatcher>, String> {
    glob.filter(|g| !g.trim().is_empty())
        .map(|g| {
            globset::GlobBuilder::new(g.trim())
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|e| format!("path_glob is not a valid glob: {e}"))
        })
        .transpose()
}

/// Calls `each(line number, line)` once per line holding a match of `regex` in `bytes`.
fn for_each_matching_line(
    regex: &regex::bytes::Regex,
    bytes: &[u8],
    mut each: impl FnMut(usize, &[u8]),
) {
    let (mut line_no, mut counted_to, mut next_line) = (1usize, 0usize, 0usize);
    let mut from = 0usize;
    while from <= bytes.len() {
        let Some(m) = regex.find_at(bytes, from) else {
            break;
        };
        let begin = bytes[..m.start()]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let end = bytes[m.start()..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| m.start() + i);
        if begin >= next_line {
            line_no += bytes[counted_to..begin]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted_to = begin;
            each(line_no, &bytes[begin..end]);
        }
        // The next match starts on a later line (one line is listed once).
        next_line = end + 1;
        from = next_line.max(m.end().max(m.start() + 1));
    }
}

/// The regex crate's message is a snippet with the reason on its last line.
fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).chars().take(200).collect()
}

/// A tool's answer as untrusted data: fenced with a tag that does not occur in it.
pub fn fenced(text: &str) -> String {
    let tag = crate::model::prompt::fence_for(&[text]);
    format!("BEGIN UNTRUSTED REPOSITORY DATA {tag}\n{text}\nEND UNTRUSTED REPOSITORY DATA {tag}")
}
