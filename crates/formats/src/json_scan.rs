//! The fast path of JSON lines: a scanner of one flat JSON object that validates as it goes
//! and remembers where each value is, so that only the columns a query needs are converted and
//! nothing is allocated per line.
//!
//! It takes the common case only and says [`Scan::Unsure`] for everything else (a `\u` escape,
//! an escaped key, a repeated key, a number it cannot convert exactly as `serde_json` does,
//! deep nesting, a value it would have to re-serialise, any syntax or type error): the caller
//! then parses the line with `serde_json`, the reference, which decides rows, rejects and their
//! messages. So the fast path changes no answer; `tests` check it against the reference.

/// Deepest nesting the scanner follows (`serde_json` stops at 128).
const MAX_DEPTH: usize = 64;

/// What kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// A string; `escaped` when it holds backslash escapes (then it must be unescaped).
    String {
        /// Whether it holds `\` escapes (none of them `\u`).
        escaped: bool,
    },
    /// A number, converted as `serde_json` converts it.
    Number(Number),
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
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// Whether `line` holds a backslash or a control byte: without either (the common case)
/// every string simply ends at the next `"`. One pass, which the compiler vectorises.
#[inline]
fn has_escapes_or_controls(line: &[u8]) -> bool {
    line.iter().fold(false, |any, &c| any | (c < 0x20) | (c == b'\\'))
}

/// The end (one past the closing quote) of the string whose opening quote is at `i`, and
/// whether it holds escapes; `None` for a bad or unsupported string. `CLEAN`: take plain
/// strings only (no backslash, no control byte), `None` for any other.
#[inline]
fn string_end<const CLEAN: bool>(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if CLEAN {
        let k = crate::words::find_string_stop(b, i + 1)?;
        return (b[k] == b'"').then_some((k + 1, false));
    }
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        let k = crate::words::find_quote_or_backslash(b, j)?;
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

/// The number starting at `i`: its end and its value as `serde_json` reads it, when that is
/// certain: integers of up to 18 digits, and decimals whose digits fit 2^53 and whose power
/// of ten `f64` holds exactly (one correctly rounded multiplication or division, which is
/// what `serde_json` computes for them too). `None` when it is not a JSON number or is
/// another number (the reference decides those). Validated and converted in one pass.
#[inline]
fn number(b: &[u8], i: usize) -> Option<(usize, Number)> {
    let mut j = i;
    let negative = b.get(j) == Some(&b'-');
    j += usize::from(negative);
    let mut mantissa: u64 = 0;
    match b.get(j)? {
        b'0' => j += 1,
        b'1'..=b'9' => {
            let first = j;
            while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                j += 1;
            }
            if j - first > 18 {
                return None;
            }
        }
        _ => return None,
    }
    let fraction = b.get(j) == Some(&b'.');
    let exponent_mark = |j: usize| matches!(b.get(j), Some(b'e' | b'E'));
    if !fraction && !exponent_mark(j) {
        return Some((
            j,
            match (negative, mantissa) {
                (false, m) => Number::PosInt(m),
                // serde_json reads -0 as the float -0.0, any other negative integer as an i64.
                (true, 0) => Number::Float(-0.0),
                (true, m) => Number::NegInt(-(m as i64)),
            },
        ));
    }
    // Significant digits: JSON has no leading zeros, but `0.00123` has two after the point.
    let mut significant = if mantissa == 0 { 0 } else { j - i - usize::from(negative) };
    let mut exponent: i64 = 0;
    if fraction {
        j += 1;
        let digits = j;
        while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            significant += usize::from(mantissa != 0);
            if significant > 18 {
                return None;
            }
            exponent -= 1;
            j += 1;
        }
        if j == digits {
            return None;
        }
    }
    if exponent_mark(j) {
        j += 1;
        let negative_exponent = b.get(j) == Some(&b'-');
        j += usize::from(matches!(b.get(j), Some(b'+' | b'-')));
        let digits = j;
        let mut e: i64 = 0;
        while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(c - b'0')).min(1 << 20);
            j += 1;
        }
        if j == digits {
            return None;
        }
        exponent += if negative_exponent { -e } else { e };
    }
    if mantissa >= 1 << 53 || exponent.unsigned_abs() as usize >= EXACT_POWERS.len() {
        return None;
    }
    let power = EXACT_POWERS[exponent.unsigned_abs() as usize];
    let value = if exponent < 0 { mantissa as f64 / power } else { mantissa as f64 * power };
    Some((j, Number::Float(if negative { -value } else { value })))
}

/// The value starting at `i` (after whitespace).
#[inline]
fn value<const CLEAN: bool>(b: &[u8], i: usize, depth: usize) -> Option<Span> {
    let (end, kind) = match *b.get(i)? {
        b'"' => {
            let (end, escaped) = string_end::<CLEAN>(b, i)?;
            (end, Kind::String { escaped })
        }
        b'-' | b'0'..=b'9' => {
            let (end, n) = number(b, i)?;
            (end, Kind::Number(n))
        }
        b't' if b[i..].starts_with(b"true") => (i + 4, Kind::True),
        b'f' if b[i..].starts_with(b"false") => (i + 5, Kind::False),
        b'n' if b[i..].starts_with(b"null") => (i + 4, Kind::Null),
        b'{' | b'[' => (nested_end::<CLEAN>(b, i, depth + 1)?, Kind::Nested),
        _ => return None,
    };
    Some(Span { kind, start: i, end })
}

/// The end of the object or array opening at `i`, validated.
fn nested_end<const CLEAN: bool>(b: &[u8], i: usize, depth: usize) -> Option<usize> {
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
            j = skip_ws(b, string_end::<CLEAN>(b, j)?.0);
            if b.get(j) != Some(&b':') {
                return None;
            }
            j = skip_ws(b, j + 1);
        }
        j = skip_ws(b, value::<CLEAN>(b, j, depth)?.end);
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
pub(crate) fn scan_object(line: &[u8], field: impl FnMut(&[u8], Span) -> bool) -> Scan {
    if has_escapes_or_controls(line) { scan::<false>(line, field) } else { scan::<true>(line, field) }
}

/// [`scan_object`] for lines that are `CLEAN` (no backslash, no control byte) or not.
#[inline]
fn scan<const CLEAN: bool>(line: &[u8], mut field: impl FnMut(&[u8], Span) -> bool) -> Scan {
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
        let Some((key_end, key_escaped)) = string_end::<CLEAN>(b, i) else { return Scan::Unsure };
        if key_escaped {
            return Scan::Unsure;
        }
        let key = &b[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return Scan::Unsure;
        }
        i = skip_ws(b, i + 1);
        let Some(span) = value::<CLEAN>(b, i, 0) else { return Scan::Unsure };
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

/// The members of a compact line, in order, each as the bytes `"key":`. Lines written by one
/// program repeat their keys in one order, so the next line is first read against the last
/// one's shape: a key is then a byte comparison instead of a string scan and a lookup.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    members: Vec<Member>,
}

/// One member of a [`Shape`]: its bytes, and for those of 4 to 16 bytes their first and last
/// words, so that matching one is two integer comparisons.
#[derive(Debug)]
struct Member {
    bytes: Box<[u8]>,
    words: Option<(u64, u64)>,
}

impl Member {
    fn new(bytes: &[u8]) -> Member {
        Member { words: words(bytes, 0, bytes.len()), bytes: bytes.into() }
    }

    /// Whether `b[at..]` starts with this member.
    #[inline]
    fn at(&self, b: &[u8], at: usize) -> bool {
        let n = self.bytes.len();
        match self.words {
            Some(expected) => words(b, at, n) == Some(expected),
            None => b.get(at..at + n) == Some(&self.bytes[..]),
        }
    }
}

/// The first and last 8 bytes (or 4, for 4 to 7 bytes) of `b[at..at + n]`, read as integers
/// (overlapping when `n` is under 16); `None` outside 4..=16 bytes or past the end of `b`.
#[inline]
fn words(b: &[u8], at: usize, n: usize) -> Option<(u64, u64)> {
    let s = b.get(at..at + n)?;
    let word8 = |i: usize| Some(u64::from_le_bytes(s.get(i..i + 8)?.try_into().ok()?));
    let word4 = |i: usize| Some(u64::from(u32::from_le_bytes(s.get(i..i + 4)?.try_into().ok()?)));
    match n {
        8..=16 => Some((word8(0)?, word8(n - 8)?)),
        4..=7 => Some((word4(0)?, word4(n - 4)?)),
        _ => None,
    }
}

impl Shape {
    /// Forgets the shape.
    pub fn clear(&mut self) {
        self.members.clear();
    }

    /// Learns the shape of `line`, a well-formed object, when it is compact (no whitespace
    /// around its members) and its keys hold no escapes; forgets it otherwise.
    pub fn learn(&mut self, line: &[u8]) {
        self.members.clear();
        if !has_escapes_or_controls(line) {
            let shaped = scan::<true>(line, |key, span| {
                let start = span.start - key.len() - 3;
                self.members.push(Member::new(&line[start..span.start]));
                line.get(start..span.start).is_some_and(|m| m.last() == Some(&b':') && m.first() == Some(&b'"'))
            });
            if shaped == Scan::Object && line.first() == Some(&b'{') && line.last() == Some(&b'}') {
                return;
            }
        }
        self.members.clear();
    }

    /// Scans `line` as an object of this shape: `field(member, value)` for each member (false
    /// from it stops the scan), and true when the line is exactly this shape and well-formed
    /// and `field` never stopped it. False leaves nothing decided: the caller scans the line
    /// with [`scan_object`].
    #[inline]
    pub fn scan(&self, line: &[u8], mut field: impl FnMut(usize, Span) -> bool) -> bool {
        let b = line;
        // No pass over the line for escapes and control bytes: outside strings every byte is
        // checked by the structure below, and a string holding either ends the scan.
        if self.members.is_empty() || b.first() != Some(&b'{') || b.last() != Some(&b'}') {
            return false;
        }
        let mut i = 1;
        let last = self.members.len() - 1;
        for (m, member) in self.members.iter().enumerate() {
            if !member.at(b, i) {
                return false;
            }
            let Some(span) = value::<true>(b, i + member.bytes.len(), 0) else { return false };
            if !field(m, span) {
                return false;
            }
            let expected = if m == last { b'}' } else { b',' };
            if b.get(span.end) != Some(&expected) {
                return false;
            }
            i = span.end + 1;
        }
        i == b.len()
    }
}

/// Powers of ten that `f64` holds exactly.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
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
