//! Repository guidelines from AGENTS.md files: the "Review guidelines" section of the root
//! file and of the file nearest to each changed file.

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
