//! HTTP-date parsing (RFC 9110, section 5.6.7): IMF-fixdate, RFC 850 and
//! asctime, all in GMT.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The instant an HTTP-date names, or `None` if it is not one.
pub(crate) fn parse(value: &str) -> Option<SystemTime> {
    let cleaned: String = value
        .chars()
        .map(|c| if c == ',' || c == '-' { ' ' } else { c })
        .collect();
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    let (day, month, year, time) = match tokens[..] {
        // "Sun, 06 Nov 1994 08:49:37 GMT" and "Sunday, 06-Nov-94 08:49:37 GMT"
        [_, day, month, year, time, "GMT"] => (day, month, year, time),
        // "Sun Nov  6 08:49:37 1994"
        [_, month, day, time, year] => (day, month, year, time),
        _ => return None,
    };
    let day: u32 = number(day)?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let year = full_year(number(year)?, year.len())?;
    let (h, m, s) = clock(time)?;
    if !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + s);
    // A date before 1970 is a date too (in the past of any `now`).
    let since = Duration::from_secs(secs.unsigned_abs());
    if secs < 0 {
        UNIX_EPOCH.checked_sub(since)
    } else {
        UNIX_EPOCH.checked_add(since)
    }
}

fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// RFC 850's two-digit years: 70-99 are 19xx, 00-69 are 20xx.
fn full_year(year: i64, digits: usize) -> Option<i64> {
    match digits {
        2 if year >= 70 => Some(1900 + year),
        2 => Some(2000 + year),
        4 => Some(year),
        _ => None,
    }
}

fn clock(time: &str) -> Option<(u32, u32, u32)> {
    let mut parts = time.split(':');
    let h: u32 = number(parts.next()?)?;
    let m: u32 = number(parts.next()?)?;
    let s: u32 = number(parts.next()?)?;
    // 60 for a leap second.
    (parts.next().is_none() && h < 24 && m < 60 && s <= 60).then_some((h, m, s))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(value: &str) -> Option<u64> {
        parse(value).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
    }

    #[test]
    fn three_forms_agree() {
        assert_eq!(secs("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(secs("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(secs("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
    }

    #[test]
    fn epoch_and_leap_day() {
        assert_eq!(secs("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(secs("Thu, 29 Feb 2024 00:00:00 GMT"), Some(1_709_164_800));
    }

    #[test]
    fn dates_before_the_epoch() {
        let before = |secs| UNIX_EPOCH.checked_sub(Duration::from_secs(secs));
        assert_eq!(parse("Wed, 31 Dec 1969 23:59:59 GMT"), before(1));
        assert_eq!(
            parse("Mon, 01 Jan 0001 00:00:00 GMT"),
            before(62_135_596_800)
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "GMT",
            "Sun, 31 Feb 2024 00:00:00 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
