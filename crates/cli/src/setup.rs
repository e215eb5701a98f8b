//! Turning command-line arguments and config into a ready session: config, catalog, runtime,
//! and running a query with its line accounting.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use logfusion_engine::{Catalog, Config, SessionSettings, SourceRequest, scan_stats, session_context};
use logfusion_formats::FormatSpec;

use crate::SourceArgs;
use crate::output::{OutputFormat, ResultWriter};

/// Logs to stderr (warnings, or info with `-v`; `RUST_LOG` overrides) and, when `system_log`
/// is given, to that file at the config's level with timestamps. A system log that cannot be
/// opened is reported on stderr and left out.
pub fn init_tracing(verbose: bool, system_log: Option<&logfusion_engine::config::LoggingConfig>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let default = if verbose { "info" } else { "warn" };
    let stderr_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_filter(stderr_filter);
    let mut file_error = None;
    let file = system_log.and_then(|logging| {
        let open = std::fs::OpenOptions::new().create(true).append(true).open(&logging.system_log);
        match open {
            Ok(f) => Some(
                tracing_subscriber::fmt::layer().with_writer(std::sync::Mutex::new(f)).with_ansi(false).with_filter(
                    EnvFilter::new(format!(
                        "logfusion={0},logfusion_engine={0},logfusion_datasource={0},warn",
                        logging.level
                    )),
                ),
            ),
            Err(e) => {
                file_error = Some(format!("cannot open system log {}: {e}", logging.system_log.display()));
                None
            }
        }
    });
    let _ = tracing_subscriber::registry().with(stderr).with(file).try_init();
    if let Some(e) = file_error {
        tracing::warn!("{e}");
    }
}

/// The logging settings of the config a command will use (defaults when it cannot be read:
/// loading it again later reports the problem).
pub fn logging_config(config_path: Option<&Path>) -> logfusion_engine::config::LoggingConfig {
    let path = config_path.map(Path::to_path_buf).or_else(|| {
        let default = Path::new("config.yaml");
        default.is_file().then(|| default.to_path_buf())
    });
    path.and_then(|p| Config::load(&p).ok()).map(|c| c.logging).unwrap_or_default()
}

/// Config, tables and session settings of one command.
pub struct Environment {
    /// The configuration.
    pub config: Config,
    /// The tables.
    pub catalog: Catalog,
    /// Session settings.
    pub settings: SessionSettings,
}

impl Environment {
    /// Loads the config (explicit, or `./config.yaml` if present) and discovers the tables.
    pub fn load(config_path: Option<&Path>, args: &SourceArgs) -> anyhow::Result<Environment> {
        Self::load_with(config_path, args, false)
    }

    /// Like [`Environment::load`]; with `allow_empty`, no readable log file is not an error.
    pub fn load_with(config_path: Option<&Path>, args: &SourceArgs, allow_empty: bool) -> anyhow::Result<Environment> {
        let mut config = match config_path {
            Some(p) => Config::load(p)?,
            None if Path::new("config.yaml").is_file() => Config::load(Path::new("config.yaml"))?,
            None => Config::default(),
        };
        if let Some(n) = args.max_workers {
            if n == 0 {
                bail!("--max-workers must be at least 1");
            }
            config.max_workers = Some(n);
        }
        let forced = match &args.format {
            Some(name) => Some(FormatSpec::parse_name(name).map_err(|e| anyhow::anyhow!("--format: {e}"))?),
            None => None,
        };
        let sources = match &args.log_dir {
            Some(dir) => vec![SourceRequest::auto(dir.clone(), forced)],
            None if !config.sources.is_empty() => {
                if forced.is_some() {
                    bail!("--format applies to --log-dir; set `format` per source in the config instead");
                }
                SourceRequest::from_config(&config)?
            }
            None => bail!("no logs to read: pass --log-dir DIR or define `sources` in config.yaml"),
        };
        let catalog = if allow_empty { Catalog::discover_all(&sources)? } else { Catalog::discover(&sources)? };
        for t in &catalog.tables {
            tracing::info!(table = %t.name, format = %t.format.kind(), files = t.files.len(), bytes = t.bytes(), "table registered");
        }
        for skipped in &catalog.skipped {
            let problem = skipped.problem.as_ref().map(ToString::to_string).unwrap_or_default();
            tracing::warn!("skipping {}: {problem}", logfusion_formats::escape_text(&skipped.path.to_string_lossy()));
        }
        let settings = SessionSettings::from_config(&config);
        Ok(Environment { config, catalog, settings })
    }

    /// A tokio runtime with `max_workers` threads.
    pub fn runtime(&self) -> anyhow::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.settings.partitions.max(1))
            .enable_all()
            .build()
            .context("cannot start the runtime")
    }

    /// A session with every table registered.
    pub fn session(&self) -> anyhow::Result<SessionContext> {
        let ctx = session_context(&self.settings)?;
        let max_line = usize::try_from(self.config.max_line_bytes).unwrap_or(usize::MAX);
        self.catalog.register(&ctx, max_line)?;
        Ok(ctx)
    }

    /// Runs `sql`, writes the result, and reports rejected lines on stderr.
    pub async fn query(&self, sql: &str, format: OutputFormat, out: Option<&Path>) -> anyhow::Result<()> {
        let ctx = self.session()?;
        let df = ctx.sql(sql).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let plan = df.create_physical_plan().await?;
        let progress = crate::progress::Progress::start(&self.catalog);
        progress.watch("query", plan.clone());
        let mut stream = execute_stream(plan.clone(), ctx.task_ctx())?;
        let mut writer = ResultWriter::new(format, out, schema)?;
        while let Some(batch) = stream.next().await {
            writer.write(&batch?)?;
        }
        progress.finish();
        writer.finish()?;
        report_rejects(&plan);
        Ok(())
    }
}

impl Environment {
    /// Query parameters: the config's `params`, overridden by `NAME=VALUE` arguments.
    pub fn params(&self, args: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
        let mut params = self.config.params();
        for p in args {
            match p.split_once('=') {
                Some((k, v)) if !k.is_empty() => params.insert(k.to_string(), v.to_string()),
                _ => bail!("--param {p:?}: expected NAME=VALUE"),
            };
        }
        Ok(params)
    }
}

impl Environment {
    /// Runs a query suite: results to `out/<query>.parquet`, the report to `out/report.md`,
    /// `out/report.html` and the performance log; prints a summary.
    pub async fn run_suite(
        &self,
        queries: &Path,
        out: &Path,
        params: &std::collections::BTreeMap<String, String>,
        csv: bool,
    ) -> anyhow::Result<()> {
        use logfusion_engine::runner::{ResultSink, load_queries, run_statement, split_statements, substitute};
        let files = load_queries(queries)?;
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let (ctx, pool) = logfusion_engine::tracked_session(&self.settings)?;
        let max_line = usize::try_from(self.config.max_line_bytes).unwrap_or(usize::MAX);
        self.catalog.register(&ctx, max_line)?;
        let run_id = format!("{}-{}", unix_seconds(), std::process::id());
        let mut reports = Vec::new();
        let progress = crate::progress::Progress::start(&self.catalog);
        for file in &files {
            let sql = substitute(&file.sql, params).map_err(|e| anyhow::anyhow!("{}: {e}", file.path.display()))?;
            let statements = split_statements(&sql);
            for (i, statement) in statements.iter().enumerate() {
                let missing = logfusion_engine::runner::missing_tables(&ctx, statement)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.path.display()))?;
                if !missing.is_empty() {
                    tracing::warn!("skipping {}: no table {}", file.name, missing.join(", "));
                    println!("{:<32} skipped: no table {}", file.name, missing.join(", "));
                    continue;
                }
                let stem = if i == 0 { file.name.clone() } else { format!("{}_{}", file.name, i + 1) };
                let sink = ResultSink {
                    parquet: out.join(format!("{stem}.parquet")),
                    csv: csv.then(|| out.join(format!("{stem}.csv"))),
                };
                let watch = |plan| progress.watch(&stem, plan);
                let report = run_statement(&ctx, &pool, &file.name, i, statement, Some(&sink), &watch)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.path.display()))?;
                println!(
                    "{:<32} {:>8.3} s {:>9} rows {:>8.0} MB/s {:>11.0} lines/s",
                    stem, report.wall_seconds, report.rows_out, report.mb_per_second, report.lines_per_second
                );
                tracing::info!(
                    query = %stem,
                    wall_seconds = report.wall_seconds,
                    rows = report.rows_out,
                    mb_per_second = report.mb_per_second,
                    "statement finished"
                );
                reports.push(report);
            }
        }
        progress.finish();
        let samples = self.sample_rejects(&ctx, &reports).await?;
        let perf_log = &self.config.logging.performance_log;
        logfusion_engine::report::append_performance_log(perf_log, &run_id, &reports)?;
        std::fs::write(out.join("report.md"), logfusion_engine::report::markdown(&run_id, &reports))?;
        std::fs::write(out.join("report.html"), logfusion_engine::report::html(&run_id, &reports, &samples))?;
        let total: f64 = reports.iter().map(|r| r.wall_seconds).sum();
        println!(
            "{} statements in {total:.3} s; results in {}/, report in {}/report.md and report.html, records in {}",
            reports.len(),
            out.display(),
            out.display(),
            perf_log.display()
        );
        Ok(())
    }

    /// A few rejects of each table that had any in this run, for the report.
    async fn sample_rejects(
        &self,
        ctx: &SessionContext,
        reports: &[logfusion_engine::runner::StatementReport],
    ) -> anyhow::Result<Vec<(String, String, String)>> {
        use datafusion::arrow::util::display::array_value_to_string;
        let mut out = Vec::new();
        for table in &self.catalog.tables {
            let had = reports.iter().any(|r| r.sources.get(&table.name).is_some_and(|s| s.rejects > 0));
            if !had {
                continue;
            }
            let sql = format!(
                "SELECT file || ':' || CAST(line AS VARCHAR), reason, excerpt FROM \"{}\" ORDER BY file, line LIMIT 10",
                table.rejects_name()
            );
            for batch in ctx.sql(&sql).await?.collect().await? {
                for r in 0..batch.num_rows() {
                    let cell = |i: usize| array_value_to_string(batch.column(i), r);
                    out.push((cell(0)?, cell(1)?, cell(2)?));
                }
            }
        }
        Ok(out)
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// One stderr line per scanned table that had rejects, so nothing is hidden.
fn report_rejects(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) {
    for (table, stats) in scan_stats(plan) {
        if stats.rejects == 0 || table.ends_with("_rejects") {
            continue;
        }
        let reasons: Vec<String> = stats.rejects_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        eprintln!(
            "note: {table}: {} of {} lines rejected ({}); see SELECT * FROM {table}_rejects",
            stats.rejects,
            stats.lines,
            reasons.join(", ")
        );
    }
}
