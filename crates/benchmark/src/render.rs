//! Plain-text tables of a benchmark: per setting, side by side, where the time goes, and a
//! comparison with a saved run.

use crate::compare::{ComparisonRow, Verdict};
use crate::measure::SettingResult;

/// A duration: milliseconds with one decimal below a second, else seconds with three.
pub fn seconds(s: f64) -> String {
    if s < 1.0 { format!("{:.1} ms", s * 1e3) } else { format!("{s:.3} s") }
}

/// Bytes in B, KiB, MiB, GiB or TiB, one decimal.
pub fn size(bytes: u64) -> String {
    logfusion_engine::ByteSize(bytes).to_string()
}

fn per_second(n: f64) -> String {
    if n >= 1e6 { format!("{:.2} M", n / 1e6) } else { format!("{:.0}", n) }
}

/// Lays out rows under a header: the first column left-aligned, the others right-aligned.
pub fn grid(header: &[String], rows: &[Vec<String>]) -> String {
    aligned(header, rows, 1, false)
}

/// Like [`grid`], with the first `left` columns, and the last one if `text_last`, left-aligned.
fn aligned(header: &[String], rows: &[Vec<String>], left: usize, text_last: bool) -> String {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets::NOTHING};
    let mut table = Table::new();
    table.load_preset(NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(header);
    for row in rows {
        table.add_row(row);
    }
    let columns = header.len();
    for (c, column) in table.column_iter_mut().enumerate() {
        let text = c < left || (text_last && c + 1 == columns);
        column.set_cell_alignment(if text { CellAlignment::Left } else { CellAlignment::Right });
        column.set_padding((if c == 0 { 0 } else { 2 }, 0));
    }
    let mut out = String::new();
    for line in table.lines() {
        let line = line.trim_end();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every measured figure of one setting: wall min/median/max/spread, rows, throughput, memory.
pub fn setting_table(result: &SettingResult) -> String {
    let header: Vec<String> =
        ["query", "min", "median", "max", "spread", "rows", "MB/s", "lines/s", "peak mem"].map(String::from).into();
    let rows: Vec<Vec<String>> = result
        .queries
        .iter()
        .map(|q| {
            let rows = if q.rows_vary { format!("{}*", q.rows) } else { q.rows.to_string() };
            vec![
                q.name.clone(),
                seconds(q.wall.min),
                seconds(q.wall.median),
                seconds(q.wall.max),
                format!("{:.2}", q.wall.spread),
                rows,
                format!("{:.0}", q.mb_per_second.median),
                per_second(q.lines_per_second.median),
                size(q.peak_memory_bytes),
            ]
        })
        .collect();
    grid(&header, &rows)
}

/// Median wall time of each query under each setting, with the speed-up against the first
/// setting (`2.00x` = twice as fast), and a total line.
pub fn matrix_table(results: &[SettingResult]) -> String {
    let Some(first) = results.first() else { return String::new() };
    let mut header = vec!["query".to_string()];
    for (i, r) in results.iter().enumerate() {
        header.push(r.label.clone());
        if i > 0 {
            header.push("speed-up".to_string());
        }
    }
    let mut rows = Vec::new();
    let mut totals = vec![0.0; results.len()];
    for (q, query) in first.queries.iter().enumerate() {
        let mut row = vec![query.name.clone()];
        for (i, r) in results.iter().enumerate() {
            let median = r.queries.get(q).map_or(0.0, |x| x.wall.median);
            totals[i] += median;
            row.push(seconds(median));
            if i > 0 {
                row.push(speedup(query.wall.median, median));
            }
        }
        rows.push(row);
    }
    let mut total = vec!["total".to_string()];
    for (i, t) in totals.iter().enumerate() {
        total.push(seconds(*t));
        if i > 0 {
            total.push(speedup(totals[0], *t));
        }
    }
    rows.push(total);
    grid(&header, &rows)
}

fn speedup(reference: f64, value: f64) -> String {
    if value > 0.0 { format!("{:.2}x", reference / value) } else { "-".to_string() }
}

/// The operators that took most of each query's time (median run).
pub fn operators_table(result: &SettingResult) -> String {
    let header: Vec<String> = ["query", "operators by share of summed operator time"].map(String::from).into();
    let rows: Vec<Vec<String>> = result
        .queries
        .iter()
        .map(|q| {
            let ops: Vec<String> =
                q.top_operators.iter().take(3).map(|o| format!("{} {:.0}%", o.name, o.share * 100.0)).collect();
            vec![q.name.clone(), ops.join(", ")]
        })
        .collect();
    aligned(&header, &rows, 2, false)
}

/// Baseline against current for every query, regressions marked.
pub fn comparison_table(rows: &[ComparisonRow]) -> String {
    let header: Vec<String> =
        ["setting", "query", "baseline", "current", "change", "verdict", "note"].map(String::from).into();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.setting.clone(),
                r.query.clone(),
                r.baseline.map_or("-".to_string(), |s| seconds(s.median)),
                r.current.map_or("-".to_string(), |s| seconds(s.median)),
                r.change.map_or("-".to_string(), |c| format!("{:+.1}%", c * 100.0)),
                r.verdict.as_str().to_string(),
                r.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    aligned(&header, &cells, 2, true)
}

/// `setting/query` names of the regressed rows.
pub fn regressions(rows: &[ComparisonRow]) -> Vec<String> {
    rows.iter()
        .filter(|r| r.verdict == Verdict::Regressed)
        .map(|r| {
            let change = r.change.map_or(String::new(), |c| format!(" ({:+.1}%)", c * 100.0));
            format!("{} [{}]{change}", r.query, r.setting)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_aligns_columns() {
        let header = vec!["query".to_string(), "median".to_string()];
        let rows = vec![vec!["a_long_name".to_string(), seconds(0.5)], vec!["b".into(), seconds(10.0)]];
        assert_eq!(grid(&header, &rows), "query          median\na_long_name  500.0 ms\nb            10.000 s\n");
    }
}
