//! The performance report: JSON lines appended to `performance.log`, and `report.md` /
//! `report.html` for people. All text that can come from logs or queries is escaped.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::EngineError;
use crate::runner::StatementReport;

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
    let io = |e: std::io::Error| EngineError::Input(format!("{}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
    let mut text = String::new();
    for r in reports {
        let line = serde_json::to_string(&LogRecord { record: "statement", run_id, statement: r })
            .map_err(|e| EngineError::Input(format!("encoding performance record: {e}")))?;
        text.push_str(&line);
        text.push('\n');
    }
    file.write_all(text.as_bytes()).map_err(io)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Markdown cell text: no pipes or newlines, backticks neutralised.
fn md(text: &str) -> String {
    logfusion_formats::escape_text(text).replace('|', "\\|").replace('`', "'").replace('<', "&lt;").replace('>', "&gt;")
}

/// The readable report in Markdown.
pub fn markdown(run_id: &str, reports: &[StatementReport]) -> String {
    let mut s = String::new();
    let total: f64 = reports.iter().map(|r| r.wall_seconds).sum();
    let _ = writeln!(s, "# logfusion run {run_id}\n");
    let _ = writeln!(s, "{} statements, {total:.3} s in all.\n", reports.len());
    let _ = writeln!(s, "| query | wall s | rows out | MB/s | lines/s | peak memory MiB | spills | rejects |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in reports {
        let _ = writeln!(s, "| {} |", summary_cells(r, md).join(" | "));
    }
    let _ = writeln!(s, "\n## Sources\n\n| table | lines | rows | rejects | by reason |\n|---|---:|---:|---:|---|");
    for (table, t) in sources(reports) {
        let reasons: Vec<String> = t.rejects_by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "| {} | {} | {} | {} | {} |", md(&table), t.lines, t.rows, t.rejects, reasons.join(", "));
    }
    let _ = writeln!(s, "\n## Results and plans\n");
    for r in reports {
        let _ = writeln!(s, "### {}\n", md(&label(r)));
        if !r.columns.is_empty() {
            let _ = writeln!(s, "| {} |", r.columns.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(r.columns.len()));
            for row in &r.preview {
                let _ = writeln!(s, "| {} |", row.iter().map(|v| md(v)).collect::<Vec<_>>().join(" | "));
            }
            let _ = writeln!(s, "\n{} rows in all.\n", r.rows_out);
        }
        let _ = writeln!(s, "Top operators by time:\n");
        for op in top_operators(r, 3) {
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

/// The cells of a statement's summary row, the label escaped with `escape`.
fn summary_cells(r: &StatementReport, escape: fn(&str) -> String) -> Vec<String> {
    let rejects: u64 = r.sources.values().map(|t| t.rejects).sum();
    vec![
        escape(&label(r)),
        format!("{:.3}", r.wall_seconds),
        r.rows_out.to_string(),
        format!("{:.0}", r.mb_per_second),
        format!("{:.0}", r.lines_per_second),
        format!("{:.1}", mib(r.peak_memory_bytes)),
        r.spill_count.to_string(),
        rejects.to_string(),
    ]
}

fn label(r: &StatementReport) -> String {
    if r.statement == 0 { r.query.clone() } else { format!("{}#{}", r.query, r.statement + 1) }
}

/// Per-table accounting of the run: the largest single scan of each table (a statement that
/// reads a table once without stopping early reads all of it, so that is the table's count).
fn sources(reports: &[StatementReport]) -> Vec<(String, crate::TableScanStats)> {
    let mut out: std::collections::BTreeMap<String, crate::TableScanStats> = Default::default();
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

fn top_operators(r: &StatementReport, n: usize) -> Vec<&crate::runner::OperatorReport> {
    let mut ops: Vec<_> = r.operators.iter().filter(|o| o.time_ns.is_some()).collect();
    ops.sort_by_key(|o| std::cmp::Reverse(o.time_ns.unwrap_or(0)));
    ops.truncate(n);
    ops
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A horizontal bar chart as inline SVG.
fn bar_chart(title: &str, unit: &str, bars: &[(String, f64)]) -> String {
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9);
    let row = 22;
    let height = row * bars.len() + 30;
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" width=\"760\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        html_escape(title)
    );
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = 10 + i * row;
        let w = (v / max * 420.0).max(1.0);
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"250\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#3b7dd8\"></rect><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{v:.1} {}</text>",
            y + 12,
            html_escape(&truncate(name, 36)),
            255.0 + w,
            y + 12,
            html_escape(unit)
        );
    }
    s.push_str("</svg></figure>");
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}

/// The readable report as one self-contained HTML page (no scripts, no external resources).
pub fn html(run_id: &str, reports: &[StatementReport], sample_rejects: &[(String, String, String)]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>logfusion run {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         pre{{background:#f5f5f5;padding:8px;overflow-x:auto;font-size:11px}}</style></head><body>",
        html_escape(run_id)
    );
    let total: f64 = reports.iter().map(|r| r.wall_seconds).sum();
    let _ = write!(
        s,
        "<h1>logfusion run {}</h1><p>{} statements, {total:.3} s in all.</p>",
        html_escape(run_id),
        reports.len()
    );
    s.push_str("<table><tr><th>query</th><th>wall s</th><th>rows out</th><th>MB/s</th><th>lines/s</th><th>peak memory MiB</th><th>spills</th><th>rejects</th></tr>");
    for r in reports {
        let cells: String = summary_cells(r, html_escape).iter().map(|c| format!("<td>{c}</td>")).collect();
        let _ = write!(s, "<tr>{cells}</tr>");
    }
    s.push_str("</table>");
    let throughput: Vec<(String, f64)> = reports.iter().map(|r| (label(r), r.mb_per_second)).collect();
    s.push_str(&bar_chart("Throughput per query (log bytes scanned per wall second)", "MB/s", &throughput));
    s.push_str(
        "<h2>Sources</h2><table><tr><th>table</th><th>lines</th><th>rows</th><th>rejects</th><th>by reason</th></tr>",
    );
    for (table, t) in sources(reports) {
        let reasons: Vec<String> = t.rejects_by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&table),
            t.lines,
            t.rows,
            t.rejects,
            html_escape(&reasons.join(", "))
        );
    }
    s.push_str("</table>");
    if !sample_rejects.is_empty() {
        s.push_str("<h2>Sample rejects</h2><table><tr><th>where</th><th>reason</th><th>excerpt</th></tr>");
        for (at, reason, excerpt) in sample_rejects {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(at),
                html_escape(reason),
                html_escape(excerpt)
            );
        }
        s.push_str("</table>");
    }
    s.push_str("<h2>Results and plans</h2>");
    for r in reports {
        let ops: Vec<(String, f64)> = top_operators(r, 8)
            .into_iter()
            .map(|o| (format!("{}{}", "· ".repeat(o.depth), o.name), o.time_ns.unwrap_or(0) as f64 / 1e6))
            .collect();
        let _ = write!(s, "<h3>{}</h3>", html_escape(&label(r)));
        if !r.columns.is_empty() {
            s.push_str("<table><tr>");
            for c in &r.columns {
                let _ = write!(s, "<th>{}</th>", html_escape(c));
            }
            s.push_str("</tr>");
            for row in &r.preview {
                s.push_str("<tr>");
                for v in row {
                    let _ = write!(s, "<td>{}</td>", html_escape(v));
                }
                s.push_str("</tr>");
            }
            let _ = write!(s, "</table><p>{} rows in all.</p>", r.rows_out);
        }
        s.push_str(&bar_chart("Time per operator", "ms", &ops));
        let _ = write!(s, "<pre>{}</pre>", html_escape(&r.plan));
    }
    s.push_str("</body></html>\n");
    s
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
