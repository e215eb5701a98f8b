//! What the engine measures: line accounting of executed plans per table, per-operator
//! metrics, the memory pool's peak, and the process's own resources (CPU time, peak RSS).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::Result;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use logfusion_datasource::{BlockCountSource, LogSource, metric};
use serde::{Deserialize, Serialize};

/// Accounting of the scans of one table in one query.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableScanStats {
    /// Scans of the table in the plan (a self-join or a CTE used twice scans it twice; the
    /// other counts are sums over all scans).
    pub scans: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines that became rows.
    pub rows: u64,
    /// Lines that became rejects.
    pub rejects: u64,
    /// Bytes read from storage, line-number passes included.
    #[serde(alias = "bytes_scanned")]
    pub bytes_read: u64,
    /// Of `bytes_read`, the bytes read to count the lines before byte ranges (for line
    /// numbers; a cluster's counting stage reads them as part of `bytes_read` instead).
    #[serde(default)]
    pub line_index_bytes: u64,
    /// Bytes after decompression.
    pub bytes_decoded: u64,
    /// Column values built by the parsers.
    pub values_built: u64,
    /// Scan time (read, decompress, parse), summed over partitions, in nanoseconds.
    pub scan_nanos: u64,
    /// Time the scans waited for the query to take their batches, summed, in nanoseconds.
    pub scan_wait_nanos: u64,
    /// Rejects by reason code.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Whether the statement read the table's parsed columns from the cache of `run` instead
    /// of scanning the files (the counts are then those of the parse that filled it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// What was measured of one executed plan: the line accounting of its scans per table, its
/// operators, the plan with its metrics as text, and, for a plan that ran on a cluster, the
/// job and its stages.
#[derive(Debug, Clone, Default)]
pub struct ExecutedPlan {
    /// Line accounting per scanned table.
    pub sources: BTreeMap<String, TableScanStats>,
    /// Per-operator metrics, in plan order (on a cluster: stage by stage).
    pub operators: Vec<OperatorReport>,
    /// The executed plan with its metrics.
    pub plan: String,
    /// The cluster job that ran the plan, if it ran on a cluster.
    pub job: Option<JobReport>,
}

impl ExecutedPlan {
    /// The measurements of `plan`, which ran in this process.
    pub fn local(plan: &Arc<dyn ExecutionPlan>) -> Self {
        ExecutedPlan {
            sources: scan_stats(plan),
            operators: operators(plan),
            plan: DisplayableExecutionPlan::with_metrics(plan.as_ref()).indent(true).to_string(),
            job: None,
        }
    }
}

/// A query's job on a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    /// The scheduler's id of the job.
    pub job_id: String,
    /// Its stages, in id order.
    pub stages: Vec<StageReport>,
}

/// One stage of a cluster job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// The stage's id in its job.
    pub stage_id: u32,
    /// Its partitions (tasks).
    pub partitions: u32,
    /// From its first task's start to its last task's end, seconds.
    pub wall_seconds: f64,
    /// Its tasks' run times added up, seconds.
    pub task_seconds: f64,
    /// The slowest task's run time, seconds.
    pub max_task_seconds: f64,
    /// Rows it produced.
    pub output_rows: u64,
    /// What it does: its operators from the top, e.g. `ShuffleWriterExec > AggregateExec > DataSourceExec`.
    pub operators: String,
}

/// Per-table accounting of every log scan in `plan` (after it ran).
pub fn scan_stats(plan: &Arc<dyn ExecutionPlan>) -> BTreeMap<String, TableScanStats> {
    let mut out = BTreeMap::new();
    collect(plan, &mut out);
    out
}

fn collect(plan: &Arc<dyn ExecutionPlan>, out: &mut BTreeMap<String, TableScanStats>) {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(metrics) = exec.metrics()
    {
        let counters = metrics.iter().map(|m| (m.value().name().to_string(), m.value().as_usize() as u64));
        if let Some((_, source)) = exec.downcast_to_file_source::<LogSource>() {
            let options = source.options();
            out.entry(options.kind.table_name(&options.table)).or_default().add_scan(counters);
        } else if let Some((_, source)) = exec.downcast_to_file_source::<BlockCountSource>() {
            out.entry(source.table().to_string()).or_default().add_counting(counters);
        }
    }
    for child in plan.children() {
        collect(child, out);
    }
}

impl TableScanStats {
    /// Adds one scan with these metric values (summed over its partitions or not).
    pub fn add_scan(&mut self, counters: impl IntoIterator<Item = (String, u64)>) {
        self.scans += 1;
        for (name, value) in counters {
            match name.as_str() {
                metric::LINES_READ => self.lines += value,
                metric::ROWS_PARSED => self.rows += value,
                metric::LINES_REJECTED => self.rejects += value,
                metric::BYTES_READ => self.bytes_read += value,
                metric::LINE_INDEX_BYTES => self.line_index_bytes += value,
                metric::BYTES_DECODED => self.bytes_decoded += value,
                metric::VALUES_BUILT => self.values_built += value,
                metric::SCAN_TIME => self.scan_nanos += value,
                metric::SCAN_WAIT_TIME => self.scan_wait_nanos += value,
                other => {
                    if let Some(code) = other.strip_prefix(metric::REJECTED_PREFIX) {
                        *self.rejects_by_reason.entry(code.to_string()).or_default() += value;
                    }
                }
            }
        }
    }

    /// Adds the bytes a line-counting stage of a cluster read for this table's line numbers.
    pub fn add_counting(&mut self, counters: impl IntoIterator<Item = (String, u64)>) {
        self.bytes_read += counters.into_iter().filter(|(n, _)| n == metric::BYTES_READ).map(|(_, v)| v).sum::<u64>();
    }
}

/// Delegates to an inner pool and records the highest `reserved()` seen since the last reset.
#[derive(Debug)]
pub struct PeakMemoryPool {
    inner: Arc<dyn MemoryPool>,
    peak: AtomicUsize,
}

impl PeakMemoryPool {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn MemoryPool>) -> Self {
        PeakMemoryPool { inner, peak: AtomicUsize::new(0) }
    }

    /// The peak since the last [`PeakMemoryPool::reset_peak`], in bytes.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new measurement from the current reservation.
    pub fn reset_peak(&self) {
        self.peak.store(self.inner.reserved(), Ordering::Relaxed);
    }

    fn observe(&self) {
        self.peak.fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl std::fmt::Display for PeakMemoryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peak-tracking pool (peak {} bytes) over {}", self.peak(), self.inner)
    }
}

impl MemoryPool for PeakMemoryPool {
    fn name(&self) -> &str {
        "peak_tracking"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.observe();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.observe();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

/// Metrics of one operator of an executed plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperatorReport {
    /// Depth in the plan tree (0 = root).
    pub depth: usize,
    /// Operator name, e.g. `AggregateExec`.
    pub name: String,
    /// The operator's one-line description.
    pub detail: String,
    /// Rows it produced.
    pub output_rows: Option<u64>,
    /// CPU time it reported (`elapsed_compute`, or `scan_time` for log scans), nanoseconds.
    pub time_ns: Option<u64>,
    /// Times it spilled.
    pub spill_count: Option<u64>,
    /// Bytes it spilled.
    pub spilled_bytes: Option<u64>,
}

/// Every operator of an executed `plan` with its metrics, in plan order (depth first).
pub fn operators(plan: &Arc<dyn ExecutionPlan>) -> Vec<OperatorReport> {
    let mut out = Vec::new();
    collect_operators(plan, 0, &mut out);
    out
}

fn collect_operators(plan: &Arc<dyn ExecutionPlan>, depth: usize, out: &mut Vec<OperatorReport>) {
    let metrics = plan.metrics().map(|m| m.aggregate_by_name());
    let value = |name: &str| metrics.as_ref().and_then(|m| m.sum_by_name(name)).map(|v| v.as_usize() as u64);
    let detail = DisplayableExecutionPlan::new(plan.as_ref()).one_line().to_string();
    out.push(OperatorReport {
        depth,
        name: plan.name().to_string(),
        detail: detail.trim().to_string(),
        output_rows: metrics.as_ref().and_then(|m| m.output_rows()).map(|v| v as u64),
        // A log scan's elapsed_compute is near zero: its parse time is in scan_time.
        time_ns: value(metric::SCAN_TIME)
            .or_else(|| metrics.as_ref().and_then(|m| m.elapsed_compute()).map(|v| v as u64)),
        spill_count: metrics.as_ref().and_then(|m| m.spill_count()).map(|v| v as u64),
        spilled_bytes: metrics.as_ref().and_then(|m| m.spilled_bytes()).map(|v| v as u64),
    });
    for child in plan.children() {
        collect_operators(child, depth + 1, out);
    }
}

/// The `n` operators that took the most time, most first.
pub fn top_operators(operators: &[OperatorReport], n: usize) -> Vec<&OperatorReport> {
    let mut timed: Vec<&OperatorReport> = operators.iter().filter(|o| o.time_ns.is_some_and(|t| t > 0)).collect();
    timed.sort_by_key(|o| std::cmp::Reverse(o.time_ns));
    timed.truncate(n);
    timed
}

/// CPU time and memory of this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessUsage {
    /// User CPU seconds (all threads).
    pub cpu_user_seconds: f64,
    /// System CPU seconds (all threads).
    pub cpu_system_seconds: f64,
    /// Peak resident memory in bytes: since the last [`ProcessUsage::reset_peak`] where the
    /// OS allows resetting it (Linux), otherwise since the process started.
    pub peak_rss_bytes: u64,
}

impl ProcessUsage {
    /// The usage so far, or `None` where the platform gives none.
    pub fn now() -> Option<ProcessUsage> {
        let (user, system, max_rss) = rusage()?;
        let peak = linux_peak_rss().unwrap_or(max_rss);
        Some(ProcessUsage { cpu_user_seconds: user, cpu_system_seconds: system, peak_rss_bytes: peak })
    }

    /// Starts a new peak-RSS measurement where the OS can (Linux: `/proc/self/clear_refs`).
    pub fn reset_peak() {
        #[cfg(target_os = "linux")]
        if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
            tracing::debug!("cannot reset the peak RSS: {e}");
        }
    }

    /// The usage between `self` (earlier) and `later`: CPU as differences, peak as later's.
    pub fn since(self, later: ProcessUsage) -> ProcessUsage {
        ProcessUsage {
            cpu_user_seconds: (later.cpu_user_seconds - self.cpu_user_seconds).max(0.0),
            cpu_system_seconds: (later.cpu_system_seconds - self.cpu_system_seconds).max(0.0),
            peak_rss_bytes: later.peak_rss_bytes,
        }
    }
}

/// User and system CPU seconds and the peak RSS in bytes, from `getrusage`.
#[cfg(unix)]
fn rusage() -> Option<(f64, f64, u64)> {
    // SAFETY: getrusage only writes into the struct it is given, which is zero-initialised
    // plain data of the right type.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return None;
        }
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    // ru_maxrss is in bytes on macOS and in KiB elsewhere.
    let unit: u64 = if cfg!(target_os = "macos") { 1 } else { 1024 };
    Some((seconds(usage.ru_utime), seconds(usage.ru_stime), (usage.ru_maxrss.max(0) as u64) * unit))
}

/// Not measured on this platform (Windows would need GetProcessTimes and
/// GetProcessMemoryInfo); records then carry no resource figures.
#[cfg(not(unix))]
fn rusage() -> Option<(f64, f64, u64)> {
    None
}

/// The resettable peak RSS (`VmHWM`) of Linux, in bytes.
fn linux_peak_rss() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
