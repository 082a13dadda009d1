//! Packing the reviewable files into model calls under a token budget.
//!
//! Files go in order of review value (source, tests, configuration, docs), each shown whole
//! or with wide context when it fits, with GitHub's hunks only when that is all that fits,
//! and split by hunks (and, for a giant hunk, by lines) when even that is too big. Blocks
//! are packed first-fit into at most `max_calls` chunks; whatever does not fit is listed
//! with the reason. Nothing is cut silently.

use super::FileDiff;
use super::filter::review_value;
use super::render::{self, Detail};

/// Tokens are estimated as bytes / 3, rounded up. o200k averages about 3.5–4 bytes per
/// token on source code and English, so the estimate errs high and a chunk stays under the
/// model's real count. (`o200k` is the tokenizer of the GPT-5 family.)
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// The limits of one review.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Estimated tokens of rendered diff per model call.
    pub tokens_per_call: usize,
    /// Model calls per review at most.
    pub max_calls: usize,
}

/// A file to pack, with the new file's content when it was fetched.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub file: &'a FileDiff,
    pub content: Option<&'a str>,
}

/// The text of one model call and the files it shows.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    pub text: String,
    pub files: Vec<String>,
    pub tokens: usize,
}

/// The packing of a whole review.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub chunks: Vec<Chunk>,
    /// Paths shown to the model (whole or in part).
    pub reviewed: Vec<String>,
    /// Paths not shown, or shown only in part, with the reason.
    pub skipped: Vec<(String, String)>,
}

struct Block {
    text: String,
    tokens: usize,
}

impl Plan {
    /// Puts `block` into the first chunk with room, or a new one. False when no room is left.
    fn place(&mut self, path: &str, block: Block, budget: Budget) -> bool {
        let slot = self
            .chunks
            .iter()
            .position(|c| c.tokens + block.tokens <= budget.tokens_per_call);
        let chunk = match slot {
            Some(i) => &mut self.chunks[i],
            None if self.chunks.len() < budget.max_calls => {
                self.chunks.push(Chunk::default());
                self.chunks.last_mut().expect("just pushed")
            }
            None => return false,
        };
        chunk.text.push_str(&block.text);
        chunk.tokens += block.tokens;
        if chunk.files.last().is_none_or(|p| p != path) {
            chunk.files.push(path.to_owned());
        }
        true
    }
}

/// Packs `sources` into chunks.
pub fn plan(sources: &[Source<'_>], budget: Budget) -> Plan {
    let mut order: Vec<&Source<'_>> = sources.iter().collect();
    order.sort_by(|a, b| {
        (review_value(&a.file.path), &a.file.path).cmp(&(review_value(&b.file.path), &b.file.path))
    });
    let mut plan = Plan::default();
    let over_limit = || {
        format!(
            "over the limit of {} model calls per review",
            budget.max_calls
        )
    };
    for source in order {
        let file = source.file;
        let blocks = blocks_for(source, budget.tokens_per_call);
        let parts = blocks.len();
        let mut placed = 0;
        for block in blocks {
            if !plan.place(&file.path, block, budget) {
                break;
            }
            placed += 1;
        }
        if placed > 0 {
            plan.reviewed.push(file.path.clone());
        }
        if placed == 0 {
            plan.skipped.push((file.path.clone(), over_limit()));
        } else if placed < parts {
            plan.skipped.push((
                file.path.clone(),
                format!(
                    "only {placed} of its {parts} parts were reviewed: {}",
                    over_limit()
                ),
            ));
        }
    }
    plan
}

fn block(text: String) -> Block {
    Block {
        tokens: estimate_tokens(&text),
        text,
    }
}

/// The file as one block if it fits, else as parts that each fit.
fn blocks_for(source: &Source<'_>, limit: usize) -> Vec<Block> {
    let file = source.file;
    if let Some(content) = source.content {
        let whole = block(render::render_file(file, Detail::WithContent(content)));
        if whole.tokens <= limit {
            return vec![whole];
        }
    }
    let hunks = block(render::render_file(file, Detail::Hunks));
    if hunks.tokens <= limit {
        return vec![hunks];
    }
    split(file, limit)
}

/// Splits a file's hunks into parts of at most `limit` tokens (a single line may exceed it).
fn split(file: &FileDiff, limit: usize) -> Vec<Block> {
    let header_tokens = estimate_tokens(&render::file_header(file, Some((99, 99))));
    let room = limit.saturating_sub(header_tokens + 1).max(1);
    let mut bodies: Vec<String> = Vec::new();
    let mut current = String::new();
    for hunk in &file.hunks {
        let mut head = String::new();
        render::push_hunk_header(&mut head, file, hunk);
        let mut whole = head.clone();
        for line in &hunk.lines {
            render::push_line(&mut whole, file, line);
        }
        if estimate_tokens(&current) + estimate_tokens(&whole) <= room {
            current.push_str(&whole);
            continue;
        }
        if !current.is_empty() {
            bodies.push(std::mem::take(&mut current));
        }
        if estimate_tokens(&whole) <= room {
            current = whole;
            continue;
        }
        // One hunk larger than a call: cut it between lines, repeating its header.
        const CONTINUES: &str = "   (this hunk continues in the next part)\n";
        let line_room = room.saturating_sub(estimate_tokens(CONTINUES) + 1).max(1);
        current.push_str(&head);
        for line in &hunk.lines {
            let mut one = String::new();
            render::push_line(&mut one, file, line);
            if estimate_tokens(&current) + estimate_tokens(&one) > line_room
                && current.len() > head.len()
            {
                current.push_str(CONTINUES);
                bodies.push(std::mem::take(&mut current));
                current.push_str(head.trim_end());
                current.push_str(" (continued)\n");
            }
            current.push_str(&one);
        }
    }
    if !current.is_empty() {
        bodies.push(current);
    }
    let n = bodies.len();
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut text = render::file_header(file, Some((i + 1, n)));
            text.push_str(&body);
            text.push('\n');
            block(text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, lines: usize) -> FileDiff {
        let body: String = (0..lines)
            .map(|i| format!("+line number {i} of {path}\n"))
            .collect();
        FileDiff::from_github(
            path.into(),
            None,
            "added",
            Some(format!("@@ -0,0 +1,{lines} @@\n{body}")),
            lines as u32,
            0,
        )
    }

    fn sources(files: &[FileDiff]) -> Vec<Source<'_>> {
        files
            .iter()
            .map(|file| Source {
                file,
                content: None,
            })
            .collect()
    }

    #[test]
    fn files_are_packed_by_value_and_nothing_is_lost() {
        let files = vec![
            file("README.md", 10),
            file("tests/a.rs", 10),
            file("src/b.rs", 10),
            file("src/a.rs", 10),
        ];
        let plan = plan(
            &sources(&files),
            Budget {
                tokens_per_call: 100_000,
                max_calls: 4,
            },
        );
        assert_eq!(plan.chunks.len(), 1);
        assert_eq!(
            plan.chunks[0].files,
            vec!["src/a.rs", "src/b.rs", "tests/a.rs", "README.md"]
        );
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn chunks_stay_under_the_budget_and_overflow_is_listed() {
        let files: Vec<FileDiff> = (0..30)
            .map(|i| file(&format!("src/f{i:02}.rs"), 40))
            .collect();
        let budget = Budget {
            tokens_per_call: 2_000,
            max_calls: 5,
        };
        let plan = plan(&sources(&files), budget);
        assert_eq!(plan.chunks.len(), 5);
        assert!(
            plan.chunks
                .iter()
                .all(|c| c.tokens <= budget.tokens_per_call)
        );
        assert_eq!(plan.reviewed.len() + plan.skipped.len(), 30);
        assert!(
            plan.skipped
                .iter()
                .all(|(_, why)| why == "over the limit of 5 model calls per review")
        );
        // Every reviewed file's text is in some chunk.
        for path in &plan.reviewed {
            assert!(
                plan.chunks
                    .iter()
                    .any(|c| c.text.contains(&format!("=== FILE {path} ")))
            );
        }
    }

    #[test]
    fn a_huge_file_is_split_into_parts_with_every_line() {
        let big = file("src/huge.rs", 3_000);
        let budget = Budget {
            tokens_per_call: 8_000,
            max_calls: 20,
        };
        let plan = plan(&sources(std::slice::from_ref(&big)), budget);
        assert!(plan.chunks.len() > 1, "{}", plan.chunks.len());
        assert!(
            plan.chunks
                .iter()
                .all(|c| c.tokens <= budget.tokens_per_call)
        );
        let all: String = plan.chunks.iter().map(|c| c.text.as_str()).collect();
        for i in [0, 1_499, 2_999] {
            assert!(
                all.contains(&format!("+line number {i} of src/huge.rs\n")),
                "line {i}"
            );
        }
        assert!(all.contains(&format!("(added; part 1 of {}) ===", plan.chunks.len())));
        assert!(plan.skipped.is_empty());
        // With too few calls, the file is reviewed in part and says so.
        let plan = super::plan(
            &sources(std::slice::from_ref(&big)),
            Budget {
                max_calls: 1,
                ..budget
            },
        );
        assert_eq!(plan.reviewed, vec!["src/huge.rs"]);
        assert!(
            plan.skipped[0].1.starts_with("only 1 of its"),
            "{:?}",
            plan.skipped
        );
    }

    #[test]
    fn estimates_err_high() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 2);
    }
}
