//! Line parsers for log formats: bytes of one line in, typed values appended to Arrow builders
//! out, or a [`Reject`] with a stable reason code. No I/O, no DataFusion.
//!
//! Each format declares its columns ([`ResolvedFormat::columns`]); a parser fills only the
//! builders a [`BatchBuilder`] holds, i.e. only the projected columns. Whether a line is a row or
//! a reject never depends on the projection: every field is validated, only projected ones are
//! materialised.
//!
//! ```
//! use logfusion_formats::{FormatSpec, ResolvedFormat, FileContext, BatchBuilder, prepare_line};
//! let format = ResolvedFormat::resolve(FormatSpec::parse_name("combined").unwrap(), Default::default(), &[]).unwrap();
//! let status = format.columns().iter().position(|c| c.name == "status").unwrap();
//! let mut out = BatchBuilder::new(format.columns(), &[status], 1024);
//! let mut parser = format.parser(&FileContext::default());
//! let line = prepare_line(br#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "curl""#).unwrap();
//! parser.parse(line, &mut out).unwrap();
//! out.commit_row();
//! assert_eq!(out.finish()[0].len(), 1);
//! ```

mod access;
mod columns;
mod convert;
mod detect;
mod escape;
mod json;
mod json_scan;
mod keyvalue;
pub mod library;
mod logfmt;
mod multiline;
mod regex_format;
mod regex_linear;
mod reject;
#[cfg(test)]
mod roundtrip_tests;
mod syslog;
mod text;
mod time;
mod w3c;
mod words;

use std::fmt;

use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

pub use access::AccessOptions;
pub use columns::{BatchBuilder, ColumnBuilder, ColumnSpec, ColumnType, Value, schema_of, utc_timestamp_type};
pub use detect::{Detection, Score, detect_format, rank_formats};
pub use escape::{escape_controls, escape_excerpt, escape_text, quote_excerpt};
pub use json::JsonOptions;
pub use keyvalue::EXTRA_COLUMN;
pub use logfmt::LogfmtOptions;
pub use multiline::{MultilineRule, MultilineSpec};
pub use regex_format::RegexOptions;
pub use reject::{Reject, RejectReason};
pub use syslog::SyslogOptions;
pub use time::{DEFAULT_EPOCH_YEARS, DstPolicy, TimeLayout, TimeRules, TimeZoneError, TimeZoneSpec, TimestampFormat};
pub use w3c::W3cOptions;

use access::{AccessLogParser, access_columns};
use convert::ConvertOptions;
use json::{JsonParser, infer_json_columns};
use keyvalue::RecordColumns;
use logfmt::{LogfmtParser, infer_logfmt_columns};
use regex_format::{CompiledRegex, RegexParser, compile_regex};
use syslog::{SyslogParser, syslog_columns};

/// Parses one line of a format into a [`BatchBuilder`].
pub trait LineParser: Send {
    /// Parses `line` (no terminator, valid UTF-8, not empty). On `Ok`, exactly one value has
    /// been appended to every projected column and the caller must call
    /// [`BatchBuilder::commit_row`]; on `Err`, nothing has been appended.
    fn parse(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), Reject>;
}

/// What a parser may know about the file it reads.
#[derive(Debug, Clone, Default)]
pub struct FileContext {
    /// The file's modification time, µs since the epoch: the reference for the year of
    /// RFC 3164 syslog timestamps.
    pub modified_micros: Option<i64>,
    /// The file's last line, for formats whose reading depends on where the file ends
    /// (year-less syslog with a configured year; see [`ResolvedFormat::needs_last_line`]).
    pub last_line: Option<String>,
}

/// Errors in a format's definition (from config).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    /// An unknown format name.
    #[error(
        "unknown format {name:?} (known: access, combined, common, syslog, json, logfmt, regex, text, and the library's: `logfusion formats`)"
    )]
    UnknownFormat {
        /// The name given.
        name: String,
    },
    /// A `w3c` source whose first lines hold no `#Fields:` directive and whose options name
    /// no fields.
    #[error("the w3c format needs a #Fields: directive in the files' first lines, or options: {{fields: [...]}}")]
    NoW3cFields,
    /// The `regex` format was named without a pattern.
    #[error("the regex format needs a pattern in config.yaml (options: {{pattern: ...}})")]
    RegexNeedsPattern,
    /// The regex does not compile or has no named groups.
    #[error("bad regex {pattern:?}: {message}")]
    BadRegex {
        /// The pattern.
        pattern: String,
        /// Why it is unusable.
        message: String,
    },
    /// A format rebuilt from its parts has other columns than its spec gives (a cluster node
    /// of another version, say).
    #[error("the columns given for the {format} format are not the ones its options give")]
    ColumnsDiffer {
        /// The format's name.
        format: String,
    },
    /// A definition of the format library does not load (a bug caught by its tests).
    #[error("format library definition {file}.yaml: {message}")]
    BadDefinition {
        /// The definition's file name, without `.yaml`.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A configured column is not a named group of the regex.
    #[error("column {column:?} is not a named group of the pattern")]
    UnknownColumn {
        /// The column.
        column: String,
    },
}

/// The families of formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatKind {
    /// Apache/nginx `combined` and `common`.
    Access,
    /// RFC 3164 and RFC 5424 syslog.
    Syslog,
    /// JSON lines.
    Json,
    /// logfmt.
    Logfmt,
    /// A user-defined regex (and the formats of the library).
    Regex,
    /// Any text: the line, with the time and level where found.
    Text,
    /// W3C extended logs (IIS): columns from the `#Fields:` directive.
    W3c,
}

impl FormatKind {
    /// The format's name, also the table name for auto-detected files of this kind.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Access => "access",
            FormatKind::Syslog => "syslog",
            FormatKind::Json => "json",
            FormatKind::Logfmt => "logfmt",
            FormatKind::Regex => "regex",
            FormatKind::Text => "text",
            FormatKind::W3c => "w3c",
        }
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format with its options, as written in config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum FormatSpec {
    /// Apache/nginx access logs.
    Access(AccessOptions),
    /// Syslog.
    Syslog(SyslogOptions),
    /// JSON lines.
    Json(JsonOptions),
    /// logfmt.
    Logfmt(LogfmtOptions),
    /// A user-defined regex.
    Regex(RegexOptions),
    /// Generic text: what files no format reads become.
    Text,
    /// W3C extended logs (IIS).
    W3c(W3cOptions),
}

impl FormatSpec {
    /// The default spec of a built-in format name (`combined`, `common`, `nginx` and `apache`
    /// are `access`; `ndjson` and `jsonl` are `json`) or of a [`library`] format (a `regex`).
    pub fn parse_name(name: &str) -> Result<FormatSpec, FormatError> {
        Ok(match name {
            "access" | "combined" | "common" | "nginx" | "apache" => FormatSpec::Access(AccessOptions::default()),
            "syslog" => FormatSpec::Syslog(SyslogOptions::default()),
            "json" | "ndjson" | "jsonl" => FormatSpec::Json(JsonOptions::default()),
            "logfmt" => FormatSpec::Logfmt(LogfmtOptions::default()),
            "text" => FormatSpec::Text,
            "w3c" | "iis" => FormatSpec::W3c(W3cOptions::default()),
            "regex" => return Err(FormatError::RegexNeedsPattern),
            other => match library::find(other)? {
                Some(format) => FormatSpec::Regex(format.definition.regex_options()),
                None => return Err(FormatError::UnknownFormat { name: other.to_string() }),
            },
        })
    }

    /// The default spec of a kind (`None` for regex, which needs a pattern).
    pub fn default_for(kind: FormatKind) -> Option<FormatSpec> {
        Self::parse_name(kind.name()).ok()
    }

    /// The family of this format.
    pub fn kind(&self) -> FormatKind {
        match self {
            FormatSpec::Access(_) => FormatKind::Access,
            FormatSpec::Syslog(_) => FormatKind::Syslog,
            FormatSpec::Json(_) => FormatKind::Json,
            FormatSpec::Logfmt(_) => FormatKind::Logfmt,
            FormatSpec::Regex(_) => FormatKind::Regex,
            FormatSpec::Text => FormatKind::Text,
            FormatSpec::W3c(_) => FormatKind::W3c,
        }
    }

    /// The multi-line rule the options give, if any (regex and syslog formats).
    pub fn multiline(&self) -> Option<&MultilineSpec> {
        match self {
            FormatSpec::Regex(o) => o.multiline.as_ref(),
            FormatSpec::Syslog(o) => o.multiline.as_ref(),
            _ => None,
        }
    }

    /// Whether the schema is inferred from sample lines (so callers know to read a sample).
    pub fn needs_sample(&self) -> bool {
        matches!(
            self,
            FormatSpec::Json(_)
                | FormatSpec::Logfmt(_)
                | FormatSpec::Access(AccessOptions { trailing: None })
                | FormatSpec::W3c(W3cOptions { fields: None })
        )
    }
}

/// What a resolved format parses with: its options, inferred columns or compiled pattern.
#[derive(Debug, Clone)]
enum Compiled {
    Access(AccessOptions),
    Syslog(SyslogOptions),
    Json(RecordColumns),
    Logfmt(RecordColumns),
    Regex(CompiledRegex, TimestampFormat),
    Text,
    W3c,
}

/// A format with a fixed schema: options checked, regex compiled, JSON/logfmt columns inferred.
#[derive(Debug, Clone)]
pub struct ResolvedFormat {
    spec: FormatSpec,
    time: TimeRules,
    columns: Vec<ColumnSpec>,
    compiled: Compiled,
    multiline: Option<MultilineRule>,
}

impl ResolvedFormat {
    /// Resolves `spec`; `sample` (first lines of the files) is used to infer JSON/logfmt columns.
    pub fn resolve(spec: FormatSpec, time: TimeRules, sample: &[&str]) -> Result<Self, FormatError> {
        let (columns, compiled) = match &spec {
            FormatSpec::Access(o) => {
                let o = AccessOptions::with_trailing(match &o.trailing {
                    Some(trailing) => trailing.clone(),
                    None => access::infer_trailing(sample),
                });
                (access_columns(&o), Compiled::Access(o))
            }
            FormatSpec::Syslog(o) => (syslog_columns(), Compiled::Syslog(o.clone())),
            FormatSpec::Json(o) => {
                let columns = infer_json_columns(sample, o);
                (columns.clone(), Compiled::Json(RecordColumns::new(columns)))
            }
            FormatSpec::Logfmt(o) => {
                let columns = infer_logfmt_columns(sample, o);
                (columns.clone(), Compiled::Logfmt(RecordColumns::new(columns)))
            }
            FormatSpec::Regex(o) => {
                let c = compile_regex(o)?;
                (c.columns.clone(), Compiled::Regex(c, o.timestamp_format.clone()))
            }
            FormatSpec::Text => (text::text_columns(), Compiled::Text),
            FormatSpec::W3c(o) => {
                let fields = match &o.fields {
                    Some(fields) => fields.clone(),
                    None => w3c::fields_of(sample).ok_or(FormatError::NoW3cFields)?,
                };
                (w3c::w3c_columns(&fields), Compiled::W3c)
            }
        };
        let multiline = spec.multiline().map(MultilineRule::new).transpose()?;
        Ok(ResolvedFormat { spec, time, columns, compiled, multiline })
    }

    /// Rebuilds a format from what [`ResolvedFormat::spec`], [`ResolvedFormat::time_rules`]
    /// and [`ResolvedFormat::columns`] returned, e.g. on another machine of a cluster: inferred
    /// columns (JSON, logfmt, access trailing fields) are taken as given instead of inferred again; for the other
    /// formats they must be the ones the spec gives (access: after the inferred trailing fields).
    pub fn from_parts(spec: FormatSpec, time: TimeRules, columns: Vec<ColumnSpec>) -> Result<Self, FormatError> {
        let compiled = match &spec {
            FormatSpec::Json(_) => Compiled::Json(RecordColumns::new(columns.clone())),
            FormatSpec::Logfmt(_) => Compiled::Logfmt(RecordColumns::new(columns.clone())),
            FormatSpec::W3c(W3cOptions { fields: None }) => Compiled::W3c,
            FormatSpec::Access(AccessOptions { trailing: None }) => {
                let fixed = access_columns(&AccessOptions::with_trailing(Vec::new()));
                if columns.get(..fixed.len()) != Some(&fixed[..]) {
                    return Err(FormatError::ColumnsDiffer { format: spec.kind().to_string() });
                }
                Compiled::Access(AccessOptions::with_trailing(columns[fixed.len()..].to_vec()))
            }
            _ => {
                let resolved = ResolvedFormat::resolve(spec, time, &[])?;
                if resolved.columns != columns {
                    return Err(FormatError::ColumnsDiffer { format: resolved.kind().to_string() });
                }
                return Ok(resolved);
            }
        };
        let multiline = spec.multiline().map(MultilineRule::new).transpose()?;
        Ok(ResolvedFormat { spec, time, columns, compiled, multiline })
    }

    /// The format's family.
    pub fn kind(&self) -> FormatKind {
        self.spec.kind()
    }

    /// How lines join into records, when the format's lines are not records on their own.
    pub fn multiline(&self) -> Option<&MultilineRule> {
        self.multiline.as_ref()
    }

    /// The spec this format was resolved from.
    pub fn spec(&self) -> &FormatSpec {
        &self.spec
    }

    /// How the format's timestamps become UTC.
    pub fn time_rules(&self) -> TimeRules {
        self.time
    }

    /// Whether parsers need the file's last line in their [`FileContext`]: year-less syslog
    /// with a configured year dates the file by where it ends.
    pub fn needs_last_line(&self) -> bool {
        matches!(&self.compiled, Compiled::Syslog(o) if o.year.is_some())
    }

    /// The columns rows of this format have.
    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    /// The Arrow schema of [`ResolvedFormat::columns`].
    pub fn schema(&self) -> SchemaRef {
        schema_of(&self.columns)
    }

    /// The column holding each line's time: the timestamp column named `ts`, else the first
    /// timestamp column; `None` when the format has none.
    pub fn time_column(&self) -> Option<usize> {
        let is_time = |c: &&ColumnSpec| c.column_type == ColumnType::Timestamp;
        let named = self.columns.iter().position(|c| c.name == "ts" && is_time(&c));
        named.or_else(|| self.columns.iter().position(|c| is_time(&c)))
    }

    /// A new parser for one file (or byte range of it).
    pub fn parser(&self, ctx: &FileContext) -> Box<dyn LineParser> {
        let convert = |timestamp_format: TimestampFormat| ConvertOptions::new(self.time, timestamp_format);
        match &self.compiled {
            Compiled::Access(o) => Box::new(AccessLogParser::new(o)),
            Compiled::Syslog(o) => Box::new(SyslogParser::new(o, self.time, ctx)),
            Compiled::Json(c) => Box::new(JsonParser::new(c.clone(), convert(TimestampFormat::Rfc3339))),
            Compiled::Logfmt(c) => Box::new(LogfmtParser::new(c.clone(), convert(TimestampFormat::Rfc3339))),
            Compiled::Regex(c, ts) => Box::new(RegexParser::new(c.clone(), convert(ts.clone()))),
            Compiled::Text => Box::new(text::TextParser::new(self.time)),
            Compiled::W3c => Box::new(w3c::W3cParser::new(self.columns.clone(), self.time)),
        }
    }
}

/// [`prepare_line`] for a line already known to be UTF-8: removes a trailing `\r` and checks
/// it is not empty.
#[inline]
pub fn prepare_text(text: &str) -> Result<&str, Reject> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(Reject::new(RejectReason::EmptyLine, "empty line"));
    }
    Ok(text)
}

/// Removes a trailing `\r` and checks the line is non-empty UTF-8; the reject otherwise.
/// (Lines over `max_line_bytes` are caught by the reader before this.)
#[inline]
pub fn prepare_line(raw: &[u8]) -> Result<&str, Reject> {
    let raw = match raw.last() {
        Some(b'\r') => &raw[..raw.len() - 1],
        _ => raw,
    };
    if raw.is_empty() {
        return Err(Reject::new(RejectReason::EmptyLine, "empty line"));
    }
    simdutf8::basic::from_utf8(raw).map_err(|_| {
        let e = std::str::from_utf8(raw).err();
        let at = e.map(|e| e.valid_up_to() + 1).unwrap_or(0);
        Reject::new(RejectReason::InvalidUtf8, format!("invalid UTF-8 at byte {at} of the line"))
    })
}

/// One entry of the format catalogue shown by `logfusion formats`.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// Format name.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// Columns with default options (empty for inferred / user-defined schemas).
    pub columns: Vec<ColumnSpec>,
}

/// Every built-in format with its default columns, then the [`library`]'s formats.
pub fn catalog() -> Result<Vec<CatalogEntry>, FormatError> {
    let mut entries = vec![
        CatalogEntry {
            name: "access",
            description: "Apache/nginx combined and common logs (aliases: combined, common); trailing fields inferred from the data (shown: the timing pair) or configured",
            columns: access_columns(&AccessOptions::default()),
        },
        CatalogEntry {
            name: "syslog",
            description: "RFC 3164 (year from the file's mtime or the `year` option) and RFC 5424 (structured data kept); `multiline: indented` joins indented continuation lines to their message",
            columns: syslog_columns(),
        },
        CatalogEntry {
            name: "json",
            description: "JSON lines: columns inferred from a sample (override types with `columns`), unknown keys in _extra",
            columns: vec![],
        },
        CatalogEntry {
            name: "logfmt",
            description: "key=value lines: columns inferred from a sample (override with `columns`), unknown keys in _extra",
            columns: vec![],
        },
        CatalogEntry {
            name: "regex",
            description: "user-defined: `pattern` with named groups, `columns` types, `timestamp_format`, `multiline` (indented, java, python or {start: REGEX}: the pattern matches the whole record)",
            columns: vec![],
        },
        CatalogEntry {
            name: "text",
            description: "any text (what files no format reads become): the line, with the ISO 8601 time it starts with and its level word where found",
            columns: text::text_columns(),
        },
        CatalogEntry {
            name: "w3c",
            description: "W3C extended logs (IIS; alias: iis): the columns follow the #Fields: directive (date and time become ts, cs(User-Agent) cs_user_agent, counts are numbers); directive lines are `directive` rejects",
            columns: vec![],
        },
    ];
    for format in library::library()? {
        let definition = &format.definition;
        entries.push(CatalogEntry {
            name: &definition.name,
            description: &definition.description,
            columns: compile_regex(&definition.regex_options())?.columns,
        });
    }
    Ok(entries)
}
