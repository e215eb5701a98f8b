//! `logfusion run`: the query suite driver — every `.sql` file of a folder, results to
//! Parquet (and CSV), a performance record per statement, and the reports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use datafusion::physical_plan::ExecutionPlan;
use logfusion_engine::{CachedTable, RunObserver, Skipped, StatementReport, Suite, SuiteOptions, run_suite};

use crate::GlobalArgs;
use crate::commands::SourceArgs;
use crate::progress::Progress;
use crate::stdout::outln;

/// Arguments of `logfusion run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// A folder of .sql files (run in name order) or one file.
    #[arg(long, default_value = "queries", value_name = "PATH")]
    queries: PathBuf,
    /// Folder for results (`<query>.parquet`), `report.md` and `report.html`.
    #[arg(long, default_value = "out", value_name = "DIR")]
    out: PathBuf,
    /// A query parameter: `${name}` in the SQL becomes VALUE.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Also write each result as CSV.
    #[arg(long)]
    csv: bool,
    /// Parse every table for every statement, without the cache (`cache:` in the config):
    /// no table parsed once for the whole suite, no stored results read or written.
    #[arg(long)]
    no_cache: bool,
}

/// Runs the suite and prints a line per statement and a summary.
pub fn run(global: &GlobalArgs, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let env = args.sources.environment(global, std::slice::from_ref(&args.out))?;
    env.catalog.require_tables()?;
    let suite = Suite::load(&args.queries, &env.params(&args.params)?)?;
    let options = SuiteOptions { out: args.out.clone(), csv: args.csv, cache: !args.no_cache };
    let observer = Printer { progress: Progress::start(&env.catalog) };
    let report = env.runtime().block_on(run_suite(&env, &suite, &options, &observer))?;
    drop(observer);
    outln!(
        "{} statements in {:.3} s; results in {}/, report in {} and {}, records in {}",
        report.statements.len(),
        report.total_seconds(),
        args.out.display(),
        report.markdown.display(),
        report.html.display(),
        report.performance_log.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Shows progress and prints one line per statement.
struct Printer {
    progress: Progress,
}

impl RunObserver for Printer {
    fn planned(&self, name: &str, plan: &Arc<dyn ExecutionPlan>) {
        self.progress.watch(name, plan.clone());
    }

    fn finished(&self, name: &str, r: &StatementReport) {
        let line = match r.cache.as_deref() {
            Some(_) => format!(
                "{:<32} {:>8.3} s {:>9} rows  (stored result: files unchanged)",
                name, r.wall_seconds, r.rows_out
            ),
            None => format!(
                "{:<32} {:>8.3} s {:>9} rows {:>8.0} MB/s {:>11.0} lines/s",
                name, r.wall_seconds, r.rows_out, r.mb_per_second, r.lines_per_second
            ),
        };
        self.progress.println(&line);
    }

    fn table_ready(&self, t: &CachedTable) {
        self.progress.println(&format!(
            "{:<32} {:>8.3} s  table {}: {} files parsed ({:.1} MB), {} grown, {} from the cache; columns {}",
            format!("(cache) {}", t.table),
            t.seconds,
            t.table,
            t.parsed,
            t.bytes_parsed as f64 / 1e6,
            t.grown,
            t.hits,
            t.columns.join(", ")
        ));
    }

    fn skipped(&self, s: &Skipped) {
        self.progress.println(&format!("{:<32} skipped: no table {}", s.statement.name, s.missing.join(", ")));
    }
}
