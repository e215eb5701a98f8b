//! The sink of a `<table>_rejects` table: one row per rejected line, with file, line number,
//! byte offset, reason code, detail and an escaped excerpt.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayBuilder, ArrayRef, StringArray, StringBuilder, UInt64Builder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use logfusion_formats::{BatchBuilder, Reject, RejectReason, escape_excerpt};

use super::{EXCERPT_BYTES, Emitter, Flow, LineSink, ScanEnd, ScanJob, batch};
use crate::error::Error;

/// The schema of a `<table>_rejects` table.
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

/// Builds record batches of rejects.
pub(crate) struct RejectsSink {
    job: Arc<ScanJob>,
    /// Columns of [`rejects_schema`] the query reads, in output order.
    projection: Vec<usize>,
    line: UInt64Builder,
    offset: UInt64Builder,
    reason: StringBuilder,
    detail: StringBuilder,
    excerpt: StringBuilder,
    /// A read error fails the scan (else: it is a `read_error` reject).
    strict: bool,
}

impl RejectsSink {
    /// A sink for `job` emitting the columns `projection` of [`rejects_schema`]; with
    /// `strict`, a read error fails the scan.
    pub fn new(job: Arc<ScanJob>, projection: Vec<usize>, strict: bool) -> Self {
        RejectsSink {
            job,
            projection,
            strict,
            line: UInt64Builder::new(),
            offset: UInt64Builder::new(),
            reason: StringBuilder::new(),
            detail: StringBuilder::new(),
            excerpt: StringBuilder::new(),
        }
    }

    fn flush(&mut self, emit: &mut Emitter<'_>) -> Result<Flow> {
        let n = self.line.len();
        let file = self.job.file_name.as_ref();
        let mut all: Vec<Option<ArrayRef>> = vec![
            Some(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(file, n)))),
            Some(Arc::new(self.line.finish())),
            Some(Arc::new(self.offset.finish())),
            Some(Arc::new(self.reason.finish())),
            Some(Arc::new(self.detail.finish())),
            Some(Arc::new(self.excerpt.finish())),
        ];
        let columns = self
            .projection
            .iter()
            .map(|&i| {
                all.get_mut(i)
                    .and_then(Option::take)
                    .ok_or_else(|| DataFusionError::Internal(format!("rejects column {i} asked for twice")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(emit.emit(batch(&self.job.schema, columns, n)?))
    }
}

impl LineSink for RejectsSink {
    fn parser_projection(&self) -> Vec<usize> {
        Vec::new()
    }

    fn row(&mut self, _: u64, _: &mut BatchBuilder, _: &mut Emitter<'_>) -> Result<Flow> {
        Ok(Flow::Continue)
    }

    fn reject(
        &mut self,
        line_no: u64,
        offset: u64,
        reject: &Reject,
        raw: &[u8],
        emit: &mut Emitter<'_>,
    ) -> Result<Flow> {
        self.line.append_value(line_no);
        self.offset.append_value(offset);
        self.reason.append_value(reject.reason.code());
        self.detail.append_value(&reject.detail);
        self.excerpt.append_value(escape_excerpt(raw, EXCERPT_BYTES));
        if self.line.len() >= self.job.batch_size { self.flush(emit) } else { Ok(Flow::Continue) }
    }

    /// A `read_error` reject at the line that could not be read (line 0 when even the line
    /// numbers could not be counted), so the damage is queryable like every other reject.
    fn read_error(&mut self, line_no: u64, offset: u64, error: std::io::Error) -> Result<()> {
        if self.strict {
            return Err(Error::read(&self.job.file_name, error).into());
        }
        super::warn_read_error(&self.job.file_name, offset, &error);
        self.line.append_value(line_no);
        self.offset.append_value(offset);
        self.reason.append_value(RejectReason::ReadError.code());
        self.detail.append_value(error.to_string());
        self.excerpt.append_value("");
        Ok(())
    }

    fn finish(&mut self, _rows: &mut BatchBuilder, end: ScanEnd, emit: &mut Emitter<'_>) -> Result<()> {
        if !end.stopped && self.line.len() > 0 {
            self.flush(emit)?;
        }
        Ok(())
    }
}
