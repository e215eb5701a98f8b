//! `logfusion`: SQL over directories of log files. The binary parses arguments, renders
//! results and picks the exit code; the work is done by the engine crates.
//!
//! Exit status: 0 on success; 1 on errors, a failed validation or a benchmark regression;
//! 2 for usage errors.

mod commands;
mod logging;
mod progress;
mod render;
mod stdout;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{
    BenchArgs, ClusterArgs, DetectArgs, ExecutorArgs, ExportArgs, GenArgs, PasswdArgs, QueryArgs, RunArgs,
    SchedulerArgs, ServeArgs, TablesArgs, TokenArgs, ValidateArgs,
};

/// SQL over directories of log files: every line a typed row or a reject with file, line and reason.
#[derive(Debug, Parser)]
#[command(name = "logfusion", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Configuration file (default: ./config.yaml if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Show info-level logs on stderr (warnings are always shown).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one SQL statement over the log tables.
    Query(QueryArgs),
    /// Run every .sql file of a suite; write results to Parquet and a performance report.
    Run(RunArgs),
    /// Measure queries repeatedly, under a matrix of settings; save runs and catch regressions.
    ///
    /// Exit status: 0 when done (and, with --compare, nothing regressed); 1 when a query
    /// regressed or on errors; 2 for usage errors.
    Bench(BenchArgs),
    /// Write whole log tables as Parquet (zstd), optionally hive-partitioned.
    Export(ExportArgs),
    /// Check log files line by line: per file what is wrong, where, and how much.
    ///
    /// Exit status: 0 when the share of rejected lines is at most --max-error-ratio and every
    /// file could be read as a log; 1 otherwise; 2 for usage errors.
    Validate(ValidateArgs),
    /// Serve the tables over Arrow Flight SQL, with TLS, authentication and access control.
    Serve(ServeArgs),
    /// Make credentials for the server: `logfusion token new --name NAME --role read`.
    Token(TokenArgs),
    /// Hash a password for a server user (read from the terminal without echo, or stdin).
    Passwd(PasswdArgs),
    /// Run a Ballista scheduler with logfusion's formats (clients and executors connect to it).
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor with logfusion's formats, registered with a scheduler.
    Executor(ExecutorArgs),
    /// What a cluster is doing: `logfusion cluster status --cluster df://HOST:PORT`.
    Cluster(ClusterArgs),
    /// List the tables: source, format, files and row schema.
    Tables(TablesArgs),
    /// List every supported format with its columns.
    Formats,
    /// Which format each file is in: every format's share of the first lines, and the first
    /// line each does not read.
    Detect(DetectArgs),
    /// Generate a deterministic log data set (for benchmarks and tests).
    Gen(GenArgs),
}

impl Command {
    /// Whether the command reads logs, and so writes the system log.
    fn reads_logs(&self) -> bool {
        !matches!(
            self,
            Command::Formats
                | Command::Detect(_)
                | Command::Gen(_)
                | Command::Tables(_)
                | Command::Token(_)
                | Command::Passwd(_)
                | Command::Cluster(_)
        )
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let system_log = cli.command.reads_logs().then(|| logging::system_log_settings(cli.global.config.as_deref()));
    logging::init(cli.global.verbose, system_log.as_ref());
    install_panic_hook();
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {}", render::error_line(&e));
            ExitCode::FAILURE
        }
        Err(_) => {
            let what = LAST_PANIC.lock().ok().and_then(|p| p.clone()).unwrap_or_else(|| "unknown panic".into());
            eprintln!("error: internal error: {}; please report it", logfusion_formats::escape_text(&what));
            ExitCode::FAILURE
        }
    }
}

/// The last panic's message and place, for the one error line `main` prints.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Replaces the default panic hook, which prints the message raw (log text, control bytes
/// and all) on stderr: panics are recorded instead. A panic in a scan becomes its query's
/// error (naming the file and line); any other ends `main` with one escaped error line.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::debug!("panic{place}: {}", logfusion_formats::escape_text(&message));
        if !logfusion_datasource::in_scan()
            && let Ok(mut last) = LAST_PANIC.lock()
        {
            *last = Some(format!("{message}{place}"));
        }
    }));
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match cli.command {
        Command::Query(args) => commands::query::run(global, &args),
        Command::Run(args) => commands::run::run(global, &args),
        Command::Bench(args) => commands::bench::run(global, &args),
        Command::Export(args) => commands::export::run(global, &args),
        Command::Validate(args) => commands::validate::run(global, &args),
        Command::Serve(args) => commands::serve::run(global, &args),
        Command::Token(args) => commands::serve::token(&args),
        Command::Passwd(args) => commands::serve::passwd(&args),
        Command::Scheduler(args) => commands::cluster::scheduler(global, &args),
        Command::Executor(args) => commands::cluster::executor(global, &args),
        Command::Cluster(args) => commands::cluster::run(global, &args),
        Command::Tables(args) => commands::tables::run(global, &args),
        Command::Formats => {
            commands::load_user_formats(global)?;
            render::print_formats().map(|()| ExitCode::SUCCESS)
        }
        Command::Detect(args) => commands::detect::run(global, &args),
        Command::Gen(args) => commands::generate::run(&args),
    }
}
