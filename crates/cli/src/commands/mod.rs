//! One module per subcommand, each with its `#[derive(Args)]` struct and a `run` that returns
//! the exit code.

pub mod bench;
pub mod cluster;
pub mod detect;
pub mod export;
pub mod generate;
pub mod query;
pub mod run;
pub mod serve;
pub mod tables;
pub mod validate;

pub use bench::BenchArgs;
pub use cluster::{ClusterArg, ClusterArgs, ExecutorArgs, SchedulerArgs};
pub use detect::DetectArgs;
pub use export::ExportArgs;
pub use generate::GenArgs;
pub use query::QueryArgs;
pub use run::RunArgs;
pub use serve::{PasswdArgs, ServeArgs, TokenArgs};
pub use tables::TablesArgs;
pub use validate::ValidateArgs;

use logfusion_engine::{Environment, EnvironmentOptions};

use crate::GlobalArgs;

/// Where tables come from, shared by the commands that read logs.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// A log directory (read recursively), file, glob or s3:// URL: one table per detected
    /// format (`access`, `syslog`, `json`, `logfmt`, a library format such as `nginx_error`;
    /// `text` for files no format reads), each with its `<table>_rejects`. Without it, the
    /// sources of the config file.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<String>,
    /// Read every file with this format instead of detecting it (access, combined, common,
    /// syslog, json, logfmt, w3c, text, or a library format: `logfusion formats`).
    #[arg(long, value_name = "FMT", value_parser = format_name)]
    pub format: Option<String>,
    /// Text encoding of the files when not UTF-8: windows-1252, latin1, shift_jis, … (any
    /// WHATWG label). UTF-16 files are recognised by their byte-order mark.
    #[arg(long, value_name = "LABEL", value_parser = encoding_label)]
    pub encoding: Option<String>,
    /// Worker threads and query partitions (overrides max_workers of the config).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_workers: Option<u32>,
    /// Fail when a file cannot be read to its end, instead of keeping the lines before the
    /// damage with a `read_error` reject and a warning (as `on_read_error: fail`).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub cluster: ClusterArg,
}

impl SourceArgs {
    /// The environment these arguments (and the global ones) describe; `outputs` are the
    /// command's own files and folders, never read as input.
    pub fn environment(&self, global: &GlobalArgs, outputs: &[std::path::PathBuf]) -> anyhow::Result<Environment> {
        let env = Environment::load(&EnvironmentOptions {
            config: global.config.clone(),
            log_dir: self.log_dir.clone(),
            format: self.format.clone(),
            encoding: self.encoding.clone(),
            max_workers: self.max_workers.map(|n| n as usize),
            exclude: outputs.to_vec(),
            strict: self.strict,
            sessions: self.cluster.sessions(global)?,
        })?;
        crate::render::print_notes(&env.catalog);
        Ok(env)
    }
}

/// Loads the config (if there is one) for its side effect on the format library: the
/// definitions of its `formats_dir` join it.
pub fn load_user_formats(global: &GlobalArgs) -> anyhow::Result<()> {
    EnvironmentOptions { config: global.config.clone(), ..Default::default() }.load_config()?;
    Ok(())
}

/// A text encoding label, checked by clap (usage error, exit status 2, when unknown).
pub fn encoding_label(text: &str) -> Result<String, String> {
    logfusion_datasource::Decoding::from_label(Some(text), false).map(|_| text.to_string()).map_err(|e| e.to_string())
}

/// A built-in format name, checked by clap (usage error, exit status 2, when unknown).
pub fn format_name(text: &str) -> Result<String, String> {
    logfusion_formats::FormatSpec::parse_name(text).map(|_| text.to_string()).map_err(|e| e.to_string())
}
