//! `logfusion scheduler`, `logfusion executor` and `logfusion cluster status`: a Ballista
//! cluster of logfusion's own processes, and what it is doing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use comfy_table::Table;
use logfusion_cluster::{
    Address, ClusterSessions, DEFAULT_SCHEDULER_PORT, ExecutorOptions, SchedulerApi, SchedulerOptions,
};
use logfusion_engine::{ByteSize, ClusterConfig, EnvironmentOptions, SessionFactory};

use crate::GlobalArgs;
use crate::stdout::outln;

/// `--cluster`: run on a Ballista cluster instead of in this process.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClusterArg {
    /// Run on the cluster of this scheduler (`df://HOST:PORT`); alone, the config's
    /// `cluster.scheduler`. Results, rejects and `_line` are those of a local run; every
    /// executor must see the files at the same paths (or in the same object store).
    #[arg(long, value_name = "df://HOST:PORT", num_args = 0..=1, default_missing_value = "")]
    pub cluster: Option<String>,
}

impl ClusterArg {
    /// The session factory of the cluster, if `--cluster` was given.
    pub fn sessions(&self, global: &GlobalArgs) -> anyhow::Result<Option<Arc<dyn SessionFactory>>> {
        let Some(text) = &self.cluster else { return Ok(None) };
        let config = cluster_config(global)?;
        let text = if text.is_empty() { config.scheduler.as_str() } else { text.as_str() };
        let scheduler = Address::parse("--cluster", text, DEFAULT_SCHEDULER_PORT)?;
        Ok(Some(Arc::new(ClusterSessions::new(scheduler, &config)?)))
    }
}

/// The `cluster:` section of the config the command reads.
fn cluster_config(global: &GlobalArgs) -> anyhow::Result<ClusterConfig> {
    let options = EnvironmentOptions { config: global.config.clone(), ..Default::default() };
    Ok(options.load_config()?.0.cluster)
}

/// Arguments of `logfusion scheduler`.
#[derive(Debug, clap::Args)]
pub struct SchedulerArgs {
    /// Address to listen on for clients, executors and the REST API (default:
    /// `cluster.bind`, 127.0.0.1:50050). A non-loopback address needs `cluster.allow_insecure`.
    #[arg(long, value_name = "HOST:PORT")]
    bind: Option<String>,
    /// The host name executors and clients reach this scheduler at (default: the bind host).
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
}

/// Runs the scheduler until the process is stopped.
pub fn scheduler(global: &GlobalArgs, args: &SchedulerArgs) -> anyhow::Result<ExitCode> {
    let config = cluster_config(global)?;
    let bind = Address::parse("--bind", args.bind.as_deref().unwrap_or(&config.bind), DEFAULT_SCHEDULER_PORT)?;
    bind.check_insecure("--bind", config.allow_insecure)?;
    let options = SchedulerOptions {
        bind: bind.clone(),
        external_host: args.external_host.clone(),
        executor_timeout: config.executor_timeout,
        no_executor_timeout: config.no_executor_timeout,
    };
    outln!("logfusion scheduler: listening on {} (df://{bind})", bind);
    runtime()?.block_on(logfusion_cluster::run_scheduler(options))?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `logfusion executor`.
#[derive(Debug, clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with (default: `cluster.scheduler`).
    #[arg(long, value_name = "HOST:PORT")]
    scheduler: Option<String>,
    /// Address of this executor's Arrow Flight service, where stage results are fetched.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    bind: String,
    /// Port of this executor's gRPC service, where the scheduler sends tasks.
    #[arg(long, value_name = "PORT", default_value_t = 50052)]
    grpc_port: u16,
    /// The host name the scheduler and other executors reach this one at (default: the
    /// bind host).
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
    /// Tasks run at once (default: `cluster.slots`, else the cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    slots: Option<u32>,
    /// Folder for shuffle files (default: `cluster.work_dir`, else a temporary folder).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
}

/// Runs an executor until it is stopped.
pub fn executor(global: &GlobalArgs, args: &ExecutorArgs) -> anyhow::Result<ExitCode> {
    let config = cluster_config(global)?;
    let scheduler =
        Address::parse("--scheduler", args.scheduler.as_deref().unwrap_or(&config.scheduler), DEFAULT_SCHEDULER_PORT)?;
    let bind = Address::parse("--bind", &args.bind, 50051)?;
    bind.check_insecure("--bind", config.allow_insecure)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slots = args.slots.map(|n| n as usize).or(config.slots).unwrap_or(cores);
    let options = ExecutorOptions {
        scheduler,
        bind: bind.clone(),
        grpc_port: args.grpc_port,
        external_host: args.external_host.clone(),
        slots,
        work_dir: args.work_dir.clone().or(config.work_dir.clone()),
        memory: config.executor_memory.map(|b| b.0),
        heartbeat: config.heartbeat,
    };
    outln!("logfusion executor: flight on {bind}, tasks on port {}, {slots} slots", args.grpc_port);
    runtime()?.block_on(logfusion_cluster::run_executor(options))?;
    Ok(ExitCode::SUCCESS)
}

/// A runtime for a cluster process: as many threads as cores (tasks run on them).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(logfusion_engine::runtime(cores)?)
}

/// Arguments of `logfusion cluster`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// The executors (slots, memory, last heartbeat) and the jobs of a cluster.
    Status(StatusArgs),
}

/// Arguments of `logfusion cluster status`.
#[derive(Debug, clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    cluster: ClusterArg,
    /// Jobs listed (newest first).
    #[arg(long, default_value_t = 10, value_name = "N")]
    jobs: usize,
}

/// Runs `logfusion cluster ...`.
pub fn run(global: &GlobalArgs, args: &ClusterArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ClusterCommand::Status(status) => print_status(global, status),
    }
}

fn print_status(global: &GlobalArgs, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let config = cluster_config(global)?;
    let text = args.cluster.cluster.as_deref().filter(|t| !t.is_empty()).unwrap_or(&config.scheduler);
    let api = SchedulerApi::new(Address::parse("--cluster", text, DEFAULT_SCHEDULER_PORT)?)?;
    let (executors, jobs) =
        runtime()?.block_on(async { Ok::<_, anyhow::Error>((api.executors().await?, api.jobs().await?)) })?;
    outln!("scheduler {}: {} executors", api.address().df(), executors.len());
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header(["executor", "address", "slots", "RSS", "peak RSS", "last heartbeat", "state"]);
    for e in &executors {
        let alive = e.is_alive(config.executor_timeout);
        table.add_row([
            e.id.clone(),
            e.address.clone(),
            e.slots.map_or("?".into(), |s| s.to_string()),
            e.memory.process.map_or("?".into(), bytes),
            e.memory.process_peak.map_or("?".into(), bytes),
            e.heartbeat_age_ms.map_or("never".into(), |ms| format!("{:.1} s ago", ms as f64 / 1e3)),
            if alive { "alive".into() } else { "silent".into() },
        ]);
    }
    outln!("{table}");
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header(["job", "name", "status", "stages", "started", "seconds"]);
    for job in jobs.iter().take(args.jobs) {
        let started = chrono::DateTime::from_timestamp_millis(job.start_time as i64)
            .map_or("?".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        let seconds = if job.end_time >= job.start_time && job.end_time > 0 {
            format!("{:.3}", (job.end_time - job.start_time) as f64 / 1e3)
        } else {
            "running".into()
        };
        table.add_row([
            job.job_id.clone(),
            job.job_name.clone(),
            job.status.clone(),
            format!("{}/{}", job.completed_stages, job.num_stages),
            started,
            seconds,
        ]);
    }
    outln!(
        "{} jobs{}",
        jobs.len(),
        if jobs.len() > args.jobs { format!(" (newest {})", args.jobs) } else { String::new() }
    );
    outln!("{table}");
    Ok(ExitCode::SUCCESS)
}

fn bytes(n: u64) -> String {
    ByteSize(n).to_string()
}
