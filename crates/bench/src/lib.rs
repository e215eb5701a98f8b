//! Benchmarking query plans: each query of a suite runs after warm-up runs a number of times
//! under one or more settings (a `--matrix` of worker counts, batch sizes, projection pushdown
//! or any DataFusion option); the results are summarised ([`stats`]), shown side by side
//! ([`render`]), saved as JSON and compared with a saved run to catch regressions
//! ([`compare`]).

pub mod compare;
pub mod matrix;
pub mod measure;
pub mod render;
pub mod stats;

pub use compare::{ComparisonRow, Verdict, compare};
pub use matrix::{Axis, Setting, expand};
pub use measure::{BenchOptions, BenchRun, Prepared, QueryResult, SettingResult, Statement};
pub use stats::Summary;

/// Errors of a benchmark, each a one-line message for the user.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad arguments (matrix keys or values, iterations).
    #[error("{0}")]
    Usage(String),
    /// A query failed.
    #[error("{query}: {source}")]
    Query {
        /// Query name.
        query: String,
        /// Why.
        source: logfusion_engine::EngineError,
    },
    /// Setting up sessions or reading queries failed.
    #[error("{0}")]
    Engine(#[from] logfusion_engine::EngineError),
    /// Reading or writing a saved run.
    #[error("{0}")]
    File(String),
}
