//! The readable report as one self-contained HTML page: no scripts, no external resources,
//! and a Content-Security-Policy that allows neither.

use std::fmt::Write as _;

use super::{CACHE_HEADER, SUMMARY_HEADER, cache_cells, sources, summary_cells, total_line};
use crate::cache::tables::CachedTable;
use crate::metrics::top_operators;
use crate::run::StatementReport;

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
pub fn html(
    run_id: &str,
    tables: &[CachedTable],
    reports: &[StatementReport],
    sample_rejects: &[(String, String, String)],
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>logfusion run {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         pre{{background:#f5f5f5;padding:8px;overflow-x:auto;font-size:11px}}</style></head><body>",
        html_escape(run_id)
    );
    let _ =
        write!(s, "<h1>logfusion run {}</h1><p>{}</p>", html_escape(run_id), html_escape(&total_line(tables, reports)));
    s.push_str("<table><tr>");
    for h in SUMMARY_HEADER {
        let _ = write!(s, "<th>{h}</th>");
    }
    s.push_str("</tr>");
    for r in reports {
        let cells: String = summary_cells(r, html_escape).iter().map(|c| format!("<td>{c}</td>")).collect();
        let _ = write!(s, "<tr>{cells}</tr>");
    }
    s.push_str("</table>");
    let throughput: Vec<(String, f64)> = reports.iter().map(|r| (r.label(), r.mb_per_second)).collect();
    s.push_str(&bar_chart("Throughput per query (log bytes scanned per wall second)", "MB/s", &throughput));
    if !tables.is_empty() {
        s.push_str("<h2>Tables parsed once for the suite (cache)</h2><table><tr>");
        for h in CACHE_HEADER {
            let _ = write!(s, "<th>{h}</th>");
        }
        s.push_str("</tr>");
        for t in tables {
            let cells: String = cache_cells(t, html_escape).iter().map(|c| format!("<td>{c}</td>")).collect();
            let _ = write!(s, "<tr>{cells}</tr>");
        }
        s.push_str("</table>");
    }
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
        let ops: Vec<(String, f64)> = top_operators(&r.operators, 8)
            .into_iter()
            .map(|o| (format!("{}{}", "· ".repeat(o.depth), o.name), o.time_ns.unwrap_or(0) as f64 / 1e6))
            .collect();
        let _ = write!(s, "<h3>{}</h3>", html_escape(&r.label()));
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
