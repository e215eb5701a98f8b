//! The [`FileOpener`] of log tables: one call per file or byte range. It asks the object store
//! for the bytes (from one byte before the range, to find where its first line starts), then
//! runs the scan on a blocking thread that hands batches over a small channel, so memory stays
//! bounded by a few batches per partition whatever the file size.

use std::io::{self, Read};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion_datasource::PartitionedFile;
use datafusion_datasource::file_stream::{FileOpenFuture, FileOpener};
use futures::StreamExt;
use futures::stream::BoxStream;
use logfusion_formats::FileContext;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};

use crate::accounting::ScanCounters;
use crate::archive::ArchiveMember;
use crate::error::Error;
use crate::line_index::{BLOCK, BlockPublisher, LineIndex, count_blocks};
use crate::location::display_name;
use crate::reading::{CountingReader, FailingReader, check_unchanged, reader_of, skip_bom};
use crate::scan::health::HealthSink;
use crate::scan::rejects::RejectsSink;
use crate::scan::rows::{RowLayout, RowsSink};
use crate::scan::{LineSink, ScanJob, guard_panics, scan_lines};
use crate::table::LogTableOptions;
use logfusion_lines::LineReader;
use logfusion_lines::{Compression, Decoding, decompressing_reader};

/// The line number of the first line of a byte range, attached to its [`PartitionedFile`] by a
/// caller that knows it (the tail of a file whose start was read before): the scan then does
/// not count the lines before the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstLine(pub u64);

/// Batches buffered between a scan thread and the query.
const CHANNEL_BATCHES: usize = 2;
/// Bytes read from the end of a file to find its last line.
const TAIL_BYTES: u64 = 64 * 1024;

/// What a scan of this table produces.
#[derive(Debug, Clone)]
pub(crate) enum ScanOutput {
    /// Rows, laid out as the query asked.
    Rows(RowLayout),
    /// Rejects: the projected columns of the rejects schema.
    Rejects(Vec<usize>),
    /// One health summary per range, keeping this many examples per reject reason.
    Health {
        /// Examples kept per reason and range.
        examples_per_reason: usize,
        /// Timestamps after this (µs since the epoch) are in the future.
        now_micros: i64,
    },
}

impl ScanOutput {
    fn needs_line_numbers(&self) -> bool {
        match self {
            ScanOutput::Rows(layout) => layout.slots.contains(&crate::scan::rows::RowSlot::Line),
            ScanOutput::Rejects(_) | ScanOutput::Health { .. } => true,
        }
    }
}

/// Opens one file or byte range and streams its batches.
pub(crate) struct LogOpener {
    pub store: Arc<dyn ObjectStore>,
    pub store_url: ObjectStoreUrl,
    pub options: Arc<LogTableOptions>,
    pub output: ScanOutput,
    pub schema: SchemaRef,
    pub batch_size: usize,
    pub counters: ScanCounters,
    pub strict: bool,
}

/// Where and how one scan reads.
struct Plan {
    job: Arc<ScanJob>,
    /// The number of the range's first line, when the caller knows it.
    first_line: Option<u64>,
    output: ScanOutput,
    /// The file as listed.
    file: PartitionedFile,
    /// The archive member the scan reads, if the file is an archive.
    member: Option<ArchiveMember>,
    /// First byte the scan asks the store for.
    read_from: u64,
    /// First byte of the line reader: one before the range (0 for a whole file).
    first: u64,
    /// Whether the lines before the range must be counted.
    count_lines: bool,
    /// Whether the file is known to be plain text (its index blocks may be published).
    plain: bool,
    /// Whether a read error fails the query instead of becoming a `read_error` reject.
    strict: bool,
    /// Bytes the line reader asks for at once.
    read_block: usize,
    /// How the decompressed text is decoded.
    decoding: Decoding,
}

impl FileOpener for LogOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let location = file.object_meta.location.clone();
        let size = file.object_meta.size;
        let (start, end) = match &file.range {
            Some(r) => (to_u64(r.start)?, to_u64(r.end)?),
            None => (0, u64::MAX),
        };
        let member = file.extension::<ArchiveMember>().cloned();
        let mut name = display_name(&self.store_url, &location);
        if let Some(m) = &member {
            name = format!("{name}!{}", m.path);
        }
        let plain = !self.options.is_compressed(&file);
        if start > 0 && !plain {
            return Err(Error::CompressedRange { file: name, compression: "compressed" }.into());
        }
        // A range whose first line's number is known (the tail of a file whose start is
        // cached) needs no counting.
        let first_line = file.extension::<FirstLine>().map(|f| f.0);
        let count_lines = start > 0 && self.output.needs_line_numbers() && first_line.is_none();
        let first = start.saturating_sub(1);
        // Counting the lines before a range starts at its index block, in the same read.
        let read_from = if count_lines { first - first % BLOCK } else { first };
        let job = Arc::new(ScanJob {
            format: self.options.format.clone(),
            schema: self.schema.clone(),
            batch_size: self.batch_size,
            max_line_bytes: self.options.max_line_bytes,
            file_name: Arc::from(name),
            context: FileContext::default(),
            range_start: start,
            end: (end < size).then_some(end),
            grown: false,
            sorted: self
                .options
                .sorted_by
                .as_deref()
                .and_then(|column| self.options.format.columns().iter().position(|c| c.name == column)),
        });
        // The bytes to fetch: a member's part of its archive, or the range (from its index
        // block when lines are counted) up to the size at listing: a growing file's later
        // lines are the next query's.
        let fetch = match &member {
            Some(m) => m.fetch_range(size),
            None => read_from..size.max(read_from),
        };
        let read_block = match (&member, plain) {
            (Some(m), _) => self.options.read_block.min(m.size as usize + 1),
            // A small plain file needs no 1 MiB buffer (100 000 small files would zero 100 GB).
            (None, true) => self.options.read_block.min((size - read_from) as usize + 1),
            (None, false) => self.options.read_block,
        };
        let plan = Plan {
            job,
            first_line,
            output: self.output.clone(),
            member,
            file,
            read_from,
            first,
            count_lines,
            plain,
            strict: self.strict,
            read_block,
            decoding: self.options.decoding,
        };
        let (store, store_url, counters) = (self.store.clone(), self.store_url.clone(), self.counters.clone());
        Ok(Box::pin(async move {
            let range = (fetch.start > 0 || fetch.end > 0).then_some(GetRange::Bounded(fetch));
            let options = GetOptions { range, ..Default::default() };
            let fetched = store.get_opts(&location, options).await;
            let mut plan = plan;
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(CHANNEL_BATCHES);
            let handle = tokio::runtime::Handle::current();
            let task = tokio::task::spawn_blocking(move || {
                let source = Source { store: &store, store_url: &store_url, location: &location, handle: &handle };
                let raw = match fetched {
                    Ok(result) => open_listed(result, &mut plan, &source, &counters),
                    Err(e) => Box::new(FailingReader::new(io::Error::other(e))),
                };
                if let Err(e) = run_scan(raw, &plan, &source, &counters, &tx) {
                    send_error(&tx, e);
                }
            });
            Ok(batch_stream(rx, task))
        }))
    }
}

/// The store a scan reads from, for the extra reads that count lines before a range.
struct Source<'a> {
    store: &'a Arc<dyn ObjectStore>,
    store_url: &'a ObjectStoreUrl,
    location: &'a Path,
    handle: &'a tokio::runtime::Handle,
}

impl Source<'_> {
    /// A reader of `[from, to)` of the file.
    fn range(&self, from: u64, to: u64) -> io::Result<Box<dyn Read + Send>> {
        let options = GetOptions { range: Some(GetRange::Bounded(from..to)), ..Default::default() };
        let result = self.handle.block_on(self.store.get_opts(self.location, options)).map_err(io::Error::other)?;
        reader_of(result.payload, result.range, self.handle)
    }
}

/// The reader of a fetched file, after checking it is the file that was listed: not replaced
/// (inode, ETag), not shorter. A file that grew is read up to its listed size, and the scan
/// learns so (its unfinished last line waits for the next read). The tail line is fetched
/// for formats that need it.
fn open_listed(
    result: object_store::GetResult,
    plan: &mut Plan,
    source: &Source<'_>,
    counters: &ScanCounters,
) -> Box<dyn Read + Send> {
    let job = Arc::make_mut(&mut plan.job);
    job.context.modified_micros = Some(result.meta.last_modified.timestamp_micros());
    let listed = &plan.file.object_meta;
    match check_unchanged(listed, &result) {
        Ok(grown) => job.grown = grown,
        Err(e) => return Box::new(FailingReader::new(e)),
    }
    if job.format.needs_last_line() && plan.plain {
        job.context.last_line = last_line(source, listed.size);
    }
    let fetched = reader_of(result.payload, result.range.clone(), source.handle)
        .map(|inner| Box::new(CountingReader { inner, counters: counters.clone() }) as Box<dyn Read + Send>);
    let reader = match &plan.member {
        Some(member) => fetched.and_then(|r| member.reader(r)),
        None => fetched,
    };
    reader.unwrap_or_else(|e| Box::new(FailingReader::new(e)))
}

/// The last non-empty line of the first `size` bytes of the file (from its last 64 KiB), if
/// it can be read.
fn last_line(source: &Source<'_>, size: u64) -> Option<String> {
    let from = size.saturating_sub(TAIL_BYTES);
    let mut tail = Vec::new();
    source.range(from, size).ok()?.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    text.lines().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim_end_matches('\r').to_string())
}

/// Bytes a range asks for at a time once past its end, where only the rest of its last line
/// is wanted.
const PAST_END_READ: u64 = 64 * 1024;

/// The reader of a plain file from a known absolute offset, which keeps that offset for the
/// two jobs that need it: a byte range's soft end (once its reads reach the range's end it
/// asks for at most [`PAST_END_READ`] bytes at a time, so a range reads little more than its
/// own bytes, instead of up to a whole read block more), and the publishing of the newline
/// counts of the index blocks it reads whole.
struct PlainReader<R> {
    inner: R,
    /// Absolute offset of the next byte.
    offset: u64,
    /// Where the range ends (lines starting here belong to the next range); `None`: the file's end.
    end: Option<u64>,
    /// Publishes the newline counts of the blocks read whole, where line numbers are wanted.
    publisher: Option<BlockPublisher>,
}

impl<R: Read> Read for PlainReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = match self.end {
            Some(end) => {
                let allowed = end.saturating_sub(self.offset).saturating_add(PAST_END_READ);
                buf.len().min(usize::try_from(allowed).unwrap_or(usize::MAX))
            }
            None => buf.len(),
        };
        let n = self.inner.read(&mut buf[..len])?;
        if let Some(publisher) = self.publisher.as_mut() {
            publisher.passed(self.offset, &buf[..n]);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Runs the scan of one file or range on the current (blocking) thread.
fn run_scan(
    raw: Box<dyn Read + Send>,
    plan: &Plan,
    source: &Source<'_>,
    counters: &ScanCounters,
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<()> {
    let job = &plan.job;
    let mut first_line_no = plan.first_line.unwrap_or(1);
    let mut raw = raw;
    if plan.count_lines {
        match lines_before(&mut raw, plan, source, counters) {
            Ok(before) => first_line_no = before + 1,
            // The line numbers are unknown: the error is the range's only outcome (line 0).
            Err(e) => {
                raw = Box::new(FailingReader::new(e));
                first_line_no = 0;
            }
        }
    }
    let publish = plan.plain && plan.output.needs_line_numbers() && plan.file.object_meta.size > BLOCK;
    let publisher = publish
        .then(|| BlockPublisher::new(LineIndex::of(source.store_url.as_str(), &plan.file.object_meta), plan.first));
    let end = job.end.filter(|_| plan.plain);
    if end.is_some() || publisher.is_some() {
        raw = Box::new(PlainReader { inner: raw, offset: plan.first, end, publisher });
    }
    let reader: Box<dyn Read + Send> = if job.range_start > 0 {
        raw
    } else {
        match decompressing_reader(raw) {
            Ok((compression, _)) if compression.is_compressed() && job.end.is_some() => {
                let file = job.file_name.to_string();
                return Err(Error::CompressedRange { file, compression: compression.name() }.into());
            }
            // UTF-16 was transcoded by its byte-order mark; other text by the source's decoding.
            Ok((Compression::Utf16Le | Compression::Utf16Be, reader)) => reader,
            Ok((_, reader)) => plan.decoding.reader(reader),
            Err(e) => Box::new(FailingReader::new(e)),
        }
    };
    let (reader, first) = if job.range_start == 0 { skip_bom(reader) } else { (reader, plan.first) };
    let mut lines = LineReader::new(reader, first, plan.read_block, job.max_line_bytes, job.range_start > 0);
    let mut send = |batch: RecordBatch| tx.blocking_send(Ok(batch)).is_ok();
    guard_panics(&job.file_name, |position| {
        let mut run =
            |sink: &mut dyn LineSinkRun| sink.run(&mut lines, job, first_line_no, counters, &mut send, position);
        match &plan.output {
            ScanOutput::Rows(layout) => run(&mut RowsSink::new(job.clone(), layout.clone(), plan.strict)),
            ScanOutput::Rejects(projection) => run(&mut RejectsSink::new(job.clone(), projection.clone(), plan.strict)),
            ScanOutput::Health { examples_per_reason, now_micros } => {
                run(&mut HealthSink::new(job.clone(), *examples_per_reason, *now_micros))
            }
        }
    })
}

/// The scan loop over any sink, callable through `dyn` (the loop itself is generic).
trait LineSinkRun {
    fn run(
        &mut self,
        lines: &mut LineReader<Box<dyn Read + Send>>,
        job: &ScanJob,
        first_line_no: u64,
        counters: &ScanCounters,
        send: &mut dyn FnMut(RecordBatch) -> bool,
        position: &std::cell::Cell<(u64, u64)>,
    ) -> Result<()>;
}

impl<S: LineSink> LineSinkRun for S {
    fn run(
        &mut self,
        lines: &mut LineReader<Box<dyn Read + Send>>,
        job: &ScanJob,
        first_line_no: u64,
        counters: &ScanCounters,
        send: &mut dyn FnMut(RecordBatch) -> bool,
        position: &std::cell::Cell<(u64, u64)>,
    ) -> Result<()> {
        scan_lines(lines, job, first_line_no, self, counters, send, position).map(|_| ())
    }
}

/// The number of lines before the range: the one holding byte 0, plus one per `\n` before
/// the reader's first byte. Whole index blocks come from the file's [`LineIndex`]; the part of
/// the range's own first block is counted from `raw`, which starts there.
fn lines_before(raw: &mut impl Read, plan: &Plan, source: &Source<'_>, counters: &ScanCounters) -> io::Result<u64> {
    let index = LineIndex::of(source.store_url.as_str(), &plan.file.object_meta);
    let before = index.newlines_before((plan.read_from / BLOCK) as usize, |first, end| {
        let to = (end as u64 * BLOCK).min(plan.file.object_meta.size);
        let reader = CountingReader { inner: source.range(first as u64 * BLOCK, to)?, counters: counters.clone() };
        let counts = count_blocks(reader, first, end)?;
        counters.line_index_bytes.add((to - first as u64 * BLOCK) as usize);
        Ok(counts)
    })?;
    let partial = count_newlines(raw, plan.first - plan.read_from)?;
    Ok(before + partial + 1)
}

/// Reads exactly `n` bytes of `reader` and counts their `\n`.
fn count_newlines(reader: &mut impl Read, n: u64) -> io::Result<u64> {
    let mut left = n;
    let mut buf = vec![0u8; 64 * 1024];
    let mut count = 0;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let got = match reader.read(&mut buf[..want]) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file ended before the range")),
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        count += memchr::memchr_iter(b'\n', &buf[..got]).count() as u64;
        left -= got as u64;
    }
    Ok(count)
}

/// Sends a scan error to the query; if the query has gone away nobody needs it.
fn send_error(tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>, e: DataFusionError) {
    if tx.blocking_send(Err(e)).is_err() {
        tracing::debug!("scan error after the query stopped reading");
    }
}

/// The batches of a scan task; at the end, a panic of the task surfaces as an error.
fn batch_stream(
    rx: tokio::sync::mpsc::Receiver<Result<RecordBatch>>,
    task: tokio::task::JoinHandle<()>,
) -> BoxStream<'static, Result<RecordBatch>> {
    futures::stream::unfold((rx, Some(task)), |(mut rx, task)| async move {
        if let Some(item) = rx.recv().await {
            return Some((item, (rx, task)));
        }
        match task?.await {
            Ok(()) => None,
            Err(e) => Some((Err(DataFusionError::Execution(format!("log scan failed: {e}"))), (rx, None))),
        }
    })
    .boxed()
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| DataFusionError::Internal(format!("negative file range {v}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_range_reads_little_past_its_end() {
        let file = vec![b'x'; 1 << 20];
        // The range [1000, 5000) of the file, read in blocks of 256 KiB.
        let mut reader = PlainReader { inner: &file[1000..], offset: 1000, end: Some(5000), publisher: None };
        let mut buf = vec![0; 256 << 10];
        let reads: Vec<usize> = (0..3).map(|_| reader.read(&mut buf).expect("a slice reads")).collect();
        let past = PAST_END_READ as usize;
        assert_eq!(reads, [4000 + past, past, past]);
        assert_eq!(reader.offset, 1000 + reads.iter().sum::<usize>() as u64);
    }

    #[test]
    fn a_plain_read_publishes_the_blocks_it_reads_whole() {
        // Index blocks are 64 bytes in tests: a newline every 10 bytes, 5 blocks.
        let file: Vec<u8> = (0..5 * BLOCK).map(|i| if i % 10 == 9 { b'\n' } else { b'x' }).collect();
        let index = Arc::new(LineIndex::new(file.len() as u64));
        let start = 70; // in block 1, which is not read whole
        let publisher = Some(BlockPublisher::new(index.clone(), start));
        let mut reader = PlainReader { inner: &file[start as usize..], offset: start, end: None, publisher };
        let mut buf = [0u8; 100]; // reads crossing blocks' ends
        while reader.read(&mut buf).expect("a slice reads") > 0 {}
        let mut counted = vec![];
        let before = index
            .newlines_before(5, |first, end| {
                counted.push((first, end));
                count_blocks(&file[first * BLOCK as usize..end * BLOCK as usize], first, end)
            })
            .expect("counts");
        assert_eq!(before, memchr::memchr_iter(b'\n', &file).count() as u64);
        assert_eq!(counted, [(0, 2)], "blocks 2, 3 and 4 were published by the read");
    }
}
