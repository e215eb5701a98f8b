//! `logfusion`: SQL over directories of log files.

mod bench;
mod generate;
mod output;
mod progress;
mod setup;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::OutputFormat;

/// SQL over directories of log files: every line a typed row or a reject with file, line and reason.
#[derive(Debug, Parser)]
#[command(name = "logfusion", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: ./config.yaml if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Show info-level logs on stderr (warnings are always shown).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

/// Where tables come from, shared by the commands that read logs.
#[derive(Debug, Clone, clap::Args)]
struct SourceArgs {
    /// A log directory (read recursively), file or glob: one table per detected format
    /// (`access`, `syslog`, `json`, `logfmt`), each with its `<table>_rejects`. Without it,
    /// the sources of the config file.
    #[arg(long, value_name = "DIR")]
    log_dir: Option<String>,
    /// Read every file with this format instead of detecting it (access, combined, common,
    /// syslog, json, logfmt).
    #[arg(long, value_name = "FMT")]
    format: Option<String>,
    /// Worker threads and query partitions (overrides max_workers of the config).
    #[arg(long, value_name = "N")]
    max_workers: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one SQL statement over the log tables.
    Query {
        #[command(flatten)]
        sources: SourceArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        /// Write the result to this file instead of stdout (required for parquet).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// The SQL statement.
        sql: String,
    },
    /// Run every .sql file of a suite; write results to Parquet and a performance report.
    Run {
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
    },
    /// Measure queries repeatedly, under a matrix of settings; save runs and catch regressions.
    ///
    /// Exit status: 0 when done (and, with --compare, nothing regressed); 1 when a query
    /// regressed or on errors; 2 for usage errors.
    Bench {
        #[command(flatten)]
        sources: SourceArgs,
        /// A folder of .sql files (in name order) or one file.
        #[arg(long, default_value = "queries", value_name = "PATH")]
        queries: PathBuf,
        /// Measured runs of each query per setting.
        #[arg(long, default_value_t = 5, value_name = "N")]
        iterations: usize,
        /// Unmeasured runs of each query per setting first.
        #[arg(long, default_value_t = 1, value_name = "K")]
        warmup: usize,
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
        #[arg(long, default_value_t = 10.0, value_name = "PCT")]
        threshold: f64,
        /// Folder for each query's EXPLAIN and EXPLAIN ANALYZE.
        #[arg(long, default_value = "out/bench", value_name = "DIR")]
        out: PathBuf,
    },
    /// Write whole log tables as Parquet (zstd), optionally hive-partitioned.
    Export {
        #[command(flatten)]
        sources: SourceArgs,
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Hive partitioning: `date`, `source` or `date,source`.
        #[arg(long, value_name = "KEYS", default_value = "")]
        partition_by: String,
    },
    /// Check log files line by line: per file what is wrong, where, and how much.
    ///
    /// Exit status: 0 when the share of rejected lines is at most --max-error-ratio and every
    /// file could be read as a log; 1 otherwise; 2 for usage errors.
    Validate {
        /// Folder (recursive), file or glob to check.
        #[arg(long, value_name = "DIR")]
        directory: String,
        /// Read every file with this format instead of detecting it.
        #[arg(long, value_name = "FMT")]
        format: Option<String>,
        /// Print the report as JSON (stable field names, see the README).
        #[arg(long)]
        json: bool,
        /// Write every reject to this file: Parquet (.parquet) or NDJSON (.ndjson, .jsonl).
        #[arg(long, value_name = "OUT")]
        rejects: Option<PathBuf>,
        /// Highest acceptable share of rejected lines (0 to 1).
        #[arg(long, default_value_t = 0.0, value_name = "R")]
        max_error_ratio: f64,
        /// Examples shown per reject reason and file.
        #[arg(long, default_value_t = 3, value_name = "N")]
        examples: usize,
    },
    /// List the tables: source, format, files and row schema.
    Tables {
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// List every supported format with its columns.
    Formats,
    /// Generate a deterministic log data set (for benchmarks and tests).
    Gen {
        /// Format to generate: access, syslog, json, logfmt.
        #[arg(long, default_value = "access")]
        format: String,
        /// Approximate size, e.g. 512MiB or 5GiB.
        #[arg(long, default_value = "64MiB")]
        size: String,
        /// One malformed line in every N lines (0: none).
        #[arg(long, default_value_t = 0)]
        malformed_every: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file (`-` for stdout).
        #[arg(long, default_value = "data/generated/access.log")]
        out: PathBuf,
    },
}

/// Exit status for usage errors (as clap uses).
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let writes_system_log = matches!(
        cli.command,
        Command::Run { .. }
            | Command::Query { .. }
            | Command::Export { .. }
            | Command::Validate { .. }
            | Command::Bench { .. }
    );
    let logging = writes_system_log.then(|| setup::logging_config(cli.config.as_deref()));
    setup::init_tracing(cli.verbose, logging.as_ref());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!("error: {}", one_line(&msg));
            ExitCode::FAILURE
        }
    }
}

/// Output piped into `head` and the like ends the process quietly when the reader goes away,
/// as other command-line tools do, instead of failing on a closed pipe. (Rust ignores SIGPIPE
/// by default; this restores the default action.)
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; setting the
    // disposition of SIGPIPE to its default has no other effect on the program's state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Errors print as one line; DataFusion sometimes puts newlines in its messages.
/// Control characters (from file names or log text) are shown escaped.
fn one_line(msg: &str) -> String {
    let joined = msg.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    logfusion_formats::escape_text(&joined)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Formats => {
            output::print_formats();
            Ok(())
        }
        Command::Gen { format, size, malformed_every, seed, out } => {
            let bytes = logfusion_engine::config::parse_bytes(&size).map_err(anyhow::Error::msg)?;
            generate::generate(&format, bytes, malformed_every, seed, &out)
        }
        Command::Tables { sources } => {
            let env = setup::Environment::load(cli.config.as_deref(), &sources)?;
            output::print_tables(&env.catalog);
            Ok(())
        }
        Command::Run { sources, queries, out, params, csv } => {
            let env = setup::Environment::load(cli.config.as_deref(), &sources)?;
            let params = env.params(&params)?;
            env.runtime()?.block_on(env.run_suite(&queries, &out, &params, csv))
        }
        Command::Bench { sources, queries, iterations, warmup, matrix, params, save, compare, threshold, out } => {
            let env = setup::Environment::load(cli.config.as_deref(), &sources)?;
            let args = bench::BenchArgs { queries, iterations, warmup, matrix, params, save, compare, threshold, out };
            if !bench::run(&env, &args)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Export { sources, out, partition_by } => {
            let keys = logfusion_engine::export::PartitionKey::parse_list(&partition_by)?;
            let env = setup::Environment::load(cli.config.as_deref(), &sources)?;
            env.runtime()?.block_on(async {
                let ctx = env.session()?;
                for t in logfusion_engine::export::export_tables(&ctx, &env.catalog, &out, &keys).await? {
                    println!("{}: {} rows", t.table, t.rows);
                }
                println!("wrote {}", out.display());
                anyhow::Ok(())
            })
        }
        Command::Validate { directory, format, json, rejects, max_error_ratio, examples } => {
            if !(0.0..=1.0).contains(&max_error_ratio) {
                eprintln!("error: --max-error-ratio must be between 0 and 1");
                std::process::exit(USAGE_ERROR.into());
            }
            if let Some(name) = &format
                && let Err(e) = logfusion_formats::FormatSpec::parse_name(name)
            {
                eprintln!("error: --format: {e}");
                std::process::exit(USAGE_ERROR.into());
            }
            let sources = SourceArgs { log_dir: Some(directory), format, max_workers: None };
            let env = setup::Environment::load_with(cli.config.as_deref(), &sources, true)?;
            let ok =
                env.runtime()?.block_on(validate::run(&env, json, rejects.as_deref(), max_error_ratio, examples))?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Query { sources, output, out, sql } => {
            let env = setup::Environment::load(cli.config.as_deref(), &sources)?;
            env.runtime()?.block_on(env.query(&sql, output, out.as_deref()))
        }
    }
}
