//! User-defined formats: a regular expression with named capture groups, each group a column.
//! Column types come from config (default: string); timestamps use the configured format and
//! the source's timezone. A line the regex does not match is a `regex_mismatch` reject.

use std::collections::BTreeMap;

use regex::{CaptureLocations, Regex};
use serde::{Deserialize, Serialize};

use crate::FormatError;
use crate::columns::{BatchBuilder, Cell, ColumnSpec, ColumnType};
use crate::convert::{ConvertOptions, typed_cell};
use crate::multiline::MultilineSpec;
use crate::regex_linear::LinearPattern;
use crate::reject::{Reject, RejectReason};
use crate::time::TimestampFormat;

/// Options of a user-defined regex format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexOptions {
    /// The pattern; each named group `(?P<name>...)` becomes a column. Anchor it (`^...$`).
    pub pattern: String,
    /// Types of the named groups (groups not listed are strings).
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnType>,
    /// How timestamp groups are written: `rfc3339` (default), `clf`, `epoch_seconds`,
    /// `epoch_millis`, or a chrono strftime pattern such as `%Y-%m-%d %H:%M:%S`.
    #[serde(default)]
    pub timestamp_format: TimestampFormat,
    /// Multi-line records (`indented`, `java`, `python`, `{start: REGEX}`): the pattern then
    /// matches the whole record, `.` matching the newlines between its lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiline: Option<MultilineSpec>,
    /// Level names as written → the common names (`I: INFO`, `WARNING: WARN`), applied to the
    /// level columns (`level`, `level2`, …, `severity`); values not listed stay as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub levels: BTreeMap<String, String>,
}

/// Whether a column holds a level that [`RegexOptions::levels`] maps.
fn is_level_column(name: &str) -> bool {
    name == "severity" || name.strip_prefix("level").is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
}

/// A compiled regex format: the regex and its columns in group order.
#[derive(Debug, Clone)]
pub struct CompiledRegex {
    /// The compiled pattern.
    pub regex: Regex,
    /// The pattern as a one-pass walk, when it is a plain anchored sequence (see
    /// [`LinearPattern`]): tried first, the regex deciding when the walk fails.
    pub linear: Option<LinearPattern>,
    /// Columns, one per named group, in the order the groups appear.
    pub columns: Vec<ColumnSpec>,
    /// Capture-group index of each column.
    group_of_column: Vec<usize>,
    /// Level names as written and their common names, sorted (empty: no mapping).
    levels: Vec<(String, String)>,
    /// Which columns the level mapping applies to.
    level_columns: Vec<bool>,
    /// The columns converted from text (typed, and not level columns), in order.
    typed_columns: Vec<usize>,
}

/// Compiles `opts`, checking that every configured column names a group of the pattern.
pub fn compile_regex(opts: &RegexOptions) -> Result<CompiledRegex, FormatError> {
    // A multi-line record is matched whole: `.` in its last group spans the joined lines.
    let source = match opts.multiline {
        Some(_) => format!("(?s:{})", opts.pattern),
        None => opts.pattern.clone(),
    };
    let regex = Regex::new(&source)
        .map_err(|e| FormatError::BadRegex { pattern: opts.pattern.clone(), message: one_line(&e.to_string()) })?;
    let mut columns = Vec::new();
    let mut group_of_column = Vec::new();
    for (g, name) in regex.capture_names().enumerate() {
        if let Some(name) = name {
            let ty = opts.columns.get(name).copied().unwrap_or(ColumnType::String);
            columns.push(ColumnSpec::new(name, ty));
            group_of_column.push(g);
        }
    }
    if columns.is_empty() {
        return Err(FormatError::BadRegex {
            pattern: opts.pattern.clone(),
            message: "no named groups such as (?P<status>\\d+)".into(),
        });
    }
    if let Some(unknown) = opts.columns.keys().find(|k| !columns.iter().any(|c| &c.name == *k)) {
        return Err(FormatError::UnknownColumn { column: unknown.clone() });
    }
    // The one-pass walk knows single lines only.
    let linear = if opts.multiline.is_some() { None } else { LinearPattern::compile(&opts.pattern) };
    let levels = opts.levels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let level_columns: Vec<bool> =
        columns.iter().map(|c| !opts.levels.is_empty() && is_level_column(&c.name)).collect();
    let typed_columns =
        (0..columns.len()).filter(|&i| columns[i].column_type != ColumnType::String && !level_columns[i]).collect();
    Ok(CompiledRegex { regex, linear, columns, group_of_column, levels, level_columns, typed_columns })
}

/// The regex crate's multi-line syntax errors (pattern, caret, reason) as one line.
fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Parser of lines of a user-defined regex format.
#[derive(Debug)]
pub struct RegexParser {
    compiled: CompiledRegex,
    locations: CaptureLocations,
    /// Where each step of the one-pass walk started in the current line.
    starts: Vec<usize>,
    /// Each column's converted value in the current line.
    cells: Vec<Cell>,
    convert: ConvertOptions,
}

impl RegexParser {
    /// A parser for a compiled format.
    pub fn new(compiled: CompiledRegex, convert: ConvertOptions) -> Self {
        let locations = compiled.regex.capture_locations();
        let starts = vec![0; compiled.linear.as_ref().map_or(0, LinearPattern::positions)];
        let cells = (0..compiled.columns.len())
            .map(|i| if compiled.typed_columns.contains(&i) { Cell::Null } else { Cell::Text })
            .collect();
        RegexParser { compiled, locations, starts, cells, convert }
    }

    /// The byte range of group `g` in the line just matched.
    #[inline]
    fn group(&self, walked: bool, g: usize) -> Option<(usize, usize)> {
        match (&self.compiled.linear, walked) {
            (Some(linear), true) => linear.span(&self.starts, g),
            _ => self.locations.get(g),
        }
    }

    /// The text of column `i`, `written` in the line: its common name when it is a level
    /// column and the name is mapped.
    #[inline]
    fn text<'a>(&'a self, i: usize, written: &'a str) -> &'a str {
        if !self.compiled.level_columns[i] {
            return written;
        }
        match self.compiled.levels.binary_search_by(|(k, _)| k.as_str().cmp(written)) {
            Ok(k) => &self.compiled.levels[k].1,
            Err(_) => written,
        }
    }
}

impl crate::LineParser for RegexParser {
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject> {
        let walked = self.compiled.linear.as_ref().is_some_and(|l| l.walk(line, &mut self.starts));
        if !walked && self.compiled.regex.captures_read(&mut self.locations, line).is_none() {
            return Err(Reject::new(RejectReason::RegexMismatch, "the line does not match the format's pattern"));
        }
        // Every typed group is validated, whatever the query builds (and converted when its
        // column is projected); text needs no check. Then the projected columns are appended.
        for &i in &self.compiled.typed_columns {
            let ty = self.compiled.columns[i].column_type;
            let cell = match self.group(walked, self.compiled.group_of_column[i]) {
                None => Cell::Null,
                Some((s, e)) => match typed_cell(&line[s..e], ty, &self.convert, out.wants(i)) {
                    Ok(cell) => cell,
                    Err(detail) => {
                        let reason = if ty == ColumnType::Timestamp {
                            RejectReason::BadTimestamp
                        } else {
                            RejectReason::BadField
                        };
                        let name = &self.compiled.columns[i].name;
                        return Err(Reject::new(reason, format!("group {name:?}: {detail}")));
                    }
                },
            };
            self.cells[i] = cell;
        }
        for i in 0..self.compiled.columns.len() {
            let Some(b) = out.column(i) else { continue };
            let value = self.cells[i].value(|| {
                let (s, e) = self.group(walked, self.compiled.group_of_column[i])?;
                Some(self.text(i, &line[s..e]))
            });
            b.append_value(&value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LineParser;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{TimestampMicrosecondType, UInt16Type};

    #[test]
    fn named_groups_become_typed_columns() {
        let opts = RegexOptions {
            pattern: r"^(?P<ts>\S+ \S+) (?P<level>\w+) (?P<code>\d+)(?: (?P<msg>.*))?$".into(),
            columns: [("ts".to_string(), ColumnType::Timestamp), ("code".to_string(), ColumnType::Uint16)].into(),
            timestamp_format: TimestampFormat::from("%Y-%m-%d %H:%M:%S".to_string()),
            multiline: None,
            levels: BTreeMap::new(),
        };
        let c = compile_regex(&opts).unwrap();
        let cols = c.columns.clone();
        let mut p = RegexParser::new(c, ConvertOptions::new(Default::default(), opts.timestamp_format.clone()));
        let mut out = BatchBuilder::new(&cols, &[0, 2, 3], 4);
        p.parse("1970-01-01 00:00:01 INFO 200 ok", &mut out).unwrap();
        out.commit_row();
        p.parse("1970-01-01 00:00:02 WARN 404", &mut out).unwrap();
        out.commit_row();
        assert_eq!(p.parse("nope", &mut out).unwrap_err().reason, RejectReason::RegexMismatch);
        assert_eq!(p.parse("1970-01-01 00:00:02 WARN 99999", &mut out).unwrap_err().reason, RejectReason::BadField);
        assert_eq!(p.parse("1970-13-01 00:00:02 WARN 1", &mut out).unwrap_err().reason, RejectReason::BadTimestamp);
        // Typed groups are checked when only a text column is built.
        let mut level_only = BatchBuilder::new(&cols, &[1], 1);
        assert_eq!(
            p.parse("1970-01-01 00:00:02 WARN 99999", &mut level_only).unwrap_err().reason,
            RejectReason::BadField
        );
        assert_eq!(
            p.parse("1970-13-01 00:00:02 WARN 1", &mut level_only).unwrap_err().reason,
            RejectReason::BadTimestamp
        );
        p.parse("1970-01-01 00:00:02 WARN 7", &mut level_only).unwrap();
        level_only.commit_row();
        assert_eq!(level_only.finish()[0].as_string::<i32>().value(0), "WARN");
        let a = out.finish();
        assert_eq!(a[0].as_primitive::<TimestampMicrosecondType>().value(1), 2_000_000);
        assert_eq!(a[1].as_primitive::<UInt16Type>().value(0), 200);
        assert!(a[2].is_null(1));
    }

    #[test]
    fn level_names_map_to_the_common_ones() {
        let opts = RegexOptions {
            pattern: r"^(?P<level>\S+) (?P<level2>\S+) (?P<note>\S+)$".into(),
            levels: [("W".to_string(), "WARN".to_string()), ("E".to_string(), "ERROR".to_string())].into(),
            ..Default::default()
        };
        let c = compile_regex(&opts).unwrap();
        let cols = c.columns.clone();
        let mut p = RegexParser::new(c, ConvertOptions::new(Default::default(), TimestampFormat::default()));
        let mut out = BatchBuilder::new(&cols, &[0, 1, 2], 2);
        p.parse("W E W", &mut out).unwrap();
        out.commit_row();
        p.parse("Q W E", &mut out).unwrap();
        out.commit_row();
        let a = out.finish();
        let text = |i: usize, r: usize| a[i].as_string::<i32>().value(r).to_string();
        assert_eq!([text(0, 0), text(1, 0), text(2, 0)], ["WARN", "ERROR", "W"], "only level columns map");
        assert_eq!([text(0, 1), text(1, 1)], ["Q", "WARN"], "names not listed stay as written");
    }

    #[test]
    fn config_errors() {
        assert!(matches!(
            compile_regex(&RegexOptions { pattern: "(".into(), ..Default::default() }),
            Err(FormatError::BadRegex { .. })
        ));
        let o = RegexOptions {
            pattern: "(?P<a>x)".into(),
            columns: [("b".to_string(), ColumnType::Int64)].into(),
            ..Default::default()
        };
        assert!(matches!(compile_regex(&o), Err(FormatError::UnknownColumn { column }) if column == "b"));
    }
}
