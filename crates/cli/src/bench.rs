//! `logfusion bench`: the query suite measured repeatedly under a settings matrix, with plans,
//! a saved JSON record and a regression check against an earlier record.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use logfusion_bench::measure::{self, BenchRun, Host, Prepared, TableSize};
use logfusion_bench::{Axis, BenchOptions, SettingResult, render};

use crate::setup::Environment;

/// What `logfusion bench` was asked to do.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    /// Query folder or file.
    pub queries: PathBuf,
    /// Measured runs per query and setting.
    pub iterations: usize,
    /// Unmeasured runs first.
    pub warmup: usize,
    /// `key=v1,v2` axes.
    pub matrix: Vec<String>,
    /// `NAME=VALUE` query parameters.
    pub params: Vec<String>,
    /// Where to save the run as JSON.
    pub save: Option<PathBuf>,
    /// A saved run to compare with.
    pub compare: Option<PathBuf>,
    /// Regression threshold in percent.
    pub threshold: f64,
    /// Folder for the plans.
    pub out: PathBuf,
}

/// Runs the benchmark and prints its tables. `Ok(false)` when `--compare` found regressions.
pub fn run(env: &Environment, args: &BenchArgs) -> anyhow::Result<bool> {
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    if !(args.threshold.is_finite() && args.threshold >= 0.0) {
        bail!("--threshold must be a percentage of at least 0");
    }
    let axes = args.matrix.iter().map(|a| Axis::parse(a)).collect::<Result<Vec<_>, _>>()?;
    let baseline = args.compare.as_deref().map(BenchRun::load).transpose()?;
    let params = env.params(&args.params)?;
    let files = logfusion_engine::runner::load_queries(&args.queries)?;
    let mut statements = measure::statements(&files, &params)?;
    let max_line = usize::try_from(env.config.max_line_bytes).unwrap_or(usize::MAX);
    let register = |ctx: &datafusion::prelude::SessionContext| env.catalog.register(ctx, max_line);
    let prepared = logfusion_bench::expand(&axes)
        .into_iter()
        .map(|setting| Prepared::new(setting, &env.settings, &register))
        .collect::<Result<Vec<_>, _>>()?;
    let first = prepared.first().context("no settings to run")?;
    let mut skipped = Vec::new();
    statements.retain(|s| match logfusion_engine::runner::missing_tables(first.context(), &s.sql) {
        Ok(missing) if !missing.is_empty() => {
            skipped.push(format!("{} (no table {})", s.name, missing.join(", ")));
            false
        }
        _ => true,
    });
    if statements.is_empty() {
        bail!("{}: no query can run on these tables", args.queries.display());
    }
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tables: Vec<TableSize> = env
        .catalog
        .tables
        .iter()
        .map(|t| TableSize { table: t.name.clone(), files: t.files.len(), bytes: t.bytes() })
        .collect();
    println!(
        "{} statements x {} settings; {} warm-up + {} measured runs each, settings interleaved",
        statements.len(),
        prepared.len(),
        args.warmup,
        args.iterations
    );
    let sizes: Vec<String> = tables
        .iter()
        .map(|t| {
            let files = if t.files == 1 { "1 file".to_string() } else { format!("{} files", t.files) };
            format!("{} {} in {files}", t.table, render::size(t.bytes))
        })
        .collect();
    println!("tables: {}", sizes.join("; "));
    for s in &skipped {
        println!("skipped: {s}");
    }
    let tty = std::io::stderr().is_terminal();
    let mut progress = |round: usize, rounds: usize, setting: &str, query: &str| {
        if tty {
            eprint!("\r\x1b[2K[round {round}/{rounds}] {setting}: {query}");
            let _ = std::io::stderr().flush();
        }
    };
    let options = BenchOptions { warmup: args.warmup, iterations: args.iterations };
    let results = measure::run(&prepared, &statements, options, &mut progress);
    if tty {
        eprint!("\r\x1b[2K");
    }
    let run = BenchRun {
        format_version: measure::FORMAT_VERSION,
        logfusion_version: env!("CARGO_PKG_VERSION").to_string(),
        started,
        host: Host::current(),
        warmup: args.warmup,
        iterations: args.iterations,
        tables,
        settings: results?,
    };
    print_results(&run.settings);
    let plans = write_plans(&args.out, &run.settings)?;
    println!("\nplans (EXPLAIN and EXPLAIN ANALYZE of the median run): {}/", plans.display());
    if let Some(path) = &args.save {
        run.save(path)?;
        println!("saved {}", path.display());
    }
    let Some(baseline) = baseline else { return Ok(true) };
    let rows = logfusion_bench::compare(&baseline, &run, args.threshold / 100.0);
    println!(
        "\ncompared with {} ({}, {} runs each; regression: median slower by more than {}% and no run overlap)",
        args.compare.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default(),
        baseline.started,
        baseline.iterations,
        args.threshold
    );
    if let Some(difference) = logfusion_bench::compare::machine_difference(&baseline, &run) {
        println!("note: {difference}; times may not be comparable");
    }
    print!("{}", render::comparison_table(&rows));
    let regressed = render::regressions(&rows);
    if regressed.is_empty() {
        println!("no regressions");
        Ok(true)
    } else {
        eprintln!("regressed: {}", regressed.join(", "));
        Ok(false)
    }
}

fn print_results(results: &[SettingResult]) {
    for result in results {
        println!("\n{} (wall time over the measured runs; MB/s and lines/s of the median run)", result.label);
        print!("{}", render::setting_table(result));
    }
    if results.len() > 1 {
        println!("\nside by side (median wall time; speed-up against {})", results[0].label);
        print!("{}", render::matrix_table(results));
    }
    for result in results {
        println!("\nwhere the time goes ({}, median run)", result.label);
        print!("{}", render::operators_table(result));
    }
}

/// Writes `<out>/<setting>/<query>.txt` with each query's SQL-level plans; returns `out`.
fn write_plans(out: &Path, results: &[SettingResult]) -> anyhow::Result<PathBuf> {
    for result in results {
        let dir = out.join(file_name(&result.label));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
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
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(out.to_path_buf())
}

/// A label as a file name: letters, digits, `-`, `_`, `.` and `=` kept, the rest `_`.
fn file_name(label: &str) -> String {
    label.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.=".contains(c) { c } else { '_' }).collect()
}
