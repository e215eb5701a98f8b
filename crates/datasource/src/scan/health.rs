//! The health of log files, for `logfusion validate`: the same line loop and parsers as
//! queries, but each file range yields one [`FileHealth`] — lines, rows, rejects by reason,
//! line-level problems (CRLF, NUL and control bytes, missing final newline, longest line),
//! timestamp order, the first rejects as examples, and a read error if the input broke off
//! (every line before the damage is still counted). Nothing here knows a format: the
//! timestamp column is the format's [`ResolvedFormat::time_column`]; field rules are SQL,
//! checked by the engine.
//!
//! A `<table>_profile` table holds one row per range in the typed Arrow layout of
//! [`health_schema`]; [`FileHealth::to_batch`] and [`FileHealth::from_batch`] are the only
//! code that writes and reads it.
//!
//! [`ResolvedFormat::time_column`]: logfusion_formats::ResolvedFormat::time_column

use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, ListBuilder, MapBuilder, RecordBatch, StringBuilder, StructBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimestampMicrosecondType, UInt64Type};
use datafusion::common::{DataFusionError, Result};
use logfusion_formats::{BatchBuilder, Reject, RejectReason, escape_excerpt, utc_timestamp_type};

use super::{EXCERPT_BYTES, Emitter, Flow, LineSink, ScanEnd, ScanJob};
use crate::error::Error;
use logfusion_lines::Line;

/// One reject shown as an example of its reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectExample {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line (in the decompressed stream).
    pub byte_offset: u64,
    /// The reason code.
    pub reason: String,
    /// What is wrong.
    pub detail: String,
    /// The line, escaped and capped.
    pub excerpt: String,
}

/// The health of a file, or of a byte range of it. Ranges of one file add up, in file order,
/// with `+=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileHealth {
    /// The file.
    #[serde(skip_serializing)]
    pub file: String,
    /// Where the range starts (0 for a whole file).
    #[serde(skip_serializing)]
    pub range_start: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines that are valid rows.
    pub rows: u64,
    /// Lines that are rejects.
    pub rejects: u64,
    /// Rejects by reason code.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Lines ending in CRLF.
    pub crlf_lines: u64,
    /// Lines holding NUL bytes.
    pub nul_lines: u64,
    /// Lines holding other control bytes.
    pub control_lines: u64,
    /// Longest line in bytes.
    pub longest_line: u64,
    /// The last line of the file has no `\n`.
    pub ends_without_newline: bool,
    /// First timestamp (µs since the epoch, UTC) of the range.
    pub ts_first: Option<i64>,
    /// Last timestamp of the range.
    pub ts_last: Option<i64>,
    /// Rows whose timestamp is earlier than the previous row's.
    pub ts_out_of_order: u64,
    /// Rows whose timestamp lies after the scan started.
    pub ts_in_future: u64,
    /// The first rejects of each reason.
    pub examples: Vec<RejectExample>,
    /// Reading stopped here (truncated or corrupt data); the lines before are counted.
    pub read_error: Option<String>,
}

impl AddAssign<&FileHealth> for FileHealth {
    /// Adds the next range of the same file: counts add up, a timestamp going back across
    /// the boundary counts as out of order, and whichever range read the end of the file
    /// says whether it lacks a final newline.
    fn add_assign(&mut self, next: &FileHealth) {
        self.lines += next.lines;
        self.rows += next.rows;
        self.rejects += next.rejects;
        for (reason, n) in &next.rejects_by_reason {
            *self.rejects_by_reason.entry(reason.clone()).or_default() += n;
        }
        self.crlf_lines += next.crlf_lines;
        self.nul_lines += next.nul_lines;
        self.control_lines += next.control_lines;
        self.longest_line = self.longest_line.max(next.longest_line);
        self.ends_without_newline |= next.ends_without_newline;
        if let (Some(last), Some(first)) = (self.ts_last, next.ts_first)
            && first < last
        {
            self.ts_out_of_order += 1;
        }
        self.ts_first = self.ts_first.or(next.ts_first);
        self.ts_last = next.ts_last.or(self.ts_last);
        self.ts_out_of_order += next.ts_out_of_order;
        self.ts_in_future += next.ts_in_future;
        self.examples.extend(next.examples.iter().cloned());
        if self.read_error.is_none() {
            self.read_error.clone_from(&next.read_error);
        }
    }
}

/// The schema of a `<table>_profile` table: one row per scanned file range.
pub fn health_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let u = |n: &str| Field::new(n, DataType::UInt64, false);
            let ts = |n: &str| Field::new(n, utc_timestamp_type(), true);
            Arc::new(Schema::new(vec![
                Field::new("file", DataType::Utf8, false),
                u("range_start"),
                u("lines"),
                u("rows"),
                u("rejects"),
                Field::new("rejects_by_reason", reasons_builder().finish().data_type().clone(), false),
                u("crlf_lines"),
                u("nul_lines"),
                u("control_lines"),
                u("longest_line"),
                Field::new("ends_without_newline", DataType::Boolean, false),
                ts("ts_first"),
                ts("ts_last"),
                u("ts_out_of_order"),
                u("ts_in_future"),
                Field::new("examples", examples_builder().finish().data_type().clone(), false),
                Field::new("read_error", DataType::Utf8, true),
            ]))
        })
        .clone()
}

fn reasons_builder() -> MapBuilder<StringBuilder, UInt64Builder> {
    MapBuilder::new(None, StringBuilder::new(), UInt64Builder::new())
}

fn example_fields() -> Fields {
    Fields::from(vec![
        Field::new("line", DataType::UInt64, false),
        Field::new("byte_offset", DataType::UInt64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("excerpt", DataType::Utf8, false),
    ])
}

fn examples_builder() -> ListBuilder<StructBuilder> {
    ListBuilder::new(StructBuilder::from_fields(example_fields(), 0))
}

impl FileHealth {
    /// The rows of `health` as a batch of [`health_schema`].
    pub fn to_batch(health: &[FileHealth]) -> Result<RecordBatch> {
        let n = health.len();
        let mut file = StringBuilder::new();
        let mut numbers: Vec<UInt64Builder> = (0..10).map(|_| UInt64Builder::with_capacity(n)).collect();
        let mut reasons = reasons_builder();
        let mut no_newline = BooleanBuilder::with_capacity(n);
        let utc = |b: TimestampMicrosecondBuilder| b.with_timezone("UTC");
        let (mut ts_first, mut ts_last) =
            (utc(TimestampMicrosecondBuilder::new()), utc(TimestampMicrosecondBuilder::new()));
        let mut examples = examples_builder();
        let mut read_error = StringBuilder::new();
        for h in health {
            file.append_value(&h.file);
            let values = [
                h.range_start,
                h.lines,
                h.rows,
                h.rejects,
                h.crlf_lines,
                h.nul_lines,
                h.control_lines,
                h.longest_line,
                h.ts_out_of_order,
                h.ts_in_future,
            ];
            for (b, v) in numbers.iter_mut().zip(values) {
                b.append_value(v);
            }
            for (reason, count) in &h.rejects_by_reason {
                reasons.keys().append_value(reason);
                reasons.values().append_value(*count);
            }
            reasons.append(true)?;
            no_newline.append_value(h.ends_without_newline);
            ts_first.append_option(h.ts_first);
            ts_last.append_option(h.ts_last);
            let items = examples.values();
            for e in &h.examples {
                append_example(items, e);
            }
            examples.append(true);
            read_error.append_option(h.read_error.as_deref());
        }
        let mut n = numbers.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
        let mut next = || n.next().ok_or_else(|| DataFusionError::Internal("health columns".into()));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(file.finish()),
            next()?,
            next()?,
            next()?,
            next()?,
            Arc::new(reasons.finish()),
            next()?,
            next()?,
            next()?,
            next()?,
            Arc::new(no_newline.finish()),
            Arc::new(ts_first.finish()),
            Arc::new(ts_last.finish()),
            next()?,
            next()?,
            Arc::new(examples.finish()),
            Arc::new(read_error.finish()),
        ];
        Ok(RecordBatch::try_new(health_schema(), columns)?)
    }

    /// Reads back the rows of a batch of [`health_schema`] (all its columns).
    pub fn from_batch(batch: &RecordBatch) -> Result<Vec<FileHealth>> {
        let column = |name: &str| {
            batch.column_by_name(name).ok_or_else(|| DataFusionError::Internal(format!("health column {name} missing")))
        };
        let text = |name: &str| column(name).map(|c| c.as_string::<i32>().clone());
        let number = |name: &str| column(name).map(|c| c.as_primitive::<UInt64Type>().clone());
        let time = |name: &str| column(name).map(|c| c.as_primitive::<TimestampMicrosecondType>().clone());
        let (file, read_error) = (text("file")?, text("read_error")?);
        let [range_start, lines, rows, rejects, crlf, nul, control, longest, order, future] = [
            "range_start",
            "lines",
            "rows",
            "rejects",
            "crlf_lines",
            "nul_lines",
            "control_lines",
            "longest_line",
            "ts_out_of_order",
            "ts_in_future",
        ]
        .map(number);
        let (range_start, lines, rows, rejects) = (range_start?, lines?, rows?, rejects?);
        let (crlf, nul, control, longest, order, future) = (crlf?, nul?, control?, longest?, order?, future?);
        let (ts_first, ts_last) = (time("ts_first")?, time("ts_last")?);
        let no_newline = column("ends_without_newline")?.as_boolean().clone();
        let reasons = column("rejects_by_reason")?.as_map().clone();
        let examples = column("examples")?.as_list::<i32>().clone();
        let mut out = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let entry = reasons.value(i);
            let (keys, counts) = (entry.column(0).as_string::<i32>(), entry.column(1).as_primitive::<UInt64Type>());
            let rejects_by_reason = (0..entry.len()).map(|k| (keys.value(k).to_string(), counts.value(k))).collect();
            let items = examples.value(i);
            let items = items.as_struct();
            let field = |k: usize| items.column(k);
            let examples = (0..items.len())
                .map(|k| RejectExample {
                    line: field(0).as_primitive::<UInt64Type>().value(k),
                    byte_offset: field(1).as_primitive::<UInt64Type>().value(k),
                    reason: field(2).as_string::<i32>().value(k).to_string(),
                    detail: field(3).as_string::<i32>().value(k).to_string(),
                    excerpt: field(4).as_string::<i32>().value(k).to_string(),
                })
                .collect();
            out.push(FileHealth {
                file: file.value(i).to_string(),
                range_start: range_start.value(i),
                lines: lines.value(i),
                rows: rows.value(i),
                rejects: rejects.value(i),
                rejects_by_reason,
                crlf_lines: crlf.value(i),
                nul_lines: nul.value(i),
                control_lines: control.value(i),
                longest_line: longest.value(i),
                ends_without_newline: no_newline.value(i),
                ts_first: ts_first.is_valid(i).then(|| ts_first.value(i)),
                ts_last: ts_last.is_valid(i).then(|| ts_last.value(i)),
                ts_out_of_order: order.value(i),
                ts_in_future: future.value(i),
                examples,
                read_error: read_error.is_valid(i).then(|| read_error.value(i).to_string()),
            });
        }
        Ok(out)
    }
}

fn append_example(items: &mut StructBuilder, e: &RejectExample) {
    let mut ok = true;
    ok &= items.field_builder::<UInt64Builder>(0).map(|b| b.append_value(e.line)).is_some();
    ok &= items.field_builder::<UInt64Builder>(1).map(|b| b.append_value(e.byte_offset)).is_some();
    ok &= items.field_builder::<StringBuilder>(2).map(|b| b.append_value(&e.reason)).is_some();
    ok &= items.field_builder::<StringBuilder>(3).map(|b| b.append_value(&e.detail)).is_some();
    ok &= items.field_builder::<StringBuilder>(4).map(|b| b.append_value(&e.excerpt)).is_some();
    debug_assert!(ok, "example fields match example_fields()");
    items.append(true);
}

/// Accumulates the health of one range.
pub(crate) struct HealthSink {
    job: Arc<ScanJob>,
    health: FileHealth,
    /// Index of the format's timestamp column, if it has one.
    time_column: Option<usize>,
    /// Rejects kept per reason.
    examples_per_reason: usize,
    /// Timestamps after this (µs) are in the future.
    now_micros: i64,
}

impl HealthSink {
    /// A sink for `job` keeping `examples_per_reason` examples of each reason; timestamps
    /// after `now_micros` count as in the future.
    pub fn new(job: Arc<ScanJob>, examples_per_reason: usize, now_micros: i64) -> Self {
        let time_column = job.format.time_column();
        let range_start = job.range_start;
        let health = FileHealth { file: job.file_name.to_string(), range_start, ..Default::default() };
        HealthSink { job, health, time_column, examples_per_reason, now_micros }
    }

    /// Applies the timestamp checks to the rows parsed so far.
    fn check_rows(&mut self, rows: &mut BatchBuilder) {
        if rows.rows() == 0 {
            return;
        }
        let arrays = rows.finish();
        let Some(ts) = arrays.first().filter(|_| self.time_column.is_some()) else { return };
        let h = &mut self.health;
        for v in ts.as_primitive::<TimestampMicrosecondType>().iter().flatten() {
            if h.ts_first.is_none() {
                h.ts_first = Some(v);
            }
            if h.ts_last.is_some_and(|last| v < last) {
                h.ts_out_of_order += 1;
            }
            if v > self.now_micros {
                h.ts_in_future += 1;
            }
            h.ts_last = Some(v);
        }
    }
}

impl LineSink for HealthSink {
    fn parser_projection(&self) -> Vec<usize> {
        self.time_column.into_iter().collect()
    }

    fn line(&mut self, line: &Line<'_>) {
        let raw = line.raw();
        let h = &mut self.health;
        h.lines += 1;
        h.longest_line = h.longest_line.max(line.byte_len());
        if raw.last() == Some(&b'\r') {
            h.crlf_lines += 1;
        }
        if memchr::memchr(0, raw).is_some() {
            h.nul_lines += 1;
        } else if has_control(raw) {
            h.control_lines += 1;
        }
    }

    fn row(&mut self, _line_no: u64, rows: &mut BatchBuilder, _: &mut Emitter<'_>) -> Result<Flow> {
        self.health.rows += 1;
        if rows.rows() >= self.job.batch_size {
            self.check_rows(rows);
        }
        Ok(Flow::Continue)
    }

    fn continued_lines(&mut self, continued: u64, rejected: Option<RejectReason>) {
        let h = &mut self.health;
        match rejected {
            None => h.rows += continued,
            Some(reason) => {
                h.rejects += continued;
                *h.rejects_by_reason.entry(reason.code().to_string()).or_default() += continued;
            }
        }
    }

    fn reject(&mut self, line_no: u64, offset: u64, reject: &Reject, raw: &[u8], _: &mut Emitter<'_>) -> Result<Flow> {
        let code = reject.reason.code();
        let h = &mut self.health;
        h.rejects += 1;
        let seen = h.rejects_by_reason.entry(code.to_string()).or_default();
        *seen += 1;
        if *seen as usize <= self.examples_per_reason {
            h.examples.push(RejectExample {
                line: line_no,
                byte_offset: offset,
                reason: code.to_string(),
                detail: reject.detail.clone(),
                excerpt: escape_excerpt(raw, EXCERPT_BYTES),
            });
        }
        Ok(Flow::Continue)
    }

    fn read_error(&mut self, _line_no: u64, _offset: u64, error: std::io::Error) -> Result<()> {
        self.health.read_error = Some(Error::read(&self.job.file_name, error).to_string());
        Ok(())
    }

    fn finish(&mut self, rows: &mut BatchBuilder, end: ScanEnd, emit: &mut Emitter<'_>) -> Result<()> {
        self.check_rows(rows);
        // Only the line at the end of the file can lack its `\n`, whichever range read it.
        self.health.ends_without_newline = self.health.lines > 0 && !end.last_line_terminated;
        let full = FileHealth::to_batch(std::slice::from_ref(&self.health))?;
        let indices: Vec<usize> =
            self.job.schema.fields().iter().filter_map(|f| full.schema().index_of(f.name()).ok()).collect();
        let projected = full.project(&indices)?;
        // The query may have stopped reading; then nobody needs the summary.
        let _ = emit.emit(super::batch(&self.job.schema, projected.columns().to_vec(), 1)?);
        Ok(())
    }
}

/// Whether `bytes` holds a control byte other than tab and a final `\r` (or DEL). Eight bytes
/// at a time: a word is checked byte by byte only if some byte in it is below 0x20 or is 0x7f
/// (the usual "has a zero byte" trick, applied to `x - 0x20` and `x ^ 0x7f`).
fn has_control(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let slow = |chunk: &[u8]| chunk.iter().any(|&b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let y = x ^ (ONES * 0x7f);
        let is_del = y.wrapping_sub(ONES) & !y & HIGH;
        if (below_space | is_del) != 0 && slow(chunk) {
            return true;
        }
    }
    slow(chunks.remainder())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_are_found_anywhere() {
        let clean = b"10.0.0.1 - - [01/Oct/2026] \"GET / HTTP/1.1\"\t200 \xc3\xa9\r";
        assert!(!has_control(clean));
        for at in 0..clean.len() {
            for bad in [0x01u8, 0x1b, 0x7f, 0x0b] {
                let mut line = clean.to_vec();
                line[at] = bad;
                assert!(has_control(&line), "{bad:#x} at {at}");
            }
        }
    }

    fn sample(file: &str, start: u64) -> FileHealth {
        FileHealth {
            file: file.into(),
            range_start: start,
            lines: 3,
            rows: 2,
            rejects: 1,
            rejects_by_reason: [("bad_syntax".to_string(), 1)].into(),
            crlf_lines: 1,
            longest_line: 40 + start,
            ts_first: Some(10),
            ts_last: Some(20),
            examples: vec![RejectExample {
                line: 2 + start,
                byte_offset: 7,
                reason: "bad_syntax".into(),
                detail: "d".into(),
                excerpt: "x\\x1B".into(),
            }],
            read_error: (start > 0).then(|| "reading f: truncated".to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn batches_round_trip_typed() {
        let health =
            vec![sample("a.log", 0), sample("b.log", 5), FileHealth { file: "c.log".into(), ..Default::default() }];
        let batch = FileHealth::to_batch(&health).unwrap();
        assert_eq!(batch.schema(), health_schema());
        assert!(matches!(batch.schema().field_with_name("rejects_by_reason").unwrap().data_type(), DataType::Map(..)));
        assert_eq!(FileHealth::from_batch(&batch).unwrap(), health);
    }

    #[test]
    fn ranges_add_up() {
        let mut whole = sample("a.log", 0);
        let mut second = sample("a.log", 100);
        second.ts_first = Some(5);
        whole += &second;
        assert_eq!((whole.lines, whole.rows, whole.rejects), (6, 4, 2));
        assert_eq!(whole.rejects_by_reason["bad_syntax"], 2);
        assert_eq!(whole.ts_out_of_order, 1, "5 after 20 across the boundary");
        assert_eq!((whole.ts_first, whole.ts_last), (Some(10), Some(20)));
        assert_eq!(whole.examples.len(), 2);
        assert_eq!(whole.longest_line, 140);
        assert!(whole.read_error.is_some());
    }
}
