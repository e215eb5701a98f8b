//! Running statements and suites: each statement is planned, executed with its result
//! streamed to Parquet (and CSV on request), and measured — wall time, rows, line accounting
//! per table, throughput, operator metrics, memory, CPU time — for the performance log and the
//! reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_plan::ExecutionPlan;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::cache::tables::CachedTable;
use crate::cache::{Cache, results, tables};
use crate::environment::Environment;
use crate::error::{EngineError, Result};
use crate::metrics::{ExecutedPlan, JobReport, OperatorReport, ProcessUsage, TableScanStats};
use crate::output::{ResultFile, ResultFormat};
use crate::report;
use crate::session::Session;
use crate::suite::{Skipped, Statement, Suite};

/// Rows of each result kept for the report.
pub const PREVIEW_ROWS: usize = 10;

/// Everything measured about one statement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementReport {
    /// Query file stem.
    pub query: String,
    /// Statement index within the file (0-based).
    pub statement: usize,
    /// Start time, RFC 3339 UTC.
    pub started: String,
    /// Wall time in seconds.
    pub wall_seconds: f64,
    /// Rows of the result.
    pub rows_out: u64,
    /// Where the result went (Parquet file), if it had columns.
    pub output: Option<PathBuf>,
    /// Bytes log scans read from storage (line-number passes included).
    #[serde(alias = "bytes_scanned")]
    pub bytes_read: u64,
    /// Lines read by log scans.
    pub lines_read: u64,
    /// Log-scan bytes per wall second, in MB/s (10^6).
    pub mb_per_second: f64,
    /// Log-scan lines per wall second.
    pub lines_per_second: f64,
    /// Peak bytes reserved in the memory pool (sorts, aggregates, joins).
    pub peak_memory_bytes: u64,
    /// Spills over all operators.
    pub spill_count: u64,
    /// Bytes spilled over all operators.
    pub spilled_bytes: u64,
    /// The process's CPU time and peak RSS during the statement (absent where the platform
    /// gives none).
    #[serde(default)]
    pub process: Option<ProcessUsage>,
    /// Line accounting per scanned table.
    pub sources: BTreeMap<String, TableScanStats>,
    /// Per-operator metrics, in plan order.
    pub operators: Vec<OperatorReport>,
    /// The executed plan with its metrics.
    pub plan: String,
    /// Column names of the result.
    pub columns: Vec<String>,
    /// The first [`PREVIEW_ROWS`] rows of the result, as text.
    pub preview: Vec<Vec<String>>,
    /// The cluster job that ran the statement, with its stages (absent when it ran in this
    /// process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobReport>,
    /// `"result"` when the statement was answered from the result the cache of `run` stored
    /// for the same SQL over the same files (absent otherwise; a table read from the cache is
    /// marked `cached` in `sources`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
}

impl StatementReport {
    /// The statement's name: the query, with `#n` for a later statement of its file.
    pub fn label(&self) -> String {
        if self.statement == 0 { self.query.clone() } else { format!("{}#{}", self.query, self.statement + 1) }
    }

    /// Rejected lines over all scanned tables.
    pub fn rejects(&self) -> u64 {
        self.sources.values().map(|t| t.rejects).sum()
    }
}

/// Where the result of a statement goes.
#[derive(Debug, Clone)]
pub struct ResultSink {
    /// Parquet file.
    pub parquet: PathBuf,
    /// Also a CSV file.
    pub csv: Option<PathBuf>,
}

/// Hears what a run does, to show progress (the CLI) or keep metrics (a server).
pub trait RunObserver: Sync {
    /// A statement is planned and about to run.
    fn planned(&self, _name: &str, _plan: &Arc<dyn ExecutionPlan>) {}
    /// A statement finished.
    fn finished(&self, _name: &str, _report: &StatementReport) {}
    /// A statement was skipped: tables it reads are missing.
    fn skipped(&self, _skipped: &Skipped) {}
    /// The cache parsed (or read) a table's columns for the statements.
    fn table_ready(&self, _table: &CachedTable) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl RunObserver for Quiet {}

/// Plans `sql` in `session`: the result's schema and the physical plan.
/// Statements nested deeper than [`crate::nesting::MAX_NESTING`] are refused first.
pub async fn plan_sql(session: &Session, sql: &str) -> Result<(SchemaRef, Arc<dyn ExecutionPlan>)> {
    let dialect = session.ctx.state().config().options().sql_parser.dialect;
    crate::nesting::check_nesting(sql, dialect.as_ref())?;
    let df = session.ctx.sql(sql).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let plan = df.create_physical_plan().await?;
    Ok((schema, plan))
}

/// Runs one statement, streaming its result to `sink` (when the result has columns), and
/// measures it.
pub async fn run_statement(
    session: &Session,
    statement: &Statement,
    sink: Option<&ResultSink>,
    observer: &dyn RunObserver,
) -> Result<StatementReport> {
    let started = now_rfc3339();
    session.pool.reset_peak();
    ProcessUsage::reset_peak();
    let usage_before = ProcessUsage::now();
    let clock = Instant::now();
    let (schema, plan) = plan_sql(session, &statement.sql).await?;
    observer.planned(&statement.name, &plan);
    let mut stream = session.execute(plan.clone())?;
    let write = sink.filter(|_| !schema.fields().is_empty());
    let mut parquet =
        write.map(|s| ResultFile::create(&s.parquet, ResultFormat::Parquet, schema.clone())).transpose()?;
    let mut csv = write
        .and_then(|s| s.csv.as_ref())
        .map(|p| ResultFile::create(p, ResultFormat::Csv, schema.clone()))
        .transpose()?;
    let mut rows_out = 0u64;
    let mut preview = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        rows_out += batch.num_rows() as u64;
        add_preview(&batch, &mut preview)?;
        if let Some(w) = parquet.as_mut() {
            w.write(&batch)?;
        }
        if let Some(w) = csv.as_mut() {
            w.write(&batch)?;
        }
    }
    let output = parquet.map(ResultFile::finish).transpose()?;
    csv.map(ResultFile::finish).transpose()?;
    let process = usage_before.zip(ProcessUsage::now()).map(|(before, after)| before.since(after));
    let wall_seconds = clock.elapsed().as_secs_f64();
    let executed = session.executed(&plan).await?;
    let mut report = StatementReport::from_plan(statement, started, wall_seconds, &executed, &schema);
    report.rows_out = rows_out;
    report.output = output;
    report.peak_memory_bytes = session.pool.peak() as u64;
    report.process = process;
    report.preview = preview;
    Ok(report)
}

impl StatementReport {
    /// The report of `statement`, whose plan ran in `wall_seconds` from `started` and
    /// measured `executed`: line accounting, throughput, operators and, on a cluster, the
    /// job. Rows, the output file, memory and process figures are the caller's to fill in.
    pub fn from_plan(
        statement: &Statement,
        started: String,
        wall_seconds: f64,
        executed: &ExecutedPlan,
        schema: &SchemaRef,
    ) -> StatementReport {
        let sources = executed.sources.clone();
        let bytes_read: u64 = sources.values().map(|s| s.bytes_read).sum();
        let lines_read: u64 = sources.values().map(|s| s.lines).sum();
        let operators = executed.operators.clone();
        let per_sec = |n: u64| if wall_seconds > 0.0 { n as f64 / wall_seconds } else { 0.0 };
        StatementReport {
            query: statement.query.clone(),
            statement: statement.index,
            started,
            wall_seconds,
            rows_out: 0,
            output: None,
            bytes_read,
            lines_read,
            mb_per_second: per_sec(bytes_read) / 1e6,
            lines_per_second: per_sec(lines_read),
            peak_memory_bytes: 0,
            spill_count: operators.iter().filter_map(|o| o.spill_count).sum(),
            spilled_bytes: operators.iter().filter_map(|o| o.spilled_bytes).sum(),
            process: None,
            sources,
            operators,
            plan: executed.plan.clone(),
            columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
            preview: Vec::new(),
            job: executed.job.clone(),
            cache: None,
        }
    }
}

fn add_preview(batch: &RecordBatch, preview: &mut Vec<Vec<String>>) -> Result<()> {
    let take = batch.num_rows().min(PREVIEW_ROWS.saturating_sub(preview.len()));
    for r in 0..take {
        let row = (0..batch.num_columns())
            .map(|c| datafusion::arrow::util::display::array_value_to_string(batch.column(c), r))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| EngineError::DataFusion(e.into()))?;
        preview.push(row);
    }
    Ok(())
}

/// How a suite runs.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Folder for results (`<statement>.parquet`), `report.md` and `report.html`.
    pub out: PathBuf,
    /// Also write each result as CSV.
    pub csv: bool,
    /// Use the cache of the config (`cache:`): tables parsed once per run and kept, results
    /// kept. `false`: every statement scans the files (`--no-cache`).
    pub cache: bool,
}

/// What a suite run did.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// The run's id, in every performance record.
    pub run_id: String,
    /// Every statement that ran.
    pub statements: Vec<StatementReport>,
    /// Statements skipped for missing tables.
    pub skipped: Vec<Skipped>,
    /// The Markdown report.
    pub markdown: PathBuf,
    /// The HTML report.
    pub html: PathBuf,
    /// The performance log the records were appended to.
    pub performance_log: PathBuf,
    /// The tables the cache parsed or read for the run.
    pub cached_tables: Vec<CachedTable>,
}

impl SuiteReport {
    /// Wall seconds over all statements and the cache's parsing of tables for them.
    pub fn total_seconds(&self) -> f64 {
        self.statements.iter().map(|r| r.wall_seconds).sum::<f64>()
            + self.cached_tables.iter().map(|t| t.seconds).sum::<f64>()
    }
}

/// Runs `suite` over `env`'s tables: results to `options.out`, one record per statement
/// appended to the performance log, and the Markdown and HTML reports.
pub async fn run_suite(
    env: &Environment,
    suite: &Suite,
    options: &SuiteOptions,
    observer: &dyn RunObserver,
) -> Result<SuiteReport> {
    std::fs::create_dir_all(&options.out).map_err(|e| EngineError::write(&options.out, e))?;
    let session = env.session()?;
    let (runnable, skipped) = suite.partition(&session.ctx)?;
    for s in &skipped {
        tracing::warn!("skipping {}: no table {}", s.statement.name, s.missing.join(", "));
        observer.skipped(s);
    }
    let run_id = format!("{}-{}", chrono::Utc::now().timestamp(), std::process::id());
    // In a cluster session the statements run on the executors: nothing is cached here.
    let cache = match options.cache && session.remote.is_none() {
        true => Cache::open(&env.config.cache)?,
        false => None,
    };
    let mut keys = Vec::new();
    let mut to_run = Vec::new();
    for statement in &runnable {
        let key = match &cache {
            Some(c) if c.caches_results() => results::key(&session, &statement.sql, &env.catalog, &env.settings)
                .await
                .map_err(|e| EngineError::Statement { file: statement.path.clone(), source: Box::new(e) })?,
            _ => None,
        };
        let stored = key.as_ref().zip(cache.as_ref()).and_then(|(k, c)| results::lookup(c, k));
        if stored.is_none() {
            to_run.push(statement.clone());
        }
        keys.push((key, stored));
    }
    let mut cached_tables = Vec::new();
    let mut needs = tables::Needs::default();
    if let Some(cache) = &cache {
        let names: Vec<&str> = env.catalog.tables.iter().map(|t| t.name.as_str()).collect();
        let found = tables::needs(&session, &to_run, &names).await?;
        if found.is_none() {
            tracing::info!("cache: a statement reads what an earlier one creates; the tables are scanned as usual");
        }
        needs = found.unwrap_or_default();
        for (table, columns) in &needs.columns {
            if let Some(log_table) = env.catalog.table(table) {
                let prepared = tables::prepare(cache, &session, log_table, columns, env.config.max_line_len()).await?;
                tracing::info!(
                    table = %prepared.table, hits = prepared.hits, parsed = prepared.parsed, grown = prepared.grown,
                    seconds = prepared.seconds, "cache: table ready"
                );
                observer.table_ready(&prepared);
                cached_tables.push(prepared);
            }
        }
    }
    let mut reports = Vec::new();
    for (statement, (key, stored)) in runnable.iter().zip(keys) {
        let sink = ResultSink {
            parquet: options.out.join(format!("{}.parquet", statement.name)),
            csv: options.csv.then(|| options.out.join(format!("{}.csv", statement.name))),
        };
        let report = match stored {
            Some(stored) => answer_from_cache(statement, &stored, &sink).await,
            None => run_statement(&session, statement, Some(&sink), observer).await.map(|mut report| {
                let read = needs.tables_of.get(&statement.name);
                for table in cached_tables.iter().filter(|t| read.is_some_and(|r| r.contains(&t.table))) {
                    let mut stats = table.accounting.clone();
                    stats.cached = true;
                    report.sources.entry(table.table.clone()).or_insert(stats);
                }
                report
            }),
        }
        .map_err(|e| EngineError::Statement { file: statement.path.clone(), source: Box::new(e) })?;
        if let (Some(cache), Some(key), None) = (&cache, &key, &report.cache) {
            let meta = results::ResultMeta {
                rows: report.rows_out,
                columns: report.columns.clone(),
                preview: report.preview.clone(),
                sources: report.sources.clone(),
                has_rows_file: report.output.is_some(),
            };
            results::store(cache, key, report.output.as_deref(), &meta)?;
        }
        tracing::info!(
            query = %statement.name,
            wall_seconds = report.wall_seconds,
            rows = report.rows_out,
            mb_per_second = report.mb_per_second,
            "statement finished"
        );
        observer.finished(&statement.name, &report);
        reports.push(report);
    }
    let samples = report::sample_rejects(
        &session,
        &env.catalog,
        &reports,
        cache.as_ref().filter(|c| c.caches_results()).map(|c| (c, &env.settings)),
    )
    .await?;
    let performance_log = env.config.logging.performance_log.clone();
    report::append_performance_log(&performance_log, &run_id, &cached_tables, &reports)?;
    let markdown = options.out.join("report.md");
    let html = options.out.join("report.html");
    write_text(&markdown, &report::markdown(&run_id, &cached_tables, &reports))?;
    write_text(&html, &report::html(&run_id, &cached_tables, &reports, &samples))?;
    if let Some(cache) = &cache {
        let removed = cache.evict()?;
        if removed > 0 {
            tracing::info!("cache: removed {removed} bytes of old entries to stay within cache.max_bytes");
        }
    }
    Ok(SuiteReport { run_id, statements: reports, skipped, markdown, html, performance_log, cached_tables })
}

/// The report of `statement` answered from its stored result: the rows copied to the sink.
async fn answer_from_cache(
    statement: &Statement,
    stored: &results::Stored,
    sink: &ResultSink,
) -> Result<StatementReport> {
    let started = now_rfc3339();
    let clock = Instant::now();
    ProcessUsage::reset_peak();
    let usage_before = ProcessUsage::now();
    let mut output = None;
    if stored.meta.has_rows_file {
        let temp = crate::output::temp_beside(&sink.parquet)?;
        std::fs::copy(&stored.parquet, temp.path()).map_err(|e| EngineError::write(&sink.parquet, e))?;
        temp.persist(&sink.parquet).map_err(|e| EngineError::write(&sink.parquet, e.error))?;
        output = Some(sink.parquet.clone());
        if let Some(csv) = &sink.csv {
            parquet_to_csv(&stored.parquet, csv)?;
        }
    }
    let wall_seconds = clock.elapsed().as_secs_f64();
    let process = usage_before.zip(ProcessUsage::now()).map(|(before, after)| before.since(after));
    Ok(StatementReport {
        query: statement.query.clone(),
        statement: statement.index,
        started,
        wall_seconds,
        rows_out: stored.meta.rows,
        output,
        bytes_read: 0,
        lines_read: 0,
        mb_per_second: 0.0,
        lines_per_second: 0.0,
        peak_memory_bytes: 0,
        spill_count: 0,
        spilled_bytes: 0,
        process,
        // The accounting of the scans that computed the result, marked as not read now.
        sources: stored
            .meta
            .sources
            .iter()
            .map(|(table, stats)| (table.clone(), TableScanStats { cached: true, ..stats.clone() }))
            .collect(),
        operators: Vec::new(),
        plan: "answered from the result stored by an earlier run (same SQL, settings and files)".into(),
        columns: stored.meta.columns.clone(),
        preview: stored.meta.preview.clone(),
        job: None,
        cache: Some("result".into()),
    })
}

/// Rewrites the Parquet file `from` as CSV at `to`.
fn parquet_to_csv(from: &Path, to: &Path) -> Result<()> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let read_error = |e: &dyn std::fmt::Display| EngineError::Read { path: from.to_path_buf(), message: e.to_string() };
    let file = std::fs::File::open(from).map_err(|e| read_error(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(&e))?;
    let mut csv = ResultFile::create(to, ResultFormat::Csv, builder.schema().clone())?;
    for batch in builder.build().map_err(|e| read_error(&e))? {
        csv.write(&batch.map_err(|e| read_error(&e))?)?;
    }
    csv.finish()?;
    Ok(())
}

/// Writes `text` to `path` atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    let mut temp = crate::output::temp_beside(path)?;
    std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(|e| EngineError::write(path, e))?;
    temp.persist(path).map_err(|e| EngineError::write(path, e.error))?;
    Ok(())
}

/// Now, RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
