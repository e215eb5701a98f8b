//! From sources to tables: discover each source's files (listed and sniffed by the data
//! source), group them by detected format (auto mode) or take the configured format, resolve
//! the schema, and register every table in a DataFusion session.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use logfusion_datasource::{Decoding, FileProblem, ListOptions, LogFile, LogLocation, LogTable, discover};
use logfusion_formats::{ColumnType, FormatSpec, ResolvedFormat, TimeRules, escape_text};

use crate::config::Config;
use crate::error::{EngineError, Result};

/// Lines of sample (over all files of a table) used to infer JSON/logfmt schemas.
const INFER_LINES: usize = 1000;
/// Skipped files named in the error when no file is readable.
const PROBLEMS_SHOWN: usize = 3;

/// Where tables come from.
#[derive(Debug, Clone)]
pub struct SourceRequest {
    /// Table name; `None` means auto mode: one table per detected format, named after it.
    pub name: Option<String>,
    /// File, directory, glob or object-store URL.
    pub path: String,
    /// Format for every file, or `None` to detect per file.
    pub format: Option<FormatSpec>,
    /// How timestamps become UTC: zone, daylight saving, plausible epoch numbers.
    pub time: TimeRules,
    /// How the files' text is decoded (UTF-8 unless an encoding is named).
    pub decoding: Decoding,
    /// The timestamp column each file is in ascending order of, if declared.
    pub sorted_by: Option<String>,
}

impl SourceRequest {
    /// Auto mode over a directory (or file, or glob), optionally forcing one format.
    pub fn auto(path: impl Into<String>, format: Option<FormatSpec>) -> Self {
        SourceRequest {
            name: None,
            path: path.into(),
            format,
            time: TimeRules::default(),
            decoding: Decoding::Utf8,
            sorted_by: None,
        }
    }

    /// The sources of a config file.
    pub fn from_config(config: &Config) -> Result<Vec<SourceRequest>> {
        config
            .sources
            .iter()
            .map(|s| {
                Ok(SourceRequest {
                    name: Some(s.name.clone()),
                    path: s.path.clone(),
                    format: s.format_spec()?,
                    time: TimeRules::new(s.timezone, s.dst, config.epoch_years()),
                    decoding: s.decoding()?,
                    sorted_by: s.sorted_by.clone(),
                })
            })
            .collect()
    }
}

/// The tables found for a set of sources, the files left out (with why), and notes on what
/// was left out on purpose.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Tables, in source order (auto tables by format name).
    pub tables: Vec<LogTable>,
    /// Files that are not in any table, each with its problem.
    pub skipped: Vec<LogFile>,
    /// Things left out on purpose (link loops, duplicate links, logfusion's own files).
    pub notes: Vec<String>,
}

impl Catalog {
    /// Lists and sniffs the files of `sources` and groups them into tables. A source
    /// location that cannot be listed is an error; files that cannot be read are in
    /// [`Catalog::skipped`]. See [`Catalog::require_tables`] for "no readable file at all".
    pub async fn discover(sources: &[SourceRequest], options: &ListOptions) -> Result<Catalog> {
        let mut catalog = Catalog::default();
        for source in sources {
            let location = LogLocation::parse(&source.path)?;
            // A source that names its format needs no detection.
            let list =
                ListOptions { decoding: source.decoding, skip_detection: source.format.is_some(), ..options.clone() };
            let found = discover(&location, &list).await?;
            catalog.notes.extend(found.notes);
            if found.files.is_empty() {
                return Err(EngineError::NoFiles { location: escape_text(&source.path) });
            }
            let (files, skipped): (Vec<LogFile>, Vec<LogFile>) = found.files.into_iter().partition(is_readable);
            catalog.skipped.extend(skipped);
            match (&source.name, &source.format) {
                (name, Some(spec)) => {
                    let table = name.clone().unwrap_or_else(|| spec.kind().name().to_string());
                    catalog.push_table(table, spec.clone(), source, files, false)?;
                }
                (name, None) => {
                    let mut by_format: BTreeMap<&'static str, Vec<LogFile>> = BTreeMap::new();
                    let mut unread = Vec::new();
                    for f in files {
                        match &f.detection {
                            Some(d) => by_format.entry(d.name).or_default().push(f),
                            None => unread.push(f),
                        }
                    }
                    // A named source whose other files have a format keeps its one table; the
                    // files no format reads are skipped there, as before. Elsewhere they are the
                    // generic `text` table.
                    if name.is_some() && !by_format.is_empty() {
                        catalog.skipped.extend(unread);
                    } else if !unread.is_empty() {
                        for f in &unread {
                            catalog.notes.push(format!(
                                "{}: no format reads half of its first lines; read as the generic `{TEXT_TABLE}` \
                                 table (line, and the time and level where found); `logfusion detect` shows why",
                                escape_text(&f.name)
                            ));
                        }
                        by_format.insert(TEXT_TABLE, unread);
                    }
                    if let Some(name) = name
                        && by_format.len() > 1
                    {
                        let kinds: Vec<_> = by_format.keys().copied().collect();
                        return Err(EngineError::MixedFormats {
                            source_name: name.clone(),
                            location: source.path.clone(),
                            kinds: kinds.join(", "),
                        });
                    }
                    for (format, files) in by_format {
                        let table = name.clone().unwrap_or_else(|| format.to_string());
                        // Detection finds built-in and library formats, which need no options.
                        let spec = FormatSpec::parse_name(format)
                            .map_err(|error| EngineError::Format { source_name: table.clone(), error })?;
                        catalog.push_table(table, spec, source, files, true)?;
                    }
                }
            }
        }
        Ok(catalog)
    }

    /// An error naming the first skipped files when there is no table at all.
    pub fn require_tables(&self) -> Result<()> {
        if !self.tables.is_empty() {
            return Ok(());
        }
        let why: Vec<String> = self
            .skipped
            .iter()
            .take(PROBLEMS_SHOWN)
            .map(|f| {
                let problem = f.problem.as_ref().map(ToString::to_string).unwrap_or_default();
                format!("{}: {problem}", escape_text(&f.name))
            })
            .collect();
        Err(EngineError::NoLogs { problems: why.join("; ") })
    }

    fn push_table(
        &mut self,
        name: String,
        spec: FormatSpec,
        source: &SourceRequest,
        files: Vec<LogFile>,
        detected: bool,
    ) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        if let Some(existing) = self.tables.iter_mut().find(|t| t.name == name) {
            if existing.format.spec() == &spec
                && existing.decoding == source.decoding
                && existing.sorted_by == source.sorted_by
            {
                existing.files.extend(files);
                return Ok(());
            }
            return Err(EngineError::TableTwice { table: name });
        }
        let sample: Vec<&str> =
            files.iter().flat_map(|f| f.sample.iter().map(String::as_str)).take(INFER_LINES).collect();
        let format = ResolvedFormat::resolve(spec, source.time, &sample)
            .map_err(|error| EngineError::Format { source_name: name.clone(), error })?;
        // The samples have done their work (schema inference); 100 000 files need not keep them.
        let mut files = files;
        for f in &mut files {
            f.sample = Vec::new();
        }
        if let Some(column) = &source.sorted_by {
            let timestamp =
                format.columns().iter().any(|c| &c.name == column && c.column_type == ColumnType::Timestamp);
            if !timestamp {
                return Err(EngineError::Argument {
                    name: format!("sources[{name}].sorted_by"),
                    message: format!("{column:?} is not a timestamp column of the table"),
                });
            }
        }
        let (decoding, sorted_by) = (source.decoding, source.sorted_by.clone());
        self.tables.push(LogTable { name, format: Arc::new(format), detected, decoding, sorted_by, files });
        Ok(())
    }

    /// Registers every table (rows, rejects and profile) in `ctx`.
    pub fn register(&self, ctx: &SessionContext, max_line_bytes: usize) -> Result<()> {
        for table in &self.tables {
            table.register(ctx, max_line_bytes)?;
        }
        Ok(())
    }

    /// The table named `name`, if any.
    pub fn table(&self, name: &str) -> Option<&LogTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// The table (and format) of files no format reads.
const TEXT_TABLE: &str = "text";

/// Whether a file goes into a table: readable text (in its detected format, the forced one,
/// or, read by no format, the generic `text` table).
fn is_readable(file: &LogFile) -> bool {
    matches!(&file.problem, None | Some(FileProblem::Undetected))
}
