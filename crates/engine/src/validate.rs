//! `validate`: what is wrong in a set of log files, where, and how much. Runs the profile scans
//! (the same parsers and rules as queries, in parallel over file ranges) and merges the ranges
//! of each file into one report; files that are not readable logs are reported too.

use std::collections::BTreeMap;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, UInt64Type};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::EngineError;
use crate::catalog::Catalog;

/// A field rule broken by some rows.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RuleCount {
    /// Rows breaking it.
    pub count: u64,
    /// First line breaking it.
    pub first_line: u64,
}

/// One reject shown as an example.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Example {
    /// 1-based line.
    pub line: u64,
    /// Byte offset of the line (in the decompressed stream).
    pub byte_offset: u64,
    /// Reason code.
    pub reason: String,
    /// What is wrong.
    pub detail: String,
    /// Escaped excerpt of the line.
    pub excerpt: String,
}

/// The report of one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileReport {
    /// The file.
    pub file: String,
    /// Table it belongs to (none if skipped).
    pub table: Option<String>,
    /// Format it was read with.
    pub format: Option<String>,
    /// Share of sampled lines the detected format matched (none if configured).
    pub detection_confidence: Option<f64>,
    /// Compression found from the first bytes.
    pub compression: String,
    /// Size on disk.
    pub size: u64,
    /// Why the file was not read as a log (binary, UTF-16, empty, unreadable, undetected).
    pub problem: Option<String>,
    /// Lines read.
    pub lines: u64,
    /// Lines that are valid rows.
    pub rows: u64,
    /// Lines that are rejects.
    pub rejects: u64,
    /// Rejects by reason code.
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Lines ending in CRLF.
    pub crlf_lines: u64,
    /// Lines holding NUL bytes.
    pub nul_lines: u64,
    /// Lines holding other control bytes.
    pub control_lines: u64,
    /// Longest line in bytes.
    pub longest_line: u64,
    /// The last line has no `\n`.
    pub ends_without_newline: bool,
    /// Rows whose timestamp is earlier than the previous row's.
    pub ts_out_of_order: u64,
    /// Rows whose timestamp is in the future.
    pub ts_in_future: u64,
    /// Field rules broken (`status_100_599`, `client_ip_valid`).
    pub rule_violations: BTreeMap<String, RuleCount>,
    /// The first rejects per reason.
    pub examples: Vec<Example>,
    /// Reading stopped here (truncated or corrupt compressed data); lines before are counted.
    pub read_error: Option<String>,
}

/// The report of a whole validation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationReport {
    /// Every file, in path order.
    pub files: Vec<FileReport>,
    /// Lines over all files.
    pub lines: u64,
    /// Valid rows over all files.
    pub rows: u64,
    /// Rejects over all files.
    pub rejects: u64,
    /// Files that could not be read as logs (empty files not counted).
    pub problem_files: u64,
    /// Files whose reading broke off.
    pub read_errors: u64,
    /// rejects / lines (0 when there are no lines).
    pub reject_ratio: f64,
}

fn json_map<T: for<'de> serde::Deserialize<'de> + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

/// Validates every file of `catalog` (registered in `ctx`) keeping `examples` per reason.
pub async fn validate(
    ctx: &SessionContext,
    catalog: &Catalog,
    examples: usize,
    rules: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<ValidationReport, EngineError> {
    let mut files: BTreeMap<String, FileReport> = BTreeMap::new();
    for table in &catalog.tables {
        for f in &table.files {
            let name = f.name();
            files.insert(
                name.clone(),
                FileReport {
                    file: name,
                    table: Some(table.name.clone()),
                    format: Some(table.format.kind().to_string()),
                    detection_confidence: table.detected.then(|| f.detection.map(|d| d.confidence)).flatten(),
                    compression: f.compression.name().to_string(),
                    size: f.size,
                    ..Default::default()
                },
            );
        }
        let sql = format!("SELECT * FROM \"{}\" ORDER BY file, range_start", table.profile_name());
        let batches = ctx.sql(&sql).await?.collect().await?;
        let mut last_ts: BTreeMap<String, i64> = BTreeMap::new();
        for batch in &batches {
            merge_batch(batch, &mut files, &mut last_ts)?;
        }
        if let Some(table_rules) = rules.get(&table.name) {
            check_rules(ctx, &table.name, table_rules, &mut files).await?;
        }
    }
    for table in rules.keys().filter(|t| !catalog.tables.iter().any(|c| &c.name == *t)) {
        tracing::warn!("rules.{table}: there is no table {table} in these files; its rules were not checked");
    }
    for f in &catalog.skipped {
        let name = f.name();
        files.insert(
            name.clone(),
            FileReport {
                file: name,
                compression: f.compression.name().to_string(),
                size: f.size,
                problem: f.problem.as_ref().map(ToString::to_string),
                ..Default::default()
            },
        );
    }
    let mut report = ValidationReport::default();
    for mut f in files.into_values() {
        f.examples.sort_by_key(|e| e.line);
        let mut per_reason: BTreeMap<String, usize> = BTreeMap::new();
        f.examples.retain(|e| {
            let n = per_reason.entry(e.reason.clone()).or_default();
            *n += 1;
            *n <= examples
        });
        report.lines += f.lines;
        report.rows += f.rows;
        report.rejects += f.rejects;
        report.problem_files += u64::from(f.problem.as_ref().is_some_and(|p| p != "empty file"));
        report.read_errors += u64::from(f.read_error.is_some());
        report.files.push(f);
    }
    report.reject_ratio = if report.lines == 0 { 0.0 } else { report.rejects as f64 / report.lines as f64 };
    Ok(report)
}

/// Counts, per file, the rows of `table` breaking each rule (its condition false or NULL),
/// with the first such line. One scan for all rules of the table; a rule that does not plan
/// (unknown column, not a condition) is an error naming it.
async fn check_rules(
    ctx: &SessionContext,
    table: &str,
    rules: &BTreeMap<String, String>,
    files: &mut BTreeMap<String, FileReport>,
) -> Result<(), EngineError> {
    let mut flags = Vec::new();
    let mut aggregates = Vec::new();
    for (i, (name, condition)) in rules.iter().enumerate() {
        let probe = async {
            let df = ctx.sql(&format!("SELECT ({condition}) FROM \"{table}\" LIMIT 0")).await?;
            let boolean = df.schema().field(0).data_type() == &datafusion::arrow::datatypes::DataType::Boolean;
            df.create_physical_plan().await?;
            Ok::<_, datafusion::error::DataFusionError>(boolean)
        };
        match probe.await {
            Ok(true) => {}
            Ok(false) => {
                return Err(EngineError::Config(format!("rules.{table}.{name}: {condition:?} is not a condition")));
            }
            Err(e) => return Err(EngineError::Config(format!("rules.{table}.{name}: {condition:?}: {e}"))),
        }
        flags.push(format!("NOT coalesce(({condition}), false) AS broken_{i}"));
        aggregates.push(format!("sum(CAST(broken_{i} AS BIGINT)), min(CASE WHEN broken_{i} THEN _line END)"));
    }
    let sql = format!(
        "SELECT _file, {} FROM (SELECT _file, _line, {} FROM \"{table}\") GROUP BY _file",
        aggregates.join(", "),
        flags.join(", ")
    );
    for batch in ctx.sql(&sql).await?.collect().await? {
        let files_column = batch.column(0).as_string::<i32>().clone();
        for (i, name) in rules.keys().enumerate() {
            let counts = batch.column(1 + 2 * i).as_primitive::<Int64Type>().clone();
            let firsts = batch.column(2 + 2 * i).as_primitive::<UInt64Type>().clone();
            // sum() of no rows is NULL, read as 0 by value().
            for row in 0..batch.num_rows() {
                let count = u64::try_from(counts.value(row)).unwrap_or(0);
                if count == 0 {
                    continue;
                }
                let file = files_column.value(row).to_string();
                let report = files.entry(file.clone()).or_insert_with(|| FileReport { file, ..Default::default() });
                report.rule_violations.insert(name.clone(), RuleCount { count, first_line: firsts.value(row) });
            }
        }
    }
    Ok(())
}

fn merge_batch(
    batch: &RecordBatch,
    files: &mut BTreeMap<String, FileReport>,
    last_ts: &mut BTreeMap<String, i64>,
) -> Result<(), EngineError> {
    let col = |name: &str| {
        batch.column_by_name(name).ok_or_else(|| EngineError::Input(format!("profile column {name} missing")))
    };
    let text = |name: &str| -> Result<Vec<Option<String>>, EngineError> {
        let a = datafusion::arrow::compute::cast(col(name)?, &datafusion::arrow::datatypes::DataType::Utf8)
            .map_err(|e| EngineError::DataFusion(e.into()))?;
        Ok(a.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect())
    };
    let num = |name: &str| -> Result<Vec<u64>, EngineError> {
        Ok(col(name)?.as_primitive::<UInt64Type>().iter().map(|v| v.unwrap_or(0)).collect())
    };
    let ts = |name: &str| -> Result<Vec<Option<i64>>, EngineError> {
        Ok(col(name)?.as_primitive::<Int64Type>().iter().collect())
    };
    let (file, reasons, rules, examples, errors) =
        (text("file")?, text("rejects_by_reason")?, text("rule_violations")?, text("examples")?, text("read_error")?);
    let (lines, rows, rejects) = (num("lines")?, num("rows")?, num("rejects")?);
    let (crlf, nul, control, longest) =
        (num("crlf_lines")?, num("nul_lines")?, num("control_lines")?, num("longest_line")?);
    let (order, future) = (num("ts_out_of_order")?, num("ts_in_future")?);
    let (first, last) = (ts("ts_first")?, ts("ts_last")?);
    let no_newline = col("ends_without_newline")?.as_boolean().clone();
    for i in 0..batch.num_rows() {
        let name = file[i].clone().unwrap_or_default();
        let f = files.entry(name.clone()).or_insert_with(|| FileReport { file: name.clone(), ..Default::default() });
        f.lines += lines[i];
        f.rows += rows[i];
        f.rejects += rejects[i];
        for (k, v) in json_map::<BTreeMap<String, u64>>(reasons[i].as_deref().unwrap_or("{}")) {
            *f.rejects_by_reason.entry(k).or_default() += v;
        }
        for (k, v) in json_map::<BTreeMap<String, serde_json::Value>>(rules[i].as_deref().unwrap_or("{}")) {
            let r = f.rule_violations.entry(k).or_default();
            let first_line = v["first_line"].as_u64().unwrap_or(0);
            r.first_line = if r.count == 0 { first_line } else { r.first_line.min(first_line) };
            r.count += v["count"].as_u64().unwrap_or(0);
        }
        f.examples.extend(json_map::<Vec<Example>>(examples[i].as_deref().unwrap_or("[]")));
        f.crlf_lines += crlf[i];
        f.nul_lines += nul[i];
        f.control_lines += control[i];
        f.longest_line = f.longest_line.max(longest[i]);
        f.ends_without_newline = no_newline.value(i);
        f.ts_out_of_order += order[i];
        // A range that starts earlier than the previous range of the same file ended.
        if let (Some(prev), Some(start)) = (last_ts.get(&name), first[i])
            && start < *prev
        {
            f.ts_out_of_order += 1;
        }
        if let Some(end) = last[i] {
            last_ts.insert(name.clone(), end);
        }
        f.ts_in_future += future[i];
        if f.read_error.is_none() {
            f.read_error = errors[i].clone();
        }
    }
    Ok(())
}
