//! The fast path of JSON lines: a scanner of one flat JSON object that validates as it goes
//! and remembers where each value is, so that only the columns a query needs are converted and
//! nothing is allocated per line.
//!
//! It takes the common case only and says [`Scan::Unsure`] for everything else (a `\u` escape,
//! an escaped key, a repeated key, a number it cannot convert exactly as `serde_json` does,
//! deep nesting, a value it would have to re-serialise, any syntax or type error): the caller
//! then parses the line with `serde_json`, the reference, which decides rows, rejects and their
//! messages. So the fast path changes no answer; `tests` check it against the reference.

use crate::columns::ColumnType;

/// Deepest nesting the scanner follows (`serde_json` stops at 128).
const MAX_DEPTH: usize = 64;

/// What kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string; `escaped` when it holds backslash escapes (then it must be unescaped).
    String {
        /// Whether it holds `\` escapes (none of them `\u`).
        escaped: bool,
    },
    /// A number without fraction or exponent.
    Integer,
    /// A number with a fraction or an exponent.
    Float,
    /// `true`.
    True,
    /// `false`.
    False,
    /// `null`.
    Null,
    /// An object or an array.
    Nested,
}

/// Where one value is in the line: `start..end` covers its text (quotes included for strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// What it is.
    pub kind: Kind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The value's text; for a string, between the quotes.
    #[inline]
    pub fn text<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        match self.kind {
            Kind::String { .. } => &line[self.start + 1..self.end - 1],
            _ => &line[self.start..self.end],
        }
    }
}

/// The scanner's verdict on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A well-formed object, every field handed to the callback.
    Object,
    /// Not certainly a well-formed object: ask the reference parser.
    Unsure,
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

/// The end (one past the closing quote) of the string whose opening quote is at `i`, and
/// whether it holds escapes; `None` for a bad or unsupported string.
#[inline]
fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', &b[j..])?;
        // Control characters are not allowed raw in a JSON string.
        if b[j..k].iter().any(|&c| c < 0x20) {
            return None;
        }
        if b[k] == b'"' {
            return Some((k + 1, escaped));
        }
        match b.get(k + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
            _ => return None, // `\u` (surrogates are the reference's business) or a bad escape
        }
        escaped = true;
        j = k + 2;
    }
}

/// The end of the number starting at `i` and whether it is an integer; `None` when it is not
/// a JSON number.
#[inline]
fn number_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    match b.get(j)? {
        b'0' => j += 1,
        b'1'..=b'9' => {
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
        _ => return None,
    }
    let mut integer = true;
    if b.get(j) == Some(&b'.') {
        integer = false;
        j += 1;
        let digits = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j == digits {
            return None;
        }
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        integer = false;
        j += 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let digits = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j == digits {
            return None;
        }
    }
    Some((j, integer))
}

/// The value starting at `i` (after whitespace).
#[inline]
fn value(b: &[u8], i: usize, depth: usize) -> Option<Span> {
    let (end, kind) = match *b.get(i)? {
        b'"' => {
            let (end, escaped) = string_end(b, i)?;
            (end, Kind::String { escaped })
        }
        b'-' | b'0'..=b'9' => {
            let (end, integer) = number_end(b, i)?;
            (end, if integer { Kind::Integer } else { Kind::Float })
        }
        b't' if b[i..].starts_with(b"true") => (i + 4, Kind::True),
        b'f' if b[i..].starts_with(b"false") => (i + 5, Kind::False),
        b'n' if b[i..].starts_with(b"null") => (i + 4, Kind::Null),
        b'{' | b'[' => (nested_end(b, i, depth + 1)?, Kind::Nested),
        _ => return None,
    };
    Some(Span { kind, start: i, end })
}

/// The end of the object or array opening at `i`, validated.
fn nested_end(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let object = b[i] == b'{';
    let close = if object { b'}' } else { b']' };
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&close) {
        return Some(j + 1);
    }
    loop {
        if object {
            if b.get(j) != Some(&b'"') {
                return None;
            }
            j = skip_ws(b, string_end(b, j)?.0);
            if b.get(j) != Some(&b':') {
                return None;
            }
            j = skip_ws(b, j + 1);
        }
        j = skip_ws(b, value(b, j, depth)?.end);
        match b.get(j)? {
            b',' => j = skip_ws(b, j + 1),
            c if *c == close => return Some(j + 1),
            _ => return None,
        }
    }
}

/// Scans `line` as one JSON object, calling `field(key, value)` for each member in order
/// (`key` without its quotes; it holds no escapes). `field` returns false to give up (the line
/// is then [`Scan::Unsure`]).
pub(crate) fn scan_object(line: &[u8], mut field: impl FnMut(&[u8], Span) -> bool) -> Scan {
    let b = line;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Scan::Unsure;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return if skip_ws(b, i + 1) == b.len() { Scan::Object } else { Scan::Unsure };
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Scan::Unsure;
        }
        let Some((key_end, key_escaped)) = string_end(b, i) else { return Scan::Unsure };
        if key_escaped {
            return Scan::Unsure;
        }
        let key = &b[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return Scan::Unsure;
        }
        i = skip_ws(b, i + 1);
        let Some(span) = value(b, i, 0) else { return Scan::Unsure };
        if !field(key, span) {
            return Scan::Unsure;
        }
        i = skip_ws(b, span.end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return if skip_ws(b, i + 1) == b.len() { Scan::Object } else { Scan::Unsure },
            _ => return Scan::Unsure,
        }
    }
}

/// Powers of ten that `f64` holds exactly.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22,
];

/// A JSON number as `serde_json` reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// A non-negative integer.
    PosInt(u64),
    /// A negative integer.
    NegInt(i64),
    /// Anything else.
    Float(f64),
}

impl Number {
    /// The number as `serde_json::Number::as_i64` gives it.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::PosInt(u) => i64::try_from(u).ok(),
            Number::NegInt(i) => Some(i),
            Number::Float(_) => None,
        }
    }

    /// As `serde_json::Number::as_u64`.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Number::PosInt(u) => Some(u),
            _ => None,
        }
    }

    /// As `serde_json::Number::as_f64`.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::PosInt(u) => u as f64,
            Number::NegInt(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// The number `text` (a valid JSON number) as `serde_json` reads it, when the result is
/// certain: integers of up to 18 digits, and decimals whose digits fit 2^53 and whose power
/// of ten `f64` holds exactly (one correctly rounded multiplication or division, which is
/// what `serde_json` computes for them too). Other numbers: `None`.
pub(crate) fn parse_number(text: &[u8]) -> Option<Number> {
    let (negative, digits) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut exponent: i64 = 0;
    let mut i = 0;
    let mut fraction = false;
    while i < digits.len() {
        match digits[i] {
            c @ b'0'..=b'9' => {
                if count > 0 || c != b'0' {
                    count += 1;
                }
                if count > 18 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(c - b'0');
                if fraction {
                    exponent -= 1;
                }
            }
            b'.' => fraction = true,
            b'e' | b'E' => {
                let e = std::str::from_utf8(&digits[i + 1..]).ok()?.parse::<i64>().ok()?;
                exponent = exponent.checked_add(e)?;
                break;
            }
            _ => return None,
        }
        i += 1;
    }
    let integer = !digits.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
    if integer {
        return Some(if negative {
            // -0 is 0 for serde_json (a u64), any other negative integer an i64.
            if mantissa == 0 { Number::PosInt(0) } else { Number::NegInt(-(mantissa as i64)) }
        } else {
            Number::PosInt(mantissa)
        });
    }
    if mantissa >= 1 << 53 || exponent.unsigned_abs() as usize >= EXACT_POWERS.len() {
        return None;
    }
    let power = EXACT_POWERS[exponent.unsigned_abs() as usize];
    let value = if exponent < 0 { mantissa as f64 / power } else { mantissa as f64 * power };
    Some(Number::Float(if negative { -value } else { value }))
}

/// Unescapes the simple escapes of a JSON string's text (`\u` never reaches here).
pub(crate) fn unescape(text: &[u8], out: &mut String) -> bool {
    out.clear();
    let mut rest = text;
    while let Some(k) = memchr::memchr(b'\\', rest) {
        let Ok(plain) = std::str::from_utf8(&rest[..k]) else { return false };
        out.push_str(plain);
        let c = match rest.get(k + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            _ => return false,
        };
        out.push(c);
        rest = &rest[k + 2..];
    }
    match std::str::from_utf8(rest) {
        Ok(plain) => {
            out.push_str(plain);
            true
        }
        Err(_) => false,
    }
}

/// Whether `kind` can hold a value of column type `ty` without the reference's help (no
/// re-serialisation of a nested value or a number into text).
#[inline]
pub(crate) fn plain_for(kind: Kind, ty: ColumnType) -> bool {
    match (kind, ty) {
        (Kind::Null, _) => true,
        (Kind::Nested, _) => false,
        (Kind::Integer | Kind::Float, ColumnType::String) => false,
        _ => true,
    }
}
