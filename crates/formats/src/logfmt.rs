//! logfmt: `key=value key2="quoted value" flag`. The schema is inferred from a sample (keys in
//! order of first appearance, typed integer/float/bool/timestamp/string), overridable per source;
//! keys that are not in the schema are kept in `_extra` as logfmt text. A bare key is `true`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::columns::{BatchBuilder, ColumnSpec, Value};
use crate::convert::{ConvertOptions, convert_text, infer_text_type};
use crate::keyvalue::{RecordColumns, TypeAccumulator, inferred_columns};
use crate::reject::{Reject, RejectReason, syntax};

/// Options of the logfmt format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogfmtOptions {
    /// Columns whose type is given instead of inferred (or that the sample lacks).
    #[serde(default)]
    pub columns: Vec<ColumnSpec>,
}

/// One `key=value` pair; `raw` is the pair's text as written (for `_extra`).
struct Pair<'a> {
    key: &'a str,
    value: Cow<'a, str>,
    raw: &'a str,
}

/// Splits a logfmt line into pairs. Errors on an unclosed quote, an empty key, or a line with
/// no `=` at all (that is not logfmt).
fn pairs(line: &str) -> Result<Vec<Pair<'_>>, Reject> {
    let b = line.as_bytes();
    let mut out = Vec::with_capacity(8);
    let mut i = 0;
    let mut any_eq = false;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b' ' {
            i += 1;
        }
        let key = &line[start..i];
        if key.is_empty() {
            return Err(syntax(format!("empty key at byte {}", start + 1)));
        }
        if i < b.len() && b[i] == b'=' {
            any_eq = true;
            i += 1;
            if b.get(i) == Some(&b'"') {
                let v0 = i + 1;
                let mut j = v0;
                let mut escaped = false;
                loop {
                    match b.get(j) {
                        None => return Err(syntax(format!("unclosed quote in value of {key:?}"))),
                        Some(b'\\') => {
                            escaped = true;
                            j += 2;
                        }
                        Some(b'"') => break,
                        Some(_) => j += 1,
                    }
                }
                let inner = &line[v0..j.min(b.len())];
                let value = if escaped { Cow::Owned(unescape(inner)) } else { Cow::Borrowed(inner) };
                i = j + 1;
                out.push(Pair { key, value, raw: &line[start..i] });
            } else {
                let v0 = i;
                while i < b.len() && b[i] != b' ' {
                    i += 1;
                }
                out.push(Pair { key, value: Cow::Borrowed(&line[v0..i]), raw: &line[start..i] });
            }
        } else {
            out.push(Pair { key, value: Cow::Borrowed("true"), raw: key });
        }
    }
    if !any_eq {
        return Err(syntax("no key=value pair"));
    }
    Ok(out)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a line looks like logfmt (at least two pairs, most with `=`).
pub fn looks_like_logfmt(line: &str) -> bool {
    match pairs(line) {
        Ok(p) => p.len() >= 2 && p.iter().filter(|x| x.raw.contains('=')).count() * 2 > p.len(),
        Err(_) => false,
    }
}

/// Infers logfmt columns from sample lines.
pub fn infer_logfmt_columns(sample: &[&str], opts: &LogfmtOptions) -> Vec<ColumnSpec> {
    let mut acc = TypeAccumulator::default();
    for line in sample {
        if let Ok(ps) = pairs(line) {
            for p in ps {
                let t = (!p.value.is_empty()).then(|| infer_text_type(&p.value));
                acc.observe(p.key, t);
            }
        }
    }
    inferred_columns(acc.finish(), &opts.columns)
}

/// Parser of logfmt lines.
#[derive(Debug)]
pub struct LogfmtParser {
    columns: RecordColumns,
    convert: ConvertOptions,
}

impl LogfmtParser {
    /// A parser over resolved columns.
    pub fn new(columns: RecordColumns, convert: ConvertOptions) -> Self {
        LogfmtParser { columns, convert }
    }
}

impl crate::LineParser for LogfmtParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        let ps = pairs(line)?;
        let mut staged = vec![Value::Null; self.columns.columns.len()];
        let mut extra = String::new();
        for p in &ps {
            match self.columns.get(p.key) {
                Some((i, ty)) => {
                    let v = convert_text(&p.value, ty, &self.convert).map_err(|d| {
                        let reason = if ty == crate::ColumnType::Timestamp {
                            RejectReason::BadTimestamp
                        } else {
                            RejectReason::BadField
                        };
                        Reject::new(reason, format!("key {:?}: {d}", p.key))
                    })?;
                    staged[i] = v;
                }
                None => {
                    if !extra.is_empty() {
                        extra.push(' ');
                    }
                    extra.push_str(p.raw);
                }
            }
        }
        if let Some(i) = self.columns.extra
            && !extra.is_empty()
        {
            staged[i] = Value::String(extra);
        }
        self.columns.append(&staged, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LineParser;
    use crate::columns::ColumnType;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};

    #[test]
    fn parses_quotes_bare_keys_and_extra() {
        let sample =
            [r#"ts=2026-10-01T00:00:00Z level=info msg="hello \"world\"" n=1 dur=0.5"#, "level=warn n=2 debug"];
        let cols = infer_logfmt_columns(&sample, &LogfmtOptions::default());
        let got: Vec<_> = cols.iter().map(|c| (c.name.as_str(), c.column_type)).collect();
        assert_eq!(
            got,
            [
                ("ts", ColumnType::Timestamp),
                ("level", ColumnType::String),
                ("msg", ColumnType::String),
                ("n", ColumnType::Int64),
                ("dur", ColumnType::Float64),
                ("debug", ColumnType::Bool),
                ("_extra", ColumnType::String)
            ]
        );
        let mut p = LogfmtParser::new(RecordColumns::new(cols.clone()), ConvertOptions::default());
        let mut out = BatchBuilder::new(&cols, &[2, 3, 4, 6], 4);
        p.parse(sample[0], &mut out).unwrap();
        out.commit_row();
        p.parse(r#"n=3 other="x y""#, &mut out).unwrap();
        out.commit_row();
        assert_eq!(p.parse("n=abc", &mut out).unwrap_err().reason, RejectReason::BadField);
        assert_eq!(p.parse("just words", &mut out).unwrap_err().reason, RejectReason::BadSyntax);
        assert_eq!(p.parse(r#"a="open"#, &mut out).unwrap_err().reason, RejectReason::BadSyntax);
        let a = out.finish();
        assert_eq!(a[0].as_string::<i32>().value(0), r#"hello "world""#);
        assert_eq!(a[1].as_primitive::<Int64Type>().value(1), 3);
        assert_eq!(a[2].as_primitive::<Float64Type>().value(0), 0.5);
        assert_eq!(a[3].as_string::<i32>().value(1), r#"other="x y""#);
        assert!(a[3].is_null(0));
    }
}
