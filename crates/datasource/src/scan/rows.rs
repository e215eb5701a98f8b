//! The sink of a rows table: parsed columns plus the provenance columns `_file` and `_line`,
//! in the order the query asked for them.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, TimestampMicrosecondArray, UInt64Builder};
use datafusion::common::{DataFusionError, Result};
use logfusion_formats::{BatchBuilder, Reject, escape_text};

use super::{Emitter, Flow, LineSink, ScanEnd, ScanJob, batch};
use crate::error::Error;

/// Where each output column of a rows scan comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowSlot {
    /// The k-th column the parser builds.
    Parsed(usize),
    /// The `_file` provenance column.
    File,
    /// The `_line` provenance column.
    Line,
}

/// Which columns a rows scan builds, and where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowLayout {
    /// Format columns the parser builds, in the order [`RowSlot::Parsed`] counts them.
    pub parser_projection: Vec<usize>,
    /// The output columns.
    pub slots: Vec<RowSlot>,
}

impl RowLayout {
    /// The layout for the table columns `indices` (format columns, then `_file`, `_line`) of a
    /// format with `parsed` columns. Without `pushdown`, the parser builds every column and
    /// the unused ones are dropped (what a scan without projection pushdown costs).
    pub fn new(indices: &[usize], parsed: usize, pushdown: bool) -> RowLayout {
        let mut parser_projection: Vec<usize> = if pushdown { Vec::new() } else { (0..parsed).collect() };
        let slots = indices
            .iter()
            .map(|&i| match i.cmp(&parsed) {
                std::cmp::Ordering::Less if !pushdown => RowSlot::Parsed(i),
                std::cmp::Ordering::Less => {
                    parser_projection.push(i);
                    RowSlot::Parsed(parser_projection.len() - 1)
                }
                std::cmp::Ordering::Equal => RowSlot::File,
                std::cmp::Ordering::Greater => RowSlot::Line,
            })
            .collect();
        RowLayout { parser_projection, slots }
    }

    fn wants_lines(&self) -> bool {
        self.slots.contains(&RowSlot::Line)
    }
}

/// Builds record batches of parsed rows.
pub(crate) struct RowsSink {
    job: Arc<ScanJob>,
    layout: RowLayout,
    line_numbers: UInt64Builder,
    /// A read error fails the scan (else: the rows before it stand, with a warning).
    strict: bool,
    /// Where the declared sort column is among the parsed columns, and its last value: rows
    /// out of order fail the scan (DataFusion relies on the order).
    sorted: Option<(usize, Option<i64>)>,
}

impl RowsSink {
    /// A sink for `job` with `layout`; with `strict`, a read error fails the scan.
    pub fn new(job: Arc<ScanJob>, layout: RowLayout, strict: bool) -> Self {
        let line_numbers = UInt64Builder::with_capacity(if layout.wants_lines() { job.batch_size } else { 0 });
        let sorted = job.sorted.and_then(|c| layout.parser_projection.iter().position(|&p| p == c)).map(|k| (k, None));
        RowsSink { job, layout, line_numbers, strict, sorted }
    }

    /// Checks that `column` (the declared sort column) goes on in ascending order.
    fn check_order(&mut self, column: &ArrayRef) -> Result<()> {
        let Some((_, last)) = self.sorted.as_mut() else { return Ok(()) };
        let Some(times) = column.as_any().downcast_ref::<TimestampMicrosecondArray>() else {
            return Err(internal("the sorted_by column is not a timestamp"));
        };
        let name = self.job.sorted.and_then(|c| self.job.format.columns().get(c)).map_or("ts", |c| c.name.as_str());
        for (i, value) in times.iter().enumerate() {
            let out_of_order = match (value, *last) {
                (None, _) => Some("a row without it".to_string()),
                (Some(v), Some(before)) if v < before => {
                    Some(format!("{} after {}", format_micros(v), format_micros(before)))
                }
                _ => None,
            };
            if let Some(what) = out_of_order {
                let line = self.line_numbers_hint(i);
                return Err(DataFusionError::Execution(format!(
                    "{}{line}: {what}, but the source declares the file sorted by {name} (sorted_by); \
                     remove sorted_by or sort the file",
                    escape_text(&self.job.file_name)
                )));
            }
            *last = value;
        }
        Ok(())
    }

    /// `:LINE` of row `i` of the batch being flushed, when line numbers are built.
    fn line_numbers_hint(&self, i: usize) -> String {
        let values = self.line_numbers.values_slice();
        values.get(i).map(|l| format!(":{l}")).unwrap_or_default()
    }

    fn flush(&mut self, rows: &mut BatchBuilder, emit: &mut Emitter<'_>) -> Result<Flow> {
        let n = rows.rows();
        let mut parsed: Vec<Option<ArrayRef>> = rows.finish().into_iter().map(Some).collect();
        if let Some((k, _)) = self.sorted
            && let Some(Some(column)) = parsed.get(k)
        {
            let column = column.clone();
            self.check_order(&column)?;
        }
        let mut lines = Some(Arc::new(self.line_numbers.finish()) as ArrayRef);
        let file = self.job.file_name.as_ref();
        let columns = self
            .layout
            .slots
            .iter()
            .map(|slot| match slot {
                RowSlot::Parsed(k) => parsed[*k].take().ok_or_else(|| internal("parser column used twice")),
                RowSlot::File => Ok(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(file, n))) as ArrayRef),
                RowSlot::Line => lines.take().ok_or_else(|| internal("_line used twice")),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(emit.emit(batch(&self.job.schema, columns, n)?))
    }
}

impl LineSink for RowsSink {
    fn parser_projection(&self) -> Vec<usize> {
        self.layout.parser_projection.clone()
    }

    #[inline]
    fn row(&mut self, line_no: u64, rows: &mut BatchBuilder, emit: &mut Emitter<'_>) -> Result<Flow> {
        if self.layout.wants_lines() {
            self.line_numbers.append_value(line_no);
        }
        if rows.rows() >= self.job.batch_size { self.flush(rows, emit) } else { Ok(Flow::Continue) }
    }

    fn reject(&mut self, _: u64, _: u64, _: &Reject, _: &[u8], _: &mut Emitter<'_>) -> Result<Flow> {
        Ok(Flow::Continue)
    }

    fn read_error(&mut self, _line_no: u64, offset: u64, error: std::io::Error) -> Result<()> {
        if self.strict {
            return Err(Error::read(&self.job.file_name, error).into());
        }
        super::warn_read_error(&self.job.file_name, offset, &error);
        Ok(())
    }

    fn finish(&mut self, rows: &mut BatchBuilder, end: ScanEnd, emit: &mut Emitter<'_>) -> Result<()> {
        if !end.stopped && rows.rows() > 0 {
            self.flush(rows, emit)?;
        }
        Ok(())
    }
}

fn internal(msg: &str) -> DataFusionError {
    DataFusionError::Internal(msg.to_string())
}

/// `micros` (µs since the epoch, UTC) as RFC 3339.
fn format_micros(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros).map_or_else(|| micros.to_string(), |t| t.to_rfc3339())
}
