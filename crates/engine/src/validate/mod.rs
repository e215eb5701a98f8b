//! `validate`: what is wrong in a set of log files, where, and how much. Runs the health scans
//! of every table (the same parsers as queries, in parallel over file ranges), adds up the
//! ranges of each file, checks the field rules (built-in and from config) in one SQL scan per
//! table, and reports files that are not readable logs too. [`ValidationReport::passes`] is
//! the verdict; [`write_rejects`] exports every reject.

mod rules;

use std::collections::BTreeMap;
use std::path::Path;

use logfusion_datasource::{FileHealth, TableKind};
use serde::Serialize;

use crate::environment::Environment;
use crate::error::{EngineError, Result};
use crate::output::{ResultFile, ResultFormat};
use crate::session::Session;

pub use rules::{RuleCount, default_rules};

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
    /// Size in bytes, as listed.
    pub size: u64,
    /// Why the file was not read as a log (binary, empty, unreadable).
    pub problem: Option<String>,
    /// Lines, rows, rejects, line problems and timestamp order of the whole file.
    #[serde(flatten)]
    pub health: FileHealth,
    /// Field rules broken, with how often and where first.
    pub rule_violations: BTreeMap<String, RuleCount>,
}

/// The report of a whole validation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationReport {
    /// Every file, in name order.
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
    /// Rejected lines (W3C directive lines aside) / lines (0 when there are no lines).
    pub reject_ratio: f64,
}

impl ValidationReport {
    /// Whether the logs pass: at most `max_error_ratio` of the lines rejected, every file
    /// readable as a log, and no read broken off.
    pub fn passes(&self, max_error_ratio: f64) -> bool {
        self.reject_ratio <= max_error_ratio && self.problem_files == 0 && self.read_errors == 0
    }
}

/// How to validate.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Rejects shown per reason and file.
    pub examples: usize,
}

/// Validates every file of `env`'s tables.
pub async fn validate(env: &Environment, options: &ValidateOptions) -> Result<ValidationReport> {
    let settings = env.settings.clone().with_option("logfusion.examples", options.examples);
    let session = env.session_with(&settings)?;
    let mut files: BTreeMap<String, FileReport> = BTreeMap::new();
    for table in &env.catalog.tables {
        for f in &table.files {
            files.insert(
                f.name.clone(),
                FileReport {
                    file: f.name.clone(),
                    table: Some(table.name.clone()),
                    format: Some(table.format.kind().to_string()),
                    detection_confidence: table.detected.then(|| f.detection.map(|d| d.confidence)).flatten(),
                    compression: f.compression.name().to_string(),
                    size: f.size(),
                    health: FileHealth { file: f.name.clone(), ..Default::default() },
                    ..Default::default()
                },
            );
        }
        for health in table_health(&session, &table.name).await? {
            if let Some(report) = files.get_mut(&health.file) {
                report.health += &health;
            }
        }
        let mut table_rules = default_rules(table.format.kind());
        table_rules.extend(env.config.rules.get(&table.name).cloned().unwrap_or_default());
        if !table_rules.is_empty() {
            for (file, violations) in rules::check(&session, &table.name, &table_rules).await? {
                if let Some(report) = files.get_mut(&file) {
                    report.rule_violations = violations;
                }
            }
        }
    }
    for table in env.config.rules.keys().filter(|t| env.catalog.table(t).is_none()) {
        tracing::warn!("rules.{table}: there is no table {table} in these files; its rules were not checked");
    }
    for f in &env.catalog.skipped {
        files.insert(
            f.name.clone(),
            FileReport {
                file: f.name.clone(),
                compression: f.compression.name().to_string(),
                size: f.size(),
                problem: f.problem.as_ref().map(ToString::to_string),
                health: FileHealth { file: f.name.clone(), ..Default::default() },
                ..Default::default()
            },
        );
    }
    let mut report = ValidationReport::default();
    for mut f in files.into_values() {
        cap_examples(&mut f.health, options.examples);
        report.lines += f.health.lines;
        report.rows += f.health.rows;
        report.rejects += f.health.rejects;
        report.problem_files += u64::from(f.problem.as_ref().is_some_and(|p| p != "empty file"));
        report.read_errors += u64::from(f.health.read_error.is_some());
        report.files.push(f);
    }
    // Directive lines (W3C headers) are rejects of the format's design, not errors.
    let directive = logfusion_formats::RejectReason::Directive.code();
    let directives: u64 = report.files.iter().filter_map(|f| f.health.rejects_by_reason.get(directive)).sum();
    let errors = report.rejects.saturating_sub(directives);
    report.reject_ratio = if report.lines == 0 { 0.0 } else { errors as f64 / report.lines as f64 };
    Ok(report)
}

/// The health of every range of `table`, in file and range order.
async fn table_health(session: &Session, table: &str) -> Result<Vec<FileHealth>> {
    let profile = TableKind::Profile.table_name(table);
    let sql = format!("SELECT * FROM \"{profile}\" ORDER BY file, range_start");
    let mut out = Vec::new();
    for batch in session.ctx.sql(&sql).await?.collect().await? {
        out.extend(FileHealth::from_batch(&batch)?);
    }
    Ok(out)
}

/// Keeps the first `n` examples of each reason, in line order.
fn cap_examples(health: &mut FileHealth, n: usize) {
    health.examples.sort_by_key(|e| e.line);
    let mut per_reason: BTreeMap<String, usize> = BTreeMap::new();
    health.examples.retain(|e| {
        let seen = per_reason.entry(e.reason.clone()).or_default();
        *seen += 1;
        *seen <= n
    });
}

/// Writes every reject of `env`'s tables to `out` (Parquet, or NDJSON for `.ndjson` and
/// `.jsonl`), ordered by file and line; returns how many.
pub async fn write_rejects(env: &Environment, out: &Path) -> Result<u64> {
    let format = match ResultFormat::from_extension(out) {
        Some(f @ (ResultFormat::Parquet | ResultFormat::Ndjson)) => f,
        _ => {
            return Err(EngineError::Argument {
                name: format!("--rejects {}", out.display()),
                message: "use a .parquet, .ndjson or .jsonl file".into(),
            });
        }
    };
    if env.catalog.tables.is_empty() {
        return Err(EngineError::Argument {
            name: format!("--rejects {}", out.display()),
            message: "no readable log files, so no rejects".into(),
        });
    }
    let session = env.session()?;
    let union: Vec<String> = env
        .catalog
        .tables
        .iter()
        .map(|t| format!("SELECT * FROM \"{}\"", TableKind::Rejects.table_name(&t.name)))
        .collect();
    let df = session.ctx.sql(&format!("{} ORDER BY file, line", union.join(" UNION ALL "))).await?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let mut file = ResultFile::create(out, format, schema)?;
    let mut stream = df.execute_stream().await?;
    let mut rows = 0u64;
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        file.write(&batch)?;
    }
    file.finish()?;
    Ok(rows)
}
