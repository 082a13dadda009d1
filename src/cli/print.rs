//! How `codex-review review` prints what it found, and its progress on standard error.

use std::borrow::Cow;
use std::io::Write;

use crate::pipeline::place;
use crate::pipeline::verify::Verification;
use crate::pipeline::{Reviewed, Spent};

/// The verdict and the findings, most urgent first, then what was not reviewed.
pub(super) fn print_human(
    out: &mut impl Write,
    output: &crate::model::ReviewOutput,
    placement: &place::Placement,
    skipped: &[(String, String)],
) -> std::io::Result<()> {
    let total = placement.inline.len() + placement.summary_only.len();
    writeln!(
        out,
        "{} — {} finding(s)",
        printable(&output.overall_correctness),
        total
    )?;
    if !output.overall_explanation.trim().is_empty() {
        writeln!(out, "{}", printable(output.overall_explanation.trim()))?;
    }
    let mut all: Vec<(i64, String, &crate::model::Finding)> = placement
        .inline
        .iter()
        .map(|p| {
            let range = if p.start == p.end {
                p.start.to_string()
            } else {
                format!("{}-{}", p.start, p.end)
            };
            (
                p.finding.priority,
                format!("{}:{range}", p.path),
                &p.finding,
            )
        })
        .chain(placement.summary_only.iter().map(|u| {
            let l = &u.finding.code_location;
            (
                u.finding.priority,
                format!(
                    "{}:{}-{} ({})",
                    l.file_path, l.line_range.start, l.line_range.end, u.reason
                ),
                &u.finding,
            )
        }))
        .collect();
    all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (priority, location, f) in all {
        print_finding(
            out,
            priority,
            &location,
            &f.title,
            &f.body,
            f.suggestion.as_deref(),
        )?;
    }
    if placement.invalid > 0 {
        writeln!(out, "\n{} malformed finding(s) dropped.", placement.invalid)?;
    }
    if !skipped.is_empty() {
        writeln!(out, "\nNot reviewed:")?;
        for (path, why) in skipped {
            writeln!(out, "  {}: {}", printable(path), printable(why))?;
        }
    }
    Ok(())
}

/// One finding as the command prints it: `[P1] path:line  title`, its paragraph, and its
/// suggestion.
pub(super) fn print_finding(
    out: &mut impl Write,
    priority: i64,
    location: &str,
    title: &str,
    body: &str,
    suggestion: Option<&str>,
) -> std::io::Result<()> {
    let (location, title) = (printable(location), printable(title.trim()));
    writeln!(out, "\n[P{priority}] {location}  {title}")?;
    for line in printable(body.trim()).lines() {
        writeln!(out, "    {line}")?;
    }
    if let Some(code) = suggestion {
        writeln!(out, "    suggestion:")?;
        for line in printable(code).lines() {
            writeln!(out, "    | {line}")?;
        }
    }
    Ok(())
}

/// What the verification dropped and what the model read.
pub(super) fn print_process(
    out: &mut impl Write,
    verification: Option<&Verification>,
    trace: Option<&crate::codebase::Trace>,
) -> std::io::Result<()> {
    if let Some(v) = verification {
        if let Some(why) = &v.failed {
            writeln!(
                out,
                "\nThe findings could not be verified: {}",
                printable(why)
            )?;
        }
        if !v.dropped.is_empty() {
            writeln!(
                out,
                "\n{} finding(s) dropped after verification:",
                v.dropped.len()
            )?;
            for d in &v.dropped {
                let l = &d.finding.code_location;
                writeln!(
                    out,
                    "  [P{}] {}:{}  {} — {}",
                    d.finding.priority,
                    printable(&l.file_path),
                    l.line_range.start,
                    printable(d.finding.title.trim()),
                    printable(d.reason.trim())
                )?;
            }
        }
    }
    if let Some(t) = trace.filter(|t| !t.is_empty()) {
        writeln!(
            out,
            "\nLooked at: {} file(s) read, {} search(es){}",
            t.read.len(),
            t.searched.values().sum::<u32>(),
            if t.refused > 0 {
                format!(", {} refused call(s)", t.refused)
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

/// The review as the command prints it: the findings, what the verification dropped and what
/// the model read, then what it cost.
pub(super) fn print_review(
    out: &mut impl Write,
    reviewed: &Reviewed,
    spent: &Spent,
) -> std::io::Result<()> {
    let output = &reviewed.answer.output;
    print_human(out, output, &reviewed.placement, &reviewed.not_reviewed)?;
    let trace = reviewed.tooling.as_ref().map(|t| t.toolbox.trace());
    print_process(out, reviewed.verification.as_ref(), trace.as_ref())?;
    let usage = spent.usage;
    writeln!(
        out,
        "\n{} model request(s) · tokens: {} in ({} cached), {} out ({} reasoning){}",
        spent.turns,
        usage.input_tokens,
        usage.cached_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
        spent
            .cost
            .map_or_else(String::new, |c| format!(" · ≈ ${c:.4}"))
    )
}

/// `text` without anything a terminal would act on: ANSI escape sequences (CSI `ESC [ … final`,
/// OSC, DCS and the other strings up to BEL or ST, two-character `ESC x` codes), their 8-bit
/// C1 forms, and every other C0 or C1 control character and DEL; new lines and tabs stay.
/// Model text and file names are printed through it: neither may move the cursor, rewrite a
/// line, retitle the terminal or plant a link.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                _ => {
                    // `ESC`, intermediate bytes, one final byte.
                    while chars
                        .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                        .is_some()
                    {}
                    chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
                }
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The rest of a control sequence: parameter and intermediate bytes, then its final byte.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars
        .next_if(|c| ('\u{20}'..='\u{3f}').contains(c))
        .is_some()
    {}
    chars.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// The rest of an OSC, DCS, SOS, PM or APC string, up to its terminator (BEL, `ESC \\` or
/// ST), or the end of the line when it has none.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next_if(|c| *c != '\n') {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_reaches_the_terminal_without_its_controls() {
        for (hostile, shown) in [
            ("plain text\n\tindented", "plain text\n\tindented"),
            (
                "\u{1b}[31mred\u{1b}[0m and \u{1b}[2J\u{1b}[Hcleared",
                "red and cleared",
            ),
            (
                "\u{1b}]8;;https://evil.example/\u{7}click\u{1b}]8;;\u{1b}\\ here",
                "click here",
            ),
            ("\u{1b}]0;new title\u{7}title", "title"),
            ("\u{1b}]0;unterminated\nnext line", "\nnext line"),
            ("\u{9b}31mC1 csi\u{9d}0;osc\u{9c}!", "C1 csi!"),
            ("over\rwrite\u{8}\u{7}\u{0}\u{7f}\u{85}", "overwrite"),
            ("\u{1b}Ptmux;payload\u{1b}\\ok\u{1b}(Bdone\u{1b}", "okdone"),
            ("src/\u{1b}[8mhidden\u{1b}[28m.rs", "src/hidden.rs"),
        ] {
            assert_eq!(printable(hostile), shown, "{hostile:?}");
        }
        assert!(matches!(printable("clean"), Cow::Borrowed("clean")));
    }

    #[test]
    fn a_finding_prints_without_the_escapes_its_text_carries() {
        let mut out = Vec::new();
        print_finding(
            &mut out,
            1,
            "src/\u{1b}]8;;https://x/\u{7}a.rs:3",
            "\u{1b}[2KTitle",
            "body\u{1b}[1A\u{1b}[2K",
            Some("code\u{9b}2J"),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert_eq!(
            text,
            "\n[P1] src/a.rs:3  Title\n    body\n    suggestion:\n    | code\n"
        );
    }
}
