//! Apache/nginx access logs: the `combined` and `common` formats, with optional trailing fields.
//!
//! ```text
//! 203.0.113.9 - alice [10/Oct/2026:13:55:36 +0200] "GET /a?b=1 HTTP/1.1" 200 2326 "https://r/" "curl/8.5" 0.012 0.010
//! └client_ip  │ └user └ts                          └method/path/protocol └status └bytes └referer └user_agent └trailing…
//!             └ident
//! ```
//! A line that ends after `bytes` is in the `common` format (referer and user agent are null).
//! `-` in ident, user, bytes, referer and trailing numbers is null. A request that is not
//! `METHOD PATH PROTOCOL` (e.g. garbage sent to a TLS port) keeps its raw text in `path`, with
//! method and protocol null. Text is kept as logged (escapes such as `\x22` are not decoded).

use memchr::memchr;
use serde::{Deserialize, Serialize};

use crate::columns::{BatchBuilder, Cell, ColumnSpec, ColumnType, Value};
use crate::convert::{ConvertOptions, plainly_valid, typed_cell};
use crate::reject::{Reject, RejectReason, syntax};
use crate::time::ClfClock;
use crate::words::{ONES, QuoteCursor, QuoteWindow, non_digit_bytes};

const TS: usize = 0;
const CLIENT_IP: usize = 1;
const IDENT: usize = 2;
const USER: usize = 3;
const METHOD: usize = 4;
const PATH: usize = 5;
const PROTOCOL: usize = 6;
const STATUS: usize = 7;
const BYTES: usize = 8;
const REFERER: usize = 9;
const USER_AGENT: usize = 10;
const FIXED_COLUMNS: usize = 11;

/// Options of the access-log format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessOptions {
    /// Columns for the space-separated fields after the user agent, in order. Fields beyond
    /// these are ignored; missing ones are null. Unset: inferred from the first lines of the
    /// files (`access::infer_trailing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<Vec<ColumnSpec>>,
}

impl AccessOptions {
    /// Options with these trailing columns.
    pub fn with_trailing(trailing: Vec<ColumnSpec>) -> Self {
        AccessOptions { trailing: Some(trailing) }
    }

    /// The trailing columns: the configured ones, else nginx's timing pair
    /// (`request_time`, `upstream_response_time`), what the inference gives when the
    /// sample has no lines.
    pub fn trailing_columns(&self) -> Vec<ColumnSpec> {
        self.trailing.clone().unwrap_or_else(default_trailing)
    }
}

fn default_trailing() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("request_time", ColumnType::Float64),
        ColumnSpec::new("upstream_response_time", ColumnType::Float64),
    ]
}

/// The trailing fields of a sample, as the data has them: one column per position any line
/// fills; `Float64` where every value is a plain decimal or `-` and one at least is a number,
/// else text (quoted fields are always text: nginx quotes headers such as
/// `"$http_x_forwarded_for"`, whatever they hold). Names follow the common layouts: a quoted
/// first field is nginx `main`'s `x_forwarded_for`; numbers are `request_time` then
/// `upstream_response_time`; the rest `field_N` by position. With no parsable line, the
/// timing pair.
pub fn infer_trailing(sample: &[&str]) -> Vec<ColumnSpec> {
    #[derive(Clone, Copy, Default)]
    struct Seen {
        quoted: bool,
        number: bool,
        text: bool,
    }
    let mut seen: Vec<Seen> = Vec::new();
    let mut parsed = 0;
    for line in sample {
        let Some(fields) = trailing_fields(line.as_bytes()) else {
            continue;
        };
        parsed += 1;
        if seen.len() < fields.len() {
            seen.resize(fields.len(), Seen::default());
        }
        for (s, (quoted, text)) in seen.iter_mut().zip(fields) {
            s.quoted |= quoted;
            match text {
                b"-" => {}
                t if !quoted && quick_float(t) => s.number = true,
                _ => s.text = true,
            }
        }
    }
    if parsed == 0 {
        return default_trailing();
    }
    let mut timing = ["request_time", "upstream_response_time"].into_iter();
    seen.iter()
        .enumerate()
        .map(|(i, s)| {
            let number = s.number && !s.text && !s.quoted;
            let name = match (i, s.quoted, number) {
                (0, true, _) => Some("x_forwarded_for"),
                (_, _, true) => timing.next(),
                _ => None,
            };
            let name = name.map_or_else(|| format!("field_{}", i + 1), str::to_string);
            ColumnSpec::new(&name, if number { ColumnType::Float64 } else { ColumnType::String })
        })
        .collect()
}

/// The fields after the user agent of a combined line, each with whether it was quoted;
/// `None` for a line that is not a combined line.
fn trailing_fields(b: &[u8]) -> Option<Vec<(bool, &[u8])>> {
    let rb = find_near(b, find_near(b, 0, b'[')?, b']')?;
    // "request" status bytes "referer" "user agent"
    let mut pos = rb + 1;
    for expect_quoted in [true, false, false, true, true] {
        if b.get(pos) != Some(&b' ') {
            return None;
        }
        pos += 1;
        pos = if expect_quoted {
            if b.get(pos) != Some(&b'"') {
                return None;
            }
            closing_quote(b, pos + 1)? + 1
        } else {
            find_near(b, pos, b' ').unwrap_or(b.len())
        };
    }
    let mut fields = Vec::new();
    while pos < b.len() {
        if b[pos] != b' ' {
            return None;
        }
        pos += 1;
        if b.get(pos) == Some(&b'"') {
            let end = closing_quote(b, pos + 1)?;
            fields.push((true, &b[pos + 1..end]));
            pos = end + 1;
        } else {
            let end = find_near(b, pos, b' ').unwrap_or(b.len());
            fields.push((false, &b[pos..end]));
            pos = end;
        }
    }
    Some(fields)
}

/// The columns of the access-log schema with these options.
pub fn access_columns(opts: &AccessOptions) -> Vec<ColumnSpec> {
    let mut cols = vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("client_ip", ColumnType::String),
        ColumnSpec::new("ident", ColumnType::String),
        ColumnSpec::new("user", ColumnType::String),
        ColumnSpec::new("method", ColumnType::String),
        ColumnSpec::new("path", ColumnType::String),
        ColumnSpec::new("protocol", ColumnType::String),
        ColumnSpec::new("status", ColumnType::Uint16),
        ColumnSpec::new("bytes", ColumnType::Uint64),
        ColumnSpec::new("referer", ColumnType::String),
        ColumnSpec::new("user_agent", ColumnType::String),
    ];
    cols.extend(opts.trailing_columns());
    cols
}

/// Parser of access-log lines.
#[derive(Debug)]
pub struct AccessLogParser {
    trailing: Vec<ColumnType>,
    convert: ConvertOptions,
    /// The trailing fields of the current line: byte range, and value if typed (converted
    /// once, when validated; text fields are read from the line).
    trailing_fields: Vec<TrailingField>,
    /// The last timestamp read (most lines repeat its second or its day).
    clock: ClfClock,
}

impl AccessLogParser {
    /// A parser for the given options.
    pub fn new(opts: &AccessOptions) -> Self {
        AccessLogParser {
            trailing: opts.trailing_columns().iter().map(|c| c.column_type).collect(),
            convert: ConvertOptions::default(),
            trailing_fields: Vec::new(),
            clock: ClfClock::default(),
        }
    }
}

/// A trailing field of the current line: where its text is and, for a typed column, the
/// value it converted to (plain data, so keeping a line's fields costs no drop).
#[derive(Debug, Clone, Copy)]
struct TrailingField {
    start: usize,
    end: usize,
    value: Cell,
}

/// Index of the closing `"` of a quoted field starting at `from` (just after the opening quote),
/// honouring backslash escapes. Out of line: the parser's fast path is [`closing_quote_in`].
#[inline(never)]
fn closing_quote(b: &[u8], mut from: usize) -> Option<usize> {
    let mut quotes = QuoteCursor::new();
    loop {
        let i = quotes.find(b, from)?;
        if b[i] == b'"' {
            return Some(i);
        }
        from = i + 2;
        if from > b.len() {
            return None;
        }
    }
}

/// [`closing_quote`], answered from `window` where it holds the answer: the field's first
/// `"` or `\\` is in it and is a `"` (no escape before the end).
#[inline(always)]
fn closing_quote_in(b: &[u8], from: usize, window: Option<&QuoteWindow>) -> Option<usize> {
    match window.and_then(|w| w.find(from)) {
        Some(i) if b[i] == b'"' => Some(i),
        _ => closing_quote(b, from),
    }
}

/// Index of the first `byte` of `b` at or after `from`: a plain loop, quicker than `memchr`'s
/// set-up for the few bytes of an address, a user, a status or a size.
#[inline]
fn find_near(b: &[u8], from: usize, byte: u8) -> Option<usize> {
    b.get(from..)?.iter().position(|&c| c == byte).map(|i| from + i)
}

/// The status code at `from` when it is the usual three digits followed by a space.
#[inline(always)]
fn three_digits_and_space(b: &[u8], from: usize) -> Option<u16> {
    let four: [u8; 4] = b.get(from..from + 4)?.try_into().ok()?;
    let word = u32::from_le_bytes(four);
    let digits = non_digit_bytes(u64::from(word)) & 0x0080_8080 == 0;
    (digits && word >> 24 == u32::from(b' ')).then(|| {
        let [d1, d2, d3, _] = four.map(|c| u16::from(c & 0x0f));
        d1 * 100 + d2 * 10 + d3
    })
}

/// The number at `from` and where the space after it is, when it is one to seven digits
/// followed by a space (a response size): the eight bytes from `from` read as one word, with
/// no loop over the digits. `None`: anything else (fewer than eight bytes left, no digits, a
/// longer number, a non-digit before the space), for the general read to decide.
#[inline(always)]
fn short_number_and_space(b: &[u8], from: usize) -> Option<(usize, u64)> {
    let word = u64::from_le_bytes(*b.get(from..)?.first_chunk::<8>()?);
    let digits = non_digit_bytes(word).trailing_zeros() as usize / 8; // 8 when all eight are digits
    if digits == 0 || digits == 8 || b[from + digits] != b' ' {
        return None;
    }
    // The digits' values, the first in the top byte in use, zeros (leading zero digits)
    // shifted in below: then pairs, quads and the eight combine in three multiplications.
    let mut v = (word & (0x0f * ONES)) << (8 * (8 - digits));
    v = (v.wrapping_mul(10 * 256 + 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100 * 65536 + 1) >> 16) & 0x0000_ffff_0000_ffff;
    v = v.wrapping_mul(10_000 * (1 << 32) + 1) >> 32;
    Some((from + digits, v))
}

#[inline]
fn dash_is_null(s: &str) -> Option<&str> {
    if s == "-" { None } else { Some(s) }
}

#[inline]
fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    Some(v)
}

impl crate::LineParser for AccessLogParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        let b = line.as_bytes();
        // client_ip SP ident SP user SP [ts]
        let sp1 =
            crate::words::find_byte_near::<b' '>(b, 0).ok_or_else(|| syntax("no space after the client address"))?;
        // Most servers log no ident and no user: ` - - [` read in one comparison.
        let (sp2, lb) = if b.get(sp1..sp1 + 6) == Some(b" - - [") {
            (sp1 + 2, sp1 + 5)
        } else {
            let sp2 = find_near(b, sp1 + 1, b' ').ok_or_else(|| syntax("no ident field"))?;
            let lb = find_near(b, sp2 + 1, b'[').ok_or_else(|| syntax("no [timestamp]"))?;
            if lb < sp2 + 2 || b[lb - 1] != b' ' {
                return Err(syntax("no space before [timestamp]"));
            }
            (sp2, lb)
        };
        let rb = if b.get(lb + 27) == Some(&b']') {
            lb + 27
        } else {
            lb + 1 + memchr(b']', &b[lb + 1..]).ok_or_else(|| syntax("unclosed [timestamp]"))?
        };
        let ts = self.clock.parse(&b[lb + 1..rb]).ok_or_else(|| {
            Reject::new(
                RejectReason::BadTimestamp,
                format!(
                    "timestamp [{}] is not dd/Mon/yyyy:HH:MM:SS +zzzz",
                    crate::escape::escape_excerpt(&b[lb + 1..rb], 40)
                ),
            )
        })?;
        // SP "request"
        if b.get(rb + 1) != Some(&b' ') || b.get(rb + 2) != Some(&b'"') {
            return Err(syntax("no quoted request after the timestamp"));
        }
        let rq0 = rb + 3;
        // The request and the referer end within 128 bytes of the request's start in most
        // lines, the user agent within 128 bytes of its own.
        let window = QuoteWindow::at(b, rq0);
        let rq1 = closing_quote_in(b, rq0, window.as_ref()).ok_or_else(|| syntax("unclosed quoted request"))?;
        // SP status SP bytes
        if b.get(rq1 + 1) != Some(&b' ') {
            return Err(syntax("no status after the request"));
        }
        let st0 = rq1 + 2;
        let (st1, status) = match three_digits_and_space(b, st0) {
            Some(status) => (st0 + 3, status),
            None => {
                let st1 = find_near(b, st0, b' ').ok_or_else(|| syntax("no bytes field after the status"))?;
                let status = parse_u64(&b[st0..st1]).and_then(|s| u16::try_from(s).ok()).ok_or_else(|| {
                    Reject::new(
                        RejectReason::BadField,
                        format!("status {} is not a number", crate::escape::quote_excerpt(&b[st0..st1], 20)),
                    )
                })?;
                (st1, status)
            }
        };
        let by0 = st1 + 1;
        let (by1, bytes) = match short_number_and_space(b, by0) {
            Some((by1, bytes)) => (by1, Some(bytes)),
            None => {
                let by1 = crate::words::find_byte_near::<b' '>(b, by0).unwrap_or(b.len());
                let bytes_text = &b[by0..by1];
                let bytes = if bytes_text == b"-" {
                    None
                } else {
                    Some(parse_u64(bytes_text).ok_or_else(|| {
                        Reject::new(
                            RejectReason::BadField,
                            format!("bytes {} is not a number", crate::escape::quote_excerpt(bytes_text, 24)),
                        )
                    })?)
                };
                (by1, bytes)
            }
        };
        // Optional: SP "referer" SP "user agent" (trailing fields)*
        // Byte ranges of the referer and the user agent: sliced as text only when projected.
        let mut referer = None;
        let mut user_agent = None;
        self.trailing_fields.clear();
        if by1 < b.len() {
            if b.get(by1 + 1) != Some(&b'"') {
                return Err(syntax("no quoted referer after the bytes field"));
            }
            let rf0 = by1 + 2;
            let rf1 = closing_quote_in(b, rf0, window.as_ref()).ok_or_else(|| syntax("unclosed quoted referer"))?;
            if b.get(rf1 + 1) != Some(&b' ') || b.get(rf1 + 2) != Some(&b'"') {
                return Err(syntax("no quoted user agent after the referer"));
            }
            let ua0 = rf1 + 3;
            let ua1 = closing_quote_in(b, ua0, QuoteWindow::at(b, ua0).as_ref())
                .ok_or_else(|| syntax("unclosed quoted user agent"))?;
            referer = Some(rf0..rf1);
            user_agent = Some(ua0..ua1);
            let mut pos = ua1 + 1;
            while pos < b.len() && self.trailing_fields.len() < self.trailing.len() {
                if b[pos] != b' ' {
                    return Err(syntax("no space between trailing fields"));
                }
                pos += 1;
                let (start, end, next) = if b.get(pos) == Some(&b'"') {
                    let e = closing_quote(b, pos + 1).ok_or_else(|| syntax("unclosed quoted trailing field"))?;
                    (pos + 1, e, e + 1)
                } else {
                    let e = crate::words::find_byte_near::<b' '>(b, pos).unwrap_or(b.len());
                    (pos, e, e)
                };
                self.trailing_fields.push(TrailingField { start, end, value: Cell::Text });
                pos = next;
            }
        }
        // Validate typed trailing fields before anything is appended; those whose column is
        // not projected are only checked.
        for (i, field) in self.trailing_fields.iter_mut().enumerate() {
            let ty = self.trailing[i];
            let kept = out.wants(FIXED_COLUMNS + i);
            // The common case (nginx's `d.ddd` seconds, not projected) leaves the field as it
            // is: nothing is stored for a value never appended.
            if ty == ColumnType::String || (!kept && plainly_valid(&b[field.start..field.end], ty)) {
                continue;
            }
            field.value = typed_cell(&line[field.start..field.end], ty, &self.convert, kept)
                .map_err(|d| Reject::new(RejectReason::BadField, format!("trailing field {}: {d}", i + 1)))?;
        }

        if let Some(c) = out.column(TS) {
            c.append_timestamp(Some(ts));
        }
        if let Some(c) = out.column(CLIENT_IP) {
            c.append_str(Some(&line[..sp1]));
        }
        if let Some(c) = out.column(IDENT) {
            c.append_str(dash_is_null(&line[sp1 + 1..sp2]));
        }
        if let Some(c) = out.column(USER) {
            c.append_str(dash_is_null(&line[sp2 + 1..lb - 1]));
        }
        if out.wants(METHOD) || out.wants(PATH) || out.wants(PROTOCOL) {
            let (method, path, protocol) = split_request(&line[rq0..rq1]);
            if let Some(c) = out.column(METHOD) {
                c.append_str(method);
            }
            if let Some(c) = out.column(PATH) {
                c.append_str(path);
            }
            if let Some(c) = out.column(PROTOCOL) {
                c.append_str(protocol);
            }
        }
        if let Some(c) = out.column(STATUS) {
            c.append_u16(status);
        }
        if let Some(c) = out.column(BYTES) {
            c.append_u64(bytes);
        }
        if let Some(c) = out.column(REFERER) {
            c.append_str(referer.and_then(|r| dash_is_null(&line[r])));
        }
        if let Some(c) = out.column(USER_AGENT) {
            c.append_str(user_agent.and_then(|r| dash_is_null(&line[r])));
        }
        for i in 0..self.trailing.len() {
            let Some(c) = out.column(FIXED_COLUMNS + i) else {
                continue;
            };
            let value = match self.trailing_fields.get(i) {
                None => Value::Null,
                Some(f) => f.value.value(|| dash_is_null(&line[f.start..f.end])),
            };
            c.append_value(&value);
        }
        Ok(())
    }
}

/// A fast check that `b` is `-` or a plain decimal like `0.012` (what nginx writes).
#[inline]
fn quick_float(b: &[u8]) -> bool {
    b == b"-" || crate::convert::plain_decimal(b).is_some()
}

/// Splits `METHOD PATH PROTOCOL`; anything else keeps its raw text in `path`.
fn split_request(req: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    if req == "-" || req.is_empty() {
        return (None, None, None);
    }
    let b = req.as_bytes();
    let Some(s1) = memchr(b' ', b) else {
        return (None, Some(req), None);
    };
    let method = &req[..s1];
    if !method.bytes().all(|c| c.is_ascii_alphabetic()) {
        return (None, Some(req), None);
    }
    let rest = &req[s1 + 1..];
    match rest.rfind(' ') {
        Some(s2) if rest[s2 + 1..].starts_with("HTTP/") => (Some(method), Some(&rest[..s2]), Some(&rest[s2 + 1..])),
        _ => (Some(method), Some(rest), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LineParser;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, TimestampMicrosecondType, UInt16Type, UInt64Type};

    fn parse_all(lines: &[&str], projection: &[usize]) -> (Vec<arrow_array::ArrayRef>, Vec<Reject>) {
        parse_with(&AccessOptions::default(), lines, projection)
    }

    fn parse_with(
        opts: &AccessOptions,
        lines: &[&str],
        projection: &[usize],
    ) -> (Vec<arrow_array::ArrayRef>, Vec<Reject>) {
        let cols = access_columns(opts);
        let mut out = BatchBuilder::new(&cols, projection, 8);
        let mut p = AccessLogParser::new(opts);
        let mut rejects = vec![];
        for l in lines {
            match p.parse(l, &mut out) {
                Ok(()) => out.commit_row(),
                Err(r) => rejects.push(r),
            }
        }
        (out.finish(), rejects)
    }

    #[test]
    fn combined_with_trailing_fields() {
        let line = r#"203.0.113.9 - alice [10/Oct/2026:13:55:36 +0200] "GET /a?b=1 HTTP/1.1" 200 2326 "https://r/" "curl/8.5 \"x\"" 0.012 -"#;
        let all: Vec<usize> = (0..13).collect();
        let (cols, rejects) = parse_all(&[line], &all);
        assert!(rejects.is_empty(), "{rejects:?}");
        let ts = cols[0].as_primitive::<TimestampMicrosecondType>().value(0);
        assert_eq!(ts, crate::time::parse_clf(b"10/Oct/2026:11:55:36 +0000").unwrap());
        assert_eq!(cols[1].as_string::<i32>().value(0), "203.0.113.9");
        assert!(cols[2].is_null(0));
        assert_eq!(cols[3].as_string::<i32>().value(0), "alice");
        assert_eq!(cols[4].as_string::<i32>().value(0), "GET");
        assert_eq!(cols[5].as_string::<i32>().value(0), "/a?b=1");
        assert_eq!(cols[6].as_string::<i32>().value(0), "HTTP/1.1");
        assert_eq!(cols[7].as_primitive::<UInt16Type>().value(0), 200);
        assert_eq!(cols[8].as_primitive::<UInt64Type>().value(0), 2326);
        assert_eq!(cols[9].as_string::<i32>().value(0), "https://r/");
        assert_eq!(cols[10].as_string::<i32>().value(0), r#"curl/8.5 \"x\""#);
        assert_eq!(cols[11].as_primitive::<Float64Type>().value(0), 0.012);
        assert!(cols[12].is_null(0));
    }

    #[test]
    fn common_format_and_odd_requests() {
        let lines = [
            r#"::1 - - [10/Oct/2026:13:55:36 +0000] "-" 400 -"#,
            r#"10.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "\x16\x03\x01" 400 150"#,
        ];
        let (cols, rejects) = parse_all(&lines, &[4, 5, 7, 8, 9]);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert!(cols[0].is_null(0) && cols[1].is_null(0));
        assert_eq!(cols[1].as_string::<i32>().value(1), r"\x16\x03\x01");
        assert!(cols[3].is_null(0));
        assert!(cols[4].is_null(1));
    }

    #[test]
    fn rejects_carry_reasons() {
        let lines = [
            "garbage",
            r#"1.2.3.4 - - [99/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 2x0 1"#,
            r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1 200 1"#,
            r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" abc"#,
        ];
        let (_, rejects) = parse_all(&lines, &[7]);
        let reasons: Vec<_> = rejects.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            [
                RejectReason::BadSyntax,
                RejectReason::BadTimestamp,
                RejectReason::BadField,
                RejectReason::BadSyntax,
                RejectReason::BadField
            ]
        );
    }

    /// nginx's stock `main` layout ends with `"$http_x_forwarded_for"`: text, whatever it holds.
    #[test]
    fn trailing_fields_follow_the_data() {
        let head = r#"203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5""#;
        let main = [format!(r#"{head} "-""#), format!(r#"{head} "198.51.100.7, 10.0.0.2""#)];
        let main: Vec<&str> = main.iter().map(String::as_str).collect();
        let columns = infer_trailing(&main);
        assert_eq!(columns, [ColumnSpec::new("x_forwarded_for", ColumnType::String)]);
        let opts = AccessOptions::with_trailing(columns);
        let mut out = BatchBuilder::new(&access_columns(&opts), &[11], 4);
        let mut parser = AccessLogParser::new(&opts);
        for line in &main {
            parser.parse(line, &mut out).unwrap();
            out.commit_row();
        }
        let xff = out.finish();
        assert!(xff[0].is_null(0), "`-` is null");
        assert_eq!(xff[0].as_string::<i32>().value(1), "198.51.100.7, 10.0.0.2");

        let timing = [format!("{head} 0.012 -"), format!("{head} - 0.010 extra"), format!("{head} 0.5 0.4 abc")];
        let timing: Vec<&str> = timing.iter().map(String::as_str).collect();
        let expected = [
            ColumnSpec::new("request_time", ColumnType::Float64),
            ColumnSpec::new("upstream_response_time", ColumnType::Float64),
            ColumnSpec::new("field_3", ColumnType::String),
        ];
        assert_eq!(infer_trailing(&timing), expected);
        let mixed = [format!(r#"{head} "1.2.3.4" 0.003 -"#), format!("{head} - - -")];
        let mixed: Vec<&str> = mixed.iter().map(String::as_str).collect();
        let expected = [
            ColumnSpec::new("x_forwarded_for", ColumnType::String),
            ColumnSpec::new("request_time", ColumnType::Float64),
            ColumnSpec::new("field_3", ColumnType::String),
        ];
        assert_eq!(infer_trailing(&mixed), expected, "only `-` seen: text, which never rejects");
        assert_eq!(infer_trailing(&[head]), [], "no trailing fields");
        assert_eq!(infer_trailing(&["garbage"]), default_trailing(), "nothing parsed: the timing pair");
    }

    proptest::proptest! {
        /// The three-digit status read agrees with the general one wherever it answers.
        #[test]
        fn three_digit_statuses_read_as_digits_read(bytes in proptest::prop_oneof![
            // The neighbours of the digits (`/` and `:`) where a digit should be.
            proptest::strategy::Strategy::prop_map(proptest::string::string_regex("[0-9/:]{3}[ 0-9]?x?").unwrap(), String::into_bytes),
            proptest::collection::vec(proptest::num::u8::ANY, 0..6),
        ]) {
            let reference = match bytes.as_slice() {
                [a, b, c, b' ', ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
                    std::str::from_utf8(&bytes[..3]).ok().and_then(|t| t.parse::<u16>().ok())
                }
                _ => None,
            };
            proptest::prop_assert_eq!(three_digits_and_space(&bytes, 0), reference);
        }

        /// The one-word read of a response size agrees with finding the space and reading
        /// the digits one by one, wherever it answers, and answers for every short number.
        #[test]
        fn short_numbers_read_as_digits_read(bytes in proptest::prop_oneof![
            // Digits and their neighbours (`/`, `:`) before a space, and what may follow.
            proptest::strategy::Strategy::prop_map(proptest::string::string_regex("[0-9/:]{0,9} ?[0-9 a\"-]{0,9}").unwrap(), String::into_bytes),
            proptest::collection::vec(proptest::num::u8::ANY, 0..12),
        ], from in 0usize..3) {
            let reference = (from + 8 <= bytes.len()).then(|| find_near(&bytes, from, b' ')).flatten().and_then(|end| {
                let digits = &bytes[from..end];
                (1..8).contains(&digits.len()).then(|| parse_u64(digits)).flatten().map(|v| (end, v))
            });
            proptest::prop_assert_eq!(short_number_and_space(&bytes, from), reference, "{:?}", bytes);
        }

        /// Whatever the projection, a line is a row or a reject alike, with the same status:
        /// the shortcuts for ` - - [`, a three-digit status and an unprojected `d.ddd` only
        /// skip work.
        #[test]
        fn projection_never_changes_what_is_a_row(
            who in proptest::sample::select(vec!["- -", "- alice", "alice -", "-  -", "-", "--", "- - -", ""]),
            status in proptest::sample::select(vec!["200", "20", "2000", "2x0", "099", "65535", "65536", "-", "404"]),
            timing in proptest::string::string_regex(r"[0-9]\.[0-9x]{3}|[0-9.a-]{0,6}").unwrap(),
        ) {
            let line = format!(r#"10.0.0.1 {who} [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" {status} 12 "-" "ua" {timing}"#);
            let all: Vec<usize> = (0..13).collect();
            let (full, full_rejects) = parse_all(&[&line], &all);
            let (status_only, status_rejects) = parse_all(&[&line], &[7]);
            let reasons = |r: &[Reject]| r.iter().map(|r| r.reason).collect::<Vec<_>>();
            proptest::prop_assert_eq!(reasons(&full_rejects), reasons(&status_rejects), "{}", line);
            proptest::prop_assert_eq!(full[7].len(), status_only[0].len());
            if full[7].len() == 1 {
                let read = full[7].as_primitive::<UInt16Type>().value(0);
                proptest::prop_assert_eq!(read, status_only[0].as_primitive::<UInt16Type>().value(0));
                proptest::prop_assert_eq!(Some(read), status.parse::<u16>().ok(), "{}", line);
            }
        }

        /// Typed trailing fields of every type decide row or reject alike whether their
        /// columns are built (converted) or not (only checked).
        #[test]
        fn unprojected_typed_fields_are_checked_like_projected_ones(
            fields in proptest::collection::vec(proptest::sample::select(vec![
                "-", "", "0", "17", "-3", "1.5", "0.012", "9.99x", "true", "no", "yes1", "65535", "65536",
                "1e3", "abc", "2026-10-10T13:55:36Z", "2026-13-10T13:55:36Z",
            ]), 0..6),
        ) {
            let types = [ColumnType::Int64, ColumnType::Bool, ColumnType::Uint16, ColumnType::Float64, ColumnType::Timestamp];
            let opts = AccessOptions::with_trailing(
                types.iter().enumerate().map(|(i, &ty)| ColumnSpec::new(format!("t{i}"), ty)).collect(),
            );
            let quoted: Vec<String> = fields.iter().map(|f| if f.is_empty() { "\"\"".into() } else { f.to_string() }).collect();
            let line = format!(r#"10.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 12 "-" "ua" {}"#, quoted.join(" "));
            let all: Vec<usize> = (0..FIXED_COLUMNS + types.len()).collect();
            let (full, full_rejects) = parse_with(&opts, &[&line], &all);
            let (status_only, status_rejects) = parse_with(&opts, &[&line], &[STATUS]);
            let reasons = |r: &[Reject]| r.iter().map(|r| (r.reason, r.detail.clone())).collect::<Vec<_>>();
            proptest::prop_assert_eq!(reasons(&full_rejects), reasons(&status_rejects), "{}", line);
            proptest::prop_assert_eq!(full[STATUS].len(), status_only[0].len(), "{}", line);
        }

        /// Quoted fields full of quotes and backslashes, at every alignment (a user name of 0
        /// to 70 bytes shifts them across the 64-byte blocks the quotes are found in): the
        /// line parses alike at every shift, and where a byte-by-byte scan ends each field
        /// where it was written, it is a row with the referer and user agent as written.
        #[test]
        fn quoted_fields_end_where_a_byte_scan_ends_them(
            request in quoted_text(20),
            referer in quoted_text(20),
            agent in quoted_text(40),
            shift in 0usize..70,
        ) {
            let line_for = |user: &str| format!(r#"10.0.0.1 - {user} [10/Oct/2026:13:55:36 +0000] "{request}" 200 12 "{referer}" "{agent}""#);
            let texts = |line: &str| {
                let (cols, rejects) = parse_all(&[line], &[REFERER, USER_AGENT]);
                let text = |c: usize| (cols[c].len() == 1 && cols[c].is_valid(0)).then(|| cols[c].as_string::<i32>().value(0).to_string());
                (text(0), text(1), rejects.iter().map(|r| (r.reason, r.detail.clone())).collect::<Vec<_>>())
            };
            let user = "u".repeat(shift.max(1));
            let line = line_for(&user);
            let got = texts(&line);
            proptest::prop_assert_eq!(&got, &texts(&line_for("alice")), "{}", line);
            // Where a plain scan (a backslash skips the byte after it) ends each field.
            let close = |b: &[u8], mut i: usize| {
                while i < b.len() {
                    match b[i] {
                        b'"' => return Some(i),
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                None
            };
            let b = line.as_bytes();
            let rq0 = line.find(" \"").map(|i| i + 2);
            let rq1 = rq0.and_then(|i| close(b, i));
            let rf0 = rq0.map(|i| i + request.len() + 10);
            let ua0 = rf0.map(|i| i + referer.len() + 3);
            let as_written = rq1 == rq0.map(|i| i + request.len())
                && rf0.and_then(|i| close(b, i)) == rf0.map(|i| i + referer.len())
                && ua0.and_then(|i| close(b, i)) == Some(b.len() - 1);
            if as_written {
                let shown = |t: &str| (t != "-").then(|| t.to_string());
                proptest::prop_assert_eq!(got, (shown(&referer), shown(&agent), vec![]), "{}", line);
            }
        }
    }

    /// Text for a quoted field: mostly plain bytes and escapes (`\\`, `\"`, `\a`), now and
    /// then a bare `"` or a lone `\` that ends the field early or escapes its closing quote.
    fn quoted_text(tokens: usize) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::{Just, Strategy};
        let token = proptest::prop_oneof![
            40 => "[ab ]{1,4}",
            20 => r#"\\[\\"ab]"#,
            1 => Just("\"".to_string()),
            1 => Just("\\".to_string()),
        ];
        proptest::collection::vec(token, 0..tokens).prop_map(|t| t.concat())
    }

    #[test]
    fn projection_builds_only_requested_columns() {
        let line = r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#;
        let (cols, _) = parse_all(&[line, line], &[7]);
        assert_eq!(cols.len(), 1);
        assert_eq!(cols[0].len(), 2);
    }
}
