//! How deliveries reach the service: GitHub posts them to `/webhook` (`push`), or the service
//! reads the App's delivery log (`pull`, no public URL needed).

use std::time::Duration;

use super::SettingsError;

/// How deliveries reach the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deliveries {
    /// `CODEX_REVIEW_DELIVERIES=push` (the default): GitHub posts to `/webhook`.
    Push,
    /// `CODEX_REVIEW_DELIVERIES=pull`: the delivery log is read every `every`
    /// (`CODEX_REVIEW_PULL_EVERY`, default `10s`).
    Pull { every: Duration },
}

/// The default pause between two reads of the delivery log.
pub const DEFAULT_PULL_EVERY: Duration = Duration::from_secs(10);

impl Deliveries {
    /// From `CODEX_REVIEW_DELIVERIES` and `CODEX_REVIEW_PULL_EVERY` (the credentials file the
    /// setup page writes may hold the first; the environment wins over it).
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let var = "CODEX_REVIEW_DELIVERIES";
        match get(var).as_deref().map(str::trim) {
            None | Some("push") => Ok(Deliveries::Push),
            Some("pull") => {
                let every = match get("CODEX_REVIEW_PULL_EVERY") {
                    None => DEFAULT_PULL_EVERY,
                    Some(raw) => interval(raw.trim()).ok_or(SettingsError::Invalid {
                        var: "CODEX_REVIEW_PULL_EVERY",
                        reason: "expected a pause such as 10s, 2s or 500ms (at least 100ms, \
                                 at most 1h)"
                            .into(),
                    })?,
                };
                Ok(Deliveries::Pull { every })
            }
            Some(_) => Err(SettingsError::Invalid {
                var,
                reason: "expected push (GitHub posts to /webhook) or pull (the service reads \
                         the App's delivery log)"
                    .into(),
            }),
        }
    }
}

/// `10s`, `500ms`, `2m`: from 100 ms to an hour.
fn interval(raw: &str) -> Option<Duration> {
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = number.parse().ok()?;
    let every = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        _ => return None,
    };
    (Duration::from_millis(100)..=Duration::from_secs(3_600))
        .contains(&every)
        .then_some(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Deliveries, SettingsError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Deliveries::from_lookup(&get)
    }

    #[test]
    fn push_is_the_default_and_pull_reads_its_pause() {
        assert_eq!(read(&[]).unwrap(), Deliveries::Push);
        assert_eq!(
            read(&[("CODEX_REVIEW_DELIVERIES", "pull")]).unwrap(),
            Deliveries::Pull {
                every: DEFAULT_PULL_EVERY
            }
        );
        for (raw, every) in [
            ("500ms", Duration::from_millis(500)),
            ("2s", Duration::from_secs(2)),
            ("1m", Duration::from_secs(60)),
        ] {
            let vars = [
                ("CODEX_REVIEW_DELIVERIES", "pull"),
                ("CODEX_REVIEW_PULL_EVERY", raw),
            ];
            assert_eq!(read(&vars).unwrap(), Deliveries::Pull { every }, "{raw}");
        }
        for raw in ["10", "0s", "50ms", "2h", "s", "-1s", "1.5s"] {
            let vars = [
                ("CODEX_REVIEW_DELIVERIES", "pull"),
                ("CODEX_REVIEW_PULL_EVERY", raw),
            ];
            let err = read(&vars).unwrap_err().to_string();
            assert!(err.contains("CODEX_REVIEW_PULL_EVERY"), "{raw}: {err}");
        }
        let err = read(&[("CODEX_REVIEW_DELIVERIES", "poll")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CODEX_REVIEW_DELIVERIES"), "{err}");
    }
}
