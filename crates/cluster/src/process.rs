//! Ballista's own scheduler and executor, started with logfusion's codecs, functions,
//! `logfusion.*` options and object stores, so that they can plan and run log scans.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;
use logfusion_datasource::LogScanOptions;

use crate::address::Address;
use crate::codec::{LogLogicalCodec, LogPhysicalCodec};
use crate::error::{ClusterError, Result};
use crate::stores::LogStores;

/// The session configuration of every cluster node: Ballista's, with `logfusion.*` options
/// known (a client's `logfusion.strict` arrives as text) and scans planned for a cluster.
fn node_config() -> SessionConfig {
    SessionConfig::new_with_ballista().with_option_extension(LogScanOptions { cluster: true, ..Default::default() })
}

/// A runtime reading every store through [`LogStores`], spilling into `work_dir`.
fn node_runtime(work_dir: Option<&str>) -> datafusion::common::Result<Arc<RuntimeEnv>> {
    let mut builder = RuntimeEnvBuilder::new().with_object_store_registry(LogStores::shared());
    if let Some(dir) = work_dir {
        builder = builder.with_temp_file_path(dir);
    }
    builder.build_arc()
}

/// Ballista's session state for `config`, with logfusion's functions (replacing built-ins
/// of the same name, as on the client) and stores.
fn node_state(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let state = default_session_builder(config)?;
    let mut state = SessionStateBuilder::new_from_existing(state).with_runtime_env(node_runtime(None)?).build();
    for function in logfusion_engine::functions() {
        state.register_udf(Arc::new(function))?;
    }
    Ok(state)
}

/// How to run a scheduler.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where it listens (gRPC for clients and executors, and the REST API, on one port).
    pub bind: Address,
    /// The address executors and clients reach it at, if not `bind`'s host.
    pub external_host: Option<String>,
    /// An executor silent this long is lost: its tasks run again elsewhere.
    pub executor_timeout: Duration,
    /// Running jobs fail when every executor is lost and none is back within this time.
    pub no_executor_timeout: Duration,
}

/// Runs a scheduler until the process ends.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<()> {
    let address = tokio::net::lookup_host(options.bind.host_port())
        .await
        .map_err(|source| ClusterError::Io { what: format!("resolving {}", options.bind), source })?
        .next()
        .ok_or_else(|| ClusterError::Address { flag: "--bind".into(), text: options.bind.to_string() })?;
    let timeout = options.executor_timeout.as_secs().max(1);
    let config = SchedulerConfig {
        bind_host: options.bind.host.clone(),
        bind_port: options.bind.port,
        external_host: options.external_host.clone().unwrap_or_else(|| options.bind.host.clone()),
        executor_timeout_seconds: timeout,
        expire_dead_executor_interval_seconds: (timeout / 3).clamp(1, 15),
        no_executors_grace_period_seconds: options.no_executor_timeout.as_secs().max(timeout),
        override_logical_codec: Some(Arc::new(LogLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(LogPhysicalCodec::default())),
        override_session_builder: Some(Arc::new(node_state)),
        override_config_producer: Some(Arc::new(node_config)),
        ..Default::default()
    };
    let cluster = BallistaCluster::new_from_config(&config).await?;
    tracing::info!("scheduler listening on {} (gRPC and REST API)", options.bind);
    start_server(cluster, address, Arc::new(config)).await?;
    Ok(())
}

/// How to run an executor.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler to register with.
    pub scheduler: Address,
    /// Where its Arrow Flight service listens (other executors and clients fetch stage
    /// results there).
    pub bind: Address,
    /// The port of its gRPC service (the scheduler pushes tasks there).
    pub grpc_port: u16,
    /// The host the scheduler and other executors reach it at, if not `bind`'s host.
    pub external_host: Option<String>,
    /// Tasks it runs at once.
    pub slots: usize,
    /// Folder for its shuffle files (default: a fresh temporary folder).
    pub work_dir: Option<PathBuf>,
    /// Memory of its operators before they spill, in bytes (default: Ballista's).
    pub memory: Option<u64>,
    /// How often it reports to the scheduler.
    pub heartbeat: Duration,
}

/// Runs an executor until it is stopped (Ctrl-C, or the scheduler stops it).
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    let work_dir = match &options.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|source| ClusterError::Io { what: format!("creating {}", dir.display()), source })?;
            Some(dir.to_string_lossy().into_owned())
        }
        None => None,
    };
    let registry = BallistaFunctionRegistry::from(&node_state(node_config())?);
    let runtime_dir = work_dir.clone();
    let config = ExecutorProcessConfig {
        bind_host: options.bind.host.clone(),
        external_host: Some(options.external_host.clone().unwrap_or_else(|| options.bind.host.clone())),
        port: options.bind.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.host.clone(),
        scheduler_port: options.scheduler.port,
        scheduler_connect_timeout_seconds: 30,
        vcores: options.slots.max(1),
        work_dir,
        memory_pool_size: options.memory,
        executor_heartbeat_interval_seconds: options.heartbeat.as_secs().max(1),
        print_thread_info: false,
        override_logical_codec: Some(Arc::new(LogLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(LogPhysicalCodec::default())),
        override_function_registry: Some(Arc::new(registry)),
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| node_runtime(runtime_dir.as_deref()))),
        override_config_producer: Some(Arc::new(node_config)),
        ..Default::default()
    };
    tracing::info!(
        "executor: flight {}, gRPC port {}, {} slots, scheduler {}",
        options.bind,
        options.grpc_port,
        options.slots,
        options.scheduler
    );
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}
