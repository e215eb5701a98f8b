//! `logfusion serve`, `logfusion token new` and `logfusion passwd`: the Flight SQL server and
//! the credentials it accepts.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::GlobalArgs;
use crate::commands::SourceArgs;
use crate::stdout::outln;

/// Arguments of `logfusion serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Address to listen on (overrides network.bind), e.g. 0.0.0.0:50051 (needs TLS or
    /// network.allow_insecure).
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let env = Arc::new(args.sources.environment(global, &[])?);
    env.catalog.require_tables()?;
    let runtime = env.clone();
    runtime.runtime().block_on(async move {
        let server = logfusion_server::bind(env.clone(), args.bind.clone()).await?;
        let shutdown = logfusion_server::shutdown_signal().context("installing the SIGTERM and SIGINT handlers")?;
        let scheme = match server.tls {
            None => "grpc",
            Some(false) => "grpc+tls",
            Some(true) => "grpc+tls (client certificates required)",
        };
        let tables: Vec<&str> = env.catalog.tables.iter().map(|t| t.name.as_str()).collect();
        outln!("logfusion serve: Flight SQL on {scheme}://{} with tables {}", server.addr, tables.join(", "));
        if let Some(http) = server.http_addr {
            outln!("logfusion serve: health and metrics on http://{http}/healthz and /metrics");
        }
        tracing::info!(addr = %server.addr, "serving");
        server.run(shutdown).await?;
        outln!("logfusion serve: stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// What a new credential may do.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// SELECT, EXPLAIN and SHOW.
    Read,
    /// Read, and reload the config.
    Admin,
}

impl RoleArg {
    fn name(self) -> &'static str {
        match self {
            RoleArg::Read => "read",
            RoleArg::Admin => "admin",
        }
    }
}

/// `logfusion token ...`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a random bearer token: printed once, with the config line holding only its SHA-256.
    New(NewToken),
}

#[derive(Debug, clap::Args)]
struct NewToken {
    /// Who holds it (shown in audit lines and metrics).
    #[arg(long)]
    name: String,
    /// What it may do.
    #[arg(long, value_enum, default_value_t = RoleArg::Read)]
    role: RoleArg,
    /// The sources it may read, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<String>,
}

/// Prints a new token and its config line.
pub fn token(args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let TokenCommand::New(new) = &args.command;
    let secret = logfusion_server::new_secret();
    outln!("token (shown only now; keep it secret): {secret}");
    outln!("add under network.auth.tokens in config.yaml:");
    outln!(
        "  - {{ name: {}, token_sha256: \"{}\", role: {}{} }}",
        new.name,
        logfusion_server::token_sha256(&secret),
        new.role.name(),
        sources_field(&new.sources)
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `logfusion passwd`.
#[derive(Debug, clap::Args)]
pub struct PasswdArgs {
    /// The user name.
    name: String,
    /// What the user may do.
    #[arg(long, value_enum, default_value_t = RoleArg::Read)]
    role: RoleArg,
    /// The sources the user may read, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<String>,
}

/// Reads a password (without echo on a terminal, else one line of stdin) and prints the
/// config line with its argon2id hash.
pub fn passwd(args: &PasswdArgs) -> anyhow::Result<ExitCode> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {}: ", args.name))?;
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    anyhow::ensure!(!password.is_empty(), "an empty password");
    let hash = logfusion_server::hash_password(&password).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    outln!("add under network.auth.users in config.yaml:");
    outln!(
        "  - {{ name: {}, password_hash: \"{hash}\", role: {}{} }}",
        args.name,
        args.role.name(),
        sources_field(&args.sources)
    );
    Ok(ExitCode::SUCCESS)
}

fn sources_field(sources: &[String]) -> String {
    if sources.is_empty() { String::new() } else { format!(", sources: [{}]", sources.join(", ")) }
}
