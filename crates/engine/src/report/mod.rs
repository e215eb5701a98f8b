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

use crate::catalog::Catalog;
use crate::config::ByteSize;
use crate::error::{EngineError, Result};
use crate::metrics::TableScanStats;
use crate::run::StatementReport;
use crate::session::Session;

pub use html::{html, html_escape};
pub use markdown::markdown;

/// Rejects of each table shown in the HTML report.
const SAMPLE_REJECTS: usize = 10;

/// One line of `performance.log`: a statement of a run. Schema: the fields of
/// [`StatementReport`] plus `run_id` and `record` (= `"statement"`).
#[derive(Serialize)]
struct LogRecord<'a> {
    record: &'static str,
    run_id: &'a str,
    #[serde(flatten)]
    statement: &'a StatementReport,
}

/// Appends one JSON object per statement to `path`.
pub fn append_performance_log(path: &Path, run_id: &str, reports: &[StatementReport]) -> Result<(), EngineError> {
    let io = |e: std::io::Error| EngineError::write(path, e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
    let mut text = String::new();
    for r in reports {
        let line = serde_json::to_string(&LogRecord { record: "statement", run_id, statement: r })
            .map_err(|e| EngineError::write(path, e))?;
        text.push_str(&line);
        text.push('\n');
    }
    file.write_all(text.as_bytes()).map_err(io)
}

/// A few rejects (`file:line`, reason, excerpt) of each table that had any in `reports`,
/// for the report.
pub async fn sample_rejects(
    session: &Session,
    catalog: &Catalog,
    reports: &[StatementReport],
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
        for batch in session.ctx.sql(&sql).await?.collect().await? {
            for r in 0..batch.num_rows() {
                let cell =
                    |i: usize| array_value_to_string(batch.column(i), r).map_err(|e| EngineError::DataFusion(e.into()));
                out.push((cell(0)?, cell(1)?, cell(2)?));
            }
        }
    }
    Ok(out)
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
