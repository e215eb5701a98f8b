//! Line accounting of an executed plan: lines read, rows, rejects by reason, bytes, per table,
//! summed over the plan's log scans.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use logfusion_datasource::LogSource;
use logfusion_datasource::accounting::metric;

/// Accounting of the scans of one table in one query.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
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
    /// Bytes read from storage.
    pub bytes_scanned: u64,
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
}

/// Per-table accounting of every log scan in `plan` (after it ran).
pub fn scan_stats(plan: &Arc<dyn ExecutionPlan>) -> BTreeMap<String, TableScanStats> {
    let mut out = BTreeMap::new();
    collect(plan, &mut out);
    out
}

fn collect(plan: &Arc<dyn ExecutionPlan>, out: &mut BTreeMap<String, TableScanStats>) {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some((_, source)) = exec.downcast_to_file_source::<LogSource>()
        && let Some(metrics) = exec.metrics()
    {
        let stats = out.entry(source.options().table.clone()).or_default();
        stats.scans += 1;
        let sum = |name: &str| metrics.sum_by_name(name).map(|v| v.as_usize() as u64).unwrap_or(0);
        stats.lines += sum(metric::LINES_READ);
        stats.rows += sum(metric::ROWS_PARSED);
        stats.rejects += sum(metric::LINES_REJECTED);
        stats.bytes_scanned += sum(metric::BYTES_SCANNED);
        stats.bytes_decoded += sum(metric::BYTES_DECODED);
        stats.values_built += sum(metric::VALUES_BUILT);
        stats.scan_nanos += sum(metric::SCAN_TIME);
        stats.scan_wait_nanos += sum(metric::SCAN_WAIT_TIME);
        for m in metrics.iter() {
            let name = m.value().name();
            if let Some(code) = name.strip_prefix(metric::REJECTED_PREFIX) {
                *stats.rejects_by_reason.entry(code.to_string()).or_default() += m.value().as_usize() as u64;
            }
        }
    }
    for child in plan.children() {
        collect(child, out);
    }
}
