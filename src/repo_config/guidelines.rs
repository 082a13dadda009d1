//! Repository guidelines from AGENTS.md files: the "Review guidelines" section of the root
//! file and of the file nearest to each changed file; and the guidance of a review, split
//! into what holds for the whole repository and what holds for some paths.

use crate::diff::filter::PathRules;

/// Characters of guidelines sent to the model at most, all of them together.
pub const MAX_GUIDELINES: usize = 12_000;

/// The repository's guidance for a review, from its base branch (trusted: written by its
/// maintainers). What holds for every file is apart from what holds for some paths, because
/// the first is the same in every review of the repository (the prompt puts it early, where
/// it stays cached) and the second depends on the files a pull request touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guidelines {
    /// The configured `review.instructions` and the root AGENTS.md's review guidelines.
    pub repository: String,
    /// `review.path_instructions` entries and nested AGENTS.md files, in the order they apply.
    pub by_path: Vec<PathGuideline>,
}

/// Guidance for some paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathGuideline {
    pub scope: Scope,
    /// The guidance, with its scope named ("For files matching `src/**`: ...").
    pub text: String,
}

/// What a path guideline applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A `path_instructions` glob.
    Glob(String),
    /// The directory of a nested AGENTS.md: every file under it.
    Directory(String),
}

impl Scope {
    /// Whether the guideline applies to `path`.
    pub fn applies_to(&self, path: &str) -> bool {
        match self {
            Scope::Glob(glob) => {
                PathRules::new(&[glob.as_str()], &[]).is_ok_and(|rules| rules.includes(path))
            }
            Scope::Directory(dir) => path
                .strip_prefix(dir.as_str())
                .is_some_and(|rest| rest.starts_with('/')),
        }
    }
}

impl Guidelines {
    /// Builds the guidance from the configured instructions, the `path_instructions` that
    /// apply to `changed`, and the review guidelines of the AGENTS.md files (path and text, in
    /// the order they apply; the root one holds for every file), cut at [`MAX_GUIDELINES`]
    /// characters in all.
    pub fn compose(
        instructions: &str,
        path_instructions: &[(String, String)],
        changed: &[&str],
        agents: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut repository: Vec<String> = Vec::new();
        if !instructions.trim().is_empty() {
            repository.push(instructions.trim().to_owned());
        }
        let mut by_path = Vec::new();
        for (glob, text) in path_instructions {
            let scope = Scope::Glob(glob.clone());
            if changed.iter().any(|path| scope.applies_to(path)) {
                by_path.push(PathGuideline {
                    scope,
                    text: format!("For files matching `{glob}`: {}", text.trim()),
                });
            }
        }
        for (path, text) in agents {
            let Some(section) = review_guidelines(&text) else {
                continue;
            };
            let text = format!("From {path}:\n{section}");
            match path.rsplit_once('/') {
                Some((dir, _)) => by_path.push(PathGuideline {
                    scope: Scope::Directory(dir.to_owned()),
                    text,
                }),
                None => repository.push(text),
            }
        }
        let mut left = MAX_GUIDELINES;
        let repository = cut(repository.join("\n\n"), &mut left);
        let by_path = by_path
            .into_iter()
            .map_while(|g| {
                (left > 0).then(|| PathGuideline {
                    text: cut(g.text, &mut left),
                    scope: g.scope,
                })
            })
            .collect();
        Guidelines {
            repository,
            by_path,
        }
    }

    /// The path guidelines that apply to any of `paths`, one paragraph each.
    pub fn for_paths(&self, paths: &[&str]) -> String {
        self.by_path
            .iter()
            .filter(|g| paths.iter().any(|p| g.scope.applies_to(p)))
            .map(|g| g.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// Everything, as one text: the repository's guidelines, then every path's.
    pub fn all(&self) -> String {
        let mut parts = vec![self.repository.as_str()];
        parts.extend(self.by_path.iter().map(|g| g.text.as_str()));
        parts.retain(|p| !p.trim().is_empty());
        parts.join("\n\n")
    }
}

/// `text` within `left` characters (counting them off), with a note when cut.
fn cut(mut text: String, left: &mut usize) -> String {
    let chars = text.chars().count();
    if chars <= *left {
        *left -= chars;
        return text;
    }
    let end = text
        .char_indices()
        .nth(*left)
        .map_or(text.len(), |(i, _)| i);
    text.truncate(end);
    text.push_str("\n(guidelines cut at 12,000 characters)");
    *left = 0;
    text
}

/// The text under a heading named "Review guidelines" (any level), up to the next heading of
/// the same or a higher level; `None` when there is no such section.
pub fn review_guidelines(markdown: &str) -> Option<String> {
    let mut level = None;
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
        let is_heading = !in_fence
            && (1..=6).contains(&hashes)
            && trimmed[hashes..].starts_with(' ')
            && !line.starts_with("    ");
        let heading = if is_heading {
            Some((
                hashes,
                trimmed[hashes..].trim().trim_end_matches('#').trim(),
            ))
        } else {
            None
        };
        match (level, heading) {
            (None, Some((n, title))) if title.eq_ignore_ascii_case("review guidelines") => {
                level = Some(n);
            }
            (Some(current), Some((n, _))) if n <= current => break,
            (Some(_), _) => out.push(line),
            _ => {}
        }
    }
    let text = out.join("\n").trim().to_owned();
    (level.is_some() && !text.is_empty()).then_some(text)
}

/// The AGENTS.md files that apply to `changed`: the root one, and for each changed file the
/// one in its nearest directory (from `existing`, the AGENTS.md paths of the base tree),
/// most shared first.
pub fn nearest_agents_files<'a>(existing: &'a [String], changed: &[&str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    if let Some(root) = existing.iter().find(|p| *p == "AGENTS.md") {
        out.push(root);
    }
    for path in changed {
        let mut dir = path.rsplit_once('/').map(|(d, _)| d);
        while let Some(d) = dir {
            let candidate = format!("{d}/AGENTS.md");
            if let Some(found) = existing.iter().find(|p| **p == candidate) {
                if !out.contains(&found.as_str()) {
                    out.push(found);
                }
                break;
            }
            dir = d.rsplit_once('/').map(|(parent, _)| parent);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_wide_guidance_is_apart_from_what_holds_for_some_paths() {
        let agents = [
            (
                "AGENTS.md".to_owned(),
                "## Review guidelines\nMoney is in cents.\n".to_owned(),
            ),
            (
                "web/AGENTS.md".to_owned(),
                "## Review guidelines\nNo inline styles.\n".to_owned(),
            ),
        ];
        let paths = [("migrations/**".to_owned(), "Must be reversible.".to_owned())];
        let g = Guidelines::compose(
            "Flag unwrap().",
            &paths,
            &["web/app.ts", "migrations/001.sql", "src/lib.rs"],
            agents,
        );
        assert_eq!(
            g.repository,
            "Flag unwrap().\n\nFrom AGENTS.md:\nMoney is in cents."
        );
        assert_eq!(g.by_path.len(), 2);
        assert_eq!(
            g.for_paths(&["web/app.ts"]),
            "From web/AGENTS.md:\nNo inline styles."
        );
        assert_eq!(
            g.for_paths(&["migrations/001.sql"]),
            "For files matching `migrations/**`: Must be reversible."
        );
        assert_eq!(g.for_paths(&["src/lib.rs", "webby/x.ts"]), "");
        // A path instruction no changed file matches is left out.
        let g = Guidelines::compose("", &paths, &["src/lib.rs"], []);
        assert_eq!(g, Guidelines::default());
    }

    #[test]
    fn all_guidance_together_stays_within_its_limit() {
        let long = "x".repeat(MAX_GUIDELINES - 10);
        let agents = [(
            "a/AGENTS.md".to_owned(),
            format!("## Review guidelines\n{}\n", "y".repeat(100)),
        )];
        let g = Guidelines::compose(&long, &[], &["a/b.rs"], agents);
        assert_eq!(g.repository.len(), MAX_GUIDELINES - 10);
        assert!(
            g.by_path[0]
                .text
                .ends_with("(guidelines cut at 12,000 characters)")
        );
        assert!(g.all().chars().count() < MAX_GUIDELINES + 100);
    }

    #[test]
    fn the_review_guidelines_section_is_extracted() {
        let md = "# Agents\n\nBuild with make.\n\n## Review guidelines\n\n- Flag `unwrap()` in handlers.\n- Money is in cents.\n\n### Details\nNested detail.\n\n## Testing\nRun tests.\n";
        assert_eq!(
            review_guidelines(md).unwrap(),
            "- Flag `unwrap()` in handlers.\n- Money is in cents.\n\n### Details\nNested detail."
        );
        assert_eq!(review_guidelines("# Agents\nNothing here."), None);
        assert_eq!(
            review_guidelines("```\n## Review guidelines\nno\n```"),
            None
        );
    }

    #[test]
    fn the_nearest_agents_file_applies() {
        let existing = vec![
            "AGENTS.md".to_string(),
            "web/AGENTS.md".to_string(),
            "web/admin/AGENTS.md".to_string(),
        ];
        assert_eq!(
            nearest_agents_files(
                &existing,
                &[
                    "web/admin/x.ts",
                    "web/y.ts",
                    "src/z.rs",
                    "web/admin/deep/q.ts"
                ]
            ),
            vec!["AGENTS.md", "web/admin/AGENTS.md", "web/AGENTS.md"]
        );
    }
}
