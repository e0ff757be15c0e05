//! Dates without a date crate: Unix seconds to and from the proleptic Gregorian calendar
//! (H. Hinnant's civil-date algorithms), the UTC form reports and commands write
//! (`2024-05-01T12:00:00Z`), and the date forms git and reports use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Unix seconds of `t` (negative before 1970; saturates far out of range).
pub fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Days since 1970-01-01 of the date `y`-`m`-`d`.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2024-05-01T12:00:00Z` for Unix seconds `secs`.
pub fn format_utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Unix seconds of a date as git and reports write it: RFC 3339 / ISO 8601
/// (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00+02:00`, `2024-05-01 14:00:00 +0200`, a bare
/// date) or git's raw `1714564800 +0200`. `None` when it is none of these.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(secs) = s
        .split_whitespace()
        .next()
        .and_then(|w| w.parse::<i64>().ok())
    {
        if s.len() < 10 || s.as_bytes().get(4).is_none_or(|&b| b != b'-') {
            return Some(secs);
        }
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * DAY;
    if b.len() == 10 {
        return Some(secs);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + se;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let rest = rest.trim_start();
    if rest.is_empty() || rest.eq_ignore_ascii_case("z") {
        return Some(secs);
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = rest[1..].chars().filter(|&c| c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let oh: i64 = digits[..2].parse().ok()?;
    let om: i64 = digits[2..].parse().ok()?;
    Some(secs - sign * (oh * 3600 + om * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_844, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn dates_format_and_parse() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_714_564_800), "2024-05-01T12:00:00Z");
        assert_eq!(format_utc(951_825_600), "2000-02-29T12:00:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        for s in [
            "2024-05-01T12:00:00Z",
            "2024-05-01T14:00:00+02:00",
            "2024-05-01 14:00:00 +0200",
            "2024-05-01T07:00:00.123-05:00",
            "1714564800 +0200",
            "1714564800",
        ] {
            assert_eq!(parse_date(s), Some(1_714_564_800), "{s}");
        }
        assert_eq!(parse_date("2024-05-01"), Some(1_714_521_600));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-05-01T25:00:00Z",
            "2024-05-01X",
            "2024-05-01T12:00:00+2",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn unix_of_system_times() {
        use std::time::Duration;
        assert_eq!(unix(UNIX_EPOCH + Duration::from_secs(42)), 42);
        assert_eq!(unix(UNIX_EPOCH - Duration::from_secs(42)), -42);
    }
}
