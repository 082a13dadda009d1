//! Spend caps: a ceiling on model use that a team never meets in normal use but that stops a
//! runaway loop (a bot answering a bot, a script commenting `@codex ask` in a loop).
//!
//! - `CODEX_REVIEW_DAILY_USD_CAP` / `CODEX_REVIEW_MONTHLY_USD_CAP`: dollars of model use per
//!   installation per UTC day / calendar month (UTC), from recorded usage and the price table;
//!   default 100 and 2,000; `off` lifts a cap.
//! - `CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR`: jobs that call the model (reviews, quiet
//!   re-reviews, answers, thread replies) one person may cause per hour across the
//!   installation's repositories; default 30, `0` lifts it.
//!
//! A repository may lower its own share with `spend.daily_usd` / `spend.monthly_usd`.

use super::SettingsError;
use crate::review::spend::SpendCaps;

impl SpendCaps {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let usd = |var: &'static str, default: Option<f64>| match get(var) {
            None => Ok(default),
            Some(raw) if raw.trim().eq_ignore_ascii_case("off") => Ok(None),
            Some(raw) => raw
                .trim()
                .trim_start_matches('$')
                .parse::<f64>()
                .ok()
                .filter(|usd| usd.is_finite() && *usd > 0.0)
                .map(Some)
                .ok_or_else(|| SettingsError::Invalid {
                    var,
                    reason: "expected dollars above 0 (such as 100 or 12.50), or off".into(),
                }),
        };
        let per_person = match get("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR") {
            None => defaults.per_person_per_hour,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(0) => None,
                Ok(n) => Some(n),
                Err(_) => {
                    return Err(SettingsError::Invalid {
                        var: "CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR",
                        reason: "expected a whole number (0 lifts the limit)".into(),
                    });
                }
            },
        };
        Ok(Self {
            daily_usd: usd("CODEX_REVIEW_DAILY_USD_CAP", defaults.daily_usd)?,
            monthly_usd: usd("CODEX_REVIEW_MONTHLY_USD_CAP", defaults.monthly_usd)?,
            per_person_per_hour: per_person,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(pairs: &[(&str, &str)]) -> Result<SpendCaps, SettingsError> {
        SpendCaps::from_lookup(&|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn caps_have_defaults_and_can_be_set_or_lifted() {
        assert_eq!(caps(&[]).unwrap(), SpendCaps::default());
        let set = caps(&[
            ("CODEX_REVIEW_DAILY_USD_CAP", "$12.50"),
            ("CODEX_REVIEW_MONTHLY_USD_CAP", "off"),
            ("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR", "0"),
        ])
        .unwrap();
        assert_eq!(set.daily_usd, Some(12.5));
        assert_eq!(set.monthly_usd, None);
        assert_eq!(set.per_person_per_hour, None);
        for (var, bad) in [
            ("CODEX_REVIEW_DAILY_USD_CAP", "0"),
            ("CODEX_REVIEW_MONTHLY_USD_CAP", "lots"),
            ("CODEX_REVIEW_MAX_PER_PERSON_PER_HOUR", "-1"),
        ] {
            let err = caps(&[(var, bad)]).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
