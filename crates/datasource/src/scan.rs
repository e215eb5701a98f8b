//! The scan loop of one file or byte range: lines → parser → record batches (rows or rejects),
//! with every line counted. Synchronous; runs on a blocking thread.

use std::io::Read;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, RecordBatch, RecordBatchOptions, StringArray, StringBuilder, UInt64Builder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use logfusion_formats::{
    BatchBuilder, FileContext, LineParser, Reject, RejectReason, ResolvedFormat, escape_excerpt, prepare_line,
};

use crate::accounting::ScanCounters;
use crate::lines::{Line, LineReader};

/// Longest excerpt (input bytes) kept in a reject.
pub const EXCERPT_BYTES: usize = 200;

/// Where each output column of a rows scan comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowSlot {
    /// The k-th projected parser column.
    Parsed(usize),
    /// The `_file` provenance column.
    File,
    /// The `_line` provenance column.
    Line,
}

/// What a scan produces.
#[derive(Debug, Clone)]
pub enum ScanOutput {
    /// Rows of the format: parser projection (format column indices) and the output layout.
    Rows {
        /// Format columns to materialise, in output order.
        parser_projection: Vec<usize>,
        /// The output columns.
        layout: Vec<RowSlot>,
    },
    /// Rejects: indices into [`crate::accounting::rejects_schema`], in output order.
    Rejects {
        /// The projected reject columns.
        projection: Vec<usize>,
    },
    /// One summary row per range ([`crate::profile::profile_lines`]; the batch is projected to
    /// the job's schema by name).
    Profile,
}

impl ScanOutput {
    fn needs_line_numbers(&self) -> bool {
        match self {
            ScanOutput::Rows { layout, .. } => layout.contains(&RowSlot::Line),
            ScanOutput::Rejects { .. } | ScanOutput::Profile => true,
        }
    }
}

/// Everything a scan of one file needs besides its bytes.
pub struct ScanJob {
    /// The format.
    pub format: Arc<ResolvedFormat>,
    /// Rows or rejects, and which columns.
    pub output: ScanOutput,
    /// Schema of the emitted batches.
    pub schema: SchemaRef,
    /// Rows per batch.
    pub batch_size: usize,
    /// Longest line accepted.
    pub max_line_bytes: usize,
    /// Display name of the file (its path).
    pub file_name: Arc<str>,
    /// What the parser may know about the file.
    pub context: FileContext,
    /// Stream offset where the range starts (0 for a whole file).
    pub range_start: u64,
    /// Stream offset where the range ends: lines starting at or after it belong to the next
    /// range (`u64::MAX` for the whole file).
    pub end: u64,
}

/// Line accounting of one finished scan.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanTotals {
    /// Lines read.
    pub lines: u64,
    /// Lines that became rows.
    pub rows: u64,
    /// Lines that became rejects.
    pub rejects: u64,
}

struct RejectBuffers {
    file: Arc<str>,
    line: UInt64Builder,
    offset: UInt64Builder,
    reason: StringBuilder,
    detail: StringBuilder,
    excerpt: StringBuilder,
}

impl RejectBuffers {
    fn new(file: Arc<str>) -> Self {
        RejectBuffers {
            file,
            line: UInt64Builder::new(),
            offset: UInt64Builder::new(),
            reason: StringBuilder::new(),
            detail: StringBuilder::new(),
            excerpt: StringBuilder::new(),
        }
    }

    fn push(&mut self, line: u64, offset: u64, reject: &Reject, raw: &[u8]) {
        self.line.append_value(line);
        self.offset.append_value(offset);
        self.reason.append_value(reject.reason.code());
        self.detail.append_value(&reject.detail);
        self.excerpt.append_value(escape_excerpt(raw, EXCERPT_BYTES));
    }

    fn len(&self) -> usize {
        self.line.len()
    }

    fn finish(&mut self, projection: &[usize]) -> Vec<ArrayRef> {
        let n = self.len();
        let mut all: Vec<Option<ArrayRef>> = vec![
            Some(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(self.file.as_ref(), n)))),
            Some(Arc::new(self.line.finish())),
            Some(Arc::new(self.offset.finish())),
            Some(Arc::new(self.reason.finish())),
            Some(Arc::new(self.detail.finish())),
            Some(Arc::new(self.excerpt.finish())),
        ];
        projection.iter().map(|&i| all[i].take().expect("projection indices are distinct")).collect()
    }
}

fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let opts = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(schema.clone(), columns, &opts)?)
}

/// Scans lines from `reader` until EOF or the first line starting at or after `job.end`,
/// handing each batch to `emit` (which returns false when nobody wants more). `line_base`
/// gives the number of lines before the reader's first line; it is called only when line
/// numbers are needed (the `_line` column or a rejects scan).
pub fn scan_lines<R: Read>(
    mut reader: LineReader<R>,
    job: &ScanJob,
    counters: &ScanCounters,
    line_base: impl FnOnce() -> Result<u64>,
    mut emit: impl FnMut(RecordBatch) -> bool,
) -> Result<ScanTotals> {
    let mut timer = counters.scan_time.timer();
    let mut emit = |batch: RecordBatch| {
        timer.stop();
        let waiting = counters.scan_wait_time.timer();
        let taken = emit(batch);
        waiting.done();
        timer.restart();
        taken
    };
    let mut parser = job.format.parser(&job.context);
    let parser_projection: &[usize] = match &job.output {
        ScanOutput::Rows { parser_projection, .. } => parser_projection,
        ScanOutput::Rejects { .. } => &[],
        ScanOutput::Profile => return Err(internal("profile scans run through profile_lines")),
    };
    let mut rows = BatchBuilder::new(job.format.columns(), parser_projection, job.batch_size);
    let mut rejects = RejectBuffers::new(job.file_name.clone());
    let mut row_lines = UInt64Builder::with_capacity(job.batch_size);
    let mut by_reason = [0u64; RejectReason::ALL.len()];
    let mut totals = ScanTotals::default();
    let base = if job.output.needs_line_numbers() { line_base()? } else { 0 };
    let mut stopped = false;
    let want_lines = matches!(&job.output, ScanOutput::Rows { layout, .. } if layout.contains(&RowSlot::Line));

    while let Some(line) = reader.next_line().map_err(|e| io_error(&job.file_name, e))? {
        let offset = line.offset();
        if offset >= job.end {
            break;
        }
        totals.lines += 1;
        let line_no = base + totals.lines;
        let outcome = parse_line(&line, parser.as_mut(), &mut rows, job.max_line_bytes);
        match outcome {
            Ok(()) => {
                rows.commit_row();
                totals.rows += 1;
                if want_lines {
                    row_lines.append_value(line_no);
                }
            }
            Err(reject) => {
                totals.rejects += 1;
                by_reason[reject_index(reject.reason)] += 1;
                if let ScanOutput::Rejects { .. } = job.output {
                    let raw = match &line {
                        Line::Complete { bytes, .. } => *bytes,
                        Line::TooLong { head, .. } => *head,
                    };
                    rejects.push(line_no, offset, &reject, raw);
                }
            }
        }
        let ready = match &job.output {
            ScanOutput::Rows { .. } => rows.rows() >= job.batch_size,
            ScanOutput::Rejects { .. } | ScanOutput::Profile => rejects.len() >= job.batch_size,
        };
        if ready && !emit(finish_batch(job, &mut rows, &mut row_lines, &mut rejects)?) {
            stopped = true;
            break;
        }
    }
    if !stopped {
        let pending = match &job.output {
            ScanOutput::Rows { .. } => rows.rows(),
            ScanOutput::Rejects { .. } | ScanOutput::Profile => rejects.len(),
        };
        if pending > 0 {
            emit(finish_batch(job, &mut rows, &mut row_lines, &mut rejects)?);
        }
    }
    timer.done();
    counters.lines_read.add(totals.lines as usize);
    counters.rows_parsed.add(totals.rows as usize);
    counters.lines_rejected.add(totals.rejects as usize);
    counters.bytes_decoded.add(reader.bytes_read() as usize);
    counters.values_built.add(rows.values_built() as usize);
    counters.add_rejects_by_reason(&by_reason);
    Ok(totals)
}

/// Parses one line into `rows` (not yet committed), or says why it is a reject.
#[inline]
pub fn parse_line(
    line: &Line<'_>,
    parser: &mut dyn LineParser,
    rows: &mut BatchBuilder,
    max_line_bytes: usize,
) -> std::result::Result<(), Reject> {
    match line {
        Line::Complete { bytes, .. } => prepare_line(bytes).and_then(|text| parser.parse(text, rows)),
        Line::TooLong { len, .. } => Err(Reject::new(
            RejectReason::LineTooLong,
            format!("line of {len} bytes is longer than max_line_bytes ({max_line_bytes})"),
        )),
    }
}

fn reject_index(reason: RejectReason) -> usize {
    RejectReason::ALL.iter().position(|r| *r == reason).unwrap_or(0)
}

fn finish_batch(
    job: &ScanJob,
    rows: &mut BatchBuilder,
    row_lines: &mut UInt64Builder,
    rejects: &mut RejectBuffers,
) -> Result<RecordBatch> {
    match &job.output {
        ScanOutput::Rows { layout, .. } => {
            let n = rows.rows();
            let mut parsed = rows.finish().into_iter().map(Some).collect::<Vec<_>>();
            let mut lines = Some(Arc::new(row_lines.finish()) as ArrayRef);
            let columns = layout
                .iter()
                .map(|slot| match slot {
                    RowSlot::Parsed(k) => parsed[*k].take().ok_or_else(|| internal("parser column used twice")),
                    RowSlot::File => {
                        Ok(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(job.file_name.as_ref(), n)))
                            as ArrayRef)
                    }
                    RowSlot::Line => lines.take().ok_or_else(|| internal("_line used twice")),
                })
                .collect::<Result<Vec<_>>>()?;
            batch(&job.schema, columns, n)
        }
        ScanOutput::Rejects { projection } => {
            let n = rejects.len();
            batch(&job.schema, rejects.finish(projection), n)
        }
        ScanOutput::Profile => Err(internal("profile scans run through profile_lines")),
    }
}

fn internal(msg: &str) -> DataFusionError {
    DataFusionError::Internal(msg.to_string())
}

/// An I/O error while reading `file`, naming the file.
pub fn io_error(file: &str, e: std::io::Error) -> DataFusionError {
    DataFusionError::External(Box::new(std::io::Error::new(
        e.kind(),
        format!("reading {}: {e}", logfusion_formats::escape_text(file)),
    )))
}
