//! Load test of `logfusion serve`: many Flight SQL clients at once over loopback, each running
//! the same query many times, against a log directory (by default the 512 MiB generated access
//! log). Reports queries/s and latency percentiles under load beside the query's time with one
//! client and through `logfusion query`, every failure that is not a clean over-limit refusal,
//! and the server's peak memory against `query_memory × max_concurrent_queries` plus a margin.
//! Exits non-zero on a failure, a wrong answer or memory over that bound.
//!
//! ```sh
//! cargo bench -p logfusion-cli --bench serve_load -- [--log-dir DIR] [--clients 32] \
//!     [--queries 50] [--sql SQL] [--max-concurrent 8] [--query-memory 256MiB] [--margin 512MiB]
//! ```

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use datafusion::arrow::util::display::array_value_to_string;
use futures::TryStreamExt;
use tonic::transport::Channel;

const TOKEN: &str = "lf_load_test_token_0123456789abcdefghijklmnopqrstuvwxyz";
const DEFAULT_SQL: &str = "SELECT status, count(*) AS n FROM access GROUP BY status ORDER BY status";

struct Options {
    log_dir: PathBuf,
    clients: usize,
    queries: usize,
    sql: String,
    max_concurrent: usize,
    query_memory: String,
    margin: String,
}

fn options() -> Result<Options, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut o = Options {
        log_dir: root.join(".bench/data/access"),
        clients: 32,
        queries: 50,
        sql: DEFAULT_SQL.to_string(),
        max_concurrent: 8,
        query_memory: "256MiB".to_string(),
        margin: "512MiB".to_string(),
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--log-dir" => o.log_dir = PathBuf::from(value()?),
            "--clients" => o.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--queries" => o.queries = value()?.parse().map_err(|e| format!("--queries: {e}"))?,
            "--sql" => o.sql = value()?,
            "--max-concurrent" => o.max_concurrent = value()?.parse().map_err(|e| format!("--max-concurrent: {e}"))?,
            "--query-memory" => o.query_memory = value()?,
            "--margin" => o.margin = value()?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !o.log_dir.exists() {
        return Err(format!(
            "{} does not exist: make it with `logfusion gen --format access --size 512MiB --out {}/access.log`",
            o.log_dir.display(),
            o.log_dir.display()
        ));
    }
    Ok(o)
}

fn bytes(text: &str) -> Result<u64, String> {
    text.parse::<logfusion_engine::ByteSize>().map(|b| b.0).map_err(|e| e.to_string())
}

/// The server's resident set now and at its peak (Linux), in bytes.
fn rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run_query(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> Result<Vec<Vec<String>>, FlightError> {
    let info = client.execute(sql.to_string(), None).await?;
    let mut rows = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.ok_or_else(|| FlightError::protocol("an endpoint without a ticket"))?;
        let batches: Vec<_> = client.do_get(ticket).await?.try_collect().await?;
        for batch in batches {
            for row in 0..batch.num_rows() {
                let values = batch.columns().iter().map(|c| array_value_to_string(c, row).unwrap_or_default());
                rows.push(values.collect());
            }
        }
    }
    Ok(rows)
}

async fn connect(addr: &str) -> Result<FlightSqlServiceClient<Channel>, String> {
    let channel = Channel::from_shared(format!("http://{addr}")).map_err(|e| e.to_string())?;
    let mut client = FlightSqlServiceClient::new(channel.connect().await.map_err(|e| e.to_string())?);
    client.set_token(TOKEN.to_string());
    Ok(client)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("serve_load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let o = options()?;
    let binary = env!("CARGO_BIN_EXE_logfusion");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let log_dir = o.log_dir.to_str().ok_or("a log dir that is not UTF-8")?;

    // The query through the CLI: its answer, and its time (process start and discovery included).
    let mut local = Vec::new();
    let mut expected = String::new();
    for _ in 0..3 {
        let started = Instant::now();
        let out = std::process::Command::new(binary)
            .current_dir(dir.path())
            .env("XDG_STATE_HOME", dir.path().join(".state"))
            .args(["query", "--log-dir", log_dir, "--output", "csv", &o.sql])
            .output()
            .map_err(|e| e.to_string())?;
        local.push(started.elapsed().as_secs_f64());
        if !out.status.success() {
            return Err(format!("logfusion query failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        expected = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    local.sort_by(f64::total_cmp);
    let expected: Vec<Vec<String>> =
        expected.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect();

    let config = dir.path().join("config.yaml");
    let yaml = format!(
        "network:\n  bind: 127.0.0.1:0\n  auth:\n    tokens:\n      - {{ name: load, token_sha256: \"{}\", role: read }}\n  limits: {{ max_concurrent_queries: {}, query_timeout: 300s, query_memory: {}, max_result_rows: 1000000 }}\n",
        logfusion_server::token_sha256(TOKEN),
        o.max_concurrent,
        o.query_memory
    );
    std::fs::write(&config, yaml).map_err(|e| e.to_string())?;
    let mut server = std::process::Command::new(binary)
        .current_dir(dir.path())
        .args(["serve", "--config", config.to_str().ok_or("temp path")?, "--log-dir", log_dir])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = server.id();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(server.stdout.take().ok_or("no stdout")?);
    std::io::BufRead::read_line(&mut out, &mut line).map_err(|e| e.to_string())?;
    let addr = line
        .split("://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .ok_or(format!("unexpected first line from the server: {line:?}"))?
        .to_string();
    let start_rss = rss(pid);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let result = runtime.block_on(load(&o, &addr, &expected, pid));
    let end_rss = rss(pid);
    let _ = server.kill();
    let _ = server.wait();
    let report = result?;

    let bound = bytes(&o.query_memory)? * o.max_concurrent as u64 + bytes(&o.margin)?;
    let peak = end_rss.map(|(_, hwm)| hwm).unwrap_or(report.peak_rss);
    let mut latencies = report.latencies.clone();
    latencies.sort_by(f64::total_cmp);
    let total = o.clients * o.queries;
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "serve_load: {} clients x {} queries = {total} over loopback against {}",
        o.clients,
        o.queries,
        o.log_dir.display()
    );
    println!("  query: {}", o.sql);
    println!(
        "  limits: max_concurrent_queries {}, query_memory {}; memory bound {:.0} MiB (= {} x {} + margin {})",
        o.max_concurrent,
        o.query_memory,
        mib(bound),
        o.max_concurrent,
        o.query_memory,
        o.margin
    );
    println!("  logfusion query (CLI, process start included): median {:.3} s, min {:.3} s", local[1], local[0]);
    println!("  one client on the server: median {:.3} s", report.single);
    println!(
        "  under load: {} ok, {} over-limit, {} failed, {} wrong answers in {:.1} s = {:.2} queries/s",
        report.ok,
        report.over_limit,
        report.failures.len(),
        report.wrong,
        report.wall,
        report.ok as f64 / report.wall
    );
    println!(
        "  latency under load: p50 {:.3} s, p90 {:.3} s, p99 {:.3} s, max {:.3} s",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    match start_rss {
        Some((rss0, _)) => println!(
            "  server memory: {:.0} MiB after start, peak {:.0} MiB (VmHWM), bound {:.0} MiB",
            mib(rss0),
            mib(peak),
            mib(bound)
        ),
        None => println!("  server memory: not measured on this platform"),
    }
    for failure in report.failures.iter().take(5) {
        println!("  failure: {failure}");
    }
    Ok(report.failures.is_empty() && report.wrong == 0 && peak <= bound)
}

struct Report {
    ok: u64,
    over_limit: u64,
    wrong: u64,
    failures: Vec<String>,
    latencies: Vec<f64>,
    wall: f64,
    single: f64,
    peak_rss: u64,
}

async fn load(o: &Options, addr: &str, expected: &[Vec<String>], pid: u32) -> Result<Report, String> {
    let mut client = connect(addr).await?;
    let mut single = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let rows = run_query(&mut client, &o.sql).await.map_err(|e| e.to_string())?;
        single.push(started.elapsed().as_secs_f64());
        if rows != expected {
            return Err(format!("the server answered {rows:?}, logfusion query {expected:?}"));
        }
    }
    single.sort_by(f64::total_cmp);

    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some((now, _)) = rss(pid) {
                    peak.fetch_max(now, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.clients {
        let (addr, sql, expected, queries) = (addr.to_string(), o.sql.clone(), expected.to_vec(), o.queries);
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut client = match connect(&addr).await {
                Ok(c) => c,
                Err(e) => return vec![Err(format!("connect: {e}"))],
            };
            for _ in 0..queries {
                let t = Instant::now();
                let outcome = match run_query(&mut client, &sql).await {
                    Ok(rows) if rows == expected => Ok((t.elapsed().as_secs_f64(), true)),
                    Ok(_) => Ok((t.elapsed().as_secs_f64(), false)),
                    Err(FlightError::Tonic(s)) if s.code() == tonic::Code::ResourceExhausted => Err(String::new()),
                    Err(e) => Err(e.to_string()),
                };
                outcomes.push(outcome);
            }
            outcomes
        }));
    }
    let mut report = Report {
        ok: 0,
        over_limit: 0,
        wrong: 0,
        failures: Vec::new(),
        latencies: Vec::new(),
        wall: 0.0,
        single: single[single.len() / 2],
        peak_rss: 0,
    };
    for task in tasks {
        for outcome in task.await.map_err(|e| e.to_string())? {
            match outcome {
                Ok((seconds, right)) => {
                    report.ok += 1;
                    report.wrong += u64::from(!right);
                    report.latencies.push(seconds);
                }
                Err(e) if e.is_empty() => report.over_limit += 1,
                Err(e) => report.failures.push(e),
            }
        }
    }
    report.wall = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    report.peak_rss = peak.load(Ordering::Relaxed);
    Ok(report)
}
