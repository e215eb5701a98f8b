//! The engine's errors: each variant carries the file, key or value it is about, and its
//! message is one line that says each thing once.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// An error of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A config file or setting is wrong.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A command-line or API argument is wrong.
    #[error("{name}: {message}")]
    Argument {
        /// The argument, e.g. `--format`.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// Finding or reading log files failed.
    #[error(transparent)]
    Source(#[from] logfusion_datasource::Error),
    /// A location holds no file at all.
    #[error("{location}: no files found")]
    NoFiles {
        /// The location.
        location: String,
    },
    /// No file of any source is a readable log.
    #[error("no readable log files ({problems})")]
    NoLogs {
        /// The first few files and why each was left out.
        problems: String,
    },
    /// A statement nested deeper than the planner can take without overflowing its stack.
    #[error(
        "the statement nests expressions or subqueries more than {max} deep (a long chain of OR or +?); use IN (...) or split it"
    )]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// No sources: neither `--log-dir` nor `sources` in the config.
    #[error("no logs to read: pass --log-dir DIR or define `sources` in config.yaml")]
    NoSources,
    /// A named source whose files are in more than one format.
    #[error("source {source_name:?} ({location}) mixes formats {kinds}: set `format` or split the source")]
    MixedFormats {
        /// The source.
        source_name: String,
        /// Its location.
        location: String,
        /// The formats found, comma-separated.
        kinds: String,
    },
    /// Two sources define one table with different formats (or text encodings).
    #[error("table {table:?} is defined twice with different formats or encodings")]
    TableTwice {
        /// The table.
        table: String,
    },
    /// A format that cannot be resolved (bad regex, unknown column).
    #[error("source {source_name}: {error}")]
    Format {
        /// The source.
        source_name: String,
        /// What is wrong with its format.
        error: logfusion_formats::FormatError,
    },
    /// A query parameter `${name}` without a value, or malformed.
    #[error("{file}: {error}")]
    Param {
        /// The query file.
        file: PathBuf,
        /// What is wrong.
        error: crate::suite::ParamError,
    },
    /// Reading an input file of logfusion itself (queries, saved runs) failed.
    #[error("{path}: {message}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Writing an output file failed.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A statement of a query file failed.
    #[error("{file}: {source}")]
    Statement {
        /// The query file.
        file: PathBuf,
        /// Why.
        source: Box<EngineError>,
    },
    /// A validation rule that does not plan, or is not a condition.
    #[error("rules.{table}.{rule}: {condition:?}: {message}")]
    Rule {
        /// The table.
        table: String,
        /// The rule's name.
        rule: String,
        /// Its SQL condition.
        condition: String,
        /// Why it cannot be checked.
        message: String,
    },
    /// The cluster could not run a query (no executor alive, the scheduler unreachable).
    #[error("cluster {scheduler}: {message}")]
    Cluster {
        /// The scheduler's address.
        scheduler: String,
        /// What went wrong.
        message: String,
    },
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// Planning or running a query failed. (Not a `source`: the message already says what
    /// the innermost error says, and error chains would repeat it.)
    #[error("{}", one_line(.0))]
    DataFusion(DataFusionError),
}

impl From<DataFusionError> for EngineError {
    fn from(e: DataFusionError) -> Self {
        EngineError::DataFusion(e)
    }
}

impl EngineError {
    /// A write error of `path`.
    pub fn write(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        EngineError::Write { path: path.into(), message: message.to_string() }
    }
}

/// A DataFusion error as one line, without the wrappers DataFusion adds around errors that
/// crossed an operator boundary (`External error: ...`, `Arrow error: External error: ...`):
/// the innermost error says it all, and saying it once is enough.
pub fn one_line(e: &DataFusionError) -> String {
    let root = e.find_root();
    let text = match root {
        DataFusionError::External(inner) => inner.to_string(),
        DataFusionError::ArrowError(inner, _) => match inner.as_ref() {
            datafusion::arrow::error::ArrowError::ExternalError(e) => e.to_string(),
            other => other.to_string(),
        },
        DataFusionError::Context(_, inner) => inner.to_string(),
        other => other.to_string(),
    };
    text.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Results of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
