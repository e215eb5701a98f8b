//! `logfusion tables`: the tables, their format, files, compression and schema.

use std::process::ExitCode;

use crate::GlobalArgs;
use crate::commands::SourceArgs;

/// Arguments of `logfusion tables`.
#[derive(Debug, clap::Args)]
pub struct TablesArgs {
    #[command(flatten)]
    sources: SourceArgs,
}

/// Lists the tables.
pub fn run(global: &GlobalArgs, args: &TablesArgs) -> anyhow::Result<ExitCode> {
    let env = args.sources.environment(global, &[])?;
    env.catalog.require_tables()?;
    crate::render::print_tables(&env.catalog);
    Ok(ExitCode::SUCCESS)
}
