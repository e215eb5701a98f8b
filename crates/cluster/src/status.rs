//! What the scheduler says about its cluster and its jobs: executors (slots, memory, last
//! heartbeat) and jobs from its REST API, each stage's task times from the REST API too, and
//! each stage's operator metrics (the scans' line accounting among them) from its gRPC
//! `GetJobMetrics`.

use std::collections::BTreeMap;
use std::time::Duration;

use ballista_api_types::dto::{JobResponse, QueryStagesResponse};
use ballista_core::serde::protobuf::operator_metric::Metric;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{CancelJobParams, GetJobMetricsParams, JobStageMetrics, OperatorWithMetrics};
use logfusion_datasource::TableKind;
use logfusion_engine::{OperatorReport, StageReport, TableScanStats};
use serde::Deserialize;

use crate::address::Address;
use crate::error::{ClusterError, Result};

/// How long one request to the scheduler may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One executor as the scheduler knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorStatus {
    /// The executor's id.
    pub id: String,
    /// Its host and Flight port (where stages' results are fetched).
    pub address: String,
    /// Tasks it runs at once.
    pub slots: Option<u64>,
    /// Milliseconds since its last heartbeat, if it sent one.
    pub heartbeat_age_ms: Option<u64>,
    /// The executor process's memory.
    pub memory: MemoryStatus,
}

/// Memory figures an executor reports with its heartbeat, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStatus {
    /// The executor process's resident memory.
    pub process: Option<u64>,
    /// The executor process's highest resident memory so far.
    pub process_peak: Option<u64>,
}

impl ExecutorStatus {
    /// Whether it reported within `timeout`.
    pub fn is_alive(&self, timeout: Duration) -> bool {
        self.heartbeat_age_ms.is_some_and(|age| age < timeout.as_millis() as u64)
    }
}

/// A job as the scheduler's REST API lists it.
pub type JobStatus = JobResponse;

/// The executor entry of `/api/executors` (Ballista serialises it without a public type).
#[derive(Debug, Deserialize)]
struct ExecutorEntry {
    id: String,
    host: String,
    port: u16,
    last_seen: Option<u64>,
    #[serde(default)]
    specification: serde_json::Value,
    #[serde(default)]
    metrics: Vec<ExecutorMetricEntry>,
}

#[derive(Debug, Deserialize)]
struct ExecutorMetricEntry {
    #[serde(rename = "type")]
    kind: String,
    value: u64,
}

/// A client of one scheduler.
#[derive(Debug, Clone)]
pub struct SchedulerApi {
    address: Address,
    http: reqwest::Client,
}

impl SchedulerApi {
    /// A client of the scheduler at `address`.
    pub fn new(address: Address) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ClusterError::Scheduler { scheduler: address.df(), message: e.to_string() })?;
        Ok(SchedulerApi { address, http })
    }

    /// The scheduler's address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    fn error(&self, message: impl std::fmt::Display) -> ClusterError {
        ClusterError::Scheduler { scheduler: self.address.df(), message: message.to_string() }
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T> {
        let url = format!("{}{path}", self.address.http());
        let response = self.http.get(&url).send().await.map_err(|e| self.error(format!("GET {path}: {e}")))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.error(format!("GET {path}: {e}")))?;
        if !status.is_success() {
            return Err(self.error(format!("GET {path}: HTTP {status}: {}", String::from_utf8_lossy(&body))));
        }
        serde_json::from_slice(&body).map_err(|e| self.error(format!("GET {path}: unexpected answer: {e}")))
    }

    /// The executors registered with the scheduler (those silent for longer than its executor
    /// timeout are dropped by it).
    pub async fn executors(&self) -> Result<Vec<ExecutorStatus>> {
        let entries: Vec<ExecutorEntry> = self.get("/api/executors").await?;
        let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
        Ok(entries
            .into_iter()
            .map(|e| {
                let metric = |kind: &str| e.metrics.iter().find(|m| m.kind == kind).map(|m| m.value);
                ExecutorStatus {
                    address: format!("{}:{}", e.host, e.port),
                    slots: find_number(&e.specification, "vcores"),
                    heartbeat_age_ms: e.last_seen.map(|seen| now.saturating_sub(seen)),
                    memory: MemoryStatus {
                        process: metric("proc_physical_memory"),
                        process_peak: metric("peak_physical_memory"),
                    },
                    id: e.id,
                }
            })
            .collect())
    }

    /// Every job the scheduler still knows, newest first.
    pub async fn jobs(&self) -> Result<Vec<JobStatus>> {
        let mut jobs: Vec<JobStatus> = self.get("/api/jobs").await?;
        jobs.sort_by_key(|j| std::cmp::Reverse(j.start_time));
        Ok(jobs)
    }

    /// The stages of job `job_id` with their task times.
    pub async fn stages(&self, job_id: &str) -> Result<Vec<StageReport>> {
        let response: QueryStagesResponse = self.get(&format!("/api/job/{job_id}/stages")).await?;
        let mut stages: Vec<StageReport> = response
            .stages
            .iter()
            .map(|s| {
                let tasks: Vec<_> = s.tasks.iter().flatten().collect();
                let start = tasks.iter().map(|t| t.start_exec_time).filter(|&t| t > 0).min().unwrap_or(0);
                let end = tasks.iter().map(|t| t.end_exec_time).max().unwrap_or(0);
                StageReport {
                    stage_id: s.stage_id.parse().unwrap_or(0),
                    partitions: tasks.iter().map(|t| t.partition_id.len() as u32).sum(),
                    wall_seconds: end.saturating_sub(start) as f64 / 1e3,
                    task_seconds: tasks.iter().map(|t| t.exec_duration).sum::<u64>() as f64 / 1e3,
                    max_task_seconds: tasks.iter().map(|t| t.exec_duration).max().unwrap_or(0) as f64 / 1e3,
                    output_rows: s.output_rows as u64,
                    operators: String::new(),
                }
            })
            .collect();
        stages.sort_by_key(|s| s.stage_id);
        Ok(stages)
    }

    async fn grpc(&self) -> Result<SchedulerGrpcClient<tonic::transport::Channel>> {
        SchedulerGrpcClient::connect(self.address.http()).await.map_err(|e| self.error(e))
    }

    /// The operator metrics of each finished stage of job `job_id`.
    pub async fn job_metrics(&self, job_id: &str) -> Result<Vec<JobStageMetrics>> {
        let request = GetJobMetricsParams { job_id: job_id.to_string() };
        let response = self.grpc().await?.get_job_metrics(request).await.map_err(|e| self.error(e.message()))?;
        Ok(response.into_inner().stages)
    }

    /// Asks the scheduler to cancel job `job_id`.
    pub async fn cancel(&self, job_id: &str) -> Result<()> {
        let request = CancelJobParams { job_id: job_id.to_string() };
        self.grpc().await?.cancel_job(request).await.map_err(|e| self.error(e.message()))?;
        Ok(())
    }
}

/// The first number under a key named `key` (any case) anywhere in `value`.
fn find_number(value: &serde_json::Value, key: &str) -> Option<u64> {
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| match v {
            serde_json::Value::Number(n) if k.eq_ignore_ascii_case(key) => n.as_u64(),
            other => find_number(other, key),
        }),
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_number(v, key)),
        _ => None,
    }
}

/// Line accounting per table, every operator, and a text plan, from a job's stage metrics.
pub fn metrics_report(stages: &[JobStageMetrics]) -> (BTreeMap<String, TableScanStats>, Vec<OperatorReport>, String) {
    let mut sources: BTreeMap<String, TableScanStats> = BTreeMap::new();
    let mut operators = Vec::new();
    let mut plan = String::new();
    for stage in stages {
        plan.push_str(&format!("stage {} ({} partitions):\n", stage.stage_id, stage.partitions));
        for op in &stage.operators {
            let counters = counters(op);
            let value = |name: &str| counters.iter().filter(|(n, _)| n == name).map(|(_, v)| *v).sum::<u64>();
            let single = |pick: fn(&Metric) -> Option<u64>| {
                let values: Vec<u64> = op.metrics.iter().filter_map(|m| m.metric.as_ref().and_then(pick)).collect();
                (!values.is_empty()).then(|| values.iter().sum::<u64>())
            };
            let output_rows = single(|m| if let Metric::OutputRows(v) = m { Some(*v) } else { None });
            let elapsed = single(|m| if let Metric::ElapseTime(v) = m { Some(*v) } else { None });
            let scan_time = value(logfusion_datasource::metric::SCAN_TIME);
            if op.operator_type == "DataSourceExec"
                && let Some((file_type, table)) = log_scan_of(&op.operator_desc)
            {
                let kind = match file_type {
                    "log" => Some(TableKind::Rows),
                    "log_rejects" => Some(TableKind::Rejects),
                    "log_profile" => Some(TableKind::Profile),
                    _ => None,
                };
                match kind {
                    Some(kind) => sources.entry(kind.table_name(table)).or_default().add_scan(counters.clone()),
                    None => sources.entry(table.to_string()).or_default().add_counting(counters.clone()),
                }
            }
            let time_ns = if scan_time > 0 { Some(scan_time) } else { elapsed };
            plan.push_str(&format!(
                "{}{}, metrics=[output_rows={}, time={}]\n",
                "  ".repeat(op.depth as usize + 1),
                op.operator_desc.trim(),
                output_rows.map_or("?".into(), |r| r.to_string()),
                time_ns.map_or("?".into(), |t| format!("{:.3}ms", t as f64 / 1e6)),
            ));
            operators.push(OperatorReport {
                depth: op.depth as usize,
                name: op.operator_type.clone(),
                detail: format!("[stage {}] {}", stage.stage_id, op.operator_desc.trim()),
                output_rows,
                time_ns,
                spill_count: single(|m| if let Metric::SpillCount(v) = m { Some(*v) } else { None }),
                spilled_bytes: single(|m| if let Metric::SpilledBytes(v) = m { Some(*v) } else { None }),
            });
        }
    }
    (sources, operators, plan)
}

/// The named counters and times of an operator, one entry per partition.
fn counters(op: &OperatorWithMetrics) -> Vec<(String, u64)> {
    op.metrics
        .iter()
        .filter_map(|m| match m.metric.as_ref()? {
            Metric::Count(c) => Some((c.name.clone(), c.value)),
            Metric::Time(t) => Some((t.name.clone(), t.value)),
            _ => None,
        })
        .collect()
}

/// The file type and table of a log scan's description (`..., file_type=log, table=access`).
fn log_scan_of(desc: &str) -> Option<(&str, &str)> {
    let tail = &desc[desc.rfind("file_type=")? + "file_type=".len()..];
    let (file_type, rest) = tail.split_once(", table=")?;
    let table = rest.split(',').next()?.trim();
    file_type.starts_with("log").then_some((file_type, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scans_are_found_by_their_description() {
        let desc = "DataSourceExec: file_groups={2 groups: [[/logs/table=x/a.log:0..10]]}, projection=[status], file_type=log, table=access";
        assert_eq!(log_scan_of(desc), Some(("log", "access")));
        let desc = "DataSourceExec: file_groups={1 group}, file_type=log_rejects, table=web, projection_pushdown=false";
        assert_eq!(log_scan_of(desc), Some(("log_rejects", "web")));
        assert_eq!(log_scan_of("DataSourceExec: file_groups={}, file_type=parquet"), None);
    }

    #[test]
    fn vcores_are_found_wherever_they_nest() {
        let spec = serde_json::json!({"resources": [{"resource": {"Vcores": 3}}]});
        assert_eq!(find_number(&spec, "vcores"), Some(3));
        assert_eq!(find_number(&serde_json::json!({}), "vcores"), None);
    }
}
