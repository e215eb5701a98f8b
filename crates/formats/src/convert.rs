//! Text → typed [`Value`] conversion shared by the user-configurable formats.

use crate::columns::{Cell, ColumnType, Value};
use crate::time::{DateCache, SecondCache, TimeLayout, TimeRules, TimestampFormat};

/// How to read text into a typed value: the source's time rules and how timestamps are written.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Zone, daylight-saving policy and plausible epoch range of timestamps.
    pub time: TimeRules,
    /// How timestamps are written.
    pub timestamp_format: TimestampFormat,
    /// The fast reader of `timestamp_format`, when it is a plain strftime layout.
    layout: Option<TimeLayout>,
    /// The date of the last timestamp the layout read.
    dates: DateCache,
    /// The second of the last timestamp the layout read.
    seconds: SecondCache,
}

impl ConvertOptions {
    /// Options reading timestamps written as `timestamp_format` by `time`'s rules.
    pub fn new(time: TimeRules, timestamp_format: TimestampFormat) -> Self {
        let layout = timestamp_format.layout();
        ConvertOptions { time, timestamp_format, layout, dates: DateCache::default(), seconds: SecondCache::default() }
    }

    /// A timestamp's UTC microseconds: through the fast layout when it reads the text, else
    /// the format's own (chrono) reader.
    #[inline]
    pub fn timestamp(&self, text: &str) -> Option<i64> {
        if let Some(layout) = &self.layout
            && let Some(utc) =
                self.seconds.timestamp(layout, text.as_bytes(), &self.dates, |naive| self.time.local_to_utc(naive))
        {
            return Some(utc);
        }
        self.timestamp_format.parse(text, &self.time)
    }
}

/// The value of a plain decimal such as `0.012` or `17` (digits with at most one `.`, at most
/// 15 digits, at least one), exactly as `str::parse::<f64>` reads it; `None` for anything else
/// (signs, exponents, longer numbers), which the caller reads the general way. Exact because
/// both the digits as an integer (below 2^53) and the power of ten (at most 10^15) are exact
/// doubles, and one IEEE division rounds their quotient correctly.
#[inline]
pub(crate) fn plain_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    // Fifteen digits and a dot at most: the length alone turns longer text away, and the
    // digits of what is left cannot overflow (10^16 < 2^64) before they are counted.
    if b.len() > 16 {
        return None;
    }
    // nginx's `$request_time` and `$upstream_response_time` (`%.3f`): one shape, read at once.
    if let [s, b'.', m1, m2, m3] = *b {
        let [s, m1, m2, m3] = [s, m1, m2, m3].map(|c| c.wrapping_sub(b'0'));
        if s <= 9 && m1 <= 9 && m2 <= 9 && m3 <= 9 {
            let millis = u32::from(s) * 1000 + u32::from(m1) * 100 + u32::from(m2) * 10 + u32::from(m3);
            return Some(f64::from(millis) / POW10[3]);
        }
    }
    let mut mantissa: u64 = 0;
    let mut dot = None;
    for (i, &c) in b.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            mantissa = mantissa * 10 + u64::from(d);
        } else if c == b'.' && dot.is_none() {
            dot = Some(i);
        } else {
            return None;
        }
    }
    let digits = b.len() - usize::from(dot.is_some());
    if digits == 0 || digits > 15 {
        return None;
    }
    let fraction_digits = dot.map_or(0, |i| b.len() - i - 1);
    Some(mantissa as f64 / POW10[fraction_digits])
}

/// Whether `b` is nginx's `$request_time` shape, `d.ddd`: a number [`plain_decimal`] reads,
/// checked without computing it (for a column that is validated but not projected).
#[inline]
pub(crate) fn is_nginx_seconds(b: &[u8]) -> bool {
    let Ok(&[s, ref rest @ ..]) = <&[u8; 5]>::try_from(b) else {
        return false;
    };
    // `.` then three digits, as one word: each digit's high nibble 3 and low nibble at most 9.
    let word = u32::from_le_bytes(*rest);
    s.is_ascii_digit() && word & 0xf0f0_f0ff == 0x3030_302e && ((word & 0x0f0f_0f00) + 0x0606_0600) & 0x1010_1000 == 0
}

/// Whether `b` is a valid value of type `ty` by a look that needs no conversion (nginx's
/// `d.ddd` seconds for a float); `false` says only that the look was not enough.
#[inline(always)]
pub(crate) fn plainly_valid(b: &[u8], ty: ColumnType) -> bool {
    ty == ColumnType::Float64 && is_nginx_seconds(b)
}

/// A typed field of a line read for its row: converted when its column is `kept`, else only
/// checked, so that a line is a row or a reject alike whatever the query projects (a field
/// not kept comes back as [`Cell::Null`], never appended). Same answer as [`convert_text`];
/// a plain decimal is read in line, and nginx's `d.ddd` seconds not kept need only a look at
/// their five bytes.
#[inline(always)]
pub(crate) fn typed_cell(text: &str, ty: ColumnType, opts: &ConvertOptions, kept: bool) -> Result<Cell, String> {
    if ty == ColumnType::Float64 {
        let b = text.as_bytes();
        if !kept && plainly_valid(b, ty) {
            return Ok(Cell::Null);
        }
        if let Some(v) = plain_decimal(b) {
            return Ok(Cell::Float(v));
        }
    }
    converted_cell(text, ty, opts)
}

/// [`typed_cell`]'s general case, out of line so that the fast paths stay small enough to
/// inline into every parser's loop.
#[inline(never)]
fn converted_cell(text: &str, ty: ColumnType, opts: &ConvertOptions) -> Result<Cell, String> {
    convert_text(text, ty, opts).map(Cell::typed)
}

/// Converts `text` to a value of type `ty`. For non-string types an empty text or `-` is null.
/// The error is a short explanation, e.g. `"abc" is not an integer`.
pub fn convert_text<'a>(text: &'a str, ty: ColumnType, opts: &ConvertOptions) -> Result<Value<'a>, String> {
    if ty == ColumnType::String {
        return Ok(Value::Str(text));
    }
    if text.is_empty() || text == "-" {
        return Ok(Value::Null);
    }
    let bad = |what: &str| format!("{} is not {what}", crate::escape::quote_excerpt(text.as_bytes(), 64));
    match ty {
        ColumnType::String => Ok(Value::Str(text)),
        ColumnType::Uint8 => {
            text.parse::<u8>().map(|v| Value::UInt(v as u64)).map_err(|_| bad("an integer in 0..=255"))
        }
        ColumnType::Uint16 => {
            text.parse::<u16>().map(|v| Value::UInt(v as u64)).map_err(|_| bad("an integer in 0..=65535"))
        }
        ColumnType::Uint64 => text.parse::<u64>().map(Value::UInt).map_err(|_| bad("a non-negative integer")),
        ColumnType::Int64 => text.parse::<i64>().map(Value::Int).map_err(|_| bad("an integer")),
        ColumnType::Float64 => match plain_decimal(text.as_bytes()) {
            Some(v) => Ok(Value::Float(v)),
            None => text.parse::<f64>().map(Value::Float).map_err(|_| bad("a number")),
        },
        ColumnType::Bool => match text {
            "true" | "TRUE" | "True" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "FALSE" | "False" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(bad("a boolean")),
        },
        ColumnType::Timestamp => opts.timestamp(text).map(Value::Timestamp).ok_or_else(|| {
            format!(
                "{} is not a timestamp in format {}",
                crate::escape::quote_excerpt(text.as_bytes(), 64),
                String::from(opts.timestamp_format.clone())
            )
        }),
    }
}

/// The narrowest type that `text` fits, for schema inference: integer, float, bool, RFC 3339
/// timestamp, or string.
pub fn infer_text_type(text: &str) -> ColumnType {
    if text.parse::<i64>().is_ok() {
        ColumnType::Int64
    } else if text.parse::<f64>().is_ok() {
        ColumnType::Float64
    } else if text == "true" || text == "false" {
        ColumnType::Bool
    } else if crate::time::parse_rfc3339(text.as_bytes()).is_some() {
        ColumnType::Timestamp
    } else {
        ColumnType::String
    }
}

/// The type that holds values of both `a` and `b` (Int64 + Float64 = Float64; else String).
pub fn widen(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::*;
    match (a, b) {
        (x, y) if x == y => x,
        (Int64, Float64) | (Float64, Int64) => Float64,
        _ => String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The plain-decimal path reads what `str::parse::<f64>` reads, to the bit, and leaves
        /// everything else to it.
        #[test]
        fn plain_decimals_read_as_the_standard_parser_reads_them(
            text in proptest::string::string_regex(r"[0-9]{0,17}(\.[0-9]{0,17})?|[0-9.eE+-]{1,8}|9{15}\.?|[0-9]\.[0-9]{3}|[0-9]\.[0-9x]{3}").unwrap(),
        ) {
            match plain_decimal(text.as_bytes()) {
                Some(v) => proptest::prop_assert_eq!(Some(v.to_bits()), text.parse::<f64>().ok().map(f64::to_bits), "{}", text),
                None => proptest::prop_assert!(
                    text.bytes().filter(u8::is_ascii_digit).count() > 15 || text.bytes().any(|c| !c.is_ascii_digit() && c != b'.')
                        || text.bytes().filter(|&c| c == b'.').count() > 1 || !text.bytes().any(|c| c.is_ascii_digit()),
                    "{} is a plain decimal", text
                ),
            }
        }
    }

    proptest::proptest! {
        /// The check of nginx's `d.ddd` says yes exactly for five bytes of that shape, each
        /// of which the plain-decimal reader reads.
        #[test]
        fn nginx_seconds_are_five_bytes_of_one_shape(
            text in proptest::prop_oneof![
                // Digits, their neighbours (`/`, `:`) and hex digits where a digit should be.
                proptest::strategy::Strategy::prop_map(
                    proptest::string::string_regex("[0-9a-f/:][.,][0-9a-f/:]{3}[0-9]?").unwrap(),
                    String::into_bytes,
                ),
                proptest::collection::vec(proptest::num::u8::ANY, 0..7),
            ],
        ) {
            let shape = matches!(*text, [s, b'.', m1, m2, m3] if [s, m1, m2, m3].iter().all(u8::is_ascii_digit));
            proptest::prop_assert_eq!(is_nginx_seconds(&text), shape);
            if shape {
                proptest::prop_assert!(plain_decimal(&text).is_some());
            }
        }
    }

    #[test]
    fn floats_convert_with_or_without_the_plain_path() {
        let opts = ConvertOptions::default();
        for (text, v) in [("0.012", 0.012), ("17", 17.0), ("1.", 1.0), (".5", 0.5), ("1e3", 1000.0), ("-2.5", -2.5)] {
            assert_eq!(convert_text(text, ColumnType::Float64, &opts), Ok(Value::Float(v)), "{text}");
        }
        assert!(convert_text("1.2.3", ColumnType::Float64, &opts).is_err());
        // More digits than a u64 holds go to the general parser (no overflow on the way).
        let long = "123456789012345678901234.5";
        assert_eq!(plain_decimal(long.as_bytes()), None);
        assert_eq!(convert_text(long, ColumnType::Float64, &opts), Ok(Value::Float(1.2345678901234568e23)));
        assert!(convert_text(".", ColumnType::Float64, &opts).is_err());
    }
}
