//! The client side: sessions whose queries run on a Ballista cluster.
//!
//! [`ClusterSessions`] makes the same sessions as a local run (settings, functions, tables)
//! with Ballista's query planner and logfusion's codecs: the plan goes to the scheduler, the
//! scans run on the executors, and only results come back. Its [`ClusterRemote`] checks that
//! an executor is alive before a query is submitted and while it runs (a query never waits
//! for an empty cluster forever), and afterwards collects what the scheduler measured: the
//! job id, each stage's times and the scans' line accounting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use datafusion::common::DataFusionError;
use datafusion::execution::memory_pool::UnboundedMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::LogicalPlanNode;
use futures::{StreamExt, TryStreamExt};
use logfusion_engine::{
    ClusterConfig, EngineError, ExecutedPlan, JobReport, PeakMemoryPool, RemoteExecution, Session, SessionFactory,
    SessionSettings,
};

use crate::address::Address;
use crate::codec::{LogLogicalCodec, LogPhysicalCodec};
use crate::status::{SchedulerApi, metrics_report};
use crate::stores::LogStores;

/// How often a running query checks that some executor is alive.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Makes sessions whose queries run on the cluster of one scheduler.
#[derive(Debug, Clone)]
pub struct ClusterSessions {
    remote: Arc<ClusterRemote>,
    partitions: usize,
}

impl ClusterSessions {
    /// Sessions on the scheduler at `scheduler`, with `config`'s partitions and timeouts.
    pub fn new(scheduler: Address, config: &ClusterConfig) -> crate::Result<Self> {
        let remote = ClusterRemote {
            api: SchedulerApi::new(scheduler)?,
            executor_timeout: config.executor_timeout,
            no_executor_timeout: config.no_executor_timeout,
        };
        Ok(ClusterSessions { remote: Arc::new(remote), partitions: config.partitions })
    }
}

impl SessionFactory for ClusterSessions {
    fn session(&self, settings: &SessionSettings) -> logfusion_engine::Result<Session> {
        let settings = SessionSettings { partitions: self.partitions, ..settings.clone() };
        let mut config = settings
            .session_config(SessionConfig::new_with_ballista())?
            .with_ballista_logical_extension_codec(Arc::new(LogLogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(LogPhysicalCodec::default()))
            .with_ballista_job_name("logfusion");
        config.options_mut().set("logfusion.cluster", "true").map_err(EngineError::DataFusion)?;
        let pool = Arc::new(PeakMemoryPool::new(Arc::new(UnboundedMemoryPool::default())));
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(pool.clone())
            .with_object_store_registry(LogStores::shared())
            .build_arc()?;
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .with_runtime_env(runtime)
            .build()
            .upgrade_for_ballista(self.remote.api.address().http())?;
        let ctx = SessionContext::new_with_state(state);
        let ctx = if settings.url_tables { ctx.enable_url_table() } else { ctx };
        logfusion_engine::register_functions(&ctx);
        Ok(Session { ctx, pool, remote: Some(self.remote.clone()) })
    }
}

/// Runs plans on the cluster and reports what its scheduler measured.
#[derive(Debug, Clone)]
pub struct ClusterRemote {
    api: SchedulerApi,
    executor_timeout: Duration,
    no_executor_timeout: Duration,
}

impl ClusterRemote {
    fn error(&self, message: impl Into<String>) -> DataFusionError {
        let e = EngineError::Cluster { scheduler: self.api.address().df(), message: message.into() };
        DataFusionError::External(Box::new(e))
    }

    /// How many executors reported within the executor timeout.
    async fn alive(&self) -> crate::Result<usize> {
        let executors = self.api.executors().await?;
        Ok(executors.iter().filter(|e| e.is_alive(self.executor_timeout)).count())
    }

    /// Waits (at most the no-executor timeout) until some executor is alive; an unreachable
    /// scheduler fails at once.
    async fn wait_for_executor(&self) -> Result<(), DataFusionError> {
        let since = Instant::now();
        loop {
            if self.alive().await.map_err(|e| self.error(e.to_string()))? > 0 {
                return Ok(());
            }
            if since.elapsed() >= self.no_executor_timeout {
                return Err(self.error(format!(
                    "no executor is alive (none reported in the last {}s, waited {}s); start one with `logfusion executor --scheduler {}` and see `logfusion cluster status`",
                    self.executor_timeout.as_secs(),
                    self.no_executor_timeout.as_secs(),
                    self.api.address()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The job id of a plan that ran on the cluster.
fn job_id(plan: &Arc<dyn ExecutionPlan>) -> Option<String> {
    if let Some(exec) = plan.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>() {
        return exec.job_id().map(|id| id.to_string());
    }
    plan.children().into_iter().find_map(job_id)
}

#[async_trait::async_trait]
impl RemoteExecution for ClusterRemote {
    fn execute(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        context: Arc<TaskContext>,
    ) -> logfusion_engine::Result<SendableRecordBatchStream> {
        let schema = plan.schema();
        let remote = self.clone();
        let started = async move {
            remote.wait_for_executor().await?;
            let inner = execute_stream(plan.clone(), context)?;
            Ok::<_, DataFusionError>(watched(inner, plan, remote))
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::once(started).try_flatten())))
    }

    async fn executed(&self, plan: &Arc<dyn ExecutionPlan>) -> logfusion_engine::Result<ExecutedPlan> {
        // Statements that need no data (SHOW, information_schema) run in this process.
        let Some(job_id) = job_id(plan) else { return Ok(ExecutedPlan::local(plan)) };
        let cluster_error = |e: crate::ClusterError| EngineError::Cluster {
            scheduler: self.api.address().df(),
            message: format!("job {job_id}: {e}"),
        };
        let metrics = self.api.job_metrics(&job_id).await.map_err(cluster_error)?;
        let mut stages = self.api.stages(&job_id).await.map_err(cluster_error)?;
        for stage in &mut stages {
            if let Some(m) = metrics.iter().find(|m| m.stage_id == stage.stage_id) {
                let names: Vec<&str> = m.operators.iter().map(|o| o.operator_type.as_str()).collect();
                stage.operators = names.join(" > ");
            }
        }
        let (sources, operators, plan) = metrics_report(&metrics);
        Ok(ExecutedPlan { sources, operators, plan, job: Some(JobReport { job_id, stages }) })
    }
}

/// `inner` (the result of `plan`), ended with an error when no executor has been alive for
/// the no-executor timeout, after asking the scheduler to cancel the job.
fn watched(
    inner: SendableRecordBatchStream,
    plan: Arc<dyn ExecutionPlan>,
    remote: ClusterRemote,
) -> SendableRecordBatchStream {
    let schema = inner.schema();
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = (inner, ticker, None::<Instant>, false);
    let stream = futures::stream::unfold(state, move |(mut inner, mut ticker, mut empty_since, done)| {
        let (remote, plan) = (remote.clone(), plan.clone());
        async move {
            if done {
                return None;
            }
            loop {
                tokio::select! {
                    item = inner.next() => return item.map(|i| (i, (inner, ticker, empty_since, false))),
                    _ = ticker.tick() => {
                        // A scheduler that does not answer counts as a cluster without executors.
                        if remote.alive().await.is_ok_and(|n| n > 0) {
                            empty_since = None;
                            continue;
                        }
                        let since = *empty_since.get_or_insert_with(Instant::now);
                        if since.elapsed() < remote.no_executor_timeout {
                            continue;
                        }
                        if let Some(job) = job_id(&plan)
                            && let Err(e) = remote.api.cancel(&job).await
                        {
                            tracing::warn!("cancelling job {job}: {e}");
                        }
                        let e = remote.error(format!(
                            "every executor was lost and none came back within {}s; the query was cancelled",
                            remote.no_executor_timeout.as_secs()
                        ));
                        return Some((Err(e), (inner, ticker, empty_since, true)));
                    }
                }
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}
