//! The scan loop of one file or byte range: lines → parser → a [`LineSink`], with every line
//! counted. One loop serves every kind of log table; what happens to each outcome is the
//! sink's business: [`rows::RowsSink`] builds record batches of the parsed rows,
//! [`rejects::RejectsSink`] the rejects table, [`health::HealthSink`] one summary per range
//! for `validate`. Synchronous; runs on a blocking thread.

pub(crate) mod health;
mod records;
pub(crate) mod rejects;
pub(crate) mod rows;

use std::io::Read;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::Result;
use datafusion::physical_plan::metrics::{ScopedTimerGuard, Time};
use logfusion_formats::{
    BatchBuilder, FileContext, LineParser, Reject, RejectReason, ResolvedFormat, prepare_line, prepare_text,
};

use crate::accounting::ScanCounters;
use logfusion_lines::{Line, LineReader};

/// Longest excerpt (input bytes) kept in a reject.
pub(crate) const EXCERPT_BYTES: usize = 200;

/// Everything a scan of one file or range needs besides its bytes and its sink.
#[derive(Debug, Clone)]
pub(crate) struct ScanJob {
    /// The format.
    pub format: Arc<ResolvedFormat>,
    /// Schema of the emitted batches.
    pub schema: SchemaRef,
    /// Rows per batch.
    pub batch_size: usize,
    /// Longest line accepted.
    pub max_line_bytes: usize,
    /// Display name of the file (its path or URL).
    pub file_name: Arc<str>,
    /// What the parser may know about the file.
    pub context: FileContext,
    /// Stream offset where the range starts (0 for a whole file).
    pub range_start: u64,
    /// Stream offset where the range ends: lines starting at or after it belong to the next
    /// range. `None`: the range runs to the end of the file.
    pub end: Option<u64>,
    /// The file grew since it was listed: an unterminated last line (as listed) is being
    /// written and is left for the next read.
    pub grown: bool,
    /// The format column (a timestamp) the file is declared to be in ascending order of:
    /// rows scans check it.
    pub sorted: Option<usize>,
}

/// Whether the scan goes on after a sink call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// Nobody wants more batches (the query stopped reading, e.g. after a LIMIT).
    Stop,
}

/// How a scan ended, for [`LineSink::finish`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScanEnd {
    /// A sink said stop.
    pub stopped: bool,
    /// The last line read ended with `\n`.
    pub last_line_terminated: bool,
}

/// What a scan does with each line. The loop owns reading, numbering and parsing; a sink owns
/// what becomes of rows, rejects and read errors, and emits its own batches.
pub(crate) trait LineSink {
    /// Format columns the loop must parse into the row builder (indices into the format's
    /// columns). Every field is validated whatever this is; only these are built.
    fn parser_projection(&self) -> Vec<usize>;
    /// Sees every line before it is parsed (the health sink checks raw bytes).
    fn line(&mut self, _line: &Line<'_>) {}
    /// A line became a row, already committed to `rows`.
    fn row(&mut self, line_no: u64, rows: &mut BatchBuilder, emit: &mut Emitter<'_>) -> Result<Flow>;
    /// A line became a reject; `raw` is its text (or first bytes, for a too-long line).
    fn reject(
        &mut self,
        line_no: u64,
        offset: u64,
        reject: &Reject,
        raw: &[u8],
        emit: &mut Emitter<'_>,
    ) -> Result<Flow>;
    /// The record just handed to [`LineSink::row`] or [`LineSink::reject`] (`rejected`) spans
    /// `continued` lines after its first (a multi-line record): sinks that count lines count
    /// them with it, so that lines = lines in rows + lines in rejects.
    fn continued_lines(&mut self, _continued: u64, _rejected: Option<RejectReason>) {}
    /// Reading broke off before the next line (number `line_no`, at stream `offset`): the
    /// sink records it or fails the scan.
    fn read_error(&mut self, line_no: u64, offset: u64, error: std::io::Error) -> Result<()>;
    /// The range is done: emit what is left.
    fn finish(&mut self, rows: &mut BatchBuilder, end: ScanEnd, emit: &mut Emitter<'_>) -> Result<()>;
}

/// Hands batches to the query, keeping the time spent waiting for the query out of the scan
/// time.
pub(crate) struct Emitter<'a> {
    send: &'a mut dyn FnMut(RecordBatch) -> bool,
    scan_timer: ScopedTimerGuard<'a>,
    wait_time: &'a Time,
}

impl<'a> Emitter<'a> {
    /// An emitter that sends with `send` (false: nobody is listening any more); the scan time
    /// runs from now on.
    pub fn new(send: &'a mut dyn FnMut(RecordBatch) -> bool, counters: &'a ScanCounters) -> Self {
        Emitter { send, scan_timer: counters.scan_time.timer(), wait_time: &counters.scan_wait_time }
    }

    /// Sends one batch; [`Flow::Stop`] when the query no longer reads.
    pub fn emit(&mut self, batch: RecordBatch) -> Flow {
        self.scan_timer.stop();
        let waiting = self.wait_time.timer();
        let taken = (self.send)(batch);
        waiting.done();
        self.scan_timer.restart();
        if taken { Flow::Continue } else { Flow::Stop }
    }
}

/// Line accounting of one finished scan (for multi-line records, the lines of the records
/// that became rows and rejects: lines = rows + rejects either way).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanTotals {
    /// Lines read.
    pub lines: u64,
    /// Lines that became rows.
    pub rows: u64,
    /// Lines that became rejects.
    pub rejects: u64,
}

impl ScanTotals {
    /// Adds the totals to the scan's counters.
    fn count(&self, counters: &ScanCounters, by_reason: &[u64; RejectReason::ALL.len()]) {
        counters.lines_read.add(self.lines as usize);
        counters.rows_parsed.add(self.rows as usize);
        counters.lines_rejected.add(self.rejects as usize);
        counters.add_rejects_by_reason(by_reason);
    }
}

/// Scans lines from `reader` until EOF or the first line starting at or after `job.end`,
/// numbering them from `first_line_no`, and hands each outcome to `sink`. `position` holds
/// the number and offset of the line being parsed, for the report of a panic.
pub(crate) fn scan_lines<R: Read, S: LineSink>(
    reader: &mut LineReader<R>,
    job: &ScanJob,
    first_line_no: u64,
    sink: &mut S,
    counters: &ScanCounters,
    send: &mut dyn FnMut(RecordBatch) -> bool,
    position: &std::cell::Cell<(u64, u64)>,
) -> Result<ScanTotals> {
    if let Some(rule) = job.format.multiline() {
        return records::scan_records(reader, job, rule, first_line_no, sink, counters, send, position);
    }
    let mut emit = Emitter::new(send, counters);
    let mut parser = job.format.parser(&job.context);
    let projection = sink.parser_projection();
    let mut rows = BatchBuilder::new(job.format.columns(), &projection, job.batch_size);
    let mut by_reason = [0u64; RejectReason::ALL.len()];
    let mut totals = ScanTotals::default();
    let mut end = ScanEnd { stopped: false, last_line_terminated: true };
    loop {
        let line = match reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                let offset = reader.offset();
                sink.read_error(first_line_no + totals.lines, offset, e)?;
                break;
            }
        };
        let offset = line.offset();
        if job.end.is_some_and(|end| offset >= end) {
            break;
        }
        if job.grown && !line.terminated() {
            note_unfinished(&job.file_name, offset, line.byte_len());
            break;
        }
        let line_no = first_line_no + totals.lines;
        position.set((line_no, offset));
        totals.lines += 1;
        sink.line(&line);
        let terminated = line.terminated();
        let flow = match parse_line(&line, parser.as_mut(), &mut rows, job.max_line_bytes) {
            Ok(()) => {
                rows.commit_row();
                totals.rows += 1;
                sink.row(line_no, &mut rows, &mut emit)?
            }
            Err(reject) => {
                totals.rejects += 1;
                by_reason[reject_index(reject.reason)] += 1;
                sink.reject(line_no, offset, &reject, line.raw(), &mut emit)?
            }
        };
        end.last_line_terminated = terminated;
        if flow == Flow::Stop {
            end.stopped = true;
            break;
        }
    }
    sink.finish(&mut rows, end, &mut emit)?;
    drop(emit);
    totals.count(counters, &by_reason);
    counters.bytes_decoded.add(reader.bytes_read() as usize);
    counters.values_built.add(rows.values_built() as usize);
    Ok(totals)
}

/// Parses one line into `rows` (not yet committed), or says why it is a reject.
#[inline]
fn parse_line(
    line: &Line<'_>,
    parser: &mut dyn LineParser,
    rows: &mut BatchBuilder,
    max_line_bytes: usize,
) -> std::result::Result<(), Reject> {
    match line {
        Line::Complete { text: Some(text), .. } => prepare_text(text).and_then(|text| parser.parse(text, rows)),
        Line::Complete { bytes, text: None, .. } => prepare_line(bytes).and_then(|text| parser.parse(text, rows)),
        Line::TooLong { len, .. } => Err(Reject::new(
            RejectReason::LineTooLong,
            format!("line of {len} bytes is longer than max_line_bytes ({max_line_bytes})"),
        )),
    }
}

fn reject_index(reason: RejectReason) -> usize {
    RejectReason::ALL.iter().position(|r| *r == reason).unwrap_or(0)
}

/// Warns once per process about `what` happened at `offset` of `file`: the rows, rejects and
/// health scans of one file all meet the same damage, and one warning is enough.
fn warn_once(file: &str, offset: u64, message: impl FnOnce(&str) -> String) {
    static WARNED: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<(String, u64)>>> =
        std::sync::OnceLock::new();
    let mut warned = WARNED.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if warned.len() > 100_000 {
        warned.clear();
    }
    if warned.insert((file.to_string(), offset)) {
        tracing::warn!("{}", message(&logfusion_formats::escape_text(file)));
    }
}

/// Warns that reading `file` stopped at `offset`.
pub(crate) fn warn_read_error(file: &str, offset: u64, error: &std::io::Error) {
    warn_once(file, offset, |f| {
        format!(
            "{f}: reading stopped at byte {offset}: {error}; the lines before are counted (see the read_error reject)"
        )
    });
}

/// Notes that the last line of a growing file is still being written.
fn note_unfinished(file: &str, offset: u64, len: u64) {
    warn_once(file, offset, |f| {
        format!(
            "{f}: the file grew after it was listed; its unfinished last line ({len} bytes at byte {offset}) is left for the next read"
        )
    });
}

thread_local! {
    static IN_SCAN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is running a scan: a panic here is caught and becomes the
/// query's error naming the file and line, so a panic hook should stay quiet about it.
pub fn in_scan() -> bool {
    IN_SCAN.with(std::cell::Cell::get)
}

/// Runs `scan` as a scan of `file`: a panic (a bug: no input should cause one) becomes an
/// error naming the file, the line being parsed and the panic, escaped, instead of taking the
/// query (or a server) down.
pub(crate) fn guard_panics(file: &str, scan: impl FnOnce(&std::cell::Cell<(u64, u64)>) -> Result<()>) -> Result<()> {
    let position = std::cell::Cell::new((0, 0));
    IN_SCAN.with(|f| f.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scan(&position)));
    IN_SCAN.with(|f| f.set(false));
    outcome.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let (line, offset) = position.get();
        Err(datafusion::error::DataFusionError::Execution(format!(
            "internal error while reading {} at line {line} (byte {offset}): {}; please report it",
            logfusion_formats::escape_text(file),
            logfusion_formats::escape_text(&message)
        )))
    })
}

/// A batch of `rows` rows over `schema` (which may have no columns, for `count(*)`).
pub(crate) fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let opts = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(schema.clone(), columns, &opts)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_scan_is_one_escaped_error_naming_file_and_line() {
        let outcome = guard_panics("logs/a\x1b[31m.log", |position| {
            position.set((7, 99));
            assert!(in_scan());
            panic!("boom \x1b]0;PWNED\x07");
        });
        assert!(!in_scan());
        let message = outcome.unwrap_err().to_string();
        assert!(message.contains("logs/a\\x1B[31m.log at line 7 (byte 99)"), "{message}");
        assert!(message.contains("boom \\x1B]0;PWNED\\x07") && !message.contains('\x1b'), "{message}");
        assert!(guard_panics("f", |_| Ok(())).is_ok());
    }
}
