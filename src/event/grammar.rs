//! The comment grammar: `@codex review [focus areas...]` on a line of its own.
//!
//! A command is a line that starts with the mention, outside block quotes and code (fenced or
//! indented). The first command in the comment wins.

use super::Command;

/// Characters of a question kept.
pub const MAX_QUESTION_CHARS: usize = 2_000;
/// At most this many focus areas are kept from one comment.
pub const MAX_FOCUS_AREAS: usize = 8;
/// Longer words are not focus areas (they are prose, or an attempt to smuggle text in).
pub const MAX_FOCUS_AREA_LEN: usize = 32;

/// `word` as a focus area (lower-cased), or `None` when it is not one: one word of letters,
/// digits, `-` or `_`, at most `MAX_FOCUS_AREA_LEN` long. The same rule for comments and the
/// review API.
pub fn focus_area(word: &str) -> Option<String> {
    let word = word.to_ascii_lowercase();
    let ok = !word.is_empty()
        && word.len() <= MAX_FOCUS_AREA_LEN
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'));
    ok.then_some(word)
}

/// Finds the first command addressed to `@handle` in a comment body.
pub fn parse(body: &str, handle: &str) -> Option<Command> {
    let mut fence: Option<(u8, usize)> = None;
    for line in body.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let trimmed = line.trim_start();
        if let Some(marker) = fence_marker(trimmed) {
            match fence {
                None if indent < 4 => fence = Some(marker),
                // A closing fence has nothing after the backticks/tildes.
                Some((ch, len))
                    if marker.0 == ch
                        && marker.1 >= len
                        && indent < 4
                        && trimmed.trim_start_matches(ch as char).trim().is_empty() =>
                {
                    fence = None;
                }
                _ => {}
            }
            continue;
        }
        if fence.is_some() || indent >= 4 || line.starts_with('\t') || trimmed.starts_with('>') {
            continue;
        }
        if let Some(command) = parse_line(trimmed, handle) {
            return Some(command);
        }
    }
    None
}

/// Whether `body` mentions `@handle` outside quotes and code (a reply addressed to the bot).
pub fn mentions(body: &str, handle: &str) -> bool {
    let mut fenced = false;
    for line in body.lines() {
        let trimmed = line.trim_start();
        if fence_marker(trimmed).is_some() {
            fenced = !fenced;
            continue;
        }
        if fenced || trimmed.starts_with('>') {
            continue;
        }
        let mut rest = trimmed;
        while let Some(at) = rest.find('@') {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + 1..];
            let named = after
                .get(..handle.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(handle));
            let ends = after[handle.len().min(after.len())..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
            let starts = before.is_none_or(|c| !(c.is_alphanumeric() || c == '`'));
            if named && ends && starts {
                return true;
            }
            rest = after;
        }
    }
    false
}

/// `(character, run length)` when the line opens or closes a fenced code block.
fn fence_marker(line: &str) -> Option<(u8, usize)> {
    let first = *line.as_bytes().first()?;
    if first != b'`' && first != b'~' {
        return None;
    }
    let run = line.bytes().take_while(|b| *b == first).count();
    (run >= 3).then_some((first, run))
}

fn parse_line(line: &str, handle: &str) -> Option<Command> {
    let rest = line.strip_prefix('@')?;
    let name = rest.get(..handle.len())?;
    if !name.eq_ignore_ascii_case(handle) {
        return None;
    }
    let rest = &rest[handle.len()..];
    // `@codexbot` is somebody else; `@codex,` or `@codex:` is still us.
    let rest = match rest.chars().next() {
        None => return None,
        Some(c) if c.is_whitespace() => rest,
        Some(':' | ',') => &rest[1..],
        Some(_) => return None,
    };
    let mut words = rest.split_whitespace();
    let verb = words.next()?;
    let verb_lower = verb
        .trim_end_matches(['.', '!', ',', ':'])
        .to_ascii_lowercase();
    match verb_lower.as_str() {
        "review" => {}
        "help" => return Some(Command::Help),
        "pause" => return Some(Command::Pause),
        "resume" => return Some(Command::Resume),
        "learnings" => return Some(Command::Learnings),
        "ask" => {
            let question = words.collect::<Vec<_>>().join(" ");
            return Some(if question.is_empty() {
                Command::Unknown { word: "ask".into() }
            } else {
                Command::Ask {
                    question: question.chars().take(MAX_QUESTION_CHARS).collect(),
                }
            });
        }
        "forget" => {
            return Some(
                match words
                    .next()
                    .and_then(|n| n.trim_start_matches('#').parse::<i64>().ok())
                    .filter(|n| *n > 0)
                {
                    Some(number) => Command::Forget { number },
                    None => Command::Unknown {
                        word: "forget".into(),
                    },
                },
            );
        }
        // Other text addressed to the bot is a question; a lone unknown word gets the help.
        _ => {
            let rest: Vec<&str> = words.collect();
            return Some(if rest.is_empty() {
                Command::Unknown {
                    word: verb.chars().take(40).collect(),
                }
            } else {
                let question = format!("{verb} {}", rest.join(" "));
                Command::Ask {
                    question: question.chars().take(MAX_QUESTION_CHARS).collect(),
                }
            });
        }
    }
    let mut focus_areas: Vec<String> = Vec::new();
    let mut words = words.peekable();
    let full = words.peek().is_some_and(|w| w.eq_ignore_ascii_case("full"));
    if full {
        words.next();
    }
    for word in words {
        let Some(word) =
            focus_area(word.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | '!' | '?')))
        else {
            // Prose after the command ends the list of focus areas.
            break;
        };
        if !focus_areas.contains(&word) {
            focus_areas.push(word);
        }
        if focus_areas.len() == MAX_FOCUS_AREAS {
            break;
        }
    }
    Some(Command::Review { focus_areas, full })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(areas: &[&str]) -> Option<Command> {
        Some(Command::Review {
            focus_areas: areas.iter().map(|s| s.to_string()).collect(),
            full: false,
        })
    }

    #[test]
    fn full_asks_for_a_whole_review() {
        assert_eq!(
            parse("@codex review full security", "codex"),
            Some(Command::Review {
                focus_areas: vec!["security".into()],
                full: true
            })
        );
        assert_eq!(
            parse("@codex review security full", "codex"),
            review(&["security", "full"])
        );
    }

    #[test]
    fn plain_mention_requests_a_review() {
        assert_eq!(parse("@codex review", "codex"), review(&[]));
        assert_eq!(parse("  @Codex REVIEW  ", "codex"), review(&[]));
        assert_eq!(parse("@codex: review", "codex"), review(&[]));
        assert_eq!(parse("Thanks!\r\n@codex review\r\n", "codex"), review(&[]));
    }

    #[test]
    fn words_after_review_are_focus_areas() {
        assert_eq!(
            parse("@codex review security performance", "codex"),
            review(&["security", "performance"])
        );
        assert_eq!(
            parse("@codex review Security, security, error-handling.", "codex"),
            review(&["security", "error-handling"])
        );
        let many = "@codex review a b c d e f g h i j";
        match parse(many, "codex") {
            Some(Command::Review { focus_areas, .. }) => {
                assert_eq!(focus_areas.len(), MAX_FOCUS_AREAS)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn prose_ends_the_focus_list() {
        assert_eq!(
            parse("@codex review security (this touches auth)", "codex"),
            review(&["security"])
        );
    }

    #[test]
    fn mentions_elsewhere_do_nothing() {
        for body in [
            "please @codex review",
            "> @codex review",
            "```\n@codex review\n```",
            "~~~md\n@codex review\n~~~",
            "    @codex review",
            "\t@codex review",
            "@codexbot review",
            "@codex",
            "@someone review",
            "",
        ] {
            assert_eq!(parse(body, "codex"), None, "{body:?}");
        }
    }

    #[test]
    fn other_commands_and_unknown_words() {
        assert_eq!(parse("@codex help", "codex"), Some(Command::Help));
        assert_eq!(parse("@Codex PAUSE", "codex"), Some(Command::Pause));
        assert_eq!(parse("@codex learnings", "codex"), Some(Command::Learnings));
        assert!(mentions("Is this right, @codex?", "codex"));
        assert!(mentions("@Codex why", "codex"));
        assert!(!mentions("@codexbot why", "codex"));
        assert!(!mentions("> @codex said\nok", "codex"));
        assert!(!mentions("mail a@codex.dev", "codex"));
        assert!(!mentions("```\n@codex\n```", "codex"));
        assert_eq!(
            parse("@codex ask why is the lock  needed?", "codex"),
            Some(Command::Ask {
                question: "why is the lock needed?".into()
            })
        );
        assert_eq!(
            parse("@codex ask", "codex"),
            Some(Command::Unknown { word: "ask".into() })
        );
        assert_eq!(
            parse("@codex forget #3", "codex"),
            Some(Command::Forget { number: 3 })
        );
        assert_eq!(
            parse("@codex forget it", "codex"),
            Some(Command::Unknown {
                word: "forget".into()
            })
        );
        assert_eq!(parse("@codex resume.", "codex"), Some(Command::Resume));
        assert_eq!(
            parse("@codex please", "codex"),
            Some(Command::Unknown {
                word: "please".into()
            })
        );
        assert_eq!(
            parse("@codex why does check() take a lock?", "codex"),
            Some(Command::Ask {
                question: "why does check() take a lock?".into()
            })
        );
        assert_eq!(parse("> @codex help", "codex"), None);
        assert_eq!(parse("```\n@codex pause\n```", "codex"), None);
    }

    #[test]
    fn a_command_after_a_closed_fence_counts() {
        assert_eq!(
            parse("```rust\nlet x = 1;\n```\n@codex review perf", "codex"),
            review(&["perf"])
        );
        // A shorter fence does not close a longer one.
        assert_eq!(parse("````\n```\n@codex review\n````", "codex"), None);
    }

    #[test]
    fn handle_is_configurable() {
        assert_eq!(parse("@reviewer review", "reviewer"), review(&[]));
        assert_eq!(parse("@codex review", "reviewer"), None);
    }
}
