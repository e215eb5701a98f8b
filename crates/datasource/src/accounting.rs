//! Line accounting: the counters every scan keeps, shown in `EXPLAIN ANALYZE` and the reports.

use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder, Time};
use logfusion_formats::RejectReason;

/// Metric names: lines read, rows produced and lines rejected; `lines_read = rows_parsed +
/// lines_rejected` for every scan that ran to the end.
pub mod metric {
    /// Lines read (every `\n`-terminated line, plus a final line without `\n`).
    pub const LINES_READ: &str = "lines_read";
    /// Lines that became rows.
    pub const ROWS_PARSED: &str = "rows_parsed";
    /// Lines that became rejects.
    pub const LINES_REJECTED: &str = "lines_rejected";
    /// Bytes read from storage (compressed bytes for compressed files), counting every read:
    /// the scan's own and those that count the lines before a byte range for line numbers.
    pub const BYTES_READ: &str = "bytes_read";
    /// Of [`BYTES_READ`], the bytes read to count the lines before a byte range: index blocks
    /// no scan of this process had counted. A cluster plan's counting stage reads those
    /// instead, so there it stays 0.
    pub const LINE_INDEX_BYTES: &str = "line_index_bytes";
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
    /// See [`metric::BYTES_READ`].
    pub bytes_read: Count,
    /// See [`metric::LINE_INDEX_BYTES`].
    pub line_index_bytes: Count,
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
            bytes_read: b().counter(metric::BYTES_READ, partition),
            line_index_bytes: b().counter(metric::LINE_INDEX_BYTES, partition),
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
