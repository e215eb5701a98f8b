//! The logfusion engine: everything between a front end (the CLI, a server, a cluster
//! executor) and DataFusion.
//!
//! - [`Environment`]: config, discovered tables ([`Catalog`]), session settings and runtime,
//!   built once from [`EnvironmentOptions`]; [`Session`]s with every table registered.
//! - [`Suite`] and [`run_suite`]: query files split into named [`Statement`]s, run with their
//!   results written ([`ResultFile`]) and measured ([`StatementReport`]) into the performance
//!   log and the reports ([`report`]).
//! - [`validate()`], [`write_rejects`] and [`export_tables`]: what is wrong in log files, every
//!   reject, whole tables as Parquet.
//!
//! ```no_run
//! # fn demo() -> Result<(), logfusion_engine::EngineError> {
//! use logfusion_engine::{Environment, EnvironmentOptions, Suite, SuiteOptions, run_suite, Quiet};
//! let env = Environment::load(&EnvironmentOptions { log_dir: Some("data/samples".into()), ..Default::default() })?;
//! env.catalog.require_tables()?;
//! let suite = Suite::load("queries".as_ref(), &env.params(&[])?)?;
//! let options = SuiteOptions { out: "out".into(), csv: false, cache: true };
//! let report = env.runtime().block_on(run_suite(&env, &suite, &options, &Quiet))?;
//! println!("{} statements in {:.3} s", report.statements.len(), report.total_seconds());
//! # Ok(()) }
//! ```

mod cache;
mod catalog;
#[cfg(test)]
mod changing_files_tests;
mod config;
mod environment;
mod error;
mod export;
mod functions;
mod metrics;
pub mod nesting;
mod output;
mod percentiles;
pub mod report;
mod run;
mod session;
mod suite;
mod validate;

pub use cache::Cache;
pub use cache::tables::CachedTable;
pub use catalog::{Catalog, SourceRequest};
pub use config::{
    AuthConfig, ByteSize, ByteSizeError, CacheConfig, ClusterConfig, Config, ConfigError, LimitsConfig, LoggingConfig,
    NetworkConfig, OnReadError, Role, SourceConfig, TlsConfig, TokenConfig, UserConfig, state_dir,
};
pub use environment::{DEFAULT_CONFIG, Environment, EnvironmentOptions, SessionFactory};
pub use error::{EngineError, Result, one_line};
pub use export::{ExportedTable, PartitionKey, export_tables};
pub use functions::{functions, register_functions};
pub use metrics::{
    ExecutedPlan, JobReport, OperatorReport, PeakMemoryPool, ProcessUsage, StageReport, TableScanStats, operators,
    scan_stats, top_operators,
};
pub use output::{PARQUET_ZSTD_LEVEL, ResultFile, ResultFormat, ResultWriter, WriteError, parquet_properties};
pub use run::{
    PREVIEW_ROWS, Quiet, ResultSink, RunObserver, StatementReport, SuiteOptions, SuiteReport, now_rfc3339, plan_sql,
    run_statement, run_suite, write_text,
};
pub use session::{RemoteExecution, Session, SessionSettings, THREAD_STACK_BYTES, runtime};
pub use suite::{ParamError, Skipped, Statement, Suite, missing_tables, split_statements, substitute};
pub use validate::{FileReport, RuleCount, ValidateOptions, ValidationReport, default_rules, validate, write_rejects};
