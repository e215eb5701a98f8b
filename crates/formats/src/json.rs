//! JSON lines (NDJSON): one object per line. The schema is inferred from a sample of lines
//! (top-level keys; nested objects and arrays become JSON text), overridable per source; keys
//! that are not in the schema are kept as a JSON object in `_extra`.

use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::columns::{BatchBuilder, ColumnSpec, ColumnType, Value};
use crate::convert::ConvertOptions;
use crate::json_scan::{Kind, Scan, Shape, Span, scan_object, unescape};
use crate::keyvalue::{RecordColumns, TypeAccumulator, inferred_columns};
use crate::reject::{Reject, RejectReason};
use crate::time::{DateCache, TimestampFormat, parse_rfc3339, parse_rfc3339_with};

/// Options of the JSON-lines format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonOptions {
    /// Columns whose type is given instead of inferred (or that the sample lacks).
    #[serde(default)]
    pub columns: Vec<ColumnSpec>,
}

fn json_type(v: &serde_json::Value) -> Option<ColumnType> {
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(_) => ColumnType::Bool,
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => ColumnType::Int64,
        serde_json::Value::Number(_) => ColumnType::Float64,
        serde_json::Value::String(s) if parse_rfc3339(s.as_bytes()).is_some() => ColumnType::Timestamp,
        _ => ColumnType::String,
    })
}

/// Infers JSON columns from sample lines (lines that are not objects are skipped).
pub fn infer_json_columns(sample: &[&str], opts: &JsonOptions) -> Vec<ColumnSpec> {
    let mut acc = TypeAccumulator::default();
    for line in sample {
        if let Ok(map) = serde_json::from_str::<Map<String, serde_json::Value>>(line) {
            for (k, v) in &map {
                acc.observe(k, json_type(v));
            }
        }
    }
    inferred_columns(acc.finish(), &opts.columns)
}

/// Parser of JSON lines: a scanner that builds only the projected columns for the common
/// case ([`crate::json_scan`]), and `serde_json` for every line the scanner is not sure of
/// (the reference: it decides rows, rejects and their messages).
#[derive(Debug)]
pub struct JsonParser {
    columns: RecordColumns,
    convert: ConvertOptions,
    keys: KeyTable,
    /// Where each column's value is in the current line.
    seen: Vec<Option<Span>>,
    /// Each column's converted value in the current line.
    staged: Vec<Staged>,
    /// Unescaped text of each column's string in the current line.
    texts: Vec<String>,
    /// The shape of the last line and the column of each of its members.
    shape: Shape,
    shape_columns: Vec<Option<usize>>,
    /// The columns no member of the shape fills (null in every line of that shape).
    shape_absent: Vec<usize>,
    /// The date of the last RFC 3339 timestamp.
    dates: DateCache,
}

impl JsonParser {
    /// A parser over resolved columns.
    pub fn new(columns: RecordColumns, convert: ConvertOptions) -> Self {
        let n = columns.columns.len();
        let keys = KeyTable::new(&columns);
        JsonParser {
            columns,
            convert,
            keys,
            seen: vec![None; n],
            staged: vec![Staged::Null; n],
            texts: vec![String::new(); n],
            shape: Shape::default(),
            shape_columns: Vec::new(),
            shape_absent: Vec::new(),
            dates: DateCache::default(),
        }
    }

    /// Parses `b` without `serde_json` when the line is certainly a well-formed object whose
    /// every value converts to its column's type; appends the projected columns and returns
    /// true then. Returns false (having appended nothing) for every other line.
    fn fast(&mut self, line: &str, out: &mut BatchBuilder) -> bool {
        let b = line.as_bytes();
        let extra_wanted = self.columns.extra.is_some_and(|i| out.wants(i));
        // A line of the last line's shape is staged member by member as it is scanned.
        let mut converts = true;
        let shaped = (!extra_wanted || self.shape_columns.iter().all(Option::is_some)) && {
            let JsonParser { columns, convert, texts, dates, staged, shape, shape_columns, shape_absent, .. } = self;
            for &i in shape_absent.iter() {
                staged[i] = Staged::Null;
            }
            shape.scan(b, |member, span| {
                let Some(i) = shape_columns[member] else { return true };
                match stage(columns.columns[i].column_type, span, line, convert, &mut texts[i], dates) {
                    Some(value) => staged[i] = value,
                    None => converts = false,
                }
                converts
            })
        };
        if !converts {
            return false;
        }
        if !shaped {
            self.seen.fill(None);
            if !self.scan_and_learn(b, extra_wanted) {
                return false;
            }
            for i in 0..self.seen.len() {
                self.staged[i] = match self.seen[i] {
                    None => Staged::Null,
                    Some(span) => {
                        let ty = self.columns.columns[i].column_type;
                        match stage(ty, span, line, &self.convert, &mut self.texts[i], &self.dates) {
                            Some(v) => v,
                            None => return false,
                        }
                    }
                };
            }
        }
        for i in 0..self.staged.len() {
            if let Some(column) = out.column(i) {
                let value = match self.staged[i] {
                    Staged::Null => Value::Null,
                    // The span lies between ASCII quotes, so it starts and ends at characters.
                    Staged::Span(start, end) => Value::Str(line.get(start..end).unwrap_or_default()),
                    Staged::Unescaped => Value::Str(&self.texts[i]),
                    Staged::Static(s) => Value::Str(s),
                    Staged::Int(v) => Value::Int(v),
                    Staged::UInt(v) => Value::UInt(v),
                    Staged::Float(v) => Value::Float(v),
                    Staged::Bool(v) => Value::Bool(v),
                    Staged::Timestamp(v) => Value::Timestamp(v),
                };
                column.append_value(&value);
            }
        }
        true
    }

    /// Scans `b` member by member, filling `seen` (a repeated key of a column, or an unknown
    /// key while `_extra` is built, gives up); a line scanned whole teaches its shape.
    fn scan_and_learn(&mut self, b: &[u8], extra_wanted: bool) -> bool {
        let (keys, seen) = (&mut self.keys, &mut self.seen);
        let mut members = std::mem::take(&mut self.shape_columns);
        members.clear();
        let scan = scan_object(b, |key, span| {
            let column = keys.find(key, members.len());
            members.push(column);
            match column {
                // A repeated key: the reference keeps its last value, and so would we, but a
                // reject of the first value's type would then differ: leave it to the reference.
                Some(i) if seen[i].is_some() => false,
                Some(i) => {
                    seen[i] = Some(span);
                    true
                }
                None => !extra_wanted,
            }
        });
        self.shape_columns = members;
        if scan == Scan::Unsure {
            self.shape.clear();
            return false;
        }
        self.shape.learn(b);
        let n = self.seen.len();
        self.shape_absent = (0..n).filter(|i| !self.shape_columns.contains(&Some(*i))).collect();
        true
    }

    /// The reference: `serde_json` parses the whole line into a map.
    fn reference(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        let map: Map<String, serde_json::Value> = serde_json::from_str(line).map_err(|e| {
            let what = if line.trim_start().starts_with('{') { "invalid JSON" } else { "not a JSON object" };
            Reject::new(RejectReason::BadJson, format!("{what}: {e}"))
        })?;
        let mut staged = vec![Value::Null; self.columns.columns.len()];
        let mut extra = Map::new();
        for (k, v) in &map {
            match self.columns.get(k) {
                Some((i, ty)) => staged[i] = convert(k, v, ty, &self.convert)?,
                None => {
                    extra.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(i) = self.columns.extra
            && !extra.is_empty()
        {
            staged[i] = Value::String(serde_json::Value::Object(extra).to_string());
        }
        self.columns.append(&staged, out);
        Ok(())
    }
}

fn mismatch(key: &str, ty: ColumnType, v: &serde_json::Value) -> Reject {
    Reject::new(
        RejectReason::BadField,
        format!("field {key:?}: {} is not {ty:?}", crate::escape::escape_excerpt(v.to_string().as_bytes(), 48)),
    )
}

fn convert<'a>(
    key: &str,
    v: &'a serde_json::Value,
    ty: ColumnType,
    opts: &ConvertOptions,
) -> Result<Value<'a>, Reject> {
    use serde_json::Value as J;
    Ok(match (ty, v) {
        (_, J::Null) => Value::Null,
        (ColumnType::String, J::String(s)) => Value::Str(s),
        (ColumnType::String, other) => Value::String(other.to_string()),
        (ColumnType::Bool, J::Bool(b)) => Value::Bool(*b),
        (ColumnType::Float64, J::Number(n)) => Value::Float(n.as_f64().ok_or_else(|| mismatch(key, ty, v))?),
        (ColumnType::Int64, J::Number(n)) => Value::Int(n.as_i64().ok_or_else(|| mismatch(key, ty, v))?),
        (ColumnType::Uint64 | ColumnType::Uint16 | ColumnType::Uint8, J::Number(n)) => {
            let u = n.as_u64().ok_or_else(|| mismatch(key, ty, v))?;
            let max = match ty {
                ColumnType::Uint8 => u8::MAX as u64,
                ColumnType::Uint16 => u16::MAX as u64,
                _ => u64::MAX,
            };
            if u > max {
                return Err(mismatch(key, ty, v));
            }
            Value::UInt(u)
        }
        (ColumnType::Timestamp, J::Number(n)) => {
            let secs = n.as_f64().ok_or_else(|| mismatch(key, ty, v))?;
            Value::Timestamp(opts.time.epoch_seconds(secs).ok_or_else(|| {
                Reject::new(
                    RejectReason::BadTimestamp,
                    format!("field {key:?}: {n} is not epoch seconds between the plausible years"),
                )
            })?)
        }
        (ColumnType::Timestamp, J::String(s)) => {
            let fmt = match &opts.timestamp_format {
                TimestampFormat::Rfc3339 => None,
                f => Some(f),
            };
            let t = match fmt {
                None => parse_rfc3339(s.as_bytes()).and_then(|p| p.to_utc(&opts.time)),
                Some(f) => f.parse(s, &opts.time),
            };
            Value::Timestamp(t.ok_or_else(|| {
                Reject::new(
                    RejectReason::BadTimestamp,
                    format!("field {key:?}: {} is not a timestamp", crate::escape::quote_excerpt(s.as_bytes(), 48)),
                )
            })?)
        }
        (_, J::String(s)) => crate::convert::convert_text(s, ty, opts)
            .map_err(|d| Reject::new(RejectReason::BadField, format!("field {key:?}: {d}")))?,
        _ => return Err(mismatch(key, ty, v)),
    })
}

/// The value at `span` for a column of type `ty`, converted as the reference converts it, or
/// `None` when it would not convert (the reference then rejects the line) or is not plain.
/// `text` is the column's buffer for unescaped strings.
#[inline(always)]
fn stage(
    ty: ColumnType,
    span: Span,
    line: &str,
    convert: &ConvertOptions,
    text: &mut String,
    dates: &DateCache,
) -> Option<Staged> {
    let b = line.as_bytes();
    let raw = span.text(b);
    Some(match (span.kind, ty) {
        (Kind::Null, _) => Staged::Null,
        // A nested value, or a number in a text column, would be re-serialised: the
        // reference does that.
        (Kind::Nested, _) | (Kind::Number(_), ColumnType::String) => return None,
        (Kind::True, ColumnType::String) => Staged::Static("true"),
        (Kind::False, ColumnType::String) => Staged::Static("false"),
        (Kind::True, ColumnType::Bool) => Staged::Bool(true),
        (Kind::False, ColumnType::Bool) => Staged::Bool(false),
        (Kind::Number(n), _) => match ty {
            ColumnType::Float64 => Staged::Float(n.as_f64()),
            ColumnType::Int64 => Staged::Int(n.as_i64()?),
            ColumnType::Uint8 => Staged::UInt(n.as_u64().filter(|&u| u <= u64::from(u8::MAX))?),
            ColumnType::Uint16 => Staged::UInt(n.as_u64().filter(|&u| u <= u64::from(u16::MAX))?),
            ColumnType::Uint64 => Staged::UInt(n.as_u64()?),
            ColumnType::Timestamp => Staged::Timestamp(convert.time.epoch_seconds(n.as_f64())?),
            ColumnType::String | ColumnType::Bool => return None,
        },
        (Kind::String { escaped: false }, ColumnType::String) => Staged::Span(span.start + 1, span.end - 1),
        (Kind::String { escaped }, _) => {
            let s: &str = if escaped {
                if !unescape(raw, text) {
                    return None;
                }
                text
            } else {
                line.get(span.start + 1..span.end - 1)?
            };
            match ty {
                ColumnType::String => {
                    if escaped {
                        Staged::Unescaped
                    } else {
                        Staged::Span(span.start + 1, span.end - 1)
                    }
                }
                ColumnType::Timestamp => Staged::Timestamp(timestamp(s, convert, dates)?),
                _ => match crate::convert::convert_text(s, ty, convert).ok()? {
                    Value::Null => Staged::Null,
                    Value::Int(v) => Staged::Int(v),
                    Value::UInt(v) => Staged::UInt(v),
                    Value::Float(v) => Staged::Float(v),
                    Value::Bool(v) => Staged::Bool(v),
                    Value::Timestamp(v) => Staged::Timestamp(v),
                    Value::Str(_) | Value::String(_) => return None,
                },
            }
        }
        _ => return None,
    })
}

/// A timestamp string as the reference reads it (RFC 3339 dates remembered in `dates`).
#[inline]
fn timestamp(s: &str, convert: &ConvertOptions, dates: &DateCache) -> Option<i64> {
    match &convert.timestamp_format {
        TimestampFormat::Rfc3339 => parse_rfc3339_with(s.as_bytes(), dates).and_then(|p| p.to_utc(&convert.time)),
        f => f.parse(s, &convert.time),
    }
}

/// A column's value in the current line, converted, without borrowing the line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Staged {
    Null,
    /// Text at `line[start..end]`.
    Span(usize, usize),
    /// Text in the column's unescape buffer.
    Unescaped,
    Static(&'static str),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Timestamp(i64),
}

/// Column lookup by key bytes, fastest when keys come in the same order line after line (as
/// they do in logs written by one program): each field position remembers the column its key
/// was last time.
#[derive(Debug)]
struct KeyTable {
    /// `(key, column)` of every column but `_extra`.
    keys: Vec<(Box<[u8]>, usize)>,
    /// Per field position, the entry of `keys` the key there was last time.
    by_position: Vec<usize>,
}

impl KeyTable {
    fn new(columns: &RecordColumns) -> Self {
        let keys = columns
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != columns.extra)
            .map(|(i, c)| (c.name.as_bytes().into(), i))
            .collect();
        KeyTable { keys, by_position: Vec::new() }
    }

    /// The column of `key`, the field at `position` of its line.
    #[inline]
    fn find(&mut self, key: &[u8], position: usize) -> Option<usize> {
        if let Some(&guess) = self.by_position.get(position)
            && let Some((name, column)) = self.keys.get(guess)
            && **name == *key
        {
            return Some(*column);
        }
        let entry = self.keys.iter().position(|(name, _)| **name == *key)?;
        if position < 64 {
            if self.by_position.len() <= position {
                self.by_position.resize(position + 1, usize::MAX);
            }
            self.by_position[position] = entry;
        }
        Some(self.keys[entry].1)
    }
}

impl crate::LineParser for JsonParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        if self.fast(line, out) {
            return Ok(());
        }
        self.reference(line, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LineParser;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;

    #[test]
    fn infers_and_keeps_unknown_keys() {
        let sample =
            [r#"{"ts":"2026-10-01T00:00:00Z","level":"info","n":1,"ctx":{"a":1}}"#, r#"{"n":2.5,"level":null}"#];
        let cols = infer_json_columns(&sample, &JsonOptions::default());
        let names: Vec<_> = cols.iter().map(|c| (c.name.as_str(), c.column_type)).collect();
        assert_eq!(
            names,
            [
                ("ts", ColumnType::Timestamp),
                ("level", ColumnType::String),
                ("n", ColumnType::Float64),
                ("ctx", ColumnType::String),
                ("_extra", ColumnType::String)
            ]
        );
        let opts = JsonOptions { columns: vec![ColumnSpec::new("n", ColumnType::Int64)] };
        let cols = infer_json_columns(&sample, &opts);
        let mut p = JsonParser::new(RecordColumns::new(cols.clone()), ConvertOptions::default());
        let mut out = BatchBuilder::new(&cols, &[2, 3, 4], 4);
        p.parse(r#"{"n":7,"ctx":[1,2],"new":"x"}"#, &mut out).unwrap();
        out.commit_row();
        let err = p.parse(r#"{"n":"seven"}"#, &mut out).unwrap_err();
        assert_eq!(err.reason, RejectReason::BadField);
        assert_eq!(p.parse("[1]", &mut out).unwrap_err().reason, RejectReason::BadJson);
        let a = out.finish();
        assert_eq!(a[0].as_primitive::<Int64Type>().value(0), 7);
        assert_eq!(a[1].as_string::<i32>().value(0), "[1,2]");
        assert_eq!(a[2].as_string::<i32>().value(0), r#"{"new":"x"}"#);
    }

    /// Columns of the differential test: every type, so that each conversion is met.
    fn differential_columns() -> Vec<ColumnSpec> {
        let mut columns = vec![
            ColumnSpec::new("ts", ColumnType::Timestamp),
            ColumnSpec::new("level", ColumnType::String),
            ColumnSpec::new("n", ColumnType::Int64),
            ColumnSpec::new("f", ColumnType::Float64),
            ColumnSpec::new("u", ColumnType::Uint16),
            ColumnSpec::new("b", ColumnType::Bool),
        ];
        columns.push(ColumnSpec::new(crate::EXTRA_COLUMN, ColumnType::String));
        columns
    }

    /// Appends `line` with `parse` to a fresh builder of `projection`; the arrays or the reject.
    fn outcome(
        parse: impl FnOnce(&mut JsonParser, &str, &mut BatchBuilder) -> Result<(), Reject>,
        line: &str,
        projection: &[usize],
    ) -> Result<Vec<String>, Reject> {
        let columns = differential_columns();
        let mut parser = JsonParser::new(RecordColumns::new(columns.clone()), ConvertOptions::default());
        let mut out = BatchBuilder::new(&columns, projection, 1);
        parse(&mut parser, line, &mut out)?;
        out.commit_row();
        Ok(out.finish().iter().map(|a| format!("{a:?}")).collect())
    }

    /// A JSON-ish line from a grammar of the values logs hold, and the mistakes they have.
    fn json_line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let string = prop_oneof![
            "[a-z ]{0,8}".prop_map(|s| format!("\"{s}\"")),
            Just(r#""2026-10-01T00:00:00Z""#.to_string()),
            Just(r#""2026-10-01T00:00:00.123+02:00""#.to_string()),
            Just(r#""2026-13-01T00:00:00Z""#.to_string()),
            Just(r#""a \"q\" \\ \/ \n\t""#.to_string()),
            Just(r#""\u00e9\ud83d\ude00""#.to_string()),
            Just(r#""\ud800""#.to_string()),
            Just("\"bad \u{1} ctl\"".to_string()),
            Just(r#""42""#.to_string()),
            Just(r#""-7""#.to_string()),
            Just(r#""yes""#.to_string()),
            Just(r#""1.5""#.to_string()),
        ];
        let number = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (0u32..100_000, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b:03}")),
            (-1000i32..1000, -30i32..30).prop_map(|(a, e)| format!("{a}e{e}")),
            Just("-0".to_string()),
            Just("-0.0".to_string()),
            Just("1E+2".to_string()),
            Just("0.1e-400".to_string()),
            Just("1e400".to_string()),
            Just("123456789012345678901234567890".to_string()),
            Just("0.30000000000000004441".to_string()),
            Just("01".to_string()),
            Just("1.".to_string()),
            Just("65536".to_string()),
        ];
        let scalar = prop_oneof![
            string.clone(),
            number,
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
            Just("tru".to_string()),
        ];
        let value = scalar.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(inner, 0..3).prop_map(|v| {
                    let members: Vec<String> = v.iter().enumerate().map(|(i, x)| format!("\"k{i}\":{x}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        });
        let key = prop_oneof![
            Just("ts"),
            Just("level"),
            Just("n"),
            Just("f"),
            Just("u"),
            Just("b"),
            Just("other"),
            Just("_extra"),
            Just("le\\u0076el"),
        ];
        let member = (key, value, prop_oneof![Just(""), Just(" "), Just("\t")])
            .prop_map(|(k, v, ws)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}"));
        let object = proptest::collection::vec(member, 0..8).prop_map(|m| format!("{{{}}}", m.join(",")));
        (object, prop_oneof![Just(""), Just(" "), Just(","), Just("}"), Just(" x")], any::<u8>()).prop_map(
            |(o, tail, cut)| {
                // Now and then cut the line short or add a tail, as broken writers do.
                if cut < 16 && !o.is_empty() {
                    o[..o.len() * usize::from(cut) / 16].to_string()
                } else {
                    format!("{o}{tail}")
                }
            },
        )
    }

    /// A line as a well-behaved program writes it: each column's key with a value of its type
    /// (now and then another), in varying order, with unknown keys holding anything.
    fn clean_line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (clean_values(), any::<u8>()).prop_map(|(values, order)| clean_object(values, order))
    }

    /// Lines of one program: the keys in the same order in every line (one shape), the
    /// values as in [`clean_line`], so a parser meets the shape it learned.
    fn same_shape_lines() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
        use proptest::prelude::*;
        (any::<u8>(), proptest::collection::vec(clean_values(), 1..12))
            .prop_map(|(order, lines)| lines.into_iter().map(|values| clean_object(values, order)).collect())
    }

    /// The values of one [`clean_line`]: `ts`, `level`, `n`, `f`, `u`, `b` and `other`.
    fn clean_values() -> impl proptest::strategy::Strategy<Value = [String; 7]> {
        use proptest::prelude::*;
        let ts = prop_oneof![
            (1u32..28, 0u32..24, 0u32..1000).prop_map(|(d, h, ms)| format!("\"2026-10-{d:02}T{h:02}:00:00.{ms:03}Z\"")),
            (0i64..2_000_000_000).prop_map(|s| s.to_string()),
            Just("null".to_string()),
        ];
        let level = prop_oneof![
            "[a-z]{1,8}".prop_map(|s| format!("\"{s}\"")),
            Just(r#""a\"b""#.to_string()),
            Just("\"bad \u{1} ctl\"".to_string()),
            Just("true".to_string())
        ];
        let n = prop_oneof![
            any::<i32>().prop_map(|n| n.to_string()),
            Just("\"12\"".to_string()),
            Just("2.0".to_string()),
            Just("-0".to_string()),
            Just("9223372036854775808".to_string()),
            Just("-9223372036854775808".to_string()),
        ];
        let f = prop_oneof![
            (0u32..100_000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b:02}")),
            any::<i16>().prop_map(|n| n.to_string()),
            Just("1.5e3".to_string()),
            Just("1e400".to_string()),
            Just("12345678901234567890.5".to_string())
        ];
        let u = prop_oneof![(0u32..70_000).prop_map(|n| n.to_string()), Just("-1".to_string()), Just("-0".to_string())];
        let b = prop_oneof![Just("true".to_string()), Just("false".to_string()), Just("\"no\"".to_string())];
        let other = prop_oneof![
            Just(r#"{"a":[1,2,{"b":"c"}]}"#.to_string()),
            Just("[]".to_string()),
            Just("\"x\"".to_string())
        ];
        (ts, level, n, f, u, b, other).prop_map(|(ts, level, n, f, u, b, other)| [ts, level, n, f, u, b, other])
    }

    /// An object of `values` under their keys, rotated and cut as `order` says.
    fn clean_object(values: [String; 7], order: u8) -> String {
        let mut members: Vec<String> = ["ts", "level", "n", "f", "u", "b", "other"]
            .iter()
            .zip(values)
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        members.rotate_left(usize::from(order) % 7);
        members.truncate(3 + usize::from(order) % 5);
        format!("{{{}}}", members.join(","))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// The fast path changes no answer: every line gives what `serde_json` alone gives,
        /// with every column built and with one.
        #[test]
        fn the_fast_path_answers_as_the_reference(line in proptest::prop_oneof![json_line(), clean_line()]) {
            let all: Vec<usize> = (0..differential_columns().len()).collect();
            for projection in [all.as_slice(), &[1], &[2, 3], &[6], &[]] {
                let fast = outcome(crate::LineParser::parse, &line, projection);
                let reference = outcome(|p, l, o| p.reference(l, o), &line, projection);
                proptest::prop_assert_eq!(&fast, &reference, "{} projecting {:?}", line, projection);
            }
        }

        /// A parser that has learned the lines' shape (and stages values as it scans them)
        /// still answers every line as the reference does.
        #[test]
        fn a_learned_shape_answers_as_the_reference(lines in same_shape_lines(), projection in 0usize..3) {
            let columns = differential_columns();
            let projection: &[usize] = [&[0, 1, 2, 3, 4, 5][..], &[1, 3], &[6]][projection];
            let mut parser = JsonParser::new(RecordColumns::new(columns.clone()), ConvertOptions::default());
            for line in &lines {
                let mut out = BatchBuilder::new(&columns, projection, 1);
                let fast = crate::LineParser::parse(&mut parser, line, &mut out).map(|()| {
                    out.commit_row();
                    out.finish().iter().map(|a| format!("{a:?}")).collect::<Vec<_>>()
                });
                let reference = outcome(|p, l, o| p.reference(l, o), line, projection);
                proptest::prop_assert_eq!(&fast, &reference, "{} projecting {:?}", line, projection);
            }
        }
    }

    #[test]
    fn common_lines_take_the_fast_path() {
        let columns = differential_columns();
        let mut parser = JsonParser::new(RecordColumns::new(columns.clone()), ConvertOptions::default());
        let mut out = BatchBuilder::new(&columns, &[1, 2, 3], 4);
        for line in [
            r#"{"ts":"2026-10-01T00:00:00Z","level":"info","n":1,"f":2.5,"u":200,"b":true}"#,
            r#"{ "level" : "warn \"x\"" , "n" : -3 , "f" : 1e2 }"#,
            r#"{"level":null,"other":{"a":[1,{"b":null}]},"f":-0.0}"#,
            "{}",
        ] {
            assert!(parser.fast(line, &mut out), "{line}");
            out.commit_row();
        }
        let a = out.finish();
        assert_eq!(a[0].as_string::<i32>().value(1), "warn \"x\"");
        assert_eq!(a[1].as_primitive::<Int64Type>().value(1), -3);
        for unsure in [
            r#"{"level":"\u00e9"}"#,
            r#"{"n":1,"n":2}"#,
            r#"{"n":"x"}"#,
            r#"{"level":42}"#,
            r#"{"f":1e400}"#,
            r#"{"le\"vel":1}"#,
            "[1]",
            "{} x",
        ] {
            assert!(!parser.fast(unsure, &mut out), "{unsure}");
        }
        // Unknown keys take the fast path unless _extra is built.
        let mut with_extra = BatchBuilder::new(&columns, &[6], 1);
        assert!(!parser.fast(r#"{"other":1}"#, &mut with_extra));
        assert!(parser.fast(r#"{"other":1}"#, &mut out));
    }
}
