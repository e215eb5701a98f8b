//! A whole benchmark of a suite over an engine [`Environment`]: the settings matrix prepared,
//! statements that cannot run set aside, the measured rounds, the plans written, the run saved
//! and compared with a baseline. The CLI only prints what [`Benchmark`] and [`BenchOutcome`]
//! hold.

use std::path::{Path, PathBuf};

use logfusion_engine::{Environment, Skipped, Statement, Suite};

use crate::BenchError;
use crate::compare::{ComparisonRow, compare};
use crate::matrix::{Axis, expand};
use crate::measure::{BenchOptions, BenchRun, FORMAT_VERSION, Host, Prepared, SettingResult, TableSize, run};

/// What a benchmark is asked to do.
#[derive(Debug, Clone)]
pub struct BenchRequest {
    /// Query folder or file.
    pub queries: PathBuf,
    /// Measured runs per query and setting.
    pub iterations: usize,
    /// Unmeasured runs first.
    pub warmup: usize,
    /// `key=v1,v2` axes of the settings matrix.
    pub matrix: Vec<String>,
    /// `NAME=VALUE` query parameters.
    pub params: Vec<String>,
    /// A saved run to compare with.
    pub compare: Option<PathBuf>,
    /// Slow-down, in percent of the baseline median, that counts as a regression.
    pub threshold_percent: f64,
    /// Folder for each query's plans.
    pub plans: PathBuf,
    /// Where to save the run as JSON.
    pub save: Option<PathBuf>,
}

/// A benchmark ready to run.
pub struct Benchmark {
    /// The statements that will be measured.
    pub statements: Vec<Statement>,
    /// Statements left out: tables they read are missing.
    pub skipped: Vec<Skipped>,
    /// One prepared session per setting of the matrix.
    pub prepared: Vec<Prepared>,
    /// The tables read, with their sizes.
    pub tables: Vec<TableSize>,
    /// The saved run to compare with, if any.
    pub baseline: Option<BenchRun>,
    request: BenchRequest,
}

/// What a benchmark measured.
pub struct BenchOutcome {
    /// The run, as saved.
    pub run: BenchRun,
    /// The folder holding each query's plans.
    pub plans: PathBuf,
    /// The baseline and the comparison with it, if asked for.
    pub comparison: Option<(BenchRun, Vec<ComparisonRow>)>,
}

/// Prepares a benchmark of `request` over `env`: checks the arguments, loads the baseline and
/// the suite, prepares one session per setting and sets aside statements that cannot run.
pub fn prepare_benchmark(env: &Environment, request: &BenchRequest) -> Result<Benchmark, BenchError> {
    if request.iterations == 0 {
        return Err(BenchError::Argument { name: "--iterations", message: "must be at least 1".into() });
    }
    if !(request.threshold_percent.is_finite() && request.threshold_percent >= 0.0) {
        return Err(BenchError::Argument { name: "--threshold", message: "must be a percentage of at least 0".into() });
    }
    let axes = request.matrix.iter().map(|a| Axis::parse(a)).collect::<Result<Vec<_>, _>>()?;
    let baseline = request.compare.as_deref().map(BenchRun::load).transpose()?;
    let suite = Suite::load(&request.queries, &env.params(&request.params)?)?;
    let prepared =
        expand(&axes).into_iter().map(|setting| Prepared::new(setting, env)).collect::<Result<Vec<_>, _>>()?;
    let first = prepared.first().ok_or_else(|| BenchError::NothingToRun { queries: request.queries.clone() })?;
    let (statements, skipped) = suite.partition(first.context())?;
    if statements.is_empty() {
        return Err(BenchError::NothingToRun { queries: request.queries.clone() });
    }
    let tables = env
        .catalog
        .tables
        .iter()
        .map(|t| TableSize { table: t.name.clone(), files: t.files.len(), bytes: t.bytes() })
        .collect();
    Ok(Benchmark { statements, skipped, prepared, tables, baseline, request: request.clone() })
}

impl Benchmark {
    /// Runs the rounds (`progress` hears of each run: round, rounds, setting, statement),
    /// writes the plans, saves the run if asked, and compares it with the baseline.
    pub fn run(self, progress: &mut dyn FnMut(usize, usize, &str, &str)) -> Result<BenchOutcome, BenchError> {
        let started = logfusion_engine::now_rfc3339();
        let options = BenchOptions { warmup: self.request.warmup, iterations: self.request.iterations };
        let settings = run(&self.prepared, &self.statements, options, progress)?;
        let run = BenchRun {
            format_version: FORMAT_VERSION,
            logfusion_version: env!("CARGO_PKG_VERSION").to_string(),
            started,
            host: Host::current(),
            warmup: self.request.warmup,
            iterations: self.request.iterations,
            tables: self.tables,
            settings,
        };
        write_plans(&self.request.plans, &run.settings)?;
        if let Some(path) = &self.request.save {
            run.save(path)?;
        }
        let comparison = self.baseline.map(|baseline| {
            let rows = compare(&baseline, &run, self.request.threshold_percent / 100.0);
            (baseline, rows)
        });
        Ok(BenchOutcome { run, plans: self.request.plans.clone(), comparison })
    }
}

/// Writes `<out>/<setting>/<query>.txt` with each query's plans and where its time went.
fn write_plans(out: &Path, results: &[SettingResult]) -> Result<(), BenchError> {
    let io = |path: &Path, e: std::io::Error| BenchError::File { path: path.into(), message: e.to_string() };
    for result in results {
        let dir = out.join(file_name(&result.label));
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        for q in &result.queries {
            let mut text = format!(
                "-- {} [{}]\n\n-- EXPLAIN\n{}\n-- EXPLAIN ANALYZE (median run)\n",
                q.name, result.label, q.explain
            );
            text.push_str(&q.explain_analyze);
            text.push_str("\n-- operators by time\n");
            for o in &q.top_operators {
                text.push_str(&format!(
                    "{:5.1}%  {:>10.3} ms  {}\n",
                    o.share * 100.0,
                    o.time_ns as f64 / 1e6,
                    o.detail
                ));
            }
            let path = dir.join(format!("{}.txt", file_name(&q.name)));
            logfusion_engine::write_text(&path, &text)?;
        }
    }
    Ok(())
}

/// A label as a file name: letters, digits, `-`, `_`, `.` and `=` kept, the rest `_`.
fn file_name(label: &str) -> String {
    label.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.=".contains(c) { c } else { '_' }).collect()
}
