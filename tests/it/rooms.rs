//! The rooms of `src/` import one way: a test reads every `crate::ROOM` path of the code,
//! draws the rooms' graph and fails on a circle. The circles below are known and being taken
//! apart (issue 40); a new one, or a known one that grows, fails this test, and so does a known
//! one that is gone (take it off the list).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The circles still to be taken apart, each a set of rooms.
const KNOWN: &[&[&str]] = &[
    &["codebase", "github", "settings"],
    &["api", "server"],
    &["cli", "eval"],
];

/// The room of a file: its folder under `src/`, or its own name for a file at the top.
fn room_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let room = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(room, "main" | "lib")).then(|| room.to_owned())
}

/// Every room named after `crate::` in `text`, comments left out.
fn rooms_named(text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for rest in code.split("crate::").skip(1) {
            let room: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !room.is_empty() {
                named.insert(room);
            }
        }
    }
    named
}

/// The rooms' strongly connected groups of more than one room (Tarjan's algorithm).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, room: &'a str) {
        let n = w.index.len();
        w.index.insert(room, n);
        w.low.insert(room, n);
        w.stack.push(room);
        w.on_stack.insert(room);
        for next in w.graph.get(room).into_iter().flatten() {
            let next = next.as_str();
            if !w.index.contains_key(next) {
                visit(w, next);
                let low = w.low[room].min(w.low[next]);
                w.low.insert(room, low);
            } else if w.on_stack.contains(next) {
                let low = w.low[room].min(w.index[next]);
                w.low.insert(room, low);
            }
        }
        if w.low[room] == w.index[room] {
            let mut group = BTreeSet::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(top);
                group.insert(top.to_owned());
                if top == room {
                    break;
                }
            }
            if group.len() > 1 {
                w.found.push(group);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for room in graph.keys() {
        if !walk.index.contains_key(room.as_str()) {
            visit(&mut walk, room);
        }
    }
    walk.found
}

#[test]
fn the_rooms_of_src_import_one_way_but_for_the_known_circles() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = crate::support::rust_files(&src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        if let Some(room) = room_of(&src, file) {
            graph.entry(room).or_default();
        }
    }
    let rooms: BTreeSet<String> = graph.keys().cloned().collect();
    assert!(rooms.len() > 20, "{rooms:?}");
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
    let known: Vec<BTreeSet<String>> = KNOWN
        .iter()
        .map(|c| c.iter().map(|r| (*r).to_owned()).collect())
        .collect();
    let found = circles(&graph);
    let new: Vec<&BTreeSet<String>> = found.iter().filter(|c| !known.contains(c)).collect();
    assert!(
        new.is_empty(),
        "rooms that import each other in a circle: {new:?}; imports must run from the entry \
         points down to the leaves"
    );
    let gone: Vec<&BTreeSet<String>> = known.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        gone.is_empty(),
        "no longer circles, take them off KNOWN: {gone:?}"
    );
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    let found = circles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0],
        ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect()
    );
    assert_eq!(
        rooms_named("use crate::model::X; // crate::store\nlet y = crate::diff::z();"),
        ["diff", "model"].iter().map(|s| (*s).to_owned()).collect()
    );
}
