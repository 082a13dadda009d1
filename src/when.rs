//! Times in UTC without a calendar crate: dates and RFC 3339 times from Unix time (the status
//! page, the review API, GitHub's `delivered_at` bounds), and short durations for people.

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

/// Days since 1970-01-01 of `(year, month, day)`: the inverse of [`civil`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(start, end)` in milliseconds of the UTC day holding `ms`.
pub fn day_bounds(ms: i64) -> (i64, i64) {
    let start = ms.div_euclid(86_400_000) * 86_400_000;
    (start, start + 86_400_000)
}

/// `(start, end)` in milliseconds of the UTC calendar month holding `ms`.
pub fn month_bounds(ms: i64) -> (i64, i64) {
    let (y, m, _) = civil(ms.div_euclid(86_400_000));
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        days_from_civil(y, m, 1) * 86_400_000,
        days_from_civil(ny, nm, 1) * 86_400_000,
    )
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

/// Milliseconds since the Unix epoch of a UTC time as GitHub writes it
/// (`2026-11-30T07:42:05Z`, fractions of a second ignored); `None` for anything else.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.split('.').next()?;
    let mut t = time.splitn(3, ':').map(str::parse::<i64>);
    let (h, m, sec) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && (0..61).contains(&sec);
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some((days * 86_400 + h * 3_600 + m * 60 + sec) * 1_000)
}

/// The RFC 3339 time `ago` before now, to the second, as GitHub writes times (comparable
/// with GitHub's `delivered_at` as text).
pub fn rfc3339_ago(ago: std::time::Duration) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    rfc3339(now - ago.as_millis() as i64)
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
    fn github_times_read_back_to_what_they_were_written_from() {
        for ms in [0, 1_764_488_525_000, 1_798_761_599_000] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }
        assert_eq!(
            parse_rfc3339("2026-11-30T07:42:05.123Z"),
            parse_rfc3339("2026-11-30T07:42:05Z")
        );
        for bad in [
            "",
            "2026-11-30",
            "2026-13-01T00:00:00Z",
            "2026-11-30T07:42:05+01:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    /// Also the times `doctor` and the redelivery loop compare with GitHub's `delivered_at`.
    #[test]
    fn day_and_month_bounds_follow_the_calendar() {
        for days in [-1_000, 0, 59, 365, 10_957, 20_454, 24_000] {
            let (y, m, d) = civil(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2026-12-04T16:05:00Z
        let ms = days_from_civil(2026, 12, 4) * 86_400_000 + 57_900_000;
        let (start, end) = day_bounds(ms);
        assert_eq!(
            (rfc3339(start), rfc3339(end)),
            ("2026-12-04T00:00:00Z".into(), "2026-12-05T00:00:00Z".into())
        );
        let (start, end) = month_bounds(ms);
        assert_eq!(
            (rfc3339(start), rfc3339(end)),
            ("2026-12-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())
        );
        let (_, end) = month_bounds(days_from_civil(2028, 2, 29) * 86_400_000);
        assert_eq!(rfc3339(end), "2028-03-01T00:00:00Z");
    }

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
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400_999), "2000-02-29T00:00:00Z");
        let day_ago = rfc3339_ago(std::time::Duration::from_secs(86_400));
        let now = rfc3339_ago(std::time::Duration::ZERO);
        assert!(
            rfc3339(1_700_000_000_000) < day_ago && day_ago < now,
            "{day_ago} {now}"
        );
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
        assert_eq!(duration(7_800_000), "2 h 10 min");
    }
}
