//! Errors are typed (issue 40): a `Result` whose error is a `String` is kept only where the
//! string is the product, the answers the model's tools give it. A test reads every
//! `Result<…, String>` of `src/` and fails on one in any other file, so that no flattened
//! error comes back; a listed file that holds none any more must leave the list.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// The files whose `Result<_, String>` are the tools' answers: the text the model reads.
const ANSWERS: &[&str] = &["src/codebase/tools.rs", "src/codebase/toolbox.rs"];

/// The line of each `Result<…, String>` in `text` (two type arguments or more, the last
/// `String`), comments left out.
fn string_results(text: &str) -> Vec<usize> {
    let code: Vec<&str> = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect();
    let joined = code.join("\n");
    let bytes = joined.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = joined[from..].find("Result<") {
        let start = from + at;
        from = start + "Result<".len();
        let preceded = joined[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if preceded {
            continue;
        }
        let (mut depth, mut args, mut arg_start) = (1, Vec::new(), from);
        let mut i = from;
        while i < bytes.len() && depth > 0 {
            match bytes[i] {
                b'<' | b'(' | b'[' => depth += 1,
                b'>' if i > 0 && bytes[i - 1] == b'-' => {}
                b'>' | b')' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        args.push(&joined[arg_start..i]);
                    }
                }
                b',' if depth == 1 => {
                    args.push(&joined[arg_start..i]);
                    arg_start = i + 1;
                }
                b';' | b'{' => break,
                _ => {}
            }
            i += 1;
        }
        args.retain(|a| !a.trim().is_empty());
        let last = args.last().map(|a| a.trim());
        if depth == 0 && args.len() >= 2 && matches!(last, Some("String" | "std::string::String")) {
            found.push(joined[..start].matches('\n').count() + 1);
        }
    }
    found
}

#[test]
fn no_error_is_a_string_but_the_tools_answers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut outside = Vec::new();
    let mut answering = BTreeSet::new();
    for file in crate::support::rust_files(&root.join("src")) {
        let name = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let lines = string_results(&std::fs::read_to_string(&file).unwrap());
        if lines.is_empty() {
            continue;
        }
        if ANSWERS.contains(&name.as_str()) {
            answering.insert(name);
        } else {
            outside.extend(lines.into_iter().map(|l| format!("{name}:{l}")));
        }
    }
    assert!(
        outside.is_empty(),
        "errors flattened into a String: {outside:#?}; give them a type (thiserror), or, when \
         the text is the product, say why and list the file in ANSWERS"
    );
    let gone: Vec<&&str> = ANSWERS
        .iter()
        .filter(|f| !answering.contains(**f))
        .collect();
    assert!(
        gone.is_empty(),
        "no Result<_, String> left, take them off ANSWERS: {gone:?}"
    );
}

#[test]
fn a_string_error_is_found_wherever_it_is_written() {
    let text = "\
fn a() -> Result<u8, String> {}
fn b() -> Result<
    Vec<(u8, u8)>,
    String,
> {}
fn c() -> io::Result<String> {}
fn d() -> anyhow::Result<String> {}
fn e() -> Result<HashMap<String, u8>, Error> {}
fn f(g: impl Fn() -> Result<(), String>) {}
type Refused = MyResult<u8, String>;
// fn h() -> Result<u8, String>
fn i() -> Result<Option<String>, std::string::String> {}
";
    assert_eq!(string_results(text), [1, 2, 9, 12]);
}
