//! The W3C extended log format (Microsoft IIS, and other servers that follow the W3C draft):
//! `#` directives, then space-separated fields in the order the `#Fields:` directive names
//! them. The columns follow that directive, as found in the first lines of the files (or as
//! given in `options.fields`): `date` and `time` side by side become one `ts` column (UTC,
//! as the draft specifies, unless the source names a zone); `cs(User-Agent)` becomes
//! `cs_user_agent`; counts and sizes (`sc-status`, `time-taken`, `sc-bytes`, …) are
//! numbers; `-` is null. Directive lines are `directive` rejects: counted, never an error in
//! `validate`.

use serde::{Deserialize, Serialize};

use crate::columns::{BatchBuilder, ColumnSpec, ColumnType};
use crate::reject::{Reject, RejectReason};
use crate::time::{MICROS_PER_SEC, TimeRules, civil_to_epoch_seconds, digits};

/// Options of the `w3c` format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct W3cOptions {
    /// The fields as a `#Fields:` directive would list them; default: the first such
    /// directive in the files' first lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

/// The field list of the first `#Fields:` directive among `sample`.
pub fn fields_of(sample: &[&str]) -> Option<Vec<String>> {
    sample.iter().find_map(|l| {
        let rest = l.trim_end_matches('\r').strip_prefix("#Fields:")?;
        Some(rest.split_whitespace().map(str::to_string).collect())
    })
}

/// Fields that hold whole numbers.
const NUMBERS: &[&str] = &[
    "sc-substatus",
    "sc-win32-status",
    "s-port",
    "c-port",
    "time-taken",
    "sc-bytes",
    "cs-bytes",
    "bytes",
    "x-edge-request-id-count",
];

/// The column a field becomes: `cs-uri-stem` → `cs_uri_stem`, `cs(User-Agent)` →
/// `cs_user_agent`; `sc-status` is a UInt16 like the access format's `status`.
fn column_of(field: &str) -> ColumnSpec {
    let mut name = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            'a'..='z' | '0'..='9' => name.push(c),
            'A'..='Z' => name.push(c.to_ascii_lowercase()),
            ')' => {}
            _ => {
                if !name.ends_with('_') && !name.is_empty() {
                    name.push('_');
                }
            }
        }
    }
    let name = name.trim_end_matches('_').to_string();
    let ty = if field == "sc-status" {
        ColumnType::Uint16
    } else if NUMBERS.contains(&field) {
        ColumnType::Int64
    } else {
        ColumnType::String
    };
    ColumnSpec::new(if name.is_empty() { "field".to_string() } else { name }, ty)
}

/// The columns for `fields` (see the module docs); a name taken twice gets `_2`, `_3`, ….
pub fn w3c_columns(fields: &[String]) -> Vec<ColumnSpec> {
    let mut columns: Vec<ColumnSpec> = Vec::new();
    let mut i = 0;
    while i < fields.len() {
        if fields[i] == "date" && fields.get(i + 1).is_some_and(|f| f == "time") {
            columns.push(ColumnSpec::new("ts", ColumnType::Timestamp));
            i += 2;
            continue;
        }
        let mut column = column_of(&fields[i]);
        let base = column.name.clone();
        let mut n = 1;
        while columns.iter().any(|c| c.name == column.name) {
            n += 1;
            column.name = format!("{base}_{n}");
        }
        columns.push(column);
        i += 1;
    }
    columns
}

/// Parses data lines into the columns of [`w3c_columns`].
#[derive(Debug)]
pub struct W3cParser {
    columns: Vec<ColumnSpec>,
    /// Fields a line must have: one per column, two for `ts`.
    fields: usize,
    rules: TimeRules,
    /// Byte spans of the current line's fields.
    spans: Vec<(usize, usize)>,
    /// Each column's value in the current line, converted.
    values: Vec<Cell>,
}

#[derive(Debug, Clone, Copy)]
enum Cell {
    Null,
    Text(usize, usize),
    Number(u64),
    Time(i64),
}

impl W3cParser {
    /// A parser of lines with `columns` (from [`w3c_columns`]); naive times read by `rules`.
    pub fn new(columns: Vec<ColumnSpec>, rules: TimeRules) -> Self {
        let fields = columns.iter().map(|c| if is_ts(c) { 2 } else { 1 }).sum();
        W3cParser { columns, fields, rules, spans: Vec::new(), values: Vec::new() }
    }
}

fn is_ts(column: &ColumnSpec) -> bool {
    column.name == "ts" && column.column_type == ColumnType::Timestamp
}

/// `yyyy-mm-dd` and `hh:mm:ss[.fff]` as µs since the epoch, naive.
fn naive_micros(date: &[u8], time: &[u8]) -> Option<i64> {
    if date.len() != 10 || date[4] != b'-' || date[7] != b'-' || time.len() < 8 || time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (year, month, day) = (digits(&date[..4])?, digits(&date[5..7])?, digits(&date[8..10])?);
    let (hour, minute, second) = (digits(&time[..2])?, digits(&time[3..5])?, digits(&time[6..8])?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut micros = 0i64;
    match &time[8..] {
        [] => {}
        [b'.', fraction @ ..] if !fraction.is_empty() && fraction.len() <= 6 => {
            let value = digits(fraction)? as i64;
            micros = value * 10i64.pow(6 - fraction.len() as u32);
        }
        _ => return None,
    }
    let seconds = civil_to_epoch_seconds(year as i64, month, day, hour, minute, second)?;
    Some(seconds * MICROS_PER_SEC + micros)
}

/// `text` as a whole number: digits only, at least one, no overflow.
fn whole_number(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &c| {
        let d = c.wrapping_sub(b'0');
        if d > 9 { None } else { n.checked_mul(10)?.checked_add(u64::from(d)) }
    })
}

impl crate::LineParser for W3cParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        if line.starts_with('#') {
            return Err(Reject::new(RejectReason::Directive, "a W3C directive line, not a record"));
        }
        let bytes = line.as_bytes();
        self.spans.clear();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b' ' {
                self.spans.push((start, i));
                start = i + 1;
            }
        }
        self.spans.push((start, bytes.len()));
        if self.spans.len() != self.fields {
            return Err(Reject::new(
                RejectReason::BadSyntax,
                format!("{} fields where #Fields names {}", self.spans.len(), self.fields),
            ));
        }
        self.values.clear();
        let mut field = 0;
        for column in &self.columns {
            let (s, e) = self.spans[field];
            let text = &bytes[s..e];
            let cell = if is_ts(column) {
                let (ts, te) = self.spans[field + 1];
                field += 2;
                let naive = naive_micros(text, &bytes[ts..te]).ok_or_else(|| {
                    Reject::new(RejectReason::BadTimestamp, format!("date and time {:?}", &line[s..te]))
                })?;
                let utc = self.rules.local_to_utc(naive).ok_or_else(|| {
                    Reject::new(RejectReason::BadTimestamp, format!("{:?} does not exist in the zone", &line[s..te]))
                })?;
                Cell::Time(utc)
            } else {
                field += 1;
                match column.column_type {
                    _ if text == b"-" => Cell::Null,
                    ColumnType::String => Cell::Text(s, e),
                    _ => match whole_number(text) {
                        Some(n)
                            if n <= if column.column_type == ColumnType::Uint16 {
                                u64::from(u16::MAX)
                            } else {
                                i64::MAX as u64
                            } =>
                        {
                            Cell::Number(n)
                        }
                        _ => {
                            return Err(Reject::new(
                                RejectReason::BadField,
                                format!("{}: {:?} is not a number", column.name, &line[s..e]),
                            ));
                        }
                    },
                }
            };
            self.values.push(cell);
        }
        for (i, cell) in self.values.iter().enumerate() {
            if let Some(c) = out.column(i) {
                match *cell {
                    Cell::Null => c.append_null(),
                    Cell::Text(s, e) => c.append_str(Some(&line[s..e])),
                    Cell::Number(n) => c.append_u64(Some(n)),
                    Cell::Time(t) => c.append_timestamp(Some(t)),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMicrosecondType, UInt16Type};

    use super::*;
    use crate::LineParser;

    const HEADER: &[&str] = &[
        "#Software: Microsoft Internet Information Services 10.0",
        "#Version: 1.0",
        "#Date: 2026-10-01 00:00:00",
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
    ];

    #[test]
    fn the_fields_directive_names_and_types_the_columns() {
        let fields = fields_of(HEADER).unwrap();
        let columns = w3c_columns(&fields);
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ts",
                "s_ip",
                "cs_method",
                "cs_uri_stem",
                "cs_uri_query",
                "s_port",
                "cs_username",
                "c_ip",
                "cs_user_agent",
                "cs_referer",
                "sc_status",
                "sc_substatus",
                "sc_win32_status",
                "time_taken"
            ]
        );
        assert_eq!(columns[10].column_type, ColumnType::Uint16);
        assert_eq!(columns[13].column_type, ColumnType::Int64);
        let twice = w3c_columns(&["x-a".into(), "x(a)".into(), "time".into()]);
        assert_eq!(twice.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["x_a", "x_a_2", "time"]);
    }

    #[test]
    fn lines_parse_by_the_fields_and_directives_are_counted_apart() {
        let columns = w3c_columns(&fields_of(HEADER).unwrap());
        let all: Vec<usize> = (0..columns.len()).collect();
        let mut out = BatchBuilder::new(&columns, &all, 4);
        let mut p = W3cParser::new(columns, TimeRules::default());
        p.parse(
            "2026-10-01 00:00:01.250 10.0.0.1 GET /index.html q=1 80 - 203.0.113.5 Mozilla/5.0+(Windows) - 200 0 0 15",
            &mut out,
        )
        .unwrap();
        out.commit_row();
        for (line, reason) in [
            (HEADER[3], RejectReason::Directive),
            ("2026-10-01 00:00:02 10.0.0.1 GET / - 80", RejectReason::BadSyntax),
            ("2026-13-01 00:00:02 10.0.0.1 GET / - 80 - 1.2.3.4 ua - 200 0 0 1", RejectReason::BadTimestamp),
            ("2026-10-01 00:00:02 10.0.0.1 GET / - 80 - 1.2.3.4 ua - 70000 0 0 1", RejectReason::BadField),
            (
                "2026-10-01 00:00:02 10.0.0.1 GET / - 80 - 1.2.3.4 ua - 200 0 0 99999999999999999999",
                RejectReason::BadField,
            ),
            ("2026-10-01 00:00:02 10.0.0.1 GET /  - 80 - 1.2.3.4 ua - 200 0 0 1", RejectReason::BadSyntax),
        ] {
            assert_eq!(p.parse(line, &mut out).unwrap_err().reason, reason, "{line}");
        }
        let arrays = out.finish();
        assert_eq!(arrays[0].len(), 1, "rejects append nothing");
        assert_eq!(arrays[0].as_primitive::<TimestampMicrosecondType>().value(0), 1_790_812_801_250_000);
        assert_eq!(arrays[8].as_string::<i32>().value(0), "Mozilla/5.0+(Windows)");
        assert!(arrays[9].is_null(0), "- is null");
        assert_eq!(arrays[10].as_primitive::<UInt16Type>().value(0), 200);
        assert_eq!(arrays[13].as_primitive::<Int64Type>().value(0), 15);
        assert_eq!(whole_number(b"6000000000"), Some(6_000_000_000), "sizes past 4 GiB");
        assert_eq!(whole_number(b""), None);
    }
}
