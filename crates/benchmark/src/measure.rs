//! Running the benchmark: one session (and runtime) per setting, warm-up rounds, then measured
//! rounds that interleave the settings so machine noise falls on all of them alike.

use std::path::Path;

use datafusion::arrow::util::display::array_value_to_string;
use datafusion::prelude::SessionContext;
use logfusion_engine::{Environment, OperatorReport, Quiet, Session, Statement, StatementReport, run_statement};
use serde::{Deserialize, Serialize};

use crate::BenchError;
use crate::matrix::Setting;
use crate::stats::{Summary, median_index};

/// Version of the saved JSON layout.
pub const FORMAT_VERSION: u32 = 1;
/// Operators listed per query in "where the time goes".
pub const TOP_OPERATORS: usize = 5;

/// How many runs.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Unmeasured runs of each query first (page cache, allocator, JIT-free but still warm).
    pub warmup: usize,
    /// Measured runs of each query.
    pub iterations: usize,
}

/// A setting ready to run: its runtime (with `max_workers` threads) and session.
pub struct Prepared {
    /// The matrix values.
    pub setting: Setting,
    runtime: tokio::runtime::Runtime,
    session: Session,
}

impl Prepared {
    /// A runtime and a session with `env`'s tables for `setting` applied to `env`'s settings.
    pub fn new(setting: Setting, env: &Environment) -> Result<Prepared, BenchError> {
        let settings = setting.apply(&env.settings)?;
        let runtime = logfusion_engine::runtime(settings.partitions)?;
        let session = env
            .session_with(&settings)
            .map_err(|e| BenchError::Matrix { text: setting.label(), message: e.to_string() })?;
        Ok(Prepared { setting, runtime, session })
    }

    /// The session of this setting.
    pub fn context(&self) -> &SessionContext {
        &self.session.ctx
    }

    fn run(&self, statement: &Statement) -> Result<StatementReport, BenchError> {
        let report = self.runtime.block_on(run_statement(&self.session, statement, None, &Quiet));
        report.map_err(|source| BenchError::Query { query: statement.name.clone(), source: Box::new(source) })
    }

    /// `EXPLAIN` of `sql` (logical and physical plan), or why there is none.
    fn explain(&self, sql: &str) -> String {
        let explain = async {
            let batches = self.session.ctx.sql(&format!("EXPLAIN {sql}")).await?.collect().await?;
            let mut text = String::new();
            for batch in batches {
                for row in 0..batch.num_rows() {
                    let plan_type = array_value_to_string(batch.column(0), row)?;
                    let plan = array_value_to_string(batch.column(1), row)?;
                    text.push_str(&format!("{plan_type}:\n{plan}\n\n"));
                }
            }
            Ok::<_, datafusion::error::DataFusionError>(text)
        };
        self.runtime.block_on(explain).unwrap_or_else(|e| format!("EXPLAIN failed: {e}\n"))
    }
}

/// One measured run of one statement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    /// Wall time, seconds.
    pub wall_seconds: f64,
    /// Result rows.
    pub rows: u64,
    /// Bytes read by log scans.
    #[serde(alias = "bytes_scanned")]
    pub bytes_read: u64,
    /// Lines read by log scans.
    pub lines_read: u64,
    /// Peak bytes reserved by operators.
    pub peak_memory_bytes: u64,
}

/// One operator's part of a query's time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperatorShare {
    /// Operator name, e.g. `AggregateExec`.
    pub name: String,
    /// Its one-line description.
    pub detail: String,
    /// Depth in the plan (0 = root).
    pub depth: usize,
    /// Its time (compute, or scan time for log scans), summed over partitions, nanoseconds.
    pub time_ns: u64,
    /// Share of the summed time of all operators of the plan (0 to 1).
    pub share: f64,
}

/// Everything measured about one statement under one setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryResult {
    /// Statement name (see [`Statement::name`]).
    pub name: String,
    /// Wall time of the measured runs, seconds.
    pub wall: Summary,
    /// Log-scan throughput of the measured runs, MB/s (10^6 bytes).
    pub mb_per_second: Summary,
    /// Log-scan lines per second of the measured runs.
    pub lines_per_second: Summary,
    /// Result rows of the median run.
    pub rows: u64,
    /// Whether the row count differed between runs (a query whose answer is not fixed).
    pub rows_vary: bool,
    /// Bytes read by log scans in the median run.
    #[serde(alias = "bytes_scanned")]
    pub bytes_read: u64,
    /// Lines read by log scans in the median run.
    pub lines_read: u64,
    /// Highest peak operator memory over the runs, bytes.
    pub peak_memory_bytes: u64,
    /// The operators that took most of the time in the median run.
    pub top_operators: Vec<OperatorShare>,
    /// `EXPLAIN`: logical and physical plan.
    pub explain: String,
    /// The executed plan of the median run with every operator's metrics (what
    /// `EXPLAIN ANALYZE` shows).
    pub explain_analyze: String,
    /// Every measured run.
    pub samples: Vec<Sample>,
}

/// The results of one setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettingResult {
    /// Its label (`default` or `key=value ...`).
    pub label: String,
    /// The matrix values.
    pub setting: Setting,
    /// One result per statement, in suite order.
    pub queries: Vec<QueryResult>,
}

/// The machine a run was measured on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Host {
    /// Host name.
    pub hostname: String,
    /// CPU model (from /proc/cpuinfo on Linux).
    pub cpu: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Operating system.
    pub os: String,
}

impl Host {
    /// This machine.
    pub fn current() -> Host {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        Host {
            hostname: read("/proc/sys/kernel/hostname").trim().to_string(),
            cpu,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            os: std::env::consts::OS.to_string(),
        }
    }
}

/// One size of input, for the record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableSize {
    /// Table name.
    pub table: String,
    /// Files.
    pub files: usize,
    /// Bytes on storage.
    pub bytes: u64,
}

/// A whole benchmark run, as saved with `--save`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRun {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// logfusion version that measured it.
    pub logfusion_version: String,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// The machine.
    pub host: Host,
    /// Warm-up runs per query and setting.
    pub warmup: usize,
    /// Measured runs per query and setting.
    pub iterations: usize,
    /// The tables read.
    pub tables: Vec<TableSize>,
    /// Results per setting, in matrix order.
    pub settings: Vec<SettingResult>,
}

impl BenchRun {
    /// Reads a run saved with [`BenchRun::save`].
    pub fn load(path: &Path) -> Result<BenchRun, BenchError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| BenchError::Unreadable { path: path.into(), source })?;
        let run: BenchRun = serde_json::from_str(&text)
            .map_err(|e| BenchError::File { path: path.into(), message: format!("not a saved bench run: {e}") })?;
        if run.format_version != FORMAT_VERSION {
            return Err(BenchError::File {
                path: path.into(),
                message: format!(
                    "saved with layout version {}, this logfusion reads version {FORMAT_VERSION}",
                    run.format_version
                ),
            });
        }
        Ok(run)
    }

    /// Writes the run as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), BenchError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| BenchError::File { path: path.into(), message: e.to_string() })?;
        logfusion_engine::write_text(path, &(text + "\n")).map_err(BenchError::from)
    }
}

/// Runs every statement under every prepared setting: `warmup` unmeasured rounds, then
/// `iterations` measured rounds. Each round runs all settings, in alternating order (A B, B A,
/// ...) so that drift in machine load is shared out evenly. `progress` hears of each run.
pub fn run(
    prepared: &[Prepared],
    statements: &[Statement],
    options: BenchOptions,
    progress: &mut dyn FnMut(usize, usize, &str, &str),
) -> Result<Vec<SettingResult>, BenchError> {
    if options.iterations == 0 {
        return Err(BenchError::Argument { name: "--iterations", message: "must be at least 1".into() });
    }
    let rounds = options.warmup + options.iterations;
    let mut reports: Vec<Vec<Vec<StatementReport>>> =
        prepared.iter().map(|_| vec![Vec::new(); statements.len()]).collect();
    for round in 0..rounds {
        let order: Vec<usize> =
            if round % 2 == 0 { (0..prepared.len()).collect() } else { (0..prepared.len()).rev().collect() };
        for &s in &order {
            for (q, statement) in statements.iter().enumerate() {
                progress(round + 1, rounds, &prepared[s].setting.label(), &statement.name);
                let report = prepared[s].run(statement)?;
                if round >= options.warmup {
                    reports[s][q].push(report);
                }
            }
        }
    }
    Ok(prepared
        .iter()
        .zip(reports)
        .map(|(p, per_statement)| SettingResult {
            label: p.setting.label(),
            setting: p.setting.clone(),
            queries: statements
                .iter()
                .zip(per_statement)
                .map(|(statement, runs)| summarise(&statement.name, &runs, p.explain(&statement.sql)))
                .collect(),
        })
        .collect())
}

fn summarise(name: &str, runs: &[StatementReport], explain: String) -> QueryResult {
    let walls: Vec<f64> = runs.iter().map(|r| r.wall_seconds).collect();
    let series = |f: fn(&StatementReport) -> f64| {
        Summary::of(&runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(Summary {
            min: 0.0,
            median: 0.0,
            max: 0.0,
            spread: 1.0,
        })
    };
    let median = &runs[median_index(&walls)];
    QueryResult {
        name: name.to_string(),
        wall: series(|r| r.wall_seconds),
        mb_per_second: series(|r| r.mb_per_second),
        lines_per_second: series(|r| r.lines_per_second),
        rows: median.rows_out,
        rows_vary: runs.iter().any(|r| r.rows_out != median.rows_out),
        bytes_read: median.bytes_read,
        lines_read: median.lines_read,
        peak_memory_bytes: runs.iter().map(|r| r.peak_memory_bytes).max().unwrap_or(0),
        top_operators: top_operators(&median.operators),
        explain,
        explain_analyze: median.plan.clone(),
        samples: runs
            .iter()
            .map(|r| Sample {
                wall_seconds: r.wall_seconds,
                rows: r.rows_out,
                bytes_read: r.bytes_read,
                lines_read: r.lines_read,
                peak_memory_bytes: r.peak_memory_bytes,
            })
            .collect(),
    }
}

/// The [`TOP_OPERATORS`] operators with the most time, with their share of the plan's total.
pub fn top_operators(operators: &[OperatorReport]) -> Vec<OperatorShare> {
    let total: u64 = operators.iter().filter_map(|o| o.time_ns).sum();
    logfusion_engine::top_operators(operators, TOP_OPERATORS)
        .into_iter()
        .map(|o| {
            let time_ns = o.time_ns.unwrap_or(0);
            OperatorShare {
                name: o.name.clone(),
                detail: o.detail.clone(),
                depth: o.depth,
                time_ns,
                share: if total > 0 { time_ns as f64 / total as f64 } else { 0.0 },
            }
        })
        .collect()
}
