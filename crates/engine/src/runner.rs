//! The driver: run a suite of `.sql` files, write each result to Parquet (and CSV on request),
//! and measure every statement for the performance report.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::EngineError;
use crate::memory::PeakMemoryPool;
use crate::scan_stats::{TableScanStats, scan_stats};

/// One `.sql` file of a suite.
#[derive(Debug, Clone)]
pub struct QueryFile {
    /// File stem: the result is `<name>.parquet`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// What the query answers: the leading `--` comment lines.
    pub description: String,
    /// Its SQL, parameters not yet substituted.
    pub sql: String,
}

/// Loads `path`: one `.sql` file, or every `.sql` file of a folder in name order.
pub fn load_queries(path: &Path) -> Result<Vec<QueryFile>, EngineError> {
    let read_err = |p: &Path, e: std::io::Error| EngineError::Input(format!("{}: {e}", p.display()));
    let mut files = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| read_err(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        v.sort();
        v
    } else if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        return Err(EngineError::Input(format!("{}: no such query file or folder", path.display())));
    };
    if files.is_empty() {
        return Err(EngineError::Input(format!("{}: no .sql files", path.display())));
    }
    files
        .drain(..)
        .map(|p| {
            let sql = std::fs::read_to_string(&p).map_err(|e| read_err(&p, e))?;
            let description = sql
                .lines()
                .take_while(|l| l.trim_start().starts_with("--"))
                .map(|l| l.trim_start().trim_start_matches('-').trim())
                .collect::<Vec<_>>()
                .join(" ");
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(QueryFile { name, path: p, description, sql })
        })
        .collect()
}

/// Splits SQL text into statements at `;`, ignoring `;` inside quotes and comments; drops
/// statements that are only whitespace and comments.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = sql.chars().peekable();
    let mut has_code = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                current.push(c);
                has_code = true;
                for d in chars.by_ref() {
                    current.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                current.push(c);
                for d in chars.by_ref() {
                    current.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                current.push(c);
                let mut prev = ' ';
                for d in chars.by_ref() {
                    current.push(d);
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            ';' => {
                if has_code {
                    out.push(current.trim().to_string());
                }
                current.clear();
                has_code = false;
            }
            c => {
                has_code |= !c.is_whitespace();
                current.push(c);
            }
        }
    }
    if has_code {
        out.push(current.trim().to_string());
    }
    out
}

/// Replaces `${name}` with `params[name]`; an unknown name is an error naming it.
pub fn substitute(sql: &str, params: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| "unclosed ${ in query".to_string())?;
        let name = &after[..end];
        let value = params.get(name).ok_or_else(|| {
            format!("parameter ${{{name}}} has no value (pass --param {name}=VALUE or set params in config)")
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Tables `sql` reads that are not registered in `ctx` (file paths used as tables are not
/// counted). A suite can then skip a query about syslog when there is no syslog table.
pub fn missing_tables(ctx: &SessionContext, sql: &str) -> Result<Vec<String>, EngineError> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect)?;
    let mut missing = Vec::new();
    for table in state.resolve_table_references(&statement)? {
        let name = table.table();
        if name.contains('/') || name.contains('.') {
            continue;
        }
        if !ctx.table_exist(table.clone())? {
            missing.push(table.to_string());
        }
    }
    Ok(missing)
}

/// Metrics of one operator of an executed plan.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorReport {
    /// Depth in the plan tree (0 = root).
    pub depth: usize,
    /// Operator name, e.g. `AggregateExec`.
    pub name: String,
    /// The operator's one-line description.
    pub detail: String,
    /// Rows it produced.
    pub output_rows: Option<u64>,
    /// CPU time it reported (`elapsed_compute`, or `scan_time` for log scans), nanoseconds.
    pub time_ns: Option<u64>,
    /// Times it spilled.
    pub spill_count: Option<u64>,
    /// Bytes it spilled.
    pub spilled_bytes: Option<u64>,
}

/// Everything measured about one statement.
#[derive(Debug, Clone, Serialize)]
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
    /// Bytes read from storage by log scans.
    pub bytes_scanned: u64,
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
}

/// Rows of each result kept for the report.
pub const PREVIEW_ROWS: usize = 10;

/// Where results of a statement go.
#[derive(Debug, Clone)]
pub struct ResultSink {
    /// Parquet file.
    pub parquet: PathBuf,
    /// Also a CSV file.
    pub csv: Option<PathBuf>,
}

/// Runs one statement, streaming its result to `sink` (when the result has columns), and
/// measures it.
pub async fn run_statement(
    ctx: &SessionContext,
    pool: &PeakMemoryPool,
    query: &str,
    statement: usize,
    sql: &str,
    sink: Option<&ResultSink>,
    on_plan: &(dyn Fn(Arc<dyn ExecutionPlan>) + Sync),
) -> Result<StatementReport, EngineError> {
    let started = chrono_now();
    pool.reset_peak();
    let clock = Instant::now();
    let df = ctx.sql(sql).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let plan = df.create_physical_plan().await?;
    on_plan(plan.clone());
    let mut stream = execute_stream(plan.clone(), ctx.task_ctx())?;
    let write = sink.filter(|_| !schema.fields().is_empty());
    let mut parquet = match write {
        Some(s) => {
            let file = create(&s.parquet)?;
            let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
            Some(ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(parquet_err)?)
        }
        None => None,
    };
    let mut csv = match write.and_then(|s| s.csv.as_ref()) {
        Some(p) => Some(datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(create(p)?)),
        None => None,
    };
    let mut rows_out = 0u64;
    let mut preview = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        rows_out += batch.num_rows() as u64;
        for r in 0..batch.num_rows().min(PREVIEW_ROWS - preview.len().min(PREVIEW_ROWS)) {
            let row = (0..batch.num_columns())
                .map(|c| datafusion::arrow::util::display::array_value_to_string(batch.column(c), r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| EngineError::DataFusion(e.into()))?;
            preview.push(row);
        }
        if let Some(w) = parquet.as_mut() {
            w.write(&batch).map_err(parquet_err)?;
        }
        if let Some(w) = csv.as_mut() {
            w.write(&batch).map_err(|e| EngineError::Input(format!("writing CSV: {e}")))?;
        }
    }
    if let Some(w) = parquet {
        w.close().map_err(parquet_err)?;
    }
    let wall = clock.elapsed().as_secs_f64();
    let sources = scan_stats(&plan);
    let bytes_scanned: u64 = sources.values().map(|s| s.bytes_scanned).sum();
    let lines_read: u64 = sources.values().map(|s| s.lines).sum();
    let mut operators = Vec::new();
    collect_operators(&plan, 0, &mut operators);
    let per_sec = |n: u64| if wall > 0.0 { n as f64 / wall } else { 0.0 };
    Ok(StatementReport {
        query: query.to_string(),
        statement,
        started,
        wall_seconds: wall,
        rows_out,
        output: write.map(|s| s.parquet.clone()),
        bytes_scanned,
        lines_read,
        mb_per_second: per_sec(bytes_scanned) / 1e6,
        lines_per_second: per_sec(lines_read),
        peak_memory_bytes: pool.peak() as u64,
        spill_count: operators.iter().filter_map(|o| o.spill_count).sum(),
        spilled_bytes: operators.iter().filter_map(|o| o.spilled_bytes).sum(),
        sources,
        operators,
        plan: DisplayableExecutionPlan::with_metrics(plan.as_ref()).indent(true).to_string(),
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        preview,
    })
}

fn create(path: &Path) -> Result<File, EngineError> {
    File::create(path).map_err(|e| EngineError::Input(format!("cannot create {}: {e}", path.display())))
}

fn parquet_err(e: parquet::errors::ParquetError) -> EngineError {
    EngineError::Input(format!("writing Parquet: {e}"))
}

fn collect_operators(plan: &Arc<dyn ExecutionPlan>, depth: usize, out: &mut Vec<OperatorReport>) {
    let metrics = plan.metrics().map(|m| m.aggregate_by_name());
    let value = |name: &str| metrics.as_ref().and_then(|m| m.sum_by_name(name)).map(|v| v.as_usize() as u64);
    let detail = DisplayableExecutionPlan::new(plan.as_ref()).one_line().to_string();
    out.push(OperatorReport {
        depth,
        name: plan.name().to_string(),
        detail: detail.trim().to_string(),
        output_rows: metrics.as_ref().and_then(|m| m.output_rows()).map(|v| v as u64),
        time_ns: value(logfusion_datasource::accounting::metric::SCAN_TIME)
            .or_else(|| metrics.as_ref().and_then(|m| m.elapsed_compute()).map(|v| v as u64)),
        spill_count: metrics.as_ref().and_then(|m| m.spill_count()).map(|v| v as u64),
        spilled_bytes: metrics.as_ref().and_then(|m| m.spilled_bytes()).map(|v| v as u64),
    });
    for child in plan.children() {
        collect_operators(child, depth + 1, out);
    }
}

/// Current UTC time, RFC 3339 with seconds.
fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let sql = "-- count; things\nSELECT ';' AS a; /* x; y */ SELECT 2;\n-- trailing comment only\n";
        assert_eq!(split_statements(sql), ["-- count; things\nSELECT ';' AS a", "/* x; y */ SELECT 2"]);
    }

    #[test]
    fn parameters_are_substituted_or_named() {
        let params = BTreeMap::from([("since".to_string(), "2026-10-01".to_string())]);
        assert_eq!(substitute("ts >= '${since}'", &params).unwrap(), "ts >= '2026-10-01'");
        assert!(substitute("${until}", &params).unwrap_err().contains("${until}"));
    }
}
