//! The DataFusion session logfusion queries run in: partitions, batch size, memory pool.

use std::sync::Arc;

use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, UnboundedMemoryPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::EngineError;
use crate::config::Config;
use crate::memory::PeakMemoryPool;

/// Settings of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// Partitions (parallel scans and operators).
    pub partitions: usize,
    /// Rows per batch.
    pub batch_size: usize,
    /// Memory for operators before they spill; `None` is unlimited.
    pub memory_limit: Option<u64>,
    /// Extra DataFusion settings (`datafusion.*` keys) as text.
    pub options: Vec<(String, String)>,
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
        SessionSettings {
            partitions: config.workers(),
            batch_size: config.batch_size,
            memory_limit: config.memory_limit,
            options,
        }
    }
}

/// A session with `settings`. Byte-range splitting kicks in for files from 1 MiB.
pub fn session_context(settings: &SessionSettings) -> Result<SessionContext, EngineError> {
    Ok(tracked_session(settings)?.0)
}

/// A session with `settings` and the pool that measures its peak memory.
pub fn tracked_session(settings: &SessionSettings) -> Result<(SessionContext, Arc<PeakMemoryPool>), EngineError> {
    let mut config = SessionConfig::new()
        .with_target_partitions(settings.partitions.max(1))
        .with_batch_size(settings.batch_size.max(1))
        .with_information_schema(true)
        .with_option_extension(logfusion_datasource::LogScanOptions::default());
    for (key, value) in &settings.options {
        config
            .options_mut()
            .set(key, value)
            .map_err(|e| EngineError::Config(format!("config datafusion: {key}: {e}")))?;
    }
    let inner: Arc<dyn MemoryPool> = match settings.memory_limit {
        Some(limit) => Arc::new(FairSpillPool::new(limit as usize)),
        None => Arc::new(UnboundedMemoryPool::default()),
    };
    let pool = Arc::new(PeakMemoryPool::new(inner));
    let runtime =
        RuntimeEnvBuilder::new().with_memory_pool(pool.clone()).build_arc().map_err(EngineError::DataFusion)?;
    let ctx = SessionContext::new_with_config_rt(config, runtime).enable_url_table();
    crate::functions::register_functions(&ctx);
    Ok((ctx, pool))
}
