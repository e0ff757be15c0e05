//! Dates without a date library: Unix seconds to and from the forms reports and git write
//! (`2024-05-01T12:00:00Z`, `2024-05-01T14:34:56+02:00`), on the proleptic Gregorian
//! calendar (H. Hinnant's civil-date algorithms).

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

/// Days since 1970-01-01 of a proleptic Gregorian date (`m` 1 to 12, `d` 1 to 31).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1 to 12, day 1 to 31) of `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2024-05-01T12:00:00` for Unix seconds `secs` (no zone).
fn date_time(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2024-05-01T12:00:00Z` for Unix seconds `secs`.
pub fn format_utc(secs: i64) -> String {
    format!("{}Z", date_time(secs))
}

/// `seconds` since the epoch at UTC offset `offset_minutes`, as `2024-05-01T12:34:56+02:00`
/// (how git dates are reported).
pub fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    let local = seconds + i64::from(offset_minutes) * 60;
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!("{}{sign}{:02}:{:02}", date_time(local), off / 60, off % 60)
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
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_714_566_896, 120), "2024-05-01T14:34:56+02:00");
        assert_eq!(rfc3339(951_782_400, -330), "2000-02-28T18:30:00-05:30");
    }

    #[test]
    fn civil_dates_round_trip() {
        // Around the epoch, leap days (2000 is a leap year, 1900 and 2100 are not), and
        // before 1970.
        for (y, m, d) in [
            (1970, 1, 1),
            (1969, 12, 31),
            (2000, 2, 29),
            (1900, 3, 1),
            (2100, 2, 28),
            (2024, 5, 1),
            (1600, 1, 1),
        ] {
            let days = days_from_civil(y, m, d);
            assert_eq!(civil_from_days(days), (y, m, d), "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28),
            1
        );
    }

    #[test]
    fn formatted_dates_parse_back() {
        for secs in [0, 1_714_564_800, -86_401, 4_102_444_799] {
            assert_eq!(parse_date(&format_utc(secs)), Some(secs), "{secs}");
            for offset in [0, 120, -330] {
                assert_eq!(
                    parse_date(&rfc3339(secs, offset)),
                    Some(secs),
                    "{secs} {offset}"
                );
            }
        }
        assert_eq!(format_utc(1_714_564_800), "2024-05-01T12:00:00Z");
        assert_eq!(parse_date("2024-05-01 14:00:00 +0200"), Some(1_714_564_800));
        assert_eq!(parse_date("1714564800 +0200"), Some(1_714_564_800));
        assert_eq!(parse_date("2024-05-01"), Some(1_714_521_600));
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
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
