//! The rooms of `src/` import one way, from the entry points down to the leaves: a test reads
//! every `crate::ROOM` path of the code (grouped `crate::{…}` imports too) and fails on an
//! import that goes up or sideways, against the order below (`docs/architecture.md` draws it).
//! A room that is in no layer fails it too: a new room takes its place in the order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, from the top (the entry point) to the bottom (the leaves). A room imports only
/// rooms of the layers below its own; rooms of one layer do not import each other.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "the entry point, which wires the service together",
        &["app"],
    ),
    ("what a person runs from a shell", &["cli", "doctor"]),
    ("the eval", &["eval"]),
    ("the web service: webhook, setup, status", &["server"]),
    ("the review API", &["api"]),
    (
        "the settings, filled in from the environment",
        &["settings"],
    ),
    ("the App's job handler", &["review"]),
    (
        "the comment commands and the background loops",
        &["commands", "worker"],
    ),
    ("deliveries accepted into the queue", &["intake"]),
    ("the review pipeline", &["pipeline"]),
    (
        "what the pipeline keeps and writes: findings' threads, Markdown",
        &["threads", "markdown"],
    ),
    ("the repository's configuration", &["repo_config"]),
    ("the repository's code and the model's tools", &["codebase"]),
    ("the services: GitHub, the model", &["github", "model"]),
    ("diffs", &["diff"]),
    ("the database", &["store"]),
    ("the deliveries' meaning", &["event"]),
    (
        "the leaves",
        &[
            "ids",
            "when",
            "retry",
            "scratch",
            "metrics",
            "untrusted",
            "secret",
            "chart",
        ],
    ),
    (
        "how an error is shown to a person, which the leaves may use too",
        &["error_chain"],
    ),
];

/// Rooms the pipeline must not import even where the order would let it: it knows nothing of
/// what triggered a review.
const NOT_FOR_THE_PIPELINE: &[&str] = &["event"];

/// The room of a file: its folder under `src/`, or its own name for a file at the top.
fn room_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let room = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(room, "main" | "lib")).then(|| room.to_owned())
}

fn identifier(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every room named after `crate::` in `text`, comments left out; in a grouped import
/// (`crate::{a::X, b}`) each item's first name.
fn rooms_named(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut named = BTreeSet::new();
    for rest in code.split("crate::").skip(1) {
        let Some(group) = rest.strip_prefix('{') else {
            named.insert(identifier(rest));
            continue;
        };
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    named.insert(identifier(&group[item_start..i]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    named.insert(identifier(&group[item_start..i]));
                    item_start = i + 1;
                }
                _ => {}
            }
        }
    }
    named.remove("");
    named
}

/// The imports of `graph` that go against `layers`, as `from -> to (why)`; and the rooms in
/// no layer.
fn against_the_order(
    graph: &BTreeMap<String, BTreeSet<String>>,
    layers: &[(&str, &[&str])],
) -> Vec<String> {
    let depth: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, (_, rooms))| rooms.iter().map(move |r| (*r, i)))
        .collect();
    let mut wrong = Vec::new();
    for (room, imports) in graph {
        let Some(&from) = depth.get(room.as_str()) else {
            wrong.push(format!("{room} is in no layer"));
            continue;
        };
        for to_room in imports {
            let Some(&to) = depth.get(to_room.as_str()) else {
                continue;
            };
            if to <= from {
                let how = if to == from { "sideways" } else { "up" };
                wrong.push(format!(
                    "{room} -> {to_room} ({how}: {} imports {})",
                    layers[from].0, layers[to].0
                ));
            }
        }
    }
    wrong
}

/// The rooms' graph of `src/`: each room and the rooms its files name.
fn graph_of_src() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = crate::support::rust_files(&src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        if let Some(room) = room_of(&src, file) {
            graph.entry(room).or_default();
        }
    }
    let rooms: BTreeSet<String> = graph.keys().cloned().collect();
    for file in &files {
        let Some(room) = room_of(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for named in rooms_named(&text) {
            if named != room && rooms.contains(&named) {
                graph.get_mut(&room).unwrap().insert(named);
            }
        }
    }
    graph
}

#[test]
fn the_rooms_of_src_import_only_downward() {
    let graph = graph_of_src();
    assert!(graph.len() > 20, "{graph:?}");
    let wrong = against_the_order(&graph, LAYERS);
    assert!(
        wrong.is_empty(),
        "imports against the order of the rooms (entry points down to the leaves):\n{}",
        wrong.join("\n")
    );
    let listed: BTreeSet<&str> = LAYERS.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    let gone: Vec<&&str> = listed.iter().filter(|r| !graph.contains_key(**r)).collect();
    assert!(
        gone.is_empty(),
        "rooms in the order but not in src/: {gone:?}"
    );
    let pipeline = &graph["pipeline"];
    for room in NOT_FOR_THE_PIPELINE {
        assert!(!pipeline.contains(*room), "the pipeline imports {room}");
    }
}

#[test]
fn an_import_up_or_sideways_is_caught() {
    let layers: &[(&str, &[&str])] = &[("top", &["a"]), ("middle", &["b", "c"]), ("leaf", &["d"])];
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = ["a", "b", "c", "d"]
            .iter()
            .map(|r| ((*r).to_owned(), BTreeSet::new()))
            .collect();
        for (from, to) in edges {
            g.get_mut(*from).unwrap().insert((*to).to_owned());
        }
        g
    };
    assert!(against_the_order(&graph(&[("a", "b"), ("b", "d"), ("a", "d")]), layers).is_empty());
    let up = against_the_order(&graph(&[("d", "a")]), layers);
    assert_eq!(up.len(), 1);
    assert!(up[0].starts_with("d -> a (up"), "{up:?}");
    let sideways = against_the_order(&graph(&[("b", "c")]), layers);
    assert!(sideways[0].starts_with("b -> c (sideways"), "{sideways:?}");
    let mut extra = graph(&[]);
    extra.insert("e".into(), BTreeSet::new());
    assert_eq!(against_the_order(&extra, layers), ["e is in no layer"]);
}

#[test]
fn imports_are_read_single_and_grouped() {
    let text = "use crate::model::X; // crate::store\nlet y = crate::diff::z();\n\
                use crate::{\n    github::{A, B},\n    ids::C,\n    when,\n};";
    assert_eq!(
        rooms_named(text),
        ["diff", "github", "ids", "model", "when"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    );
}
