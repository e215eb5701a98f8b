//! Syslog: RFC 3164 (BSD, year-less) and RFC 5424 lines, one parser for both.
//!
//! ```text
//! <34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed          (RFC 3164; <PRI> optional)
//! <165>1 2003-10-11T22:14:15.003Z host app 77 ID47 [id@1 a="1"] msg (RFC 5424)
//! ```
//! RFC 3164 timestamps have no year and no zone: the zone is the source's `timezone`. The year
//! comes from a reference time: the file's modification time, or, with the `year` option, the
//! file's last line read in that year (the year "in which the file ends"). A timestamp takes
//! the reference's year, minus one if that would put it more than a day after the reference —
//! so the last line belongs to the reference year and earlier lines roll back at New Year, and
//! a file written across New Year gets December in the old year and January in the new one,
//! whichever byte range of the file is parsed first.

use memchr::memchr;
use serde::{Deserialize, Serialize};

use crate::FileContext;
use crate::columns::{BatchBuilder, ColumnSpec, ColumnType};
use crate::multiline::MultilineSpec;
use crate::reject::{Reject, RejectReason, syntax};
use crate::time::{MICROS_PER_SEC, TimeRules, civil_to_epoch_seconds, digits, month_from_abbr, parse_rfc3339};

const TS: usize = 0;
const FACILITY: usize = 1;
const SEVERITY: usize = 2;
const HOSTNAME: usize = 3;
const APP_NAME: usize = 4;
const PROC_ID: usize = 5;
const MSG_ID: usize = 6;
const STRUCTURED_DATA: usize = 7;
const MESSAGE: usize = 8;

/// Options of the syslog format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogOptions {
    /// The year in which the file ends (RFC 3164 only); default: the file's modification time.
    #[serde(default)]
    pub year: Option<i32>,
    /// Multi-line records, e.g. `indented` for messages continued on indented lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiline: Option<MultilineSpec>,
}

/// The columns of the syslog schema.
pub fn syslog_columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("facility", ColumnType::Uint8),
        ColumnSpec::new("severity", ColumnType::Uint8),
        ColumnSpec::new("hostname", ColumnType::String),
        ColumnSpec::new("app_name", ColumnType::String),
        ColumnSpec::new("proc_id", ColumnType::String),
        ColumnSpec::new("msg_id", ColumnType::String),
        ColumnSpec::new("structured_data", ColumnType::String),
        ColumnSpec::new("message", ColumnType::String),
    ]
}

/// Parser of syslog lines.
#[derive(Debug)]
pub struct SyslogParser {
    time: TimeRules,
    /// Reference time (UTC seconds) for year-less timestamps and its civil year.
    reference_secs: i64,
    reference_year: i64,
}

impl SyslogParser {
    /// A parser for one file; `ctx` gives the file's modification time and last line.
    pub fn new(opts: &SyslogOptions, time: TimeRules, ctx: &FileContext) -> Self {
        let year_of = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0).map(|d| chrono::Datelike::year(&d) as i64).unwrap_or(1970)
        };
        let (reference_secs, reference_year) = match opts.year {
            Some(y) => {
                let y = y as i64;
                let last = ctx.last_line.as_deref().and_then(|l| bsd_in_year(l, y, &time));
                let end_of_year = civil_to_epoch_seconds(y, 12, 31, 23, 59, 59).unwrap_or(0);
                (last.unwrap_or(end_of_year), y)
            }
            None => {
                let secs =
                    ctx.modified_micros.map(|m| m / MICROS_PER_SEC).unwrap_or_else(|| chrono::Utc::now().timestamp());
                (secs, year_of(secs))
            }
        };
        SyslogParser { time, reference_secs, reference_year }
    }

    fn bsd_timestamp(&self, b: &[u8]) -> Option<i64> {
        let mut ts = bsd_micros(b, self.reference_year, &self.time)
            .or_else(|| bsd_micros(b, self.reference_year - 1, &self.time))?;
        if ts > (self.reference_secs + 86_400) * MICROS_PER_SEC {
            ts = bsd_micros(b, self.reference_year - 1, &self.time)?;
        }
        Some(ts)
    }
}

/// UTC µs of an RFC 3164 timestamp `Oct 11 22:14:15` (space-padded day) in `year`.
fn bsd_micros(b: &[u8], year: i64, time: &TimeRules) -> Option<i64> {
    if b.len() != 15 || b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let month = month_from_abbr(&b[0..3])?;
    let day = if b[4] == b' ' { digits(&b[5..6])? } else { digits(&b[4..6])? };
    let (h, m, s) = (digits(&b[7..9])?, digits(&b[10..12])?, digits(&b[13..15])?);
    let secs = civil_to_epoch_seconds(year, month, day, h, m, s)?;
    time.local_to_utc(secs * MICROS_PER_SEC)
}

/// UTC seconds of the RFC 3164 timestamp of `line` (after an optional `<PRI>`) in `year`.
fn bsd_in_year(line: &str, year: i64, time: &TimeRules) -> Option<i64> {
    let (_, rest) = priority(line).ok()?;
    let b = rest.as_bytes();
    bsd_micros(b.get(..15)?, year, time).map(|us| us / MICROS_PER_SEC)
}

struct Fields<'a> {
    ts: Option<i64>,
    pri: Option<u8>,
    hostname: Option<&'a str>,
    app_name: Option<&'a str>,
    proc_id: Option<&'a str>,
    msg_id: Option<&'a str>,
    structured_data: Option<&'a str>,
    message: Option<&'a str>,
}

fn nil(s: &str) -> Option<&str> {
    if s == "-" { None } else { Some(s) }
}

/// Splits `s` at the next space: (token, rest after the space).
fn token(s: &str) -> Option<(&str, &str)> {
    let i = memchr(b' ', s.as_bytes())?;
    Some((&s[..i], &s[i + 1..]))
}

/// A timestamp reject quoting `text` (bytes: the first 15 bytes of a line may end inside a
/// multi-byte character).
fn bad_ts(text: &[u8]) -> Reject {
    Reject::new(
        RejectReason::BadTimestamp,
        format!("timestamp {} is neither \"Mmm dd hh:mm:ss\" nor RFC 3339", crate::escape::quote_excerpt(text, 40)),
    )
}

impl SyslogParser {
    fn rfc5424<'a>(&self, pri: u8, rest: &'a str) -> Result<Fields<'a>, Reject> {
        let (ts_text, rest) = token(rest).ok_or_else(|| syntax("RFC 5424: no timestamp"))?;
        let ts = if ts_text == "-" {
            None
        } else {
            Some(
                parse_rfc3339(ts_text.as_bytes())
                    .and_then(|t| t.to_utc(&self.time))
                    .ok_or_else(|| bad_ts(ts_text.as_bytes()))?,
            )
        };
        let (hostname, rest) = token(rest).ok_or_else(|| syntax("RFC 5424: no hostname"))?;
        let (app_name, rest) = token(rest).ok_or_else(|| syntax("RFC 5424: no app-name"))?;
        let (proc_id, rest) = token(rest).ok_or_else(|| syntax("RFC 5424: no procid"))?;
        let (msg_id, rest) = match token(rest) {
            Some(t) => t,
            None => return Err(syntax("RFC 5424: no msgid")),
        };
        let sd_len =
            structured_data_len(rest.as_bytes()).ok_or_else(|| syntax("RFC 5424: malformed structured data"))?;
        let sd = &rest[..sd_len];
        let message = match &rest[sd_len..] {
            "" => None,
            m if m.starts_with(' ') => Some(m[1..].trim_start_matches('\u{feff}')),
            _ => return Err(syntax("RFC 5424: no space after structured data")),
        };
        Ok(Fields {
            ts,
            pri: Some(pri),
            hostname: nil(hostname),
            app_name: nil(app_name),
            proc_id: nil(proc_id),
            msg_id: nil(msg_id),
            structured_data: nil(sd),
            message,
        })
    }

    fn rfc3164<'a>(&self, pri: Option<u8>, rest: &'a str) -> Result<Fields<'a>, Reject> {
        let b = rest.as_bytes();
        let (ts, rest) = if b.first().is_some_and(u8::is_ascii_digit) {
            // high-precision variant written by rsyslog: RFC 3339 instead of "Mmm dd hh:mm:ss"
            let (t, r) = token(rest).ok_or_else(|| syntax("no space after the timestamp"))?;
            let ts =
                parse_rfc3339(t.as_bytes()).and_then(|p| p.to_utc(&self.time)).ok_or_else(|| bad_ts(t.as_bytes()))?;
            (ts, r)
        } else {
            if b.len() < 16 {
                return Err(bad_ts(b));
            }
            let ts = self.bsd_timestamp(&b[..15]).ok_or_else(|| bad_ts(&b[..15]))?;
            if b[15] != b' ' {
                return Err(syntax("no space after the timestamp"));
            }
            (ts, &rest[16..])
        };
        let (hostname, rest) = token(rest).unwrap_or((rest, ""));
        // TAG[pid]: message   or   TAG: message   or just a message
        let tb = rest.as_bytes();
        let tag_end = tb.iter().position(|&c| c == b'[' || c == b':' || c == b' ').unwrap_or(tb.len());
        let (app_name, proc_id, message) = match tb.get(tag_end) {
            Some(b'[') => match rest[tag_end..].find("]:") {
                Some(close) => (
                    Some(&rest[..tag_end]),
                    Some(&rest[tag_end + 1..tag_end + close]),
                    rest[tag_end + close + 2..].strip_prefix(' ').unwrap_or(&rest[tag_end + close + 2..]),
                ),
                None => (None, None, rest),
            },
            Some(b':') if tag_end > 0 => {
                (Some(&rest[..tag_end]), None, rest[tag_end + 1..].strip_prefix(' ').unwrap_or(&rest[tag_end + 1..]))
            }
            _ => (None, None, rest),
        };
        Ok(Fields {
            ts: Some(ts),
            pri,
            hostname: Some(hostname).filter(|h| !h.is_empty()),
            app_name,
            proc_id,
            msg_id: None,
            structured_data: None,
            message: Some(message),
        })
    }
}

/// Length of the structured-data element at the start of `b`: `-` or one or more `[...]`.
fn structured_data_len(b: &[u8]) -> Option<usize> {
    if b.first() == Some(&b'-') {
        return Some(1);
    }
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        let mut in_quotes = false;
        loop {
            match *b.get(i)? {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    (i > 0).then_some(i)
}

/// Parses `<PRI>` at the start of `s`: (priority, rest).
fn priority(s: &str) -> Result<(Option<u8>, &str), Reject> {
    let b = s.as_bytes();
    if b.first() != Some(&b'<') {
        return Ok((None, s));
    }
    let close = b.iter().take(5).position(|&c| c == b'>').ok_or_else(|| syntax("unclosed <PRI>"))?;
    let pri = digits(&b[1..close])
        .filter(|&p| close > 1 && p <= 191)
        .ok_or_else(|| Reject::new(RejectReason::BadField, "priority is not a number in 0..=191"))?;
    Ok((Some(pri as u8), &s[close + 1..]))
}

impl crate::LineParser for SyslogParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        let (pri, rest) = priority(line)?;
        let f = match (pri, rest.strip_prefix("1 ")) {
            (Some(p), Some(r5424)) => self.rfc5424(p, r5424)?,
            _ => self.rfc3164(pri, rest)?,
        };
        if let Some(c) = out.column(TS) {
            c.append_timestamp(f.ts);
        }
        if let Some(c) = out.column(FACILITY) {
            c.append_u64(f.pri.map(|p| (p / 8) as u64));
        }
        if let Some(c) = out.column(SEVERITY) {
            c.append_u64(f.pri.map(|p| (p % 8) as u64));
        }
        for (i, v) in [
            (HOSTNAME, f.hostname),
            (APP_NAME, f.app_name),
            (PROC_ID, f.proc_id),
            (MSG_ID, f.msg_id),
            (STRUCTURED_DATA, f.structured_data),
            (MESSAGE, f.message),
        ] {
            if let Some(c) = out.column(i) {
                c.append_str(v);
            }
        }
        Ok(())
    }
}

/// Whether a line looks like syslog (used by format detection).
pub fn looks_like_syslog(line: &str) -> bool {
    let rest = match priority(line) {
        Ok((_, r)) => r,
        Err(_) => return false,
    };
    if let Some(r) = rest.strip_prefix("1 ") {
        return r.split(' ').next().is_some_and(|t| t == "-" || parse_rfc3339(t.as_bytes()).is_some());
    }
    let b = rest.as_bytes();
    b.len() > 16 && month_from_abbr(&b[..3]).is_some() && b[3] == b' ' && b[9] == b':' && b[12] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LineParser;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{TimestampMicrosecondType, UInt8Type};

    fn ctx_at(y: i64, m: u32, d: u32) -> FileContext {
        FileContext {
            modified_micros: Some(civil_to_epoch_seconds(y, m, d, 12, 0, 0).unwrap() * MICROS_PER_SEC),
            last_line: None,
        }
    }

    fn run(p: &mut SyslogParser, lines: &[&str]) -> (Vec<arrow_array::ArrayRef>, Vec<Reject>) {
        let mut out = BatchBuilder::new(&syslog_columns(), &(0..9).collect::<Vec<_>>(), 4);
        let mut rej = vec![];
        for l in lines {
            match p.parse(l, &mut out) {
                Ok(()) => out.commit_row(),
                Err(r) => rej.push(r),
            }
        }
        (out.finish(), rej)
    }

    #[test]
    fn rfc3164_with_new_year_rollover() {
        let mut p = SyslogParser::new(&SyslogOptions::default(), TimeRules::default(), &ctx_at(2026, 1, 2));
        let (cols, rej) =
            run(&mut p, &["<34>Dec 31 23:59:59 host su[123]: 'su root' failed", "Jan  1 00:00:01 host cron: tick"]);
        assert!(rej.is_empty(), "{rej:?}");
        let ts = cols[0].as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), civil_to_epoch_seconds(2025, 12, 31, 23, 59, 59).unwrap() * MICROS_PER_SEC);
        assert_eq!(ts.value(1), civil_to_epoch_seconds(2026, 1, 1, 0, 0, 1).unwrap() * MICROS_PER_SEC);
        assert_eq!(cols[1].as_primitive::<UInt8Type>().value(0), 4);
        assert_eq!(cols[2].as_primitive::<UInt8Type>().value(0), 2);
        assert!(cols[1].is_null(1));
        assert_eq!(cols[4].as_string::<i32>().value(0), "su");
        assert_eq!(cols[5].as_string::<i32>().value(0), "123");
        assert_eq!(cols[8].as_string::<i32>().value(0), "'su root' failed");
        assert_eq!(cols[4].as_string::<i32>().value(1), "cron");
    }

    #[test]
    fn a_configured_year_is_the_year_the_file_ends_in() {
        let lines = ["Dec 31 23:59:58 host app: last of the year", "Jan  1 00:00:01 host app: first"];
        let ctx = FileContext { modified_micros: None, last_line: Some(lines[1].to_string()) };
        let mut p = SyslogParser::new(&SyslogOptions { year: Some(2027), multiline: None }, TimeRules::default(), &ctx);
        let (cols, rej) = run(&mut p, &lines);
        assert!(rej.is_empty(), "{rej:?}");
        let ts = cols[0].as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), civil_to_epoch_seconds(2026, 12, 31, 23, 59, 58).unwrap() * MICROS_PER_SEC);
        assert_eq!(ts.value(1), civil_to_epoch_seconds(2027, 1, 1, 0, 0, 1).unwrap() * MICROS_PER_SEC);
        // Without the last line (a compressed file), the year ends on 31 December.
        let mut p = SyslogParser::new(
            &SyslogOptions { year: Some(2027), multiline: None },
            TimeRules::default(),
            &FileContext::default(),
        );
        let (cols, _) = run(&mut p, &lines[..1]);
        let ts = cols[0].as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), civil_to_epoch_seconds(2027, 12, 31, 23, 59, 58).unwrap() * MICROS_PER_SEC);
    }

    #[test]
    fn multi_byte_text_at_the_timestamp_position_is_a_reject_not_a_panic() {
        let mut p = SyslogParser::new(&SyslogOptions::default(), TimeRules::default(), &ctx_at(2026, 1, 2));
        let (_, rej) = run(&mut p, &["Ошибка: диск переполнен", "Oct 11 22:14:1\u{e9}x host a: m"]);
        assert_eq!(rej.iter().map(|r| r.reason).collect::<Vec<_>>(), [RejectReason::BadTimestamp; 2]);
    }

    #[test]
    fn rfc5424_keeps_structured_data() {
        let mut p = SyslogParser::new(&SyslogOptions::default(), TimeRules::default(), &ctx_at(2026, 1, 2));
        let line = r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\]ication"][x@1 a="b"] An application event"#;
        let (cols, rej) = run(&mut p, &[line, "<13>1 - - - - - -"]);
        assert!(rej.is_empty(), "{rej:?}");
        assert_eq!(cols[3].as_string::<i32>().value(0), "mymachine.example.com");
        assert!(cols[5].is_null(0));
        assert_eq!(cols[6].as_string::<i32>().value(0), "ID47");
        assert_eq!(
            cols[7].as_string::<i32>().value(0),
            r#"[exampleSDID@32473 iut="3" eventSource="Appl\]ication"][x@1 a="b"]"#
        );
        assert_eq!(cols[8].as_string::<i32>().value(0), "An application event");
        assert!(cols[0].is_null(1) && cols[8].is_null(1));
    }

    #[test]
    fn rejects() {
        let mut p = SyslogParser::new(
            &SyslogOptions { year: Some(2025), multiline: None },
            TimeRules::default(),
            &FileContext::default(),
        );
        let (_, rej) = run(
            &mut p,
            &["<999>Oct 11 22:14:15 h a: m", "Foo 11 22:14:15 h a: m", "<13>1 2003-13-11T22:14:15Z h a - - - m"],
        );
        let r: Vec<_> = rej.iter().map(|r| r.reason).collect();
        assert_eq!(r, [RejectReason::BadField, RejectReason::BadTimestamp, RejectReason::BadTimestamp]);
    }
}
