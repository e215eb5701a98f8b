//! logfusion on an Apache DataFusion Ballista cluster: the same SQL, scans spread over
//! machines, no home-made scheduler.
//!
//! - [`run_scheduler`] and [`run_executor`]: Ballista's own scheduler and executor, started
//!   with logfusion's [codecs](LogLogicalCodec), functions, options and object stores.
//! - [`ClusterSessions`]: sessions (for an engine [`Environment`](logfusion_engine::Environment))
//!   whose queries run on the cluster; results, line accounting and `_line` are those of a
//!   local run. Scans are planned by file and byte range and each executor reads its ranges
//!   from storage all nodes see (a shared path or an object store); line numbers of byte
//!   ranges come from a counting stage ([`logfusion_datasource::IndexedScanExec`]).
//! - [`SchedulerApi`]: executors, jobs, stages and job metrics, from the scheduler.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use logfusion_cluster::{Address, ClusterSessions};
//! use logfusion_engine::{ClusterConfig, Environment, EnvironmentOptions};
//! let scheduler = Address::parse("--cluster", "df://127.0.0.1:50050", 50050)?;
//! let sessions = ClusterSessions::new(scheduler, &ClusterConfig::default())?;
//! let options = EnvironmentOptions {
//!     log_dir: Some("/shared/logs".into()),
//!     sessions: Some(std::sync::Arc::new(sessions)),
//!     ..Default::default()
//! };
//! let env = Environment::load(&options)?;
//! let session = env.session()?;
//! let batches = session.ctx.sql("SELECT status, count(*) FROM access GROUP BY status").await?.collect().await?;
//! # Ok(()) }
//! ```

mod address;
mod client;
mod codec;
mod error;
mod process;
mod status;
mod stores;

pub use address::{Address, DEFAULT_SCHEDULER_PORT};
pub use client::{ClusterRemote, ClusterSessions};
pub use codec::{LogLogicalCodec, LogPhysicalCodec, MAGIC};
pub use error::{ClusterError, Result};
pub use process::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};
pub use status::{ExecutorStatus, JobStatus, MemoryStatus, SchedulerApi, metrics_report};
pub use stores::LogStores;
