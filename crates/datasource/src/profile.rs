//! Profiling scans for `logfusion validate`: the same line reader and parsers as queries, but
//! instead of rows each file range yields one summary row: lines, rows, rejects by reason,
//! line-level problems (CRLF, NUL and control bytes, missing final newline, longest line),
//! timestamp order, field rules, the first rejects as examples, and a read error if the input
//! broke off (every line before the damage is still counted).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, RecordBatchOptions, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampMicrosecondType, UInt16Type};
use datafusion::common::Result;
use logfusion_formats::{BatchBuilder, escape_excerpt};

use crate::accounting::ScanCounters;
use crate::lines::{Line, LineReader};
use crate::scan::{EXCERPT_BYTES, ScanJob, io_error, parse_line};

/// Examples kept per reject reason and range.
pub const EXAMPLES_PER_REASON: usize = 5;

/// The schema of a profile table: one row per scanned file range.
pub fn profile_schema() -> SchemaRef {
    let u = |n: &str| Field::new(n, DataType::UInt64, false);
    Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        u("range_start"),
        u("lines"),
        u("rows"),
        u("rejects"),
        Field::new("rejects_by_reason", DataType::Utf8, false),
        u("crlf_lines"),
        u("nul_lines"),
        u("control_lines"),
        u("longest_line"),
        Field::new("ends_without_newline", DataType::Boolean, false),
        Field::new("ts_first", DataType::Int64, true),
        Field::new("ts_last", DataType::Int64, true),
        u("ts_out_of_order"),
        u("ts_in_future"),
        Field::new("rule_violations", DataType::Utf8, false),
        Field::new("examples", DataType::Utf8, false),
        Field::new("read_error", DataType::Utf8, true),
    ]))
}

/// Indices (in the format's columns) of the fields profiling looks at.
#[derive(Debug, Clone, Default)]
pub struct ProfileFields {
    /// `ts`, for order and future checks.
    pub ts: Option<usize>,
    /// `status`, for the 100–599 rule.
    pub status: Option<usize>,
    /// `client_ip`, for the valid-address rule.
    pub client_ip: Option<usize>,
}

#[derive(Default)]
struct Stats {
    lines: u64,
    rows: u64,
    rejects: BTreeMap<&'static str, u64>,
    crlf: u64,
    nul: u64,
    control: u64,
    longest: u64,
    ends_without_newline: bool,
    ts_first: Option<i64>,
    ts_last: Option<i64>,
    out_of_order: u64,
    future: u64,
    rules: BTreeMap<&'static str, (u64, u64)>,
    examples: Vec<serde_json::Value>,
    examples_per_reason: BTreeMap<&'static str, usize>,
}

/// Profiles lines from `reader` (a file or a range of it) into one summary batch.
pub fn profile_lines<R: Read>(
    mut reader: LineReader<R>,
    job: &ScanJob,
    fields: &ProfileFields,
    now_micros: i64,
    counters: &ScanCounters,
    line_base: impl FnOnce() -> Result<u64>,
) -> Result<RecordBatch> {
    let timer = counters.scan_time.timer();
    let mut parser = job.format.parser(&job.context);
    let projection: Vec<usize> = [fields.ts, fields.status, fields.client_ip].into_iter().flatten().collect();
    let mut rows = BatchBuilder::new(job.format.columns(), &projection, job.batch_size);
    let mut row_lines: Vec<u64> = Vec::with_capacity(job.batch_size);
    let base = line_base()?;
    let mut s = Stats::default();
    let mut read_error = None;
    let mut last_had_newline = true;
    loop {
        let line = match reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                read_error = Some(io_error(&job.file_name, e).to_string());
                break;
            }
        };
        let offset = line.offset();
        if offset >= job.end {
            break;
        }
        s.lines += 1;
        let line_no = base + s.lines;
        let (raw, len) = match &line {
            Line::Complete { bytes, .. } => (*bytes, bytes.len() as u64),
            Line::TooLong { head, len, .. } => (*head, *len),
        };
        s.longest = s.longest.max(len);
        if raw.last() == Some(&b'\r') {
            s.crlf += 1;
        }
        if memchr::memchr(0, raw).is_some() {
            s.nul += 1;
        } else if has_control(raw) {
            s.control += 1;
        }
        let line_end = offset + len;
        let outcome = parse_line(&line, parser.as_mut(), &mut rows, job.max_line_bytes);
        match outcome {
            Ok(()) => {
                rows.commit_row();
                row_lines.push(line_no);
                s.rows += 1;
            }
            Err(reject) => {
                let code = reject.reason.code();
                *s.rejects.entry(code).or_default() += 1;
                let seen = s.examples_per_reason.entry(code).or_default();
                if *seen < EXAMPLES_PER_REASON {
                    *seen += 1;
                    s.examples.push(serde_json::json!({
                        "line": line_no, "byte_offset": offset, "reason": code,
                        "detail": reject.detail, "excerpt": escape_excerpt(raw, EXCERPT_BYTES),
                    }));
                }
            }
        }
        if rows.rows() >= job.batch_size {
            check_rows(&mut rows, &mut row_lines, fields, &projection, now_micros, &mut s);
        }
        last_had_newline = line_end < reader.offset();
    }
    check_rows(&mut rows, &mut row_lines, fields, &projection, now_micros, &mut s);
    s.ends_without_newline = s.lines > 0 && !last_had_newline && job.end == u64::MAX;
    timer.done();
    counters.lines_read.add(s.lines as usize);
    counters.rows_parsed.add(s.rows as usize);
    counters.lines_rejected.add((s.lines - s.rows) as usize);
    counters.bytes_decoded.add(reader.bytes_read() as usize);
    finish(job, s, read_error)
}

/// Whether `bytes` holds a control byte other than tab and a final `\r` (or DEL). Eight bytes
/// at a time: a word is checked byte by byte only if some byte in it is below 0x20 or is 0x7f.
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

/// A fast check for dotted-quad IPv4 as `Ipv4Addr` parses it (no leading zeros); anything
/// else goes to the full parser.
fn is_ipv4(b: &[u8]) -> bool {
    let mut parts = 0;
    for part in b.split(|&c| c == b'.') {
        parts += 1;
        let ok = matches!(part.len(), 1..=3)
            && part.iter().all(u8::is_ascii_digit)
            && !(part.len() > 1 && part[0] == b'0')
            && part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) <= 255;
        if !ok || parts > 4 {
            return false;
        }
    }
    parts == 4
}

/// Applies the order, future and field rules to the rows parsed so far.
fn check_rows(
    rows: &mut BatchBuilder,
    lines: &mut Vec<u64>,
    fields: &ProfileFields,
    projection: &[usize],
    now_micros: i64,
    s: &mut Stats,
) {
    if rows.rows() == 0 {
        return;
    }
    let arrays = rows.finish();
    let column = |index: Option<usize>| -> Option<&ArrayRef> {
        let i = index?;
        projection.iter().position(|&p| p == i).map(|k| &arrays[k])
    };
    if let Some(ts) = column(fields.ts) {
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        for v in ts.iter().flatten() {
            if s.ts_first.is_none() {
                s.ts_first = Some(v);
            }
            if s.ts_last.is_some_and(|last| v < last) {
                s.out_of_order += 1;
            }
            if v > now_micros {
                s.future += 1;
            }
            s.ts_last = Some(v);
        }
    }
    if let Some(status) = column(fields.status) {
        for (i, v) in status.as_primitive::<UInt16Type>().iter().enumerate() {
            if v.is_some_and(|v| !(100..=599).contains(&v)) {
                let e = s.rules.entry("status_100_599").or_insert((0, lines[i]));
                e.0 += 1;
            }
        }
    }
    if let Some(ip) = column(fields.client_ip) {
        for (i, v) in ip.as_string::<i32>().iter().enumerate() {
            if v.is_some_and(|v| !is_ipv4(v.as_bytes()) && v.parse::<IpAddr>().is_err()) {
                let e = s.rules.entry("client_ip_valid").or_insert((0, lines[i]));
                e.0 += 1;
            }
        }
    }
    lines.clear();
}

fn finish(job: &ScanJob, s: Stats, read_error: Option<String>) -> Result<RecordBatch> {
    let u = |v: u64| Arc::new(UInt64Array::from(vec![v])) as ArrayRef;
    let text = |v: String| Arc::new(StringArray::from(vec![v])) as ArrayRef;
    let rules: BTreeMap<&str, serde_json::Value> =
        s.rules.iter().map(|(k, (n, first))| (*k, serde_json::json!({"count": n, "first_line": first}))).collect();
    let start = if job.end == u64::MAX && job.range_start == 0 { 0 } else { job.range_start };
    let columns: Vec<ArrayRef> = vec![
        text(job.file_name.to_string()),
        u(start),
        u(s.lines),
        u(s.rows),
        u(s.lines - s.rows),
        text(serde_json::to_string(&s.rejects).unwrap_or_default()),
        u(s.crlf),
        u(s.nul),
        u(s.control),
        u(s.longest),
        Arc::new(BooleanArray::from(vec![s.ends_without_newline])),
        Arc::new(Int64Array::from(vec![s.ts_first])),
        Arc::new(Int64Array::from(vec![s.ts_last])),
        u(s.out_of_order),
        u(s.future),
        text(serde_json::to_string(&rules).unwrap_or_default()),
        text(serde_json::Value::Array(s.examples).to_string()),
        Arc::new(StringArray::from(vec![read_error])),
    ];
    let full = RecordBatch::try_new(profile_schema(), columns)?;
    let indices: Vec<usize> =
        job.schema.fields().iter().filter_map(|f| full.schema().index_of(f.name()).ok()).collect();
    let projected = full.project(&indices)?;
    let opts = RecordBatchOptions::new().with_row_count(Some(1));
    Ok(RecordBatch::try_new_with_options(job.schema.clone(), projected.columns().to_vec(), &opts)?)
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

    #[test]
    fn ipv4_fast_path_agrees_with_the_parser() {
        for ip in [
            "10.0.0.1",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "a.b.c.d",
            "",
            "1..2.3",
            "::1",
        ] {
            assert_eq!(is_ipv4(ip.as_bytes()), ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
        }
    }

    #[test]
    fn schema_has_unique_names() {
        let schema = profile_schema();
        let mut names: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
        names.dedup();
        assert_eq!(names.len(), schema.fields().len());
        assert!(schema.field(0).data_type() == &DataType::Utf8 && !schema.field(0).is_nullable());
    }
}
