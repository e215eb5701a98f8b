//! Line accounting: counters every scan keeps (shown in `EXPLAIN ANALYZE` and the reports), and
//! the schema of the `<source>_rejects` tables.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder, Time};
use logfusion_formats::RejectReason;

/// Name of the provenance column holding the file a row came from.
pub const FILE_COLUMN: &str = "_file";
/// Name of the provenance column holding the 1-based line number of a row.
pub const LINE_COLUMN: &str = "_line";

/// Metric names: lines read, rows produced and lines rejected; `lines_read = rows_parsed +
/// lines_rejected` for every scan that ran to the end.
pub mod metric {
    /// Lines read (every `\n`-terminated line, plus a final line without `\n`).
    pub const LINES_READ: &str = "lines_read";
    /// Lines that became rows.
    pub const ROWS_PARSED: &str = "rows_parsed";
    /// Lines that became rejects.
    pub const LINES_REJECTED: &str = "lines_rejected";
    /// Bytes read from storage (compressed bytes for compressed files).
    pub const BYTES_SCANNED: &str = "bytes_scanned";
    /// Bytes of text after decompression.
    pub const BYTES_DECODED: &str = "bytes_decoded";
    /// Column values materialised (rows × projected parser columns).
    pub const VALUES_BUILT: &str = "values_built";
    /// Time spent reading, decompressing and parsing (not waiting, see [`SCAN_WAIT_TIME`]).
    pub const SCAN_TIME: &str = "scan_time";
    /// Time the scan waited for the query to take its batches: a slow consumer, not a slow
    /// scan.
    pub const SCAN_WAIT_TIME: &str = "scan_wait_time";
    /// Prefix of the per-reason reject counters, e.g. `rejected_bad_timestamp`.
    pub const REJECTED_PREFIX: &str = "rejected_";
}

/// The counters of one partition of a scan.
#[derive(Debug, Clone)]
pub struct ScanCounters {
    /// See [`metric::LINES_READ`].
    pub lines_read: Count,
    /// See [`metric::ROWS_PARSED`].
    pub rows_parsed: Count,
    /// See [`metric::LINES_REJECTED`].
    pub lines_rejected: Count,
    /// See [`metric::BYTES_SCANNED`].
    pub bytes_scanned: Count,
    /// See [`metric::BYTES_DECODED`].
    pub bytes_decoded: Count,
    /// See [`metric::VALUES_BUILT`].
    pub values_built: Count,
    /// See [`metric::SCAN_TIME`].
    pub scan_time: Time,
    /// See [`metric::SCAN_WAIT_TIME`].
    pub scan_wait_time: Time,
    metrics: ExecutionPlanMetricsSet,
    partition: usize,
}

impl ScanCounters {
    /// Registers the counters of `partition` in `metrics`.
    pub fn new(metrics: &ExecutionPlanMetricsSet, partition: usize) -> Self {
        let b = || MetricBuilder::new(metrics);
        ScanCounters {
            lines_read: b().counter(metric::LINES_READ, partition),
            rows_parsed: b().counter(metric::ROWS_PARSED, partition),
            lines_rejected: b().counter(metric::LINES_REJECTED, partition),
            bytes_scanned: b().counter(metric::BYTES_SCANNED, partition),
            bytes_decoded: b().counter(metric::BYTES_DECODED, partition),
            values_built: b().counter(metric::VALUES_BUILT, partition),
            scan_time: b().subset_time(metric::SCAN_TIME, partition),
            scan_wait_time: b().subset_time(metric::SCAN_WAIT_TIME, partition),
            metrics: metrics.clone(),
            partition,
        }
    }

    /// Adds per-reason reject counts (only reasons that occurred get a metric).
    pub fn add_rejects_by_reason(&self, counts: &[u64; RejectReason::ALL.len()]) {
        for (reason, &n) in RejectReason::ALL.iter().zip(counts) {
            if n > 0 {
                let name = format!("{}{}", metric::REJECTED_PREFIX, reason.code());
                MetricBuilder::new(&self.metrics).counter(name, self.partition).add(n as usize);
            }
        }
    }
}

/// The schema of a `<source>_rejects` table.
pub fn rejects_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
        Field::new("byte_offset", DataType::UInt64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("excerpt", DataType::Utf8, false),
    ]))
}
