//! Benchmarking query plans: each query of a suite runs after warm-up runs a number of times
//! under one or more settings (a `--matrix` of worker counts, batch sizes, projection pushdown
//! or any DataFusion option); the results are summarised ([`Summary`]), shown side by side
//! ([`render`]), saved as JSON and compared with a saved run to catch regressions
//! ([`compare()`]). [`prepare_benchmark`] does all of it for an engine [`Environment`].
//!
//! [`Environment`]: logfusion_engine::Environment

mod benchmark;
mod compare;
mod matrix;
mod measure;
pub mod render;
mod stats;

use std::path::PathBuf;

pub use benchmark::{BenchOutcome, BenchRequest, Benchmark, prepare_benchmark};
pub use compare::{ComparisonRow, Verdict, compare, machine_difference};
pub use matrix::{Axis, Setting, expand};
pub use measure::{
    BenchOptions, BenchRun, FORMAT_VERSION, Host, OperatorShare, Prepared, QueryResult, Sample, SettingResult,
    TOP_OPERATORS, TableSize,
};
pub use stats::Summary;

/// Errors of a benchmark, each a one-line message for the user.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A `--matrix` axis or value that is not understood.
    #[error("--matrix {text}: {message}")]
    Matrix {
        /// The axis or `key=value` as given.
        text: String,
        /// What is wrong with it.
        message: String,
    },
    /// Another argument out of range.
    #[error("{name}: {message}")]
    Argument {
        /// The argument, e.g. `--iterations`.
        name: &'static str,
        /// What is wrong with its value.
        message: String,
    },
    /// A query failed.
    #[error("{query}: {source}")]
    Query {
        /// Statement name.
        query: String,
        /// Why.
        source: Box<logfusion_engine::EngineError>,
    },
    /// Setting up sessions or reading queries failed.
    #[error(transparent)]
    Engine(Box<logfusion_engine::EngineError>),
    /// No statement of the suite can run on these tables.
    #[error("{queries}: no query can run on these tables")]
    NothingToRun {
        /// The query folder or file.
        queries: PathBuf,
    },
    /// A saved run that cannot be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A saved run that is not one, or plans that cannot be written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl From<logfusion_engine::EngineError> for BenchError {
    fn from(e: logfusion_engine::EngineError) -> Self {
        BenchError::Engine(Box::new(e))
    }
}
