//! The performance report: JSON lines appended to `performance.log` (one record per
//! statement), and `report.md` / `report.html` for people. All text that can come from logs or
//! queries is escaped.

mod html;
mod markdown;

use std::io::Write as _;
use std::path::Path;

use datafusion::arrow::util::display::array_value_to_string;
use logfusion_datasource::TableKind;
use serde::Serialize;

use crate::cache::tables::CachedTable;
use crate::cache::{Cache, results};
use crate::catalog::Catalog;
use crate::config::ByteSize;
use crate::error::{EngineError, Result};
use crate::metrics::TableScanStats;
use crate::run::StatementReport;
use crate::session::{Session, SessionSettings};

pub use html::{html, html_escape};
pub use markdown::markdown;

/// Rejects of each table shown in the HTML report.
const SAMPLE_REJECTS: usize = 10;

/// One line of `performance.log`: a statement of a run (`record` = `"statement"`, the fields
/// of [`StatementReport`]) or a table the cache prepared for it (`record` = `"cache"`, the
/// fields of [`CachedTable`]), with the run's `run_id`.
#[derive(Serialize)]
struct LogRecord<'a, T: Serialize> {
    record: &'static str,
    run_id: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

/// Appends one JSON object per cache preparation and per statement to `path`.
pub fn append_performance_log(
    path: &Path,
    run_id: &str,
    tables: &[CachedTable],
    reports: &[StatementReport],
) -> Result<(), EngineError> {
    let io = |e: std::io::Error| EngineError::write(path, e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
    let mut text = String::new();
    let encode = |e: serde_json::Error| EngineError::write(path, e);
    for t in tables {
        text.push_str(&serde_json::to_string(&LogRecord { record: "cache", run_id, fields: t }).map_err(encode)?);
        text.push('\n');
    }
    for r in reports {
        text.push_str(&serde_json::to_string(&LogRecord { record: "statement", run_id, fields: r }).map_err(encode)?);
        text.push('\n');
    }
    file.write_all(text.as_bytes()).map_err(io)
}

/// A few rejects (`file:line`, reason, excerpt) of each table that had any in `reports`,
/// for the report. With a `cache`, the samples of unchanged files are read from it (finding
/// them again means parsing every line).
pub async fn sample_rejects(
    session: &Session,
    catalog: &Catalog,
    reports: &[StatementReport],
    cache: Option<(&Cache, &SessionSettings)>,
) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for table in &catalog.tables {
        let had = reports.iter().any(|r| r.sources.get(&table.name).is_some_and(|s| s.rejects > 0));
        if !had {
            continue;
        }
        let sql = format!(
            "SELECT file || ':' || CAST(line AS VARCHAR), reason, excerpt FROM \"{}\" ORDER BY file, line LIMIT {SAMPLE_REJECTS}",
            TableKind::Rejects.table_name(&table.name)
        );
        let key = match cache {
            Some((_, settings)) => results::key(session, &sql, catalog, settings).await?,
            None => None,
        };
        let stored = cache.zip(key.as_ref()).and_then(|((cache, _), key)| results::lookup_samples(cache, key));
        if let Some(mut samples) = stored {
            out.append(&mut samples);
            continue;
        }
        let mut samples = Vec::new();
        for batch in session.ctx.sql(&sql).await?.collect().await? {
            for r in 0..batch.num_rows() {
                let cell =
                    |i: usize| array_value_to_string(batch.column(i), r).map_err(|e| EngineError::DataFusion(e.into()));
                samples.push((cell(0)?, cell(1)?, cell(2)?));
            }
        }
        if let Some(((cache, _), key)) = cache.zip(key.as_ref()) {
            results::store_samples(cache, key, &samples)?;
        }
        out.append(&mut samples);
    }
    Ok(out)
}

/// The header of the table of what the cache did per log table.
const CACHE_HEADER: [&str; 8] =
    ["table", "columns", "files from cache", "files parsed", "files grown", "MB parsed", "seconds", "kept in"];

/// The cells of a log table's row of the cache table, text escaped with `escape`.
fn cache_cells(t: &CachedTable, escape: fn(&str) -> String) -> Vec<String> {
    vec![
        escape(&t.table),
        escape(&t.columns.join(", ")),
        t.hits.to_string(),
        t.parsed.to_string(),
        t.grown.to_string(),
        format!("{:.1}", t.bytes_parsed as f64 / 1e6),
        format!("{:.3}", t.seconds),
        if t.in_memory { "memory" } else { "cache folder" }.to_string(),
    ]
}

/// The run's total line: statements, seconds, and the seconds the cache spent on tables.
fn total_line(tables: &[CachedTable], reports: &[StatementReport]) -> String {
    let statements: f64 = reports.iter().map(|r| r.wall_seconds).sum();
    let prepared: f64 = tables.iter().map(|t| t.seconds).sum();
    let mut line = format!("{} statements, {:.3} s in all", reports.len(), statements + prepared);
    if !tables.is_empty() {
        line.push_str(&format!(" ({prepared:.3} s of them parsing or reading tables once for the suite)"));
    }
    line.push('.');
    line
}

/// The header of the per-statement summary table.
const SUMMARY_HEADER: [&str; 10] =
    ["query", "wall s", "rows out", "MB/s", "lines/s", "peak memory", "CPU user s", "peak RSS", "spills", "rejects"];

/// The cells of a statement's summary row, the label escaped with `escape`.
fn summary_cells(r: &StatementReport, escape: fn(&str) -> String) -> Vec<String> {
    let process = |f: fn(&crate::metrics::ProcessUsage) -> String| r.process.as_ref().map_or("-".to_string(), f);
    vec![
        escape(&r.label()),
        format!("{:.3}", r.wall_seconds),
        r.rows_out.to_string(),
        format!("{:.0}", r.mb_per_second),
        format!("{:.0}", r.lines_per_second),
        ByteSize(r.peak_memory_bytes).to_string(),
        process(|p| format!("{:.2}", p.cpu_user_seconds)),
        process(|p| ByteSize(p.peak_rss_bytes).to_string()),
        r.spill_count.to_string(),
        r.rejects().to_string(),
    ]
}

/// Per-table accounting of the run: the largest single scan of each table (a statement that
/// reads a table once without stopping early reads all of it, so that is the table's count).
fn sources(reports: &[StatementReport]) -> Vec<(String, TableScanStats)> {
    let mut out: std::collections::BTreeMap<String, TableScanStats> = Default::default();
    for r in reports {
        for (table, t) in &r.sources {
            let e = out.entry(table.clone()).or_default();
            if t.scans == 1 && t.lines > e.lines {
                *e = t.clone();
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_neutralises_markup_and_controls() {
        assert_eq!(html_escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(html_escape("a\"b'c&\u{1b}[31m"), "a&quot;b&#39;c&amp;\\u{1b}[31m");
    }
}
