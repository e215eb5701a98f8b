//! `logfusion query`: one SQL statement over the log tables, its result on stdout or in a
//! file, and a note on stderr for every table whose scan rejected lines.

use std::path::PathBuf;
use std::process::ExitCode;

use futures::StreamExt;
use logfusion_engine::{Catalog, ExecutedPlan, plan_sql};

use crate::GlobalArgs;
use crate::commands::SourceArgs;
use crate::progress::Progress;
use crate::render::{OutputFormat, QueryOutput};

/// Arguments of `logfusion query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Output format. `table` holds the whole result in memory and shows control characters
    /// escaped; the others stream and keep the bytes as they are.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Write the result to this file instead of stdout (required for parquet). The file
    /// appears only once it is complete.
    #[arg(long, value_name = "PATH", required_if_eq("output", "parquet"))]
    out: Option<PathBuf>,
    /// The SQL statement.
    sql: String,
}

/// Runs the statement and writes its result.
pub fn run(global: &GlobalArgs, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let env = args.sources.environment(global, args.out.as_slice())?;
    env.catalog.require_tables()?;
    let session = env.session()?;
    env.runtime().block_on(async {
        let (schema, plan) = plan_sql(&session, &args.sql).await?;
        let progress = Progress::start(&env.catalog);
        progress.watch("query", plan.clone());
        let mut stream = session.execute(plan.clone())?;
        let mut output = QueryOutput::new(args.output, args.out.as_deref(), schema)?;
        while let Some(batch) = stream.next().await {
            output.write(&batch?)?;
        }
        drop(progress);
        output.finish()?;
        report_rejects(&env.catalog, &session.executed(&plan).await?);
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// One stderr line per scanned table that had rejects, so nothing is hidden.
fn report_rejects(catalog: &Catalog, executed: &ExecutedPlan) {
    for (table, stats) in &executed.sources {
        if stats.rejects == 0 || catalog.table(table).is_none() {
            continue;
        }
        let reasons: Vec<String> = stats.rejects_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        // A plan that scans the table more than once (a self-join, a union) counts its lines
        // once per scan: say so rather than show a table twice its size.
        let scans =
            if stats.scans > 1 { format!(", counted in each of its {} scans", stats.scans) } else { String::new() };
        eprintln!(
            "note: {table}: {} of {} lines rejected ({}){scans}; see SELECT * FROM {table}_rejects",
            stats.rejects,
            stats.lines,
            reasons.join(", ")
        );
    }
}
