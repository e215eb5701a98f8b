//! Timestamp parsing. Every timestamp becomes microseconds since the epoch, UTC: an offset in the
//! text is applied; naive text takes the source's [`TimeZoneSpec`].

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone};
use serde::{Deserialize, Serialize};

/// Microseconds per second.
pub const MICROS_PER_SEC: i64 = 1_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Seconds since the epoch of a validated civil date and time, or `None` if out of range.
pub fn civil_to_epoch_seconds(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64)
}

/// The month (1–12) of an English three-letter abbreviation such as `Oct`.
#[inline]
pub fn month_from_abbr(b: &[u8]) -> Option<u32> {
    if b.len() != 3 {
        return None;
    }
    Some(match [b[0], b[1], b[2]] {
        [b'J', b'a', b'n'] => 1,
        [b'F', b'e', b'b'] => 2,
        [b'M', b'a', b'r'] => 3,
        [b'A', b'p', b'r'] => 4,
        [b'M', b'a', b'y'] => 5,
        [b'J', b'u', b'n'] => 6,
        [b'J', b'u', b'l'] => 7,
        [b'A', b'u', b'g'] => 8,
        [b'S', b'e', b'p'] => 9,
        [b'O', b'c', b't'] => 10,
        [b'N', b'o', b'v'] => 11,
        [b'D', b'e', b'c'] => 12,
        _ => return None,
    })
}

/// Parses a run of ASCII digits of exactly `b.len()` bytes.
#[inline]
pub fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u32;
    }
    Some(v)
}

/// Parses the Common Log Format time `10/Oct/2000:13:55:36 -0700` to UTC microseconds.
#[inline]
pub fn parse_clf(b: &[u8]) -> Option<i64> {
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let day = digits(&b[0..2])?;
    let month = month_from_abbr(&b[3..6])?;
    let year = digits(&b[7..11])? as i64;
    let hour = digits(&b[12..14])?;
    let minute = digits(&b[15..17])?;
    let second = digits(&b[18..20])?;
    if b[14] != b':' || b[17] != b':' {
        return None;
    }
    let offset = parse_offset_hhmm(&b[21..26])?;
    let secs = civil_to_epoch_seconds(year, month, day, hour, minute, second)?;
    Some((secs - offset) * MICROS_PER_SEC)
}

/// Parses `+hhmm`, `-hhmm`, `+hh:mm` or `-hh:mm` to seconds east of UTC.
fn parse_offset_hhmm(b: &[u8]) -> Option<i64> {
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = match b.len() {
        5 => (digits(&b[1..3])?, digits(&b[3..5])?),
        6 if b[3] == b':' => (digits(&b[1..3])?, digits(&b[4..6])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h as i64 * 3600 + m as i64 * 60))
}

/// An RFC 3339 / ISO 8601 timestamp split into its naive part and optional offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTime {
    /// Microseconds since the epoch of the wall-clock time, as if it were UTC.
    pub naive_micros: i64,
    /// Seconds east of UTC, when the text had an offset (`Z` counts as 0).
    pub offset_seconds: Option<i64>,
}

impl ParsedTime {
    /// UTC microseconds, applying the offset or, for naive text, the zone `tz`.
    pub fn to_utc(self, tz: &TimeZoneSpec) -> Option<i64> {
        match self.offset_seconds {
            Some(off) => Some(self.naive_micros - off * MICROS_PER_SEC),
            None => tz.naive_to_utc_micros(self.naive_micros),
        }
    }
}

/// Parses `2026-10-01T12:00:00[.ffffff][Z|±hh:mm|±hhmm]` (a space may replace `T`).
pub fn parse_rfc3339(b: &[u8]) -> Option<ParsedTime> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    let secs = civil_to_epoch_seconds(year, month, day, hour, minute, second)?;
    let mut rest = &b[19..];
    let mut micros: i64 = 0;
    if let Some((&b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, &c) in frac[..n].iter().enumerate().take(6) {
            micros += (c - b'0') as i64 * 10_i64.pow(5 - i as u32);
        }
        rest = &frac[n..];
    }
    let offset_seconds = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        other => Some(parse_offset_hhmm(other)?),
    };
    Some(ParsedTime { naive_micros: secs * MICROS_PER_SEC + micros, offset_seconds })
}

/// The zone that naive timestamps of a source are in: `UTC`, a fixed offset such as `+02:00`,
/// or an IANA name such as `Europe/Berlin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TimeZoneSpec {
    /// Coordinated Universal Time.
    #[default]
    Utc,
    /// A fixed offset, in seconds east of UTC.
    Fixed(i32),
    /// A named zone with daylight saving rules.
    Named(chrono_tz::Tz),
}

impl TimeZoneSpec {
    /// UTC microseconds of a wall-clock time in this zone. In a daylight-saving gap the earlier
    /// offset is used; in an overlap, the first occurrence.
    pub fn naive_to_utc_micros(&self, naive_micros: i64) -> Option<i64> {
        match self {
            TimeZoneSpec::Utc => Some(naive_micros),
            TimeZoneSpec::Fixed(off) => Some(naive_micros - *off as i64 * MICROS_PER_SEC),
            TimeZoneSpec::Named(tz) => {
                let naive = DateTime::from_timestamp_micros(naive_micros)?.naive_utc();
                let offset = match tz.offset_from_local_datetime(&naive) {
                    chrono::LocalResult::Single(o) | chrono::LocalResult::Ambiguous(o, _) => o,
                    chrono::LocalResult::None => tz.offset_from_utc_datetime(&naive),
                };
                let off = offset.fix().local_minus_utc() as i64;
                Some(naive_micros - off * MICROS_PER_SEC)
            }
        }
    }
}

/// A time zone name that is neither UTC, an offset nor an IANA zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timezone {text:?} (use UTC, an offset like +02:00, or an IANA name like Europe/Berlin)")]
pub struct TimeZoneError {
    /// The name given.
    pub text: String,
}

impl FromStr for TimeZoneSpec {
    type Err = TimeZoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(TimeZoneSpec::Utc);
        }
        if let Some(off) = parse_offset_hhmm(s.as_bytes()) {
            return Ok(TimeZoneSpec::Fixed(off as i32));
        }
        s.parse::<chrono_tz::Tz>().map(TimeZoneSpec::Named).map_err(|_| TimeZoneError { text: s.to_string() })
    }
}

impl TryFrom<String> for TimeZoneSpec {
    type Error = TimeZoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TimeZoneSpec> for String {
    fn from(tz: TimeZoneSpec) -> String {
        match tz {
            TimeZoneSpec::Utc => "UTC".into(),
            TimeZoneSpec::Fixed(off) => {
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.unsigned_abs();
                format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
            }
            TimeZoneSpec::Named(tz) => tz.name().to_string(),
        }
    }
}

/// How a user-defined format's timestamp text is written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TimestampFormat {
    /// RFC 3339 / ISO 8601 (the default).
    #[default]
    Rfc3339,
    /// Common Log Format: `10/Oct/2000:13:55:36 -0700`.
    Clf,
    /// Seconds since the epoch, optionally with a fraction.
    EpochSeconds,
    /// Milliseconds since the epoch.
    EpochMillis,
    /// A chrono `strftime` pattern, e.g. `%Y-%m-%d %H:%M:%S%.f`; `%z` in it makes it zoned.
    Strftime(String),
}

impl From<String> for TimestampFormat {
    fn from(s: String) -> Self {
        match s.as_str() {
            "rfc3339" | "iso8601" => TimestampFormat::Rfc3339,
            "clf" => TimestampFormat::Clf,
            "epoch" | "epoch_seconds" => TimestampFormat::EpochSeconds,
            "epoch_millis" => TimestampFormat::EpochMillis,
            _ => TimestampFormat::Strftime(s),
        }
    }
}

impl From<TimestampFormat> for String {
    fn from(f: TimestampFormat) -> String {
        match f {
            TimestampFormat::Rfc3339 => "rfc3339".into(),
            TimestampFormat::Clf => "clf".into(),
            TimestampFormat::EpochSeconds => "epoch_seconds".into(),
            TimestampFormat::EpochMillis => "epoch_millis".into(),
            TimestampFormat::Strftime(s) => s,
        }
    }
}

impl TimestampFormat {
    /// Parses `text` to UTC microseconds; naive text is in zone `tz`.
    pub fn parse(&self, text: &str, tz: &TimeZoneSpec) -> Option<i64> {
        match self {
            TimestampFormat::Rfc3339 => parse_rfc3339(text.as_bytes())?.to_utc(tz),
            TimestampFormat::Clf => parse_clf(text.as_bytes()),
            TimestampFormat::EpochSeconds => {
                let f: f64 = text.parse().ok()?;
                f.is_finite().then(|| (f * 1e6).round() as i64)
            }
            TimestampFormat::EpochMillis => text.parse::<i64>().ok()?.checked_mul(1000),
            TimestampFormat::Strftime(pattern) => {
                if pattern.contains("%z") || pattern.contains("%:z") || pattern.contains("%#z") {
                    let dt = DateTime::parse_from_str(text, pattern).ok()?;
                    Some(dt.timestamp_micros())
                } else {
                    let naive = NaiveDateTime::parse_from_str(text, pattern)
                        .or_else(|_| {
                            NaiveDate::parse_from_str(text, pattern).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                        })
                        .ok()?;
                    tz.naive_to_utc_micros(naive.and_utc().timestamp_micros())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_applies_offset() {
        // 2000-10-10 13:55:36 -0700 = 20:55:36 UTC
        let t = parse_clf(b"10/Oct/2000:13:55:36 -0700").unwrap();
        assert_eq!(t, 971_211_336 * MICROS_PER_SEC);
        assert_eq!(parse_clf(b"31/Feb/2000:13:55:36 -0700"), None);
        assert_eq!(parse_clf(b"10/Foo/2000:13:55:36 -0700"), None);
    }

    #[test]
    fn rfc3339_variants() {
        let z = parse_rfc3339(b"2026-10-01T12:00:00.5Z").unwrap();
        assert_eq!(z.offset_seconds, Some(0));
        assert_eq!(z.to_utc(&TimeZoneSpec::Utc), Some(1_790_856_000_500_000));
        let off = parse_rfc3339(b"2026-10-01T14:00:00.5+02:00").unwrap();
        assert_eq!(off.to_utc(&TimeZoneSpec::Utc), Some(1_790_856_000_500_000));
        let naive = parse_rfc3339(b"2026-10-01 14:00:00.500").unwrap();
        let berlin: TimeZoneSpec = "Europe/Berlin".parse().unwrap();
        assert_eq!(naive.to_utc(&berlin), Some(1_790_856_000_500_000));
        assert!(parse_rfc3339(b"2026-13-01T00:00:00Z").is_none());
    }

    #[test]
    fn leap_day() {
        assert!(civil_to_epoch_seconds(2024, 2, 29, 0, 0, 0).is_some());
        assert!(civil_to_epoch_seconds(2023, 2, 29, 0, 0, 0).is_none());
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn strftime_and_epoch() {
        let f = TimestampFormat::from("%Y/%m/%d %H:%M:%S".to_string());
        assert_eq!(f.parse("1970/01/02 00:00:00", &TimeZoneSpec::Utc), Some(86_400_000_000));
        let e = TimestampFormat::EpochSeconds;
        assert_eq!(e.parse("1.5", &TimeZoneSpec::Utc), Some(1_500_000));
        assert!("Mars/Olympus".parse::<TimeZoneSpec>().is_err());
    }
}
