//! `logfusion bench`: the query suite measured repeatedly under a settings matrix, with plans,
//! a saved JSON record and a regression check against an earlier record.

use std::path::PathBuf;
use std::process::ExitCode;

use logfusion_benchmark::{BenchRequest, SettingResult, prepare_benchmark, render};

use crate::GlobalArgs;
use crate::commands::SourceArgs;
use crate::stdout::{out, outln};

/// Arguments of `logfusion bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// A folder of .sql files (in name order) or one file.
    #[arg(long, default_value = "queries", value_name = "PATH")]
    queries: PathBuf,
    /// Measured runs of each query per setting.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// Unmeasured runs of each query per setting first.
    #[arg(long, default_value_t = 1, value_name = "K")]
    warmup: u32,
    /// Settings to compare: `max_workers`, `batch_size`, `memory_limit`,
    /// `projection_pushdown` (on/off) or any `datafusion.*` option, e.g.
    /// `--matrix max_workers=1,2 --matrix batch_size=4096,16384` (every combination runs).
    #[arg(long, value_name = "KEY=V1,V2")]
    matrix: Vec<String>,
    /// A query parameter: `${name}` in the SQL becomes VALUE.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Save the results (every run, plans, machine) as JSON.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Compare with a saved run; exit 1 when a query regressed.
    #[arg(long, value_name = "FILE")]
    compare: Option<PathBuf>,
    /// Slow-down (percent of the baseline median) that counts as a regression.
    #[arg(long, default_value_t = 10.0, value_name = "PCT", value_parser = percentage)]
    threshold: f64,
    /// Folder for each query's EXPLAIN and EXPLAIN ANALYZE.
    #[arg(long, default_value = "out/bench", value_name = "DIR")]
    out: PathBuf,
}

fn percentage(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err("expected a percentage of at least 0".into()),
    }
}

/// Runs the benchmark and prints its tables; exit status 1 when a query regressed.
pub fn run(global: &GlobalArgs, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let outputs: Vec<_> = [Some(args.out.clone()), args.save.clone()].into_iter().flatten().collect();
    let env = args.sources.environment(global, &outputs)?;
    env.catalog.require_tables()?;
    let request = BenchRequest {
        queries: args.queries.clone(),
        iterations: args.iterations as usize,
        warmup: args.warmup as usize,
        matrix: args.matrix.clone(),
        params: args.params.clone(),
        compare: args.compare.clone(),
        threshold_percent: args.threshold,
        plans: args.out.clone(),
        save: args.save.clone(),
    };
    let benchmark = prepare_benchmark(&env, &request)?;
    outln!(
        "{} statements x {} settings; {} warm-up + {} measured runs each, settings interleaved",
        benchmark.statements.len(),
        benchmark.prepared.len(),
        args.warmup,
        args.iterations
    );
    let sizes: Vec<String> = benchmark
        .tables
        .iter()
        .map(|t| {
            let files = if t.files == 1 { "1 file".to_string() } else { format!("{} files", t.files) };
            format!("{} {} in {files}", t.table, render::size(t.bytes))
        })
        .collect();
    outln!("tables: {}", sizes.join("; "));
    for s in &benchmark.skipped {
        outln!("skipped: {} (no table {})", s.statement.name, s.missing.join(", "));
    }
    let bar = crate::progress::Rounds::new();
    let outcome = benchmark.run(&mut |round, rounds, setting, query| bar.show(round, rounds, setting, query))?;
    drop(bar);
    print_results(&outcome.run.settings);
    outln!("\nplans (EXPLAIN and EXPLAIN ANALYZE of the median run): {}/", outcome.plans.display());
    if let Some(path) = &args.save {
        outln!("saved {}", path.display());
    }
    let Some((baseline, rows)) = &outcome.comparison else { return Ok(ExitCode::SUCCESS) };
    outln!(
        "\ncompared with {} ({}, {} runs each; regression: median slower by more than {}% and no run overlap)",
        args.compare.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
        baseline.started,
        baseline.iterations,
        args.threshold
    );
    if let Some(difference) = logfusion_benchmark::machine_difference(baseline, &outcome.run) {
        outln!("note: {difference}; times may not be comparable");
    }
    out!("{}", render::comparison_table(rows));
    let regressed = render::regressions(rows);
    if regressed.is_empty() {
        outln!("no regressions");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("regressed: {}", regressed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

fn print_results(results: &[SettingResult]) {
    for result in results {
        outln!("\n{} (wall time over the measured runs; MB/s and lines/s of the median run)", result.label);
        out!("{}", render::setting_table(result));
    }
    if results.len() > 1 {
        outln!("\nside by side (median wall time; speed-up against {})", results[0].label);
        out!("{}", render::matrix_table(results));
    }
    for result in results {
        outln!("\nwhere the time goes ({}, median run)", result.label);
        out!("{}", render::operators_table(result));
    }
}
