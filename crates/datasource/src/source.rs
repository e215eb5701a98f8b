//! The DataFusion [`FileSource`] and [`FileOpener`] of log files: one opener call per file or
//! byte range; the scan itself runs on a blocking thread and hands batches over a small channel,
//! so memory stays bounded by a few batches per partition whatever the file size.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr_common::sort_expr::LexOrdering;
use datafusion::physical_plan::DisplayFormatType;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion_datasource::file_groups::{FileGroup, FileGroupPartitioner};
use datafusion_datasource::file_stream::{FileOpenFuture, FileOpener};
use datafusion_datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion_datasource::{PartitionedFile, TableSchema};
use futures::StreamExt;
use futures::stream::BoxStream;
use logfusion_formats::{FileContext, ResolvedFormat};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore};

use crate::accounting::ScanCounters;
use crate::compression::{Compression, decompressing_reader};
use crate::lines::LineReader;
use crate::scan::{RowSlot, ScanJob, ScanOutput, io_error, scan_lines};

/// Bytes the line reader asks the OS for at once.
const READ_BLOCK: usize = 1 << 20;
/// Batches buffered between a scan thread and the query.
const CHANNEL_BATCHES: usize = 2;

/// What a log table yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Parsed rows: the format's columns, then `_file` and `_line`.
    Rows,
    /// One row per rejected line (see [`crate::accounting::rejects_schema`]).
    Rejects,
    /// One summary row per file range, for `validate` (see [`crate::profile::profile_schema`]).
    Profile,
}

/// Everything about a log table the scan needs: format, kind, limits, which files are
/// compressed (so they are never split into byte ranges).
#[derive(Debug, Clone)]
pub struct LogTableOptions {
    /// Name of the table (for reports).
    pub table: String,
    /// The resolved format of every file of the table.
    pub format: Arc<ResolvedFormat>,
    /// Rows or rejects.
    pub kind: TableKind,
    /// Lines longer than this are rejected without being buffered.
    pub max_line_bytes: usize,
    /// Paths (object-store locations) known to be compressed, whatever their extension.
    pub compressed: Arc<HashSet<String>>,
    /// Prepended to object-store locations to name files in `_file` and rejects (`/` for local
    /// files, `s3://bucket/` for S3).
    pub location_prefix: String,
}

impl LogTableOptions {
    fn is_compressed(&self, file: &PartitionedFile) -> bool {
        let location = file.object_meta.location.as_ref();
        Compression::from_extension(location).is_compressed() || self.compressed.contains(location)
    }
}

/// The [`FileSource`] of log tables.
#[derive(Debug, Clone)]
pub struct LogSource {
    table_schema: TableSchema,
    projection: SplitProjection,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
    options: Arc<LogTableOptions>,
    /// Whether the parser builds only the projected columns (see [`LogScanOptions`]).
    projection_pushdown: bool,
}

impl LogSource {
    /// A source over `table_schema` (the format's schema plus partition columns), unprojected.
    pub fn new(table_schema: TableSchema, options: Arc<LogTableOptions>) -> Self {
        LogSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
            options,
            projection_pushdown: true,
        }
    }

    /// This source with projection pushdown into the parser on or off. Off, the parser builds
    /// every column and the scan then drops the ones the query does not need: what the scan
    /// would cost without pushdown, for benchmarking plan choices.
    pub fn with_projection_pushdown(&self, enabled: bool) -> Self {
        LogSource { projection_pushdown: enabled, ..self.clone() }
    }

    /// The options of the table this source scans.
    pub fn options(&self) -> &LogTableOptions {
        &self.options
    }

    /// The scan output for the file columns the query needs.
    fn output(&self) -> ScanOutput {
        let indices = &self.projection.file_indices;
        match self.options.kind {
            TableKind::Rejects => ScanOutput::Rejects { projection: indices.clone() },
            TableKind::Profile => ScanOutput::Profile,
            TableKind::Rows => {
                let parsed = self.options.format.columns().len();
                let mut parser_projection: Vec<usize> =
                    if self.projection_pushdown { Vec::new() } else { (0..parsed).collect() };
                let layout = indices
                    .iter()
                    .map(|&i| match i.cmp(&parsed) {
                        std::cmp::Ordering::Less if !self.projection_pushdown => RowSlot::Parsed(i),
                        std::cmp::Ordering::Less => {
                            parser_projection.push(i);
                            RowSlot::Parsed(parser_projection.len() - 1)
                        }
                        std::cmp::Ordering::Equal => RowSlot::File,
                        std::cmp::Ordering::Greater => RowSlot::Line,
                    })
                    .collect();
                ScanOutput::Rows { parser_projection, layout }
            }
        }
    }
}

impl FileSource for LogSource {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        _config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = self.table_schema.file_schema();
        let schema = Arc::new(file_schema.project(&self.projection.file_indices)?);
        let inner: Arc<dyn FileOpener> = Arc::new(LogOpener {
            store,
            options: self.options.clone(),
            output: self.output(),
            schema,
            batch_size: self.batch_size.unwrap_or(8192),
            counters: ScanCounters::new(&self.metrics, partition),
        });
        ProjectionOpener::try_new(self.projection.clone(), inner, file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut source = self.clone();
        source.batch_size = Some(batch_size);
        Arc::new(source)
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        let mut source = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        source.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(source)))
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn fmt_extra(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if self.projection_pushdown { Ok(()) } else { write!(f, ", projection_pushdown=false") }
    }

    fn file_type(&self) -> &str {
        match self.options.kind {
            TableKind::Rows => "log",
            TableKind::Rejects => "log_rejects",
            TableKind::Profile => "log_profile",
        }
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        datafusion::physical_plan::apply_expression_roots(self.projection.source.iter(), f)
    }

    /// Splits plain files into byte ranges; each compressed file goes whole to the lightest group.
    fn repartitioned(
        &self,
        target_partitions: usize,
        repartition_file_min_size: usize,
        output_ordering: Option<LexOrdering>,
        config: &FileScanConfig,
    ) -> Result<Option<FileScanConfig>> {
        if output_ordering.is_some() || target_partitions == 0 {
            return Ok(None);
        }
        let (packed, plain): (Vec<_>, Vec<_>) =
            config.file_groups.iter().flat_map(|g| g.iter().cloned()).partition(|f| self.options.is_compressed(f));
        let mut groups = if plain.is_empty() {
            vec![]
        } else {
            FileGroupPartitioner::new()
                .with_target_partitions(target_partitions)
                .with_repartition_file_min_size(repartition_file_min_size)
                .repartition_file_groups(&[FileGroup::new(plain.clone())])
                .unwrap_or_else(|| FileGroup::new(plain).split_files(target_partitions))
        };
        let mut packed = packed;
        packed.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
        for file in packed {
            if groups.len() < target_partitions {
                groups.push(FileGroup::new(vec![file]));
                continue;
            }
            let lightest = groups.iter_mut().min_by_key(|g| g.iter().map(|f| f.effective_size()).sum::<u64>());
            match lightest {
                Some(g) => g.push(file),
                None => groups.push(FileGroup::new(vec![file])),
            }
        }
        let mut out = config.clone();
        out.file_groups = groups;
        Ok(Some(out))
    }
}

/// Opens one file or byte range and streams its batches.
struct LogOpener {
    store: Arc<dyn ObjectStore>,
    options: Arc<LogTableOptions>,
    output: ScanOutput,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batch_size: usize,
    counters: ScanCounters,
}

impl FileOpener for LogOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let store = self.store.clone();
        let location = file.object_meta.location.clone();
        let size = file.object_meta.size;
        let (start, end) = match &file.range {
            Some(r) => (to_u64(r.start)?, to_u64(r.end)?),
            None => (0, u64::MAX),
        };
        if start > 0 && self.options.is_compressed(&file) {
            return Err(DataFusionError::Execution(format!(
                "{location}: a compressed file cannot be read from byte {start}"
            )));
        }
        let job = ScanJob {
            format: self.options.format.clone(),
            output: self.output.clone(),
            schema: self.schema.clone(),
            batch_size: self.batch_size,
            max_line_bytes: self.options.max_line_bytes,
            file_name: Arc::from(format!("{}{location}", self.options.location_prefix)),
            range_start: start,
            context: FileContext::default(),
            end: if end >= size { u64::MAX } else { end },
        };
        let counters = self.counters.clone();
        Ok(Box::pin(async move {
            let options = GetOptions { range: (start > 0).then(|| GetRange::Offset(start - 1)), ..Default::default() };
            let result = store.get_opts(&location, options).await?;
            let mut job = job;
            job.context.modified_micros = Some(result.meta.last_modified.timestamp_micros());
            let range = result.range.clone();
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(CHANNEL_BATCHES);
            let handle = tokio::runtime::Handle::current();
            let task = tokio::task::spawn_blocking(move || {
                let raw: Box<dyn Read + Send> = match result.payload {
                    GetResultPayload::File(mut f, _) => match f.seek(SeekFrom::Start(range.start)) {
                        Ok(_) => Box::new(f),
                        Err(e) => return send_error(&tx, io_error(&job.file_name, e)),
                    },
                    GetResultPayload::Stream(s) => Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
                        tokio_util::io::StreamReader::new(s.map(|r| r.map_err(io::Error::other))),
                        handle.clone(),
                    )),
                };
                let counted = CountingReader { inner: raw, counters: counters.clone() };
                let outcome = run_scan(counted, start, &job, &counters, &store, &location, &handle, &tx);
                if let Err(e) = outcome {
                    send_error(&tx, e);
                }
            });
            Ok(batch_stream(rx, task))
        }))
    }
}

/// Runs the scan of one file or range on the current (blocking) thread.
#[allow(clippy::too_many_arguments)]
fn run_scan(
    raw: CountingReader,
    start: u64,
    job: &ScanJob,
    counters: &ScanCounters,
    store: &Arc<dyn ObjectStore>,
    location: &Path,
    handle: &tokio::runtime::Handle,
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<()> {
    let io = |e| io_error(&job.file_name, e);
    let reader: Box<dyn Read + Send> = if start > 0 {
        Box::new(raw)
    } else {
        let (compression, reader) = decompressing_reader(raw).map_err(io)?;
        if compression.is_compressed() && job.end != u64::MAX {
            return Err(DataFusionError::Execution(format!(
                "{}: a {} file cannot be split into byte ranges",
                job.file_name,
                compression.name()
            )));
        }
        reader
    };
    let first = start.saturating_sub(1);
    let lines = LineReader::new(reader, first, READ_BLOCK, job.max_line_bytes, start > 0).map_err(io)?;
    let line_base = || -> Result<u64> {
        if start == 0 {
            return Ok(0);
        }
        // Lines before the range: newlines in [0, start - 1), plus the one the reader skipped.
        Ok(count_newlines(store, location, first, handle).map_err(io)? + 1)
    };
    if let ScanOutput::Profile = job.output {
        let columns = job.format.columns();
        let find = |name: &str| columns.iter().position(|c| c.name == name);
        let fields =
            crate::profile::ProfileFields { ts: find("ts"), status: find("status"), client_ip: find("client_ip") };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(i64::MAX);
        let batch = crate::profile::profile_lines(lines, job, &fields, now, counters, line_base)?;
        // The query may have stopped reading; then nobody needs the summary.
        let _ = tx.blocking_send(Ok(batch));
        return Ok(());
    }
    scan_lines(lines, job, counters, line_base, |batch| tx.blocking_send(Ok(batch)).is_ok())?;
    Ok(())
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

/// Counts `\n` in the first `len` bytes of an object.
fn count_newlines(
    store: &Arc<dyn ObjectStore>,
    location: &Path,
    len: u64,
    handle: &tokio::runtime::Handle,
) -> io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    let options = GetOptions { range: Some(GetRange::Bounded(0..len)), ..Default::default() };
    let result = handle.block_on(store.get_opts(location, options)).map_err(io::Error::other)?;
    let mut reader: Box<dyn Read> = match result.payload {
        GetResultPayload::File(mut f, _) => {
            f.seek(SeekFrom::Start(0))?;
            Box::new(f.take(len))
        }
        GetResultPayload::Stream(s) => Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
            tokio_util::io::StreamReader::new(s.map(|r| r.map_err(io::Error::other))),
            handle.clone(),
        )),
    };
    let mut buf = vec![0u8; READ_BLOCK];
    let mut count = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(count),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        count += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

/// A reader that adds the bytes it reads to the `bytes_scanned` metric.
struct CountingReader {
    inner: Box<dyn Read + Send>,
    counters: ScanCounters,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counters.bytes_scanned.add(n);
        Ok(n)
    }
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| DataFusionError::Internal(format!("negative file range {v}")))
}
