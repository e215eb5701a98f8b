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

/// Logs to stderr: warnings, or info with `-v`. `RUST_LOG` overrides.
pub fn init_tracing(verbose: bool) {
    let default = if verbose { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).without_time().try_init();
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
        let catalog = Catalog::discover(&sources)?;
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
        let mut stream = execute_stream(plan.clone(), ctx.task_ctx())?;
        let mut writer = ResultWriter::new(format, out, schema)?;
        while let Some(batch) = stream.next().await {
            writer.write(&batch?)?;
        }
        writer.finish()?;
        report_rejects(&plan);
        Ok(())
    }
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
