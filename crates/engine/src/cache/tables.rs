//! Parsed columns of log tables, one entry per file (see the module doc of [`super`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::CompressionType;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::MemTable;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::object_store::{GetOptions, GetRange};
use datafusion::physical_plan::ExecutionPlanProperties;
use futures::StreamExt;
use logfusion_datasource::{FirstLine, LogFile, LogTable, LogTableProvider, TableKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Cache, hex, key_of, plan_of, touch, write_atomic};
use crate::error::{EngineError, Result};
use crate::metrics::{TableScanStats, scan_stats};
use crate::session::Session;
use crate::suite::Statement;

/// Bytes at the end of a parsed file whose hash tells, later, that a grown file still starts
/// with what was parsed.
const TAIL_BYTES: u64 = 4096;

/// What the statements of a suite read of its log tables.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    /// Per table, the columns read (indices into the table's schema).
    pub columns: BTreeMap<String, BTreeSet<usize>>,
    /// Per statement (by name), the tables it reads.
    pub tables_of: BTreeMap<String, BTreeSet<String>>,
}

/// What `statements` read of the log tables `tables`, or `None` when a statement cannot be
/// planned before the suite runs (it reads a view an earlier statement creates): then no
/// table is cached, as the columns such a statement reads are not known.
pub(crate) async fn needs(session: &Session, statements: &[Statement], tables: &[&str]) -> Result<Option<Needs>> {
    let mut out = Needs::default();
    let state = session.ctx.state();
    for statement in statements {
        let Some(plan) = plan_of(session, &statement.sql).await else { return Ok(None) };
        let plan = state.optimize(&plan)?;
        let read = out.tables_of.entry(statement.name.clone()).or_default();
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node
                && tables.contains(&scan.table_name.table())
            {
                let name = scan.table_name.table().to_string();
                let columns = out.columns.entry(name.clone()).or_default();
                match &scan.projection {
                    Some(projection) => columns.extend(projection.iter().copied()),
                    None => columns.extend(0..scan.source.schema().fields().len()),
                }
                read.insert(name);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
    }
    Ok(Some(out))
}

/// What a run did with one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedTable {
    /// The table.
    pub table: String,
    /// The columns its statements read.
    pub columns: Vec<String>,
    /// Files read from the cache whole.
    pub hits: u64,
    /// Files parsed whole (and stored).
    pub parsed: u64,
    /// Files that grew: their cached start reused, their new lines parsed.
    pub grown: u64,
    /// Line accounting of the whole table (cached and parsed lines alike).
    pub accounting: TableScanStats,
    /// Bytes of log parsed in this run (0 when everything came from the cache).
    pub bytes_parsed: u64,
    /// Seconds spent parsing, reading entries and storing them.
    pub seconds: f64,
    /// Whether the statements read the columns from memory (else from the entries).
    pub in_memory: bool,
}

/// The identity of a file's entry: what it was parsed with, and which version of which file.
#[derive(Serialize)]
struct EntryKey<'a> {
    locator: &'a Locator<'a>,
    size: u64,
    modified_micros: i64,
    e_tag: Option<&'a str>,
}

/// Which file of which table format, whatever its version: finds the entry of a file that
/// has grown since.
#[derive(Serialize)]
struct Locator<'a> {
    logfusion: &'static str,
    /// The layout of the entry files: entries of another layout are never read.
    entry_format: &'static str,
    spec: &'a logfusion_formats::FormatSpec,
    time: logfusion_formats::TimeRules,
    columns: &'a [logfusion_formats::ColumnSpec],
    max_line_bytes: usize,
    /// The text decoding (`utf-8`, or the encoding's name): other text, other rows.
    decoding: &'static str,
    store: &'a str,
    location: &'a str,
    member: Option<&'a str>,
}

/// What an entry holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryMeta {
    /// Column names, in table order.
    columns: Vec<String>,
    /// Its Parquet files, in the tables folder: the whole file, or a start and its tails.
    segments: Vec<String>,
    /// Line accounting of the parsed bytes.
    accounting: TableScanStats,
    /// Bytes of the file parsed.
    size: u64,
    /// Whether those bytes end with `\n` (only then can new lines be parsed on their own).
    ends_with_newline: bool,
    /// The file's inode, for local files (from its ETag).
    inode: Option<String>,
    /// SHA-256 of the last [`TAIL_BYTES`] parsed.
    tail_sha: Option<String>,
}

/// The table folder's paths of an entry.
struct EntryPaths {
    meta: PathBuf,
    pointer: PathBuf,
}

/// Parses or reads from the cache the columns `columns` of `table`, registers them in
/// `session` under the table's name (the statements then read them instead of the files), and
/// says what it did.
///
/// Files missing from the cache are parsed several at a time, each in parallel byte ranges,
/// and streamed to their entries; their batches are also kept in memory while the whole
/// table fits `cache.memory`, else the statements read the entries.
pub(crate) async fn prepare(
    cache: &Cache,
    session: &Session,
    table: &LogTable,
    columns: &BTreeSet<usize>,
    max_line_bytes: usize,
) -> Result<CachedTable> {
    let clock = Instant::now();
    let options = table.options(TableKind::Rows, max_line_bytes);
    let schema = LogTableProvider::with_files(options, table.store_url()?, Vec::new()).schema();
    let indices: Vec<usize> = columns.iter().copied().collect();
    let projected = Arc::new(schema.project(&indices).map_err(DataFusionError::from)?);
    let names: Vec<String> = projected.fields().iter().map(|f| f.name().clone()).collect();
    let mut report = CachedTable { table: table.name.clone(), columns: names.clone(), ..Default::default() };
    let budget = Arc::new(Budget::new(cache.memory));
    // Which files have a whole entry, and where the others' entries go.
    let mut found: Vec<Option<EntryMeta>> = Vec::new();
    let mut misses = Vec::new();
    for (i, file) in table.files.iter().enumerate() {
        let (key, paths) = entry_of(table, file, max_line_bytes, &cache.dir)?;
        let meta = read_meta(&paths.meta, &cache.dir).filter(|m| names.iter().all(|n| m.columns.contains(n)));
        if meta.is_none() {
            misses.push((i, key, paths));
        }
        found.push(meta);
    }
    // Parse the misses, as many files at once as there are partitions.
    let at_once = session.ctx.state().config().target_partitions().max(1);
    let job = ParseJob { cache, session, table, indices: &indices, names: &names, schema: &projected, max_line_bytes };
    let outcomes: Vec<Result<(usize, Fresh)>> = futures::stream::iter(misses)
        .map(|(i, key, paths)| {
            let (job, budget) = (&job, &budget);
            async move { job.run(&table.files[i], &key, &paths, budget).await.map(|f| (i, f)) }
        })
        .buffered(at_once)
        .collect()
        .await;
    let mut fresh: BTreeMap<usize, Fresh> = BTreeMap::new();
    for outcome in outcomes {
        let (i, parsed) = outcome?;
        match parsed.reused_segments {
            0 => report.parsed += 1,
            _ => report.grown += 1,
        }
        report.bytes_parsed += parsed.bytes_parsed;
        fresh.insert(i, parsed);
    }
    // Assemble the table in file order: in memory while it fits, else over the entries.
    let mut partitions: Vec<Vec<RecordBatch>> = Vec::new();
    let mut in_memory = true;
    let mut segments: Vec<PathBuf> = Vec::new();
    for (i, hit) in found.into_iter().enumerate() {
        let (meta, reused, kept) = match (hit, fresh.remove(&i)) {
            (Some(meta), _) => {
                report.hits += 1;
                let all = meta.segments.len();
                (meta, all, Some(Vec::new()))
            }
            (None, Some(parsed)) => (parsed.meta, parsed.reused_segments, parsed.kept),
            (None, None) => {
                return Err(DataFusionError::Internal(format!("cache: no entry for file {i}")).into());
            }
        };
        add_accounting(&mut report.accounting, &meta.accounting);
        segments.extend(meta.segments.iter().map(|s| cache.dir.join("tables").join(s)));
        if !in_memory {
            continue;
        }
        let earlier = read_segments(&meta.segments[..reused], &names, &cache.dir, &budget)?;
        match earlier.zip(kept) {
            Some((mut batches, mut kept)) => {
                batches.append(&mut kept);
                partitions.push(batches);
            }
            None => {
                in_memory = false;
                partitions.clear();
            }
        }
    }
    let provider: Arc<dyn TableProvider> = if in_memory {
        Arc::new(MemTable::try_new(projected.clone(), spread(partitions, at_once))?)
    } else {
        entries_table(&segments, projected.clone()).await?
    };
    session.ctx.deregister_table(table.name.as_str())?;
    session.ctx.register_table(table.name.as_str(), provider)?;
    report.in_memory = in_memory;
    report.accounting.scans = 1;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}

/// The key of the entry of `file` in `table` and its paths in the cache folder `dir`.
fn entry_of(table: &LogTable, file: &LogFile, max_line_bytes: usize, dir: &Path) -> Result<(String, EntryPaths)> {
    let store = file.store.as_str().to_string();
    let locator = Locator {
        logfusion: env!("CARGO_PKG_VERSION"),
        entry_format: "arrow-ipc",
        spec: table.format.spec(),
        time: table.format.time_rules(),
        columns: table.format.columns(),
        max_line_bytes,
        decoding: table.decoding.name(),
        store: &store,
        location: file.meta.location.as_ref(),
        member: file.member.as_ref().map(|m| m.path.as_str()),
    };
    let key = key_of(&EntryKey {
        locator: &locator,
        size: file.meta.size,
        modified_micros: file.meta.last_modified.timestamp_micros(),
        e_tag: file.meta.e_tag.as_deref(),
    })?;
    let paths = EntryPaths {
        meta: dir.join("tables").join(format!("{key}.json")),
        pointer: dir.join("tables").join(format!("file-{}.json", key_of(&locator)?)),
    };
    Ok((key, paths))
}

/// Memory a table's parsed columns may take, shared by the files parsed at once.
struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    fn new(limit: u64) -> Budget {
        Budget { limit, used: AtomicU64::new(0) }
    }

    /// Counts `bytes` more; whether everything counted so far is within the limit (once it
    /// is not, it never is again).
    fn take(&self, bytes: u64) -> bool {
        self.used.fetch_add(bytes, Ordering::Relaxed).saturating_add(bytes) <= self.limit
    }
}

/// What parsing one file into its entry needs.
struct ParseJob<'a> {
    cache: &'a Cache,
    session: &'a Session,
    table: &'a LogTable,
    indices: &'a [usize],
    names: &'a [String],
    schema: &'a SchemaRef,
    max_line_bytes: usize,
}

/// A file's entry, just written.
struct Fresh {
    meta: EntryMeta,
    /// Segments at its start taken over from the entry of the file before it grew.
    reused_segments: usize,
    /// The rows parsed now, when they fit the memory budget.
    kept: Option<Vec<RecordBatch>>,
    /// Bytes of the file parsed now.
    bytes_parsed: u64,
}

impl ParseJob<'_> {
    /// Parses `file` (only its new lines, when it grew since its last entry) in parallel byte
    /// ranges, each streamed to a segment of the entry `key`.
    async fn run(&self, file: &LogFile, key: &str, paths: &EntryPaths, budget: &Arc<Budget>) -> Result<Fresh> {
        let start = grown_from(self.cache, paths, self.table, file, self.names).await;
        let options = self.table.options(TableKind::Rows, self.max_line_bytes);
        let mut scanned = PartitionedFile::from(file.meta.clone());
        if let Some(member) = &file.member {
            scanned = scanned.with_extension(member.clone());
        }
        if let Some(start) = &start {
            scanned = scanned
                .with_range(start.size as i64, file.meta.size as i64)
                .with_extension(FirstLine(start.accounting.lines + 1));
        }
        let provider = LogTableProvider::with_files(options, self.table.store_url()?, vec![scanned]);
        let state = self.session.ctx.state();
        let mut plan = provider.scan(&state, Some(&self.indices.to_vec()), &[], None).await?;
        if start.is_none()
            && let Some(split) = plan.repartitioned(state.config().target_partitions(), state.config_options())?
        {
            plan = split;
        }
        let reused = start.as_ref().map_or(0, |s| s.segments.len());
        let task_ctx = self.session.ctx.task_ctx();
        let mut segments: Vec<String> = start.as_ref().map(|s| s.segments.clone()).unwrap_or_default();
        let mut writers = Vec::new();
        for partition in 0..plan.output_partitioning().partition_count() {
            let segment = format!("{key}-{}.arrow", reused + partition);
            let path = self.cache.dir.join("tables").join(&segment);
            let stream = plan.execute(partition, task_ctx.clone())?;
            writers.push(tokio::spawn(write_segment(stream, path, self.schema.clone(), budget.clone())));
            segments.push(segment);
        }
        let mut kept = Some(Vec::new());
        for writer in writers {
            let batches = writer.await.map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
            kept = kept.zip(batches).map(|(mut all, batches): (Vec<RecordBatch>, _)| {
                all.extend(batches);
                all
            });
        }
        let mut accounting = scan_stats(&plan).remove(&self.table.name).unwrap_or_default();
        if let Some(start) = &start {
            add_accounting(&mut accounting, &start.accounting);
        }
        let (tail_sha, ends_with_newline) = match tail_of(self.table, file, file.meta.size).await {
            Some((sha, newline)) => (Some(sha), newline),
            None => (None, false),
        };
        let meta = EntryMeta {
            columns: self.names.to_vec(),
            segments,
            accounting,
            size: file.meta.size,
            ends_with_newline,
            inode: inode(file),
            tail_sha,
        };
        let json = serde_json::to_vec(&meta).map_err(|e| EngineError::write(&paths.meta, e))?;
        write_atomic(&paths.meta, &json)?;
        write_atomic(&paths.pointer, key.as_bytes())?;
        let bytes_parsed = file.meta.size - start.map_or(0, |s| s.size);
        Ok(Fresh { meta, reused_segments: reused, kept, bytes_parsed })
    }
}

/// Streams the batches of one partition of a parse to the segment `path` (an Arrow IPC file
/// with LZ4 buffers: on the 512 MiB benchmark log the first `run` took 1.24 s with these
/// against 1.51 s with zstd Parquet and 1.02 s uncompressed, whose entries were 4x larger;
/// written to a temporary file and renamed); returns them too while they fit `budget`.
async fn write_segment(
    mut stream: SendableRecordBatchStream,
    path: PathBuf,
    schema: SchemaRef,
    budget: Arc<Budget>,
) -> Result<Option<Vec<RecordBatch>>> {
    let (file, temp) = crate::output::temp_beside(&path)?.into_parts();
    let options = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::LZ4_FRAME))
        .map_err(|e| EngineError::write(&path, e))?;
    let mut writer = FileWriter::try_new_with_options(std::io::BufWriter::new(file), &schema, options)
        .map_err(|e| EngineError::write(&path, e))?;
    let mut kept = Some(Vec::new());
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        writer.write(&batch).map_err(|e| EngineError::write(&path, e))?;
        kept = kept.filter(|_| budget.take(batch.get_array_memory_size() as u64)).map(|mut all| {
            all.push(batch);
            all
        });
    }
    // Writes the footer and flushes the buffer.
    writer.into_inner().map_err(|e| EngineError::write(&path, e))?;
    temp.persist(&path).map_err(|e| EngineError::write(&path, e.error))?;
    Ok(kept)
}

/// Adds the line accounting of one file to a table's.
fn add_accounting(total: &mut TableScanStats, file: &TableScanStats) {
    total.lines += file.lines;
    total.rows += file.rows;
    total.rejects += file.rejects;
    total.bytes_read += file.bytes_read;
    total.bytes_decoded += file.bytes_decoded;
    for (reason, n) in &file.rejects_by_reason {
        *total.rejects_by_reason.entry(reason.clone()).or_default() += n;
    }
}

/// Batches of every file, dealt round robin into `n` partitions for the statements' plans.
fn spread(files: Vec<Vec<RecordBatch>>, n: usize) -> Vec<Vec<RecordBatch>> {
    let mut out = vec![Vec::new(); n.max(1)];
    for (i, batch) in files.into_iter().flatten().enumerate() {
        out[i % n.max(1)].push(batch);
    }
    out
}

/// The entry of `path`, if it is there and all its segments are.
fn read_meta(path: &Path, dir: &Path) -> Option<EntryMeta> {
    let meta: EntryMeta = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let tables = dir.join("tables");
    if !meta.segments.iter().all(|s| tables.join(s).is_file()) {
        return None;
    }
    touch(path);
    for s in &meta.segments {
        touch(&tables.join(s));
    }
    Some(meta)
}

/// The columns `names` of the segments `segments`, or `None` once `budget` is exceeded.
fn read_segments(
    segments: &[String],
    names: &[String],
    dir: &Path,
    budget: &Budget,
) -> Result<Option<Vec<RecordBatch>>> {
    let mut out = Vec::new();
    for segment in segments {
        let path = dir.join("tables").join(segment);
        let error = |e: &dyn std::fmt::Display| EngineError::Read { path: path.clone(), message: e.to_string() };
        let open = |projection| {
            let file = std::fs::File::open(&path).map_err(|e| error(&e))?;
            FileReader::try_new_buffered(file, projection).map_err(|e| error(&e))
        };
        let schema = open(None)?.schema();
        let indices: Vec<usize> = names.iter().filter_map(|n| schema.index_of(n).ok()).collect();
        let reader = open(Some(indices))?;
        for batch in reader {
            let batch = batch.map_err(|e| error(&e))?;
            if !budget.take(batch.get_array_memory_size() as u64) {
                return Ok(None);
            }
            out.push(batch);
        }
    }
    Ok(Some(out))
}

/// A table over entry files, read by each statement (when the columns do not fit memory).
async fn entries_table(segments: &[PathBuf], schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
    let urls = segments
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
        .collect::<datafusion::common::Result<Vec<_>>>()?;
    let options = ListingOptions::new(Arc::new(datafusion::datasource::file_format::arrow::ArrowFormat))
        .with_file_extension(".arrow");
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// The start of `file` as cached before it grew, if its entry can be reused: a local file
/// with the same inode that ended with a complete line and still holds the same bytes there.
async fn grown_from(
    cache: &Cache,
    paths: &EntryPaths,
    table: &LogTable,
    file: &LogFile,
    names: &[String],
) -> Option<EntryMeta> {
    let key = std::fs::read_to_string(&paths.pointer).ok()?;
    let meta = read_meta(&cache.dir.join("tables").join(format!("{}.json", key.trim())), &cache.dir)?;
    let same_file = meta.inode.is_some() && meta.inode == inode(file);
    if !(same_file
        && meta.ends_with_newline
        && meta.size < file.meta.size
        && names.iter().all(|n| meta.columns.contains(n)))
    {
        return None;
    }
    // A multi-line record cut at the old end would go on in the new lines, which the tail's
    // scan skips as the continuation of a record before it: such files are parsed whole.
    if table.format.multiline().is_some() {
        return None;
    }
    let (tail_sha, _) = tail_of(table, file, meta.size).await?;
    (Some(tail_sha) == meta.tail_sha).then_some(meta)
}

/// The inode of a local file, from the ETag the local store gives it (`inode-mtime-size`).
fn inode(file: &LogFile) -> Option<String> {
    if file.store.as_str() != "file:///" || file.member.is_some() {
        return None;
    }
    file.meta.e_tag.as_ref()?.split('-').next().map(str::to_string)
}

/// SHA-256 of the last [`TAIL_BYTES`] of the first `size` bytes of `file`, and whether they
/// end with `\n`; `None` for files read as one stream (compressed, transcoded, archived),
/// whose grown tail cannot be read alone.
async fn tail_of(table: &LogTable, file: &LogFile, size: u64) -> Option<(String, bool)> {
    if file.member.is_some() || file.compression.is_compressed() || table.decoding.transcodes() || size == 0 {
        return None;
    }
    let store = logfusion_datasource::store_for(&file.store).ok()?;
    let range = GetRange::Bounded(size.saturating_sub(TAIL_BYTES)..size);
    let bytes = store
        .get_opts(&file.meta.location, GetOptions { range: Some(range), ..Default::default() })
        .await
        .ok()?
        .bytes()
        .await
        .ok()?;
    Some((hex(&Sha256::digest(&bytes)), bytes.last() == Some(&b'\n')))
}
