//! The logfusion engine: configuration, discovering and registering log tables in a DataFusion
//! session, and the line accounting of executed queries. Front ends (the CLI, the server) build
//! on this.

pub mod catalog;
pub mod config;
pub mod export;
pub mod functions;
pub mod memory;
pub mod report;
pub mod runner;
pub mod scan_stats;
pub mod session;
pub mod validate;

pub use catalog::{Catalog, LogTable, SourceRequest};
pub use config::{Config, ConfigError};
pub use scan_stats::{TableScanStats, scan_stats};
pub use session::{SessionSettings, session_context, tracked_session};

/// Errors of the engine, each a one-line message for the user.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// Missing or unusable input files.
    #[error("{0}")]
    Input(String),
    /// An error from DataFusion (planning or execution).
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
}
