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

/// Reads Common Log Format times like [`parse_clf`], remembering the last date and zone:
/// the lines of an access log share them for hours, so most timestamps are one comparison
/// and a read of `HH:MM:SS` as one word, with no branch on the digits (lines share their
/// second only now and then, so a test for a repeated second would mostly guess wrong).
#[derive(Debug, Clone, Default)]
pub struct ClfClock {
    /// The last date (`dd/Mon/yyyy:`), zone (` +zzzz`) and the UTC second their day starts at.
    day: Option<([u8; 12], [u8; 6], i64)>,
}

impl ClfClock {
    /// The UTC microseconds of `b`, or `None` where [`parse_clf`] would return `None`.
    #[inline]
    pub fn parse(&mut self, b: &[u8]) -> Option<i64> {
        let text: &[u8; 26] = b.try_into().ok()?;
        let (date, clock, zone) = (&text[..12], &text[12..20], &text[20..]);
        if let Some((last_date, last_zone, start)) = &self.day
            && date == last_date
            && zone == last_zone
        {
            let clock: &[u8; 8] = clock.try_into().ok()?;
            return Some((start + seconds_of_day(clock)?) * MICROS_PER_SEC);
        }
        let micros = parse_clf(text)?;
        let mut midnight = *text;
        midnight[12..20].copy_from_slice(b"00:00:00");
        let start = parse_clf(&midnight)? / MICROS_PER_SEC;
        let (mut last_date, mut last_zone) = ([0u8; 12], [0u8; 6]);
        last_date.copy_from_slice(date);
        last_zone.copy_from_slice(zone);
        self.day = Some((last_date, last_zone, start));
        Some(micros)
    }
}

/// The seconds since midnight of `HH:MM:SS` (second 60 allowed, as [`parse_clf`] allows it),
/// read as one word: the digits and colons tested eight bytes at once, the three numbers
/// combined in one multiplication, and one branch for the answer.
#[inline(always)]
fn seconds_of_day(clock: &[u8; 8]) -> Option<i64> {
    use crate::words::{ONES, non_digit_bytes};
    let word = u64::from_le_bytes(*clock);
    const DIGITS: u64 = 0xffff_00ff_ff00_ffff; // bytes 0, 1, 3, 4, 6 and 7
    const COLONS: u64 = (b':' as u64) << 16 | (b':' as u64) << 40;
    let digits_ok = non_digit_bytes(word) & DIGITS & (0x80 * ONES) == 0;
    let colons_ok = word & !DIGITS == COLONS;
    // Byte k becomes digit k + 10 × digit k - 1 (at most 99: no carry between bytes), so
    // bytes 1, 4 and 7 hold the hour, the minute and the second.
    let tens = (word & DIGITS & (0x0f * ONES)).wrapping_mul(10 << 8 | 1);
    let (hour, minute, second) = ((tens >> 8) & 0xff, (tens >> 32) & 0xff, tens >> 56);
    (digits_ok & colons_ok & (hour <= 23) & (minute <= 59) & (second <= 60))
        .then_some((hour * 3600 + minute * 60 + second) as i64)
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
    /// UTC microseconds, applying the offset or, for naive text, the source's zone.
    pub fn to_utc(self, rules: &TimeRules) -> Option<i64> {
        match self.offset_seconds {
            Some(off) => Some(self.naive_micros - off * MICROS_PER_SEC),
            None => rules.local_to_utc(self.naive_micros),
        }
    }
}

/// The last `yyyy-mm-dd` date read and its day number: the lines of a log share their date
/// for hours, so most timestamps skip the calendar arithmetic. For RFC 3339 text it also
/// keeps the last second (`yyyy-mm-ddThh:mm:ss`) read: many lines share that too.
#[derive(Debug, Clone, Default)]
pub struct DateCache {
    last: std::cell::Cell<Option<([u8; 10], i64)>>,
    second: std::cell::Cell<Option<([u8; 19], i64)>>,
}

/// The last second a [`TimeLayout`] read, in UTC: the next timestamp in the same second
/// (most of them, in a log) is a comparison of its leading bytes and a read of its fraction.
#[derive(Debug, Clone, Default)]
pub struct SecondCache {
    /// The text naming the second, as the words [`text_word`] reads from it (each a cell of
    /// its own: read in place, never copied out whole, so no load straddles two stores).
    words: [std::cell::Cell<u64>; SecondCache::MAX_WORDS],
    /// Bytes of that text (0: nothing cached).
    len: std::cell::Cell<usize>,
    /// The second's UTC µs.
    utc_micros: std::cell::Cell<i64>,
    /// The text naming the second's minute (the layout's `minute_len` bytes), as words.
    minute_words: [std::cell::Cell<u64>; SecondCache::MAX_WORDS],
    /// Bytes of that text (0: no minute cached).
    minute_len: std::cell::Cell<usize>,
    /// The naive (zone-less) µs of the minute's start.
    minute_naive: std::cell::Cell<i64>,
}

impl SecondCache {
    /// The most words of a second's text it keeps (40 bytes).
    const MAX_WORDS: usize = 5;

    /// The UTC µs of `text` written in `layout`: from the last second when `text` names the
    /// same one, else read whole by `layout` (dates through `dates`) and made UTC by
    /// `to_utc`. `None` when `layout` does not read `text` (chrono may still read it).
    pub fn timestamp(
        &self,
        layout: &TimeLayout,
        text: &[u8],
        dates: &DateCache,
        to_utc: impl FnOnce(i64) -> Option<i64>,
    ) -> Option<i64> {
        let second_len = layout.second_len.filter(|&n| n > 0 && n <= 8 * Self::MAX_WORDS && n <= text.len());
        if let Some(n) = second_len
            && self.len.get() == n
            && same_words(&self.words, &text[..n])
        {
            return Some(self.utc_micros.get() + layout.fraction_micros(&text[n..])?);
        }
        // A new second of the cached minute: its two digits and its fraction, the rest
        // checked when the minute was read.
        if let Some(n) = second_len
            && let Some(m) = layout.minute_len
            && self.minute_len.get() == m
            && same_words(&self.minute_words, &text[..m])
            && let Some(second) = digits(&text[m..n]).filter(|&s| s < 60)
        {
            let fraction = layout.fraction_micros(&text[n..])?;
            let start = self.minute_naive.get() + i64::from(second) * MICROS_PER_SEC;
            let utc = to_utc(start + fraction)?;
            self.keep_second(&text[..n], utc - fraction);
            return Some(utc);
        }
        let naive = layout.parse_naive_micros(text, dates)?;
        let utc = to_utc(naive)?;
        if let Some(n) = second_len {
            // The fraction is read again here only on a new minute.
            let fraction = layout.fraction_micros(&text[n..])?;
            self.keep_second(&text[..n], utc - fraction);
            if let Some(m) = layout.minute_len
                && let Some(second) = digits(&text[m..n])
            {
                for k in 0..m.div_ceil(8) {
                    self.minute_words[k].set(text_word(&text[..m], k));
                }
                self.minute_len.set(m);
                self.minute_naive.set(naive - fraction - i64::from(second) * MICROS_PER_SEC);
            }
        }
        Some(utc)
    }

    /// Keeps `text` as the last second read, at `utc_micros`.
    fn keep_second(&self, text: &[u8], utc_micros: i64) {
        for k in 0..text.len().div_ceil(8) {
            self.words[k].set(text_word(text, k));
        }
        self.len.set(text.len());
        self.utc_micros.set(utc_micros);
    }
}

/// Whether `words` hold `text` (as [`text_word`] cuts it; the caller checks the length).
#[inline]
fn same_words(words: &[std::cell::Cell<u64>], text: &[u8]) -> bool {
    (0..text.len().div_ceil(8)).all(|k| words.get(k).is_some_and(|w| w.get() == text_word(text, k)))
}

/// Word `k` of `text` for a comparison eight bytes at a time: bytes `8k..8k + 8`, the last
/// word ending where `text` ends (overlapping the one before), and a text under eight bytes
/// zero-padded. Two texts of one length are equal when all their `len.div_ceil(8)` words are.
#[inline]
fn text_word(text: &[u8], k: usize) -> u64 {
    let n = text.len();
    if n < 8 {
        let mut padded = [0u8; 8];
        padded[..n].copy_from_slice(text);
        return u64::from_ne_bytes(padded);
    }
    let at = (8 * k).min(n - 8);
    text.get(at..at + 8).and_then(|w| w.try_into().ok()).map_or(0, u64::from_ne_bytes)
}

impl DateCache {
    /// Days since the epoch of the date `ymd` (`yyyy-mm-dd`), or `None` if it is not one.
    #[inline]
    pub fn days(&self, ymd: &[u8]) -> Option<i64> {
        if let Some((date, days)) = self.last.get()
            && ymd == date
        {
            return Some(days);
        }
        let year = digits(&ymd[0..4])? as i64;
        let month = digits(&ymd[5..7])?;
        let day = digits(&ymd[8..10])?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        self.last.set(Some((ymd.get(..10)?.try_into().ok()?, days)));
        Some(days)
    }
}

/// Naive seconds since the epoch of `yyyy-mm-ddThh:mm:ss` (`t` or a space may replace `T`).
fn rfc3339_second(b: &[u8; 19], cache: &DateCache) -> Option<i64> {
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let days = cache.days(&b[..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(days * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64)
}

/// Parses `2026-10-01T12:00:00[.ffffff][Z|±hh:mm|±hhmm]` (a space may replace `T`).
pub fn parse_rfc3339(b: &[u8]) -> Option<ParsedTime> {
    parse_rfc3339_with(b, &DateCache::default())
}

/// [`parse_rfc3339`], remembering the date in `cache`.
#[inline]
pub fn parse_rfc3339_with(b: &[u8], cache: &DateCache) -> Option<ParsedTime> {
    let (whole_second, mut rest) = b.split_first_chunk::<19>()?;
    let secs = match cache.second.get() {
        Some((text, secs)) if text == *whole_second => secs,
        _ => {
            let secs = rfc3339_second(whole_second, cache)?;
            cache.second.set(Some((*whole_second, secs)));
            secs
        }
    };
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
    /// UTC microseconds of a wall-clock time in this zone. Where clocks change, a wall time
    /// can be two instants (the hour repeated in autumn) or none (the hour skipped in spring):
    /// `dst` says which instant to take, or to take none.
    pub fn naive_to_utc_micros(&self, naive_micros: i64, dst: DstPolicy) -> Option<i64> {
        match self {
            TimeZoneSpec::Utc => Some(naive_micros),
            TimeZoneSpec::Fixed(off) => Some(naive_micros - *off as i64 * MICROS_PER_SEC),
            TimeZoneSpec::Named(tz) => {
                let naive = DateTime::from_timestamp_micros(naive_micros)?.naive_utc();
                let utc =
                    |offset: chrono_tz::TzOffset| naive_micros - offset.fix().local_minus_utc() as i64 * MICROS_PER_SEC;
                let (earliest, latest) = match tz.offset_from_local_datetime(&naive) {
                    chrono::LocalResult::Single(o) => return Some(utc(o)),
                    chrono::LocalResult::Ambiguous(a, b) => (utc(a).min(utc(b)), utc(a).max(utc(b))),
                    // A skipped wall time: the instants it would be under the offsets before
                    // and after the change.
                    chrono::LocalResult::None => {
                        let day = chrono::TimeDelta::days(1);
                        let before = utc(tz.offset_from_utc_datetime(&(naive - day)));
                        let after = utc(tz.offset_from_utc_datetime(&(naive + day)));
                        (before.min(after), before.max(after))
                    }
                };
                match dst {
                    DstPolicy::Earliest => Some(earliest),
                    DstPolicy::Latest => Some(latest),
                    DstPolicy::Reject => None,
                }
            }
        }
    }
}

/// Which instant a wall-clock time means where clocks change (daylight saving time): in the
/// repeated hour of autumn and the skipped hour of spring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DstPolicy {
    /// The earlier of the two instants (the default).
    #[default]
    Earliest,
    /// The later one.
    Latest,
    /// Neither: the timestamp is a `bad_timestamp` reject.
    Reject,
}

/// How a source's timestamps become UTC: the zone of naive timestamps, the daylight-saving
/// policy, and the range of plausible epoch numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRules {
    /// The zone of timestamps without an offset.
    pub zone: TimeZoneSpec,
    /// How ambiguous and skipped wall times resolve.
    pub dst: DstPolicy,
    /// Epoch numbers (seconds, milliseconds) must fall in `[start, end)` µs: a number of the
    /// wrong magnitude (milliseconds read as seconds) is a reject, not the year 58719.
    pub epoch_range: (i64, i64),
}

/// The years epoch numbers must fall in by default.
pub const DEFAULT_EPOCH_YEARS: (i32, i32) = (1970, 2200);

impl Default for TimeRules {
    fn default() -> Self {
        TimeRules::new(TimeZoneSpec::Utc, DstPolicy::Earliest, DEFAULT_EPOCH_YEARS)
    }
}

impl TimeRules {
    /// Rules with epoch numbers plausible from the start of `years.0` to the end of `years.1`.
    pub fn new(zone: TimeZoneSpec, dst: DstPolicy, years: (i32, i32)) -> Self {
        let start = days_from_civil(years.0 as i64, 1, 1) * 86_400 * MICROS_PER_SEC;
        let end = days_from_civil(years.1 as i64 + 1, 1, 1) * 86_400 * MICROS_PER_SEC;
        TimeRules { zone, dst, epoch_range: (start, end) }
    }

    /// UTC microseconds of a wall-clock time (µs as if UTC) of the source's zone.
    pub fn local_to_utc(&self, naive_micros: i64) -> Option<i64> {
        self.zone.naive_to_utc_micros(naive_micros, self.dst)
    }

    /// `micros` if it is a plausible epoch time, else `None`.
    pub fn epoch(&self, micros: i64) -> Option<i64> {
        (self.epoch_range.0..self.epoch_range.1).contains(&micros).then_some(micros)
    }

    /// Seconds since the epoch (with a fraction) as plausible UTC microseconds.
    pub fn epoch_seconds(&self, seconds: f64) -> Option<i64> {
        let micros = seconds * 1e6;
        // Checked in f64 first: a huge number would saturate the cast to i64::MAX.
        (micros.is_finite() && micros.abs() < 9.2e18).then(|| self.epoch(micros.round() as i64)).flatten()
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

/// A strftime pattern made of fixed-width numbers and literal text (`%Y-%m-%d %H:%M:%S%.3f`
/// and its kind), read without chrono. It takes a subset of what chrono takes (two digits
/// where chrono takes one or two, one space where chrono takes any), with the same values;
/// anything else (no match, a leap second) is left to chrono.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeLayout {
    items: Vec<LayoutItem>,
    /// Bytes of a text that name its second (see [`TimeLayout::second_len`]).
    second_len: Option<usize>,
    /// Bytes of a text that name its minute, when its second (`%S`) follows them and ends
    /// the second's text: two texts sharing these bytes differ only in the second.
    minute_len: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LayoutItem {
    Literal(Box<[u8]>),
    /// `%Y`: four digits.
    Year,
    /// `%m`, `%d`, `%H`, `%M`, `%S`: two digits each.
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// `%.3f`, `%.6f`, `%.9f` (`Some(digits)`) or `%.f` (`None`: 1 to 9 digits): a `.` and the
    /// fraction, or nothing (chrono makes them optional).
    Fraction(Option<usize>),
}

impl TimeLayout {
    /// The layout of `pattern`, or `None` when it holds anything but `%Y %m %d %H %M %S %.f
    /// %.3f %.6f %.9f %%` and literal text, or lacks a full date.
    pub fn compile(pattern: &str) -> Option<TimeLayout> {
        let mut items = Vec::new();
        let mut literal = Vec::new();
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if c != '%' {
                literal.extend_from_slice(&rest.as_bytes()[..c.len_utf8()]);
                rest = &rest[c.len_utf8()..];
                continue;
            }
            let (item, len) = match rest.get(1..3).unwrap_or(rest.get(1..2).unwrap_or("")) {
                s if s.starts_with('Y') => (LayoutItem::Year, 2),
                s if s.starts_with('m') => (LayoutItem::Month, 2),
                s if s.starts_with('d') => (LayoutItem::Day, 2),
                s if s.starts_with('H') => (LayoutItem::Hour, 2),
                s if s.starts_with('M') => (LayoutItem::Minute, 2),
                s if s.starts_with('S') => (LayoutItem::Second, 2),
                s if s.starts_with('%') => {
                    literal.push(b'%');
                    rest = &rest[2..];
                    continue;
                }
                ".f" => (LayoutItem::Fraction(None), 3),
                ".3" | ".6" | ".9" if rest.get(3..4) == Some("f") => {
                    (LayoutItem::Fraction(Some(usize::from(rest.as_bytes()[2] - b'0'))), 4)
                }
                _ => return None,
            };
            if !literal.is_empty() {
                items.push(LayoutItem::Literal(std::mem::take(&mut literal).into()));
            }
            items.push(item);
            rest = &rest[len..];
        }
        if !literal.is_empty() {
            items.push(LayoutItem::Literal(literal.into()));
        }
        let has = |wanted: LayoutItem| items.iter().filter(|i| **i == wanted).count() == 1;
        let once = |wanted: LayoutItem| items.iter().filter(|i| **i == wanted).count() <= 1;
        let full_date = has(LayoutItem::Year) && has(LayoutItem::Month) && has(LayoutItem::Day);
        let single = [LayoutItem::Hour, LayoutItem::Minute, LayoutItem::Second].into_iter().all(once)
            && items.iter().filter(|i| matches!(i, LayoutItem::Fraction(_))).count() <= 1;
        // chrono reads a time only with an hour and a minute (a second and its fraction
        // optional, in that order); with less it reads the date alone, at midnight.
        let present = |wanted: LayoutItem| items.contains(&wanted);
        let fraction = items.iter().any(|i| matches!(i, LayoutItem::Fraction(_)));
        let time = match (present(LayoutItem::Hour), present(LayoutItem::Minute), present(LayoutItem::Second)) {
            (false, false, false) => !fraction,
            (true, true, false) => !fraction,
            (true, true, true) => true,
            _ => false,
        };
        if !(full_date && single && time) {
            return None;
        }
        let mut layout = TimeLayout { items, second_len: None, minute_len: None };
        layout.second_len = layout.second_len();
        layout.minute_len = layout.minute_len();
        Some(layout)
    }

    /// Bytes of the text that name its second: every item when the layout ends at the
    /// second or has its fraction last (every other item is fixed-width), else `None`.
    fn second_len(&self) -> Option<usize> {
        let (last, head) = self.items.split_last()?;
        let width = |item: &LayoutItem| match item {
            LayoutItem::Literal(bytes) => Some(bytes.len()),
            LayoutItem::Year => Some(4),
            LayoutItem::Month | LayoutItem::Day | LayoutItem::Hour | LayoutItem::Minute | LayoutItem::Second => Some(2),
            LayoutItem::Fraction(_) => None,
        };
        let head_len = head.iter().map(width).sum::<Option<usize>>()?;
        match last {
            LayoutItem::Fraction(_) => Some(head_len),
            item => Some(head_len + width(item)?),
        }
    }

    /// See [`TimeLayout::minute_len`]: the second's text less its last two bytes when they
    /// are the `%S` of the layout.
    fn minute_len(&self) -> Option<usize> {
        let n = self.second_len?;
        let second_last = matches!(
            self.items.as_slice(),
            [.., LayoutItem::Second, LayoutItem::Fraction(_)] | [.., LayoutItem::Second]
        );
        (second_last && n >= 2).then(|| n - 2)
    }

    /// The µs of the fraction `tail` (what follows the second), read as
    /// [`TimeLayout::parse_naive_micros`] reads it; `None` when it does not read it.
    #[inline]
    fn fraction_micros(&self, tail: &[u8]) -> Option<i64> {
        // The common case inline: `.` and exactly the layout's (at most six) digits.
        if let Some(LayoutItem::Fraction(Some(width @ 1..=6))) = self.items.last()
            && let Some((&b'.', fraction)) = tail.split_first()
            && fraction.len() == *width
        {
            return Some(i64::from(digits(fraction)?) * FRACTION_SCALE[*width]);
        }
        let (micros, used) = match self.items.last() {
            Some(LayoutItem::Fraction(width)) => read_fraction(*width, tail)?,
            _ => (0, 0),
        };
        (used == tail.len()).then_some(micros)
    }

    /// The naive (zone-less) time of `text` in µs since the epoch, or `None` when `text` is
    /// not in this layout as this reader takes it (chrono may still read it).
    pub fn parse_naive_micros(&self, text: &[u8], dates: &DateCache) -> Option<i64> {
        let mut ymd = *b"0000-00-00";
        let (mut hour, mut minute, mut second, mut micros) = (0i64, 0i64, 0i64, 0i64);
        let mut i = 0;
        let two = |i: &mut usize| -> Option<u32> {
            let v = digits(text.get(*i..*i + 2)?)?;
            *i += 2;
            Some(v)
        };
        for item in &self.items {
            match item {
                LayoutItem::Literal(bytes) => {
                    // Most literals are one separator byte: no `memcmp` call for them.
                    let same = match **bytes {
                        [byte] => text.get(i) == Some(&byte),
                        _ => text.get(i..)?.starts_with(bytes),
                    };
                    if !same {
                        return None;
                    }
                    i += bytes.len();
                }
                LayoutItem::Year => {
                    let year = text.get(i..i + 4)?;
                    digits(year)?;
                    ymd[..4].copy_from_slice(year);
                    i += 4;
                }
                LayoutItem::Month => {
                    ymd[5..7].copy_from_slice(text.get(i..i + 2)?);
                    two(&mut i)?;
                }
                LayoutItem::Day => {
                    ymd[8..10].copy_from_slice(text.get(i..i + 2)?);
                    two(&mut i)?;
                }
                LayoutItem::Hour => hour = i64::from(two(&mut i).filter(|&h| h < 24)?),
                LayoutItem::Minute => minute = i64::from(two(&mut i).filter(|&m| m < 60)?),
                // A leap second (60) is chrono's business.
                LayoutItem::Second => second = i64::from(two(&mut i).filter(|&s| s < 60)?),
                LayoutItem::Fraction(width) => {
                    let (value, used) = read_fraction(*width, &text[i..])?;
                    micros = value;
                    i += used;
                }
            }
        }
        if i != text.len() {
            return None;
        }
        let days = dates.days(&ymd)?;
        Some(((days * 86_400 + hour * 3600 + minute * 60 + second) * MICROS_PER_SEC) + micros)
    }
}

/// What a fraction of `n` digits (at most six read) is multiplied by to make µs.
const FRACTION_SCALE: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/// The fraction of a second at the start of `text` (`.` and `width` digits, or 1 to 9 for
/// `None`) as µs, and the bytes it takes; `(0, 0)` when `text` does not start with `.` (chrono
/// makes the fraction optional); `None` when the digits do not fit `width`.
#[inline]
fn read_fraction(width: Option<usize>, text: &[u8]) -> Option<(i64, usize)> {
    let Some((&b'.', rest)) = text.split_first() else { return Some((0, 0)) };
    let count = match width {
        // Exactly `w` digits: the next byte is not one.
        Some(w) => {
            if rest.get(w).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            w
        }
        None => Some(rest.iter().take_while(|c| c.is_ascii_digit()).count()).filter(|n| (1..=9).contains(n))?,
    };
    // One pass checks the digits and reads the first six of them.
    let mut micros = 0i64;
    for (k, &c) in rest.get(..count)?.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        if k < 6 {
            micros = micros * 10 + i64::from(d);
        }
    }
    Some((micros * FRACTION_SCALE[count.min(6)], 1 + count))
}

impl TimestampFormat {
    /// The fast layout of a naive strftime format (see [`TimeLayout`]), if it has one.
    pub fn layout(&self) -> Option<TimeLayout> {
        match self {
            TimestampFormat::Strftime(pattern) => TimeLayout::compile(pattern),
            _ => None,
        }
    }

    /// Parses `text` to UTC microseconds by the source's `rules` (zone of naive text,
    /// daylight saving, plausible epoch numbers).
    pub fn parse(&self, text: &str, rules: &TimeRules) -> Option<i64> {
        match self {
            TimestampFormat::Rfc3339 => parse_rfc3339(text.as_bytes())?.to_utc(rules),
            TimestampFormat::Clf => parse_clf(text.as_bytes()),
            TimestampFormat::EpochSeconds => rules.epoch_seconds(text.parse().ok()?),
            TimestampFormat::EpochMillis => rules.epoch(text.parse::<i64>().ok()?.checked_mul(1000)?),
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
                    rules.local_to_utc(naive.and_utc().timestamp_micros())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUTS: [&str; 6] = [
        "%Y-%m-%d %H:%M:%S%.3f",
        "%Y-%m-%d %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y%m%d",
        "%Y-%m-%d %%%H:%M",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// A time the layout reads is the time chrono reads; what it does not read is chrono's.
        #[test]
        fn the_layout_reads_what_chrono_reads(
            y in 1960u32..2300, mo in 0u32..14, d in 0u32..33, h in 0u32..25, mi in 0u32..61, s in 0u32..62,
            frac in "[0-9]{0,10}", sep in proptest::prop_oneof![" ", "T", "  ", ""],
        ) {
            for pattern in LAYOUTS {
                let layout = TimeLayout::compile(pattern).unwrap();
                let text = match pattern {
                    "%d/%m/%Y %H:%M" => format!("{d:02}/{mo:02}/{y:04}{sep}{h:02}:{mi:02}"),
                    "%Y%m%d" => format!("{y:04}{mo:02}{d:02}"),
                    "%Y-%m-%d %%%H:%M" => format!("{y:04}-{mo:02}-{d:02}{sep}%{h:02}:{mi:02}"),
                    _ => format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{}", if frac.is_empty() { String::new() } else { format!(".{frac}") }),
                };
                let rules = TimeRules::default();
                let chrono = TimestampFormat::Strftime(pattern.into()).parse(&text, &rules);
                if let Some(naive) = layout.parse_naive_micros(text.as_bytes(), &DateCache::default()) {
                    proptest::prop_assert_eq!(rules.local_to_utc(naive), chrono, "{} reading {:?}", pattern, text);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// One clock reading a run of times (repeats, same days, other days and zones, broken
        /// text) answers what `parse_clf` answers for each.
        #[test]
        fn the_clock_reads_what_parse_clf_reads(
            times in proptest::collection::vec(
                (0u8..4, (0u32..3, 0u32..33, 0usize..13), (0u32..25, 0u32..61, 0u32..62), proptest::sample::select(vec!["+0000", "-0700", "+0530", "+2400", "x0000"]), 0u8..60, proptest::sample::select(b"?:/0 9\x80\xff\x3a\x2f\x40\x1a".to_vec())),
                1..60,
            )
        ) {
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo"];
            let mut clock = ClfClock::default();
            // Each time keeps the last one's fields but for `change`: none, the second, the
            // time of day, or everything.
            let (mut date, mut time, mut zone) = ((0, 1, 0), (0, 0, 0), "+0000");
            for (change, new_date, new_time, new_zone, noise, noise_byte) in times {
                match change {
                    0 => {}
                    1 => time.2 = new_time.2,
                    2 => time = new_time,
                    _ => (date, time, zone) = (new_date, new_time, new_zone),
                }
                let ((y, d, mo), (h, mi, s)) = (date, time);
                let mut text = format!("{d:02}/{}/{:04}:{h:02}:{mi:02}:{s:02} {zone}", months[mo], 2024 + y).into_bytes();
                if (noise as usize) < text.len() {
                    text[noise as usize] = noise_byte;
                }
                proptest::prop_assert_eq!(clock.parse(&text), parse_clf(&text), "{}", String::from_utf8_lossy(&text));
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// One second cache reading a run of times (repeated seconds with other fractions,
        /// new seconds, broken text) answers what the layout alone answers for each, in a
        /// zone with daylight saving too.
        #[test]
        fn the_second_cache_reads_what_the_layout_reads(
            times in proptest::collection::vec(
                (0u8..3, (0u32..24, 0u32..60, 0u32..61), "[0-9]{0,10}", proptest::sample::select(vec!["", ".", "x", "9"]), 0u8..40),
                1..60,
            ),
            zone in proptest::sample::select(vec!["UTC", "+05:30", "Europe/Berlin"]),
            reject in proptest::bool::ANY,
        ) {
            // 2026-03-29 02:xx does not exist in Berlin: taken or rejected by the policy.
            let dst = if reject { DstPolicy::Reject } else { DstPolicy::Earliest };
            let rules = TimeRules::new(zone.parse::<TimeZoneSpec>().unwrap(), dst, (1970, 2100));
            for pattern in ["%Y-%m-%d %H:%M:%S%.3f", "%Y-%m-%d %H:%M:%S%.6f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M"] {
                let layout = TimeLayout::compile(pattern).unwrap();
                let sep = if pattern.contains('T') { "T" } else { " " };
                let (cache, dates) = (SecondCache::default(), DateCache::default());
                let mut time = (0, 0, 0);
                for (change, new_time, frac, tail, noise) in &times {
                    match change {
                        0 => {}
                        1 => time.2 = new_time.2,
                        _ => time = *new_time,
                    }
                    let (h, mi, s) = time;
                    let mut text = match pattern {
                        "%d/%m/%Y %H:%M" => format!("29/03/2026 {h:02}:{mi:02}{tail}"),
                        _ if frac.is_empty() => format!("2026-03-29{sep}{h:02}:{mi:02}:{s:02}{tail}"),
                        _ => format!("2026-03-29{sep}{h:02}:{mi:02}:{s:02}.{frac}{tail}"),
                    }
                    .into_bytes();
                    if usize::from(*noise) < text.len() {
                        text[usize::from(*noise)] = b'?';
                    }
                    let want = layout.parse_naive_micros(&text, &DateCache::default()).and_then(|n| rules.local_to_utc(n));
                    let got = cache.timestamp(&layout, &text, &dates, |n| rules.local_to_utc(n));
                    proptest::prop_assert_eq!(got, want, "{} reading {}", pattern, String::from_utf8_lossy(&text));
                }
            }
        }
    }

    #[test]
    fn only_fixed_layouts_compile() {
        assert!(TimeLayout::compile("%Y-%m-%d %H:%M:%S%.3f").is_some());
        assert!(TimeLayout::compile("%H:%M:%S").is_none(), "no date");
        assert!(TimeLayout::compile("%Y-%m-%d %H:%M:%S %z").is_none(), "an offset");
        assert!(TimeLayout::compile("%b %d %Y").is_none(), "a month name");
        assert!(TimeLayout::compile("%Y-%m-%d %H:%H").is_none(), "a field twice");
        assert!(TimeLayout::compile("%Y-%m-%d %H").is_none(), "an hour alone: chrono reads the date alone");
        let layout = TimeLayout::compile("%Y-%m-%d %H:%M:%S%.3f").unwrap();
        let micros = layout.parse_naive_micros(b"2026-10-01 00:00:01.120", &DateCache::default());
        assert_eq!(micros, Some((days_from_civil(2026, 10, 1) * 86_400 + 1) * MICROS_PER_SEC + 120_000));
        assert_eq!(layout.parse_naive_micros(b"2026-10-01 00:00:60.000", &DateCache::default()), None, "chrono's");
    }

    #[test]
    fn epoch_numbers_of_the_wrong_magnitude_are_refused() {
        let rules = TimeRules::default();
        let s = TimestampFormat::EpochSeconds;
        assert_eq!(s.parse("1790856000", &rules), Some(1_790_856_000_000_000));
        assert_eq!(s.parse("1790856000123", &rules), None, "milliseconds read as seconds: year 58719");
        assert_eq!(s.parse("1e300", &rules), None, "no saturation to i64::MAX");
        assert_eq!(s.parse("-5", &rules), None);
        assert_eq!(TimestampFormat::EpochMillis.parse("1790856000123", &rules), Some(1_790_856_000_123_000));
        assert_eq!(TimestampFormat::EpochMillis.parse("9223372036854775807", &rules), None);
        let wide = TimeRules::new(TimeZoneSpec::Utc, DstPolicy::Earliest, (1900, 99_999));
        assert!(s.parse("1790856000123", &wide).is_some());
    }

    #[test]
    fn daylight_saving_changes_follow_the_policy() {
        let berlin: TimeZoneSpec = "Europe/Berlin".parse().unwrap();
        let rules = |dst| TimeRules { zone: berlin, dst, ..TimeRules::default() };
        let at = |text: &str| parse_rfc3339(text.as_bytes()).unwrap().naive_micros;
        // 2026-10-25 02:30 happens twice in Berlin: 00:30 UTC (CEST) and 01:30 UTC (CET).
        let repeated = at("2026-10-25T02:30:00");
        let utc = |text: &str| parse_rfc3339(text.as_bytes()).unwrap().to_utc(&TimeRules::default()).unwrap();
        assert_eq!(rules(DstPolicy::Earliest).local_to_utc(repeated), Some(utc("2026-10-25T00:30:00Z")));
        assert_eq!(rules(DstPolicy::Latest).local_to_utc(repeated), Some(utc("2026-10-25T01:30:00Z")));
        assert_eq!(rules(DstPolicy::Reject).local_to_utc(repeated), None);
        // 2026-03-29 02:30 never happens in Berlin.
        let skipped = at("2026-03-29T02:30:00");
        assert_eq!(rules(DstPolicy::Earliest).local_to_utc(skipped), Some(utc("2026-03-29T00:30:00Z")));
        assert_eq!(rules(DstPolicy::Latest).local_to_utc(skipped), Some(utc("2026-03-29T01:30:00Z")));
        assert_eq!(rules(DstPolicy::Reject).local_to_utc(skipped), None);
        // A leap second is read as the first second of the next minute.
        assert_eq!(utc("2016-12-31T23:59:60Z"), utc("2017-01-01T00:00:00Z"));
    }

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
        let utc = TimeRules::default();
        assert_eq!(z.to_utc(&utc), Some(1_790_856_000_500_000));
        let off = parse_rfc3339(b"2026-10-01T14:00:00.5+02:00").unwrap();
        assert_eq!(off.to_utc(&utc), Some(1_790_856_000_500_000));
        let naive = parse_rfc3339(b"2026-10-01 14:00:00.500").unwrap();
        let berlin = TimeRules { zone: "Europe/Berlin".parse().unwrap(), ..TimeRules::default() };
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
        let utc = TimeRules::default();
        assert_eq!(f.parse("1970/01/02 00:00:00", &utc), Some(86_400_000_000));
        let e = TimestampFormat::EpochSeconds;
        assert_eq!(e.parse("1.5", &utc), Some(1_500_000));
        assert!("Mars/Olympus".parse::<TimeZoneSpec>().is_err());
    }
}
