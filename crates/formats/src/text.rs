//! The generic `text` format: what files no format reads become. Every line is a row with
//! the line itself, and the `ts` and `level` most logs start with where they are found: an
//! ISO 8601 time at the start of the line (optionally in `[...]`, with `.` or `,` before the
//! fraction) and a level word (`ERROR`, `warn`, `[INFO]`, …) among its first words.

use crate::columns::{BatchBuilder, ColumnSpec, ColumnType};
use crate::reject::Reject;
use crate::time::{DateCache, TimeRules, parse_rfc3339_with};

const TS: usize = 0;
const LEVEL: usize = 1;
const LINE: usize = 2;

/// How far into a line a level word is looked for.
const LEVEL_WINDOW: usize = 80;

/// The columns of the `text` format.
pub fn text_columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("level", ColumnType::String),
        ColumnSpec::new("line", ColumnType::String),
    ]
}

/// Parses lines of the `text` format: never rejects a line it is given.
#[derive(Debug)]
pub struct TextParser {
    rules: TimeRules,
    dates: DateCache,
}

impl TextParser {
    /// A parser reading naive times by `rules`.
    pub fn new(rules: TimeRules) -> Self {
        TextParser { rules, dates: DateCache::default() }
    }

    /// The UTC time an ISO 8601 timestamp at the start of `line` gives, if there is one.
    fn leading_time(&self, line: &[u8]) -> Option<i64> {
        let line = line.strip_prefix(b"[").unwrap_or(line);
        // yyyy-mm-dd[T ]hh:mm:ss, then an optional fraction and zone.
        let head = line.get(..19)?;
        let shape = head.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T' || c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        });
        if !shape {
            return None;
        }
        let mut text = [0u8; 40];
        text[..19].copy_from_slice(head);
        let mut n = 19;
        let mut rest = &line[19..];
        if let [b'.' | b',', tail @ ..] = rest {
            let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count().min(9);
            if digits > 0 {
                text[n] = b'.';
                text[n + 1..n + 1 + digits].copy_from_slice(&tail[..digits]);
                n += 1 + digits;
                rest = &tail[tail.iter().take_while(|c| c.is_ascii_digit()).count()..];
            }
        }
        let zone = match rest {
            [b'Z' | b'z', ..] => 1,
            [b'+' | b'-', h1, h2, b':', m1, m2, ..] if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) => 6,
            [b'+' | b'-', h1, h2, m1, m2, ..] if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) => 5,
            _ => 0,
        };
        text[n..n + zone].copy_from_slice(&rest[..zone]);
        n += zone;
        parse_rfc3339_with(&text[..n], &self.dates)?.to_utc(&self.rules)
    }
}

/// The level a word among the first [`LEVEL_WINDOW`] bytes of `line` names, in capitals.
fn level_of(line: &str) -> Option<&'static str> {
    let window = &line.as_bytes()[..line.len().min(LEVEL_WINDOW)];
    window.split(|c| !c.is_ascii_alphabetic()).filter(|w| (4..=8).contains(&w.len()) || w.len() == 3).find_map(|word| {
        let upper = word.to_ascii_uppercase();
        let all_same_case = word.iter().all(u8::is_ascii_uppercase) || word.iter().all(u8::is_ascii_lowercase);
        if !all_same_case {
            return None;
        }
        Some(match upper.as_slice() {
            b"TRACE" => "TRACE",
            b"DEBUG" => "DEBUG",
            b"INFO" => "INFO",
            b"NOTICE" => "NOTICE",
            b"WARN" | b"WARNING" => "WARN",
            b"ERR" | b"ERROR" => "ERROR",
            b"CRIT" | b"CRITICAL" => "CRITICAL",
            b"FATAL" => "FATAL",
            b"ALERT" => "ALERT",
            b"EMERG" => "EMERG",
            _ => return None,
        })
    })
}

impl crate::LineParser for TextParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        if let Some(c) = out.column(TS) {
            let ts = self.leading_time(line.as_bytes());
            c.append_timestamp(ts);
        }
        if let Some(c) = out.column(LEVEL) {
            c.append_str(level_of(line));
        }
        if let Some(c) = out.column(LINE) {
            c.append_str(Some(line));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;

    use super::*;
    use crate::LineParser;
    use crate::time::parse_rfc3339;

    #[test]
    fn times_and_levels_are_found_where_logs_put_them() {
        let lines = [
            "2026-10-01 12:00:00,123 main ERROR something broke",
            "[2026-10-01T12:00:00.5+02:00] [warn] disk almost full",
            "2026-10-01T12:00:00Z info: ok",
            "plain words with no level and Information in them",
            "2026-13-01 12:00:00 WARNING a month that does not exist",
            "Error: mixed case is a word, not a level; ERR is",
        ];
        let columns = text_columns();
        let mut out = BatchBuilder::new(&columns, &[0, 1, 2], 8);
        let mut parser = TextParser::new(TimeRules::default());
        for line in lines {
            parser.parse(line, &mut out).unwrap();
            out.commit_row();
        }
        let arrays = out.finish();
        let ts = arrays[0].as_primitive::<TimestampMicrosecondType>();
        let at = |text: &str| parse_rfc3339(text.as_bytes()).unwrap().to_utc(&TimeRules::default()).unwrap();
        assert_eq!(ts.value(0), at("2026-10-01T12:00:00.123Z"));
        assert_eq!(ts.value(1), at("2026-10-01T10:00:00.5Z"));
        assert_eq!(ts.value(2), at("2026-10-01T12:00:00Z"));
        assert!(ts.is_null(3) && ts.is_null(4));
        let level = arrays[1].as_string::<i32>();
        let levels: Vec<Option<&str>> = (0..lines.len()).map(|i| level.is_valid(i).then(|| level.value(i))).collect();
        assert_eq!(levels, [Some("ERROR"), Some("WARN"), Some("INFO"), None, Some("WARN"), Some("ERROR")]);
        assert_eq!(arrays[2].as_string::<i32>().value(3), lines[3]);
    }
}
