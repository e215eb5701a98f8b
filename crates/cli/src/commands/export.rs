//! `logfusion export`: whole log tables as zstd Parquet for analysts.

use std::path::PathBuf;
use std::process::ExitCode;

use logfusion_engine::PartitionKey;

use crate::GlobalArgs;
use crate::commands::SourceArgs;
use crate::stdout::outln;

/// Arguments of `logfusion export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Hive partitioning: `date`, `source` or `date,source`.
    #[arg(long, value_name = "KEYS", default_value = "")]
    partition_by: String,
}

/// Exports every table.
pub fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let keys = PartitionKey::parse_list(&args.partition_by)?;
    let env = args.sources.environment(global, std::slice::from_ref(&args.out))?;
    env.catalog.require_tables()?;
    for t in env.runtime().block_on(logfusion_engine::export_tables(&env, &args.out, &keys))? {
        outln!("{}: {} rows", t.table, t.rows);
    }
    outln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
