//! JSON lines (NDJSON): one object per line. The schema is inferred from a sample of lines
//! (top-level keys; nested objects and arrays become JSON text), overridable per source; keys
//! that are not in the schema are kept as a JSON object in `_extra`.

use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::columns::{BatchBuilder, ColumnSpec, ColumnType, Value};
use crate::convert::ConvertOptions;
use crate::keyvalue::{RecordColumns, TypeAccumulator, inferred_columns};
use crate::reject::{Reject, RejectReason};
use crate::time::{TimestampFormat, parse_rfc3339};

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

/// Parser of JSON lines.
#[derive(Debug)]
pub struct JsonParser {
    columns: RecordColumns,
    convert: ConvertOptions,
}

impl JsonParser {
    /// A parser over resolved columns.
    pub fn new(columns: RecordColumns, convert: ConvertOptions) -> Self {
        JsonParser { columns, convert }
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
                    format!("field {key:?}: {:?} is not a timestamp", crate::escape::escape_excerpt(s.as_bytes(), 48)),
                )
            })?)
        }
        (_, J::String(s)) => crate::convert::convert_text(s, ty, opts)
            .map_err(|d| Reject::new(RejectReason::BadField, format!("field {key:?}: {d}")))?,
        _ => return Err(mismatch(key, ty, v)),
    })
}

impl crate::LineParser for JsonParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
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
}
