//! The DataFusion session logfusion queries run in: partitions, batch size, memory pool,
//! logfusion's functions and session options; and the tokio runtime they run on.

use std::sync::Arc;

use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, UnboundedMemoryPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::config::{Config, ConfigError};
use crate::error::{EngineError, Result};
use crate::metrics::{ExecutedPlan, PeakMemoryPool};

/// Settings of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// Partitions (parallel scans and operators).
    pub partitions: usize,
    /// Rows per batch.
    pub batch_size: usize,
    /// Memory for operators before they spill; `None` is unlimited.
    pub memory_limit: Option<u64>,
    /// Disk operators may spill to; `None` is DataFusion's default.
    pub max_spill: Option<u64>,
    /// Extra DataFusion and `logfusion.*` settings as text.
    pub options: Vec<(String, String)>,
    /// Whether a path or URL in `FROM '...'` reads that file (the CLI reads back results this
    /// way; the network server never does).
    pub url_tables: bool,
}

impl SessionSettings {
    /// The settings of a config.
    pub fn from_config(config: &Config) -> Self {
        let options = config
            .datafusion
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_yaml::Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
                };
                (k.clone(), text)
            })
            .collect();
        let mut options: Vec<(String, String)> = options;
        if config.on_read_error == crate::config::OnReadError::Fail {
            options.push(("logfusion.strict".into(), "true".into()));
        }
        SessionSettings {
            partitions: config.workers(),
            batch_size: config.batch_size,
            memory_limit: config.memory_limit.map(|b| b.0),
            max_spill: config.max_spill.map(|b| b.0),
            options,
            url_tables: true,
        }
    }

    /// These settings with one more option (`datafusion.*` or `logfusion.*`) set.
    pub fn with_option(mut self, key: &str, value: impl ToString) -> Self {
        self.options.retain(|(k, _)| k != key);
        self.options.push((key.to_string(), value.to_string()));
        self
    }
}

impl SessionSettings {
    /// `base` (DataFusion's defaults, or a cluster's) with these settings: partitions, batch
    /// size, the information schema, logfusion's `logfusion.*` options and every extra option.
    pub fn session_config(&self, base: SessionConfig) -> Result<SessionConfig> {
        let mut config = base
            .with_target_partitions(self.partitions.max(1))
            .with_batch_size(self.batch_size.max(1))
            .with_information_schema(true)
            .with_option_extension(logfusion_datasource::LogScanOptions::default());
        for (key, value) in &self.options {
            config
                .options_mut()
                .set(key, value)
                .map_err(|e| ConfigError::setting(format!("datafusion.{key}"), crate::error::one_line(&e)))?;
        }
        Ok(config)
    }
}

/// A session, the memory pool that measures its peak, and where its queries run.
#[derive(Clone)]
pub struct Session {
    /// The DataFusion session.
    pub ctx: SessionContext,
    /// Its memory pool, remembering the peak reservation since the last reset.
    pub pool: Arc<PeakMemoryPool>,
    /// The cluster its queries run on, or `None` for this process.
    pub remote: Option<Arc<dyn RemoteExecution>>,
}

/// A cluster a session's queries run on: it executes the plans the session made, and reports
/// afterwards what the local plan cannot show (the job, its stages, the scans' accounting).
#[async_trait::async_trait]
pub trait RemoteExecution: Send + Sync + std::fmt::Debug {
    /// Runs `plan` (planned by the session) on the cluster and streams its result.
    fn execute(&self, plan: Arc<dyn ExecutionPlan>, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream>;

    /// What the cluster measured of `plan`, which ran to its end.
    async fn executed(&self, plan: &Arc<dyn ExecutionPlan>) -> Result<ExecutedPlan>;
}

impl Session {
    /// Runs `plan` (planned in this session) where the session runs queries, streaming its
    /// result.
    pub fn execute(&self, plan: Arc<dyn ExecutionPlan>) -> Result<SendableRecordBatchStream> {
        match &self.remote {
            Some(remote) => remote.execute(plan, self.ctx.task_ctx()),
            None => Ok(datafusion::physical_plan::execute_stream(plan, self.ctx.task_ctx())?),
        }
    }

    /// What was measured of `plan` after it ran: from its own metrics, or from the cluster.
    pub async fn executed(&self, plan: &Arc<dyn ExecutionPlan>) -> Result<ExecutedPlan> {
        match &self.remote {
            Some(remote) => remote.executed(plan).await,
            None => Ok(ExecutedPlan::local(plan)),
        }
    }

    /// A session with `settings` and logfusion's functions, but no tables. Byte-range
    /// splitting of plain files starts at DataFusion's `repartition_file_min_size`.
    pub fn new(settings: &SessionSettings) -> Result<Session> {
        let config = settings.session_config(SessionConfig::new())?;
        let inner: Arc<dyn MemoryPool> = match settings.memory_limit {
            Some(limit) => Arc::new(FairSpillPool::new(usize::try_from(limit).unwrap_or(usize::MAX))),
            None => Arc::new(UnboundedMemoryPool::default()),
        };
        let pool = Arc::new(PeakMemoryPool::new(inner));
        let mut runtime = RuntimeEnvBuilder::new().with_memory_pool(pool.clone());
        if let Some(max) = settings.max_spill {
            runtime = runtime.with_max_temp_directory_size(max);
        }
        let runtime = runtime.build_arc()?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let ctx = if settings.url_tables { ctx.enable_url_table() } else { ctx };
        crate::functions::register_functions(&ctx);
        ctx.add_optimizer_rule(Arc::new(crate::percentiles::SharePercentiles));
        Ok(Session { ctx, pool, remote: None })
    }
}

/// The stack of each runtime thread: 8 MiB, as a main thread has, instead of tokio's 2 MiB.
/// DataFusion clones, evaluates and drops expressions recursively; a deep one (a chain of a
/// few thousand `OR`s) overflows 2 MiB, which aborts the process. Only touched pages cost
/// memory.
pub const THREAD_STACK_BYTES: usize = 8 << 20;

/// A multi-threaded tokio runtime with `workers` worker threads (at least one), each with a
/// stack of [`THREAD_STACK_BYTES`].
pub fn runtime(workers: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_stack_size(THREAD_STACK_BYTES)
        .enable_all()
        .build()
        .map_err(EngineError::Runtime)
}
