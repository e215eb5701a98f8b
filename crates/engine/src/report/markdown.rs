//! The readable report in Markdown.

use std::fmt::Write as _;

use super::{CACHE_HEADER, SUMMARY_HEADER, cache_cells, sources, summary_cells, total_line};
use crate::cache::tables::CachedTable;
use crate::metrics::top_operators;
use crate::run::StatementReport;

/// Markdown cell text: no pipes or newlines, backticks neutralised.
fn md(text: &str) -> String {
    logfusion_formats::escape_text(text).replace('|', "\\|").replace('`', "'").replace('<', "&lt;").replace('>', "&gt;")
}

/// The readable report in Markdown.
pub fn markdown(run_id: &str, tables: &[CachedTable], reports: &[StatementReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# logfusion run {run_id}\n");
    let _ = writeln!(s, "{}\n", total_line(tables, reports));
    let _ = writeln!(s, "| {} |", SUMMARY_HEADER.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(SUMMARY_HEADER.len() - 1));
    for r in reports {
        let _ = writeln!(s, "| {} |", summary_cells(r, md).join(" | "));
    }
    if !tables.is_empty() {
        let _ = writeln!(s, "\n## Tables parsed once for the suite (cache)\n\n| {} |", CACHE_HEADER.join(" | "));
        let _ = writeln!(s, "|---|---|{}", "---:|".repeat(CACHE_HEADER.len() - 2));
        for t in tables {
            let _ = writeln!(s, "| {} |", cache_cells(t, md).join(" | "));
        }
    }
    let _ = writeln!(s, "\n## Sources\n\n| table | lines | rows | rejects | by reason |\n|---|---:|---:|---:|---|");
    for (table, t) in sources(reports) {
        let reasons: Vec<String> = t.rejects_by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "| {} | {} | {} | {} | {} |", md(&table), t.lines, t.rows, t.rejects, reasons.join(", "));
    }
    let _ = writeln!(s, "\n## Results and plans\n");
    for r in reports {
        let _ = writeln!(s, "### {}\n", md(&r.label()));
        if !r.columns.is_empty() {
            let _ = writeln!(s, "| {} |", r.columns.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(r.columns.len()));
            for row in &r.preview {
                let _ = writeln!(s, "| {} |", row.iter().map(|v| md(v)).collect::<Vec<_>>().join(" | "));
            }
            let _ = writeln!(s, "\n{} rows in all.\n", r.rows_out);
        }
        let _ = writeln!(s, "Top operators by time:\n");
        for op in top_operators(&r.operators, 3) {
            let _ = writeln!(
                s,
                "- {} {:.1} ms, {} rows",
                md(&op.name),
                op.time_ns.unwrap_or(0) as f64 / 1e6,
                op.output_rows.unwrap_or(0)
            );
        }
        let _ = writeln!(s, "\n~~~text\n{}~~~\n", r.plan.replace("~~~", "~ ~ ~"));
    }
    s
}
