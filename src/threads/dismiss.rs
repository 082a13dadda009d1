//! Reading a reply in a finding's thread: does it dismiss the finding, and why?

/// Words at the start of a line that dismiss a finding (matched without regard to case).
const PHRASES: &[&str] = &[
    "won't fix",
    "won’t fix",
    "wont fix",
    "false positive",
    "not a bug",
];

/// A dismissal, with the person's reason when they gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dismissal {
    pub reason: Option<String>,
}

/// Whether `body` dismisses the finding: a line starting with `@BOT dismiss [reason]` or with
/// one of the phrases (`won't fix: we validate upstream`). Quoted lines and code blocks do not
/// count.
pub fn dismissal(body: &str, bot: &str) -> Option<Dismissal> {
    let command = format!("@{} dismiss", bot.to_lowercase());
    let mut fenced = false;
    for line in body.lines() {
        let line = line.trim();
        if line.starts_with("```") || line.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.starts_with('>') {
            continue;
        }
        let lower = line.to_lowercase();
        let rest = if let Some(rest) = lower.strip_prefix(&command) {
            Some(rest)
        } else {
            PHRASES.iter().find_map(|p| lower.strip_prefix(p))
        };
        let Some(rest) = rest else { continue };
        // `@codex dismissive` is not the command; `won't fixate` is not the phrase.
        if rest.chars().next().is_some_and(char::is_alphanumeric) {
            continue;
        }
        // The reason in the person's own case: the same number of bytes from the end.
        let original = line
            .get(line.len().saturating_sub(rest.len())..)
            .unwrap_or(rest);
        let reason = original
            .trim_start_matches([':', '-', '—', ',', '.', ' '])
            .trim();
        return Some(Dismissal {
            reason: (!reason.is_empty()).then(|| reason.chars().take(500).collect()),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_that_dismiss_are_recognised_with_their_reason() {
        let d = |b: &str| dismissal(b, "codex");
        assert_eq!(
            d("@codex dismiss We validate this upstream."),
            Some(Dismissal {
                reason: Some("We validate this upstream.".into())
            })
        );
        assert_eq!(
            d("Thanks!\nWon't fix: the limit is enforced by the proxy"),
            Some(Dismissal {
                reason: Some("the limit is enforced by the proxy".into())
            })
        );
        assert_eq!(d("FALSE POSITIVE"), Some(Dismissal { reason: None }));
        assert_eq!(
            d("this is not a bug, it is intended").map(|x| x.reason),
            None
        );
        assert_eq!(d("> won't fix\nI disagree"), None);
        assert_eq!(d("```\nwon't fix\n```"), None);
        assert_eq!(d("@codex dismissive remark"), None);
        assert_eq!(d("Good catch, fixed."), None);
    }
}
