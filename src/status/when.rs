//! Times for people: UTC dates from Unix milliseconds, and short durations.

/// `(year, month, day)` of day `days` since 1970-01-01 (the proleptic Gregorian calendar).
pub fn civil(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil: eras of 400 years, March-based years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-30`.
pub fn date(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `11-30`, for chart labels.
pub fn month_day(days: i64) -> String {
    let (_, m, d) = civil(days);
    format!("{m:02}-{d:02}")
}

/// `2026-11-30 07:42` (UTC).
pub fn minute(ms: i64) -> String {
    let secs = ms.div_euclid(1_000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}",
        date(days),
        of_day / 3_600,
        (of_day % 3_600) / 60
    )
}

/// `2026-11-30T07:42:05Z`.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1_000);
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(secs.div_euclid(86_400)),
        of_day / 3_600,
        (of_day % 3_600) / 60,
        of_day % 60
    )
}

/// `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 10 min`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        60_000..3_600_000 => format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1_000),
        _ => format!("{} h {:02} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(11_016), "2000-02-29");
        assert_eq!(date(20_787), "2026-11-30");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(
            minute(20_787 * 86_400_000 + 7 * 3_600_000 + 42 * 60_000),
            "2026-11-30 07:42"
        );
        assert_eq!(month_day(20_788), "12-01");
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
        assert_eq!(duration(7_800_000), "2 h 10 min");
    }
}
