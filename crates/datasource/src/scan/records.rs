//! The scan loop of a format with multi-line records: lines join into records by the format's
//! [`MultilineRule`], and each record is parsed whole (its lines joined with `\n`).
//!
//! A record belongs to the range holding its first line, like a line: a range skips the
//! continuation lines it starts with (the range before reads them, past its end, as the rest
//! of its last record), and stops at the first record starting at or after its end. The rule
//! judges one line at a time, so no range needs another's bytes to know where records start.
//! `_line` is a record's first line; a record's lines count as rows or rejects with it.

use std::io::Read;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::Result;
use logfusion_formats::{BatchBuilder, MultilineRule, Reject, RejectReason, prepare_line};
use logfusion_lines::{Line, LineReader};

use super::{Emitter, Flow, LineSink, ScanEnd, ScanJob, ScanTotals, note_unfinished, reject_index};
use crate::accounting::ScanCounters;

/// The record being read: its first line's number and offset, its text so far, its lines.
struct Record {
    line_no: u64,
    offset: u64,
    /// The lines joined with `\n`, each without its `\r`; at most `max_line_bytes` are kept.
    text: Vec<u8>,
    lines: u64,
    /// The record's length when it is longer than `max_line_bytes` (its text is then cut).
    too_long: Option<u64>,
}

impl Record {
    fn new(line_no: u64, offset: u64) -> Record {
        Record { line_no, offset, text: Vec::new(), lines: 0, too_long: None }
    }

    /// Adds `line`, keeping the text within `max` bytes.
    fn push(&mut self, line: &Line<'_>, max: usize) {
        let raw = line.raw();
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let separator = u64::from(self.lines > 0);
        self.lines += 1;
        let len = self.too_long.unwrap_or(self.text.len() as u64) + separator + line.byte_len();
        if matches!(line, Line::TooLong { .. }) || len > max as u64 {
            if self.too_long.is_none() {
                // Keep the start for the reject's excerpt.
                if separator == 1 && self.text.len() < max {
                    self.text.push(b'\n');
                }
                let room = max.saturating_sub(self.text.len());
                self.text.extend_from_slice(&raw[..raw.len().min(room)]);
            }
            self.too_long = Some(len);
            return;
        }
        if separator == 1 {
            self.text.push(b'\n');
        }
        self.text.extend_from_slice(raw);
    }
}

/// What a scan keeps between records.
struct RecordScan<'j, 'e, S> {
    job: &'j ScanJob,
    sink: &'j mut S,
    parser: Box<dyn logfusion_formats::LineParser>,
    rows: BatchBuilder,
    emit: Emitter<'e>,
    totals: ScanTotals,
    by_reason: [u64; RejectReason::ALL.len()],
}

impl<S: LineSink> RecordScan<'_, '_, S> {
    /// Parses `record` and hands the outcome to the sink.
    fn finish_record(&mut self, record: &Record, position: &std::cell::Cell<(u64, u64)>) -> Result<Flow> {
        position.set((record.line_no, record.offset));
        let outcome = match record.too_long {
            Some(len) => Err(Reject::new(
                RejectReason::LineTooLong,
                format!(
                    "record of {} lines and {len} bytes is longer than max_line_bytes ({})",
                    record.lines, self.job.max_line_bytes
                ),
            )),
            None => prepare_line(&record.text).and_then(|text| self.parser.parse(text, &mut self.rows)),
        };
        let continued = record.lines - 1;
        match outcome {
            Ok(()) => {
                self.rows.commit_row();
                self.totals.rows += record.lines;
                let flow = self.sink.row(record.line_no, &mut self.rows, &mut self.emit)?;
                self.sink.continued_lines(continued, None);
                Ok(flow)
            }
            Err(reject) => {
                self.totals.rejects += record.lines;
                self.by_reason[reject_index(reject.reason)] += record.lines;
                let flow = self.sink.reject(record.line_no, record.offset, &reject, &record.text, &mut self.emit)?;
                self.sink.continued_lines(continued, Some(reject.reason));
                Ok(flow)
            }
        }
    }
}

/// [`super::scan_lines`] for a format with multi-line records (see the module docs).
#[expect(clippy::too_many_arguments, reason = "the arguments of scan_lines and the rule")]
pub(super) fn scan_records<R: Read, S: LineSink>(
    reader: &mut LineReader<R>,
    job: &ScanJob,
    rule: &MultilineRule,
    first_line_no: u64,
    sink: &mut S,
    counters: &ScanCounters,
    send: &mut dyn FnMut(RecordBatch) -> bool,
    position: &std::cell::Cell<(u64, u64)>,
) -> Result<ScanTotals> {
    let projection = sink.parser_projection();
    let mut scan = RecordScan {
        job,
        parser: job.format.parser(&job.context),
        rows: BatchBuilder::new(job.format.columns(), &projection, job.batch_size),
        emit: Emitter::new(send, counters),
        totals: ScanTotals::default(),
        by_reason: [0; RejectReason::ALL.len()],
        sink,
    };
    let mut end = ScanEnd { stopped: false, last_line_terminated: true };
    // The number of the next line read, counting the continuation lines a range starts with
    // (they are the range before's).
    let mut line_no = first_line_no;
    let mut leading = job.range_start > 0;
    let mut record: Option<Record> = None;
    let mut read_error = None;
    loop {
        let line = match reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                read_error = Some((reader.offset(), e));
                break;
            }
        };
        let offset = line.offset();
        if job.grown && !line.terminated() {
            note_unfinished(&job.file_name, offset, line.byte_len());
            break;
        }
        let continues = rule.continues(line.raw());
        if leading && continues {
            line_no += 1;
            continue;
        }
        leading = false;
        if !continues || record.is_none() {
            // A new record starts here (at a file's start, continuation lines with no record
            // before them are a record of their own).
            if let Some(done) = record.take()
                && scan.finish_record(&done, position)? == Flow::Stop
            {
                end.stopped = true;
                break;
            }
            if job.end.is_some_and(|end| offset >= end) {
                break;
            }
            record = Some(Record::new(line_no, offset));
        }
        scan.sink.line(&line);
        scan.totals.lines += 1;
        end.last_line_terminated = line.terminated();
        if let Some(open) = record.as_mut() {
            open.push(&line, job.max_line_bytes);
        }
        line_no += 1;
    }
    if let Some(done) = record.take()
        && !end.stopped
        && scan.finish_record(&done, position)? == Flow::Stop
    {
        end.stopped = true;
    }
    if let Some((offset, e)) = read_error {
        scan.sink.read_error(line_no, offset, e)?;
    }
    scan.sink.finish(&mut scan.rows, end, &mut scan.emit)?;
    let RecordScan { emit, totals, by_reason, rows, .. } = scan;
    drop(emit);
    totals.count(counters, &by_reason);
    counters.bytes_decoded.add(reader.bytes_read() as usize);
    counters.values_built.add(rows.values_built() as usize);
    Ok(totals)
}
