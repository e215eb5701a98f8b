//! logfusion on a Ballista cluster, started as users start it: `logfusion scheduler` and two
//! `logfusion executor`s on loopback. Every answer is compared with a local run of the same
//! query: the suite, rejects and `_line`, on the samples, on a generated log of plain and
//! gzip files (`LOGFUSION_CLUSTER_MIB`, default 1024) and over S3; an executor killed in the
//! middle of a query; a query with no executor alive; `cluster status`; job records in
//! `performance.log`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, logfusion, repo, sample_config};

/// A scheduler and executors of the `logfusion` binary, killed when dropped.
struct Cluster {
    dir: PathBuf,
    config: PathBuf,
    port: u16,
    env: Vec<(&'static str, String)>,
    processes: Vec<(String, Child)>,
}

impl Cluster {
    /// A scheduler and `executors` executors (one slot each) in `dir`, with `extra` appended
    /// to the config and `env` in every process's environment; returns once all executors
    /// report to the scheduler.
    fn start(dir: &Path, executors: usize, extra: &str, env: &[(&'static str, String)]) -> Cluster {
        let port = free_port();
        let config = dir.join("cluster.yaml");
        let text = format!(
            "max_workers: 2\ncluster:\n  scheduler: df://127.0.0.1:{port}\n  bind: 127.0.0.1:{port}\n  partitions: 8\n  \
             executor_timeout: 6s\n  heartbeat: 1s\n  no_executor_timeout: 15s\n\
             logging: {{ system_log: system.log, performance_log: performance.log, level: info }}\n{extra}"
        );
        std::fs::write(&config, text).unwrap();
        let mut cluster = Cluster { dir: dir.to_path_buf(), config, port, env: env.to_vec(), processes: Vec::new() };
        cluster.spawn("scheduler", &["scheduler"]);
        for n in 1..=executors {
            cluster.start_executor(&format!("executor{n}"));
        }
        cluster.wait_alive(executors);
        cluster
    }

    fn spawn(&mut self, name: &str, args: &[&str]) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.out"))).unwrap();
        let child = Command::new(assert_cmd::cargo::cargo_bin("logfusion"))
            .current_dir(&self.dir)
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("logfusion starts");
        self.processes.push((name.to_string(), child));
    }

    /// Starts an executor with one slot and its own ports and work folder.
    fn start_executor(&mut self, name: &str) {
        let (flight, grpc) = (free_port(), free_port());
        let work = self.dir.join(format!("{name}-work"));
        let args = [
            "executor".to_string(),
            "--scheduler".into(),
            format!("127.0.0.1:{}", self.port),
            "--bind".into(),
            format!("127.0.0.1:{flight}"),
            "--grpc-port".into(),
            grpc.to_string(),
            "--slots".into(),
            "1".into(),
            "--work-dir".into(),
            work.to_string_lossy().into_owned(),
        ];
        self.spawn(name, &args.iter().map(String::as_str).collect::<Vec<_>>());
    }

    /// Kills a process the way a crash does.
    fn kill(&mut self, name: &str) {
        let (_, child) = self.processes.iter_mut().find(|(n, _)| n == name).expect("a process of that name");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// `cluster status` of this cluster.
    fn status(&self) -> String {
        let out = self.logfusion().args(["cluster", "status"]).output().unwrap();
        assert!(out.status.success(), "cluster status: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Waits (at most a minute) until `n` executors report as alive. An executor that exited
    /// because another process took one of its ports between `free_port` and its bind is
    /// started again on new ports (a race of the test's port choice, not of logfusion).
    fn wait_alive(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.restart_executors_that_lost_a_port();
            let out = self.logfusion().args(["cluster", "status"]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && text.matches(" alive ").count() == n {
                return;
            }
            assert!(Instant::now() < deadline, "{n} executors never came up:\n{text}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Starts again, on new ports, each executor that exited with "Address already in use".
    fn restart_executors_that_lost_a_port(&mut self) {
        let mut lost = Vec::new();
        for (name, child) in &mut self.processes {
            if !name.starts_with("executor") || !matches!(child.try_wait(), Ok(Some(_))) {
                continue;
            }
            let log = std::fs::read_to_string(self.dir.join(format!("{name}.out"))).unwrap_or_default();
            if log.contains("Address already in use") {
                lost.push(name.clone());
            }
        }
        for name in lost {
            eprintln!("{name} lost a port to another process; starting it on new ports");
            self.processes.retain(|(n, _)| *n != name);
            self.start_executor(&name);
        }
    }

    /// The output of every process, for failure messages.
    fn logs(&self) -> String {
        self.processes
            .iter()
            .map(|(name, _)| {
                let text = std::fs::read_to_string(self.dir.join(format!("{name}.out"))).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!("--- {name}:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `logfusion` with this cluster's config and environment.
    fn logfusion(&self) -> assert_cmd::Command {
        let mut cmd = logfusion(&self.dir);
        cmd.envs(self.env.iter().map(|(k, v)| (*k, v.as_str()))).arg("--config").arg(&self.config);
        cmd
    }

    fn address(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    /// The CSV answer of `sql` over `args`' tables, locally and on the cluster, which must be
    /// equal; returns it.
    fn same_answer(&self, args: &[&str], sql: &str) -> String {
        let run = |cluster: bool| {
            let mut cmd = self.logfusion();
            cmd.arg("query").args(args).args(["--output", "csv"]);
            if cluster {
                cmd.args(["--cluster", &self.address()]);
            }
            let out = cmd.arg(sql).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{sql} (cluster: {cluster}) failed: {err}\n{}", self.logs());
            (text, err)
        };
        let (local, local_notes) = run(false);
        let (remote, remote_notes) = run(true);
        assert_eq!(remote, local, "{sql}: the cluster's answer differs from the local one");
        assert_eq!(remote_notes, local_notes, "{sql}: the reject notes differ");
        assert!(local.lines().count() > 1, "{sql}: no rows to compare");
        remote
    }

    /// Runs the suite of `queries/` over `args`' tables locally and on the cluster with CSV
    /// results; every result file must be equal. Returns how many were compared.
    fn same_suite(&self, args: &[&str]) -> usize {
        let run = |out: &str, cluster: bool| {
            let mut cmd = self.logfusion();
            cmd.arg("run").args(args).args(["--csv", "--out", out, "--queries"]).arg(repo().join("queries"));
            if cluster {
                cmd.args(["--cluster", &self.address()]);
            } else {
                // Scan against scan: the local run parses every statement's tables itself,
                // as the cluster does (whose runs never use the cache).
                cmd.arg("--no-cache");
            }
            let result = cmd.output().unwrap();
            assert!(
                result.status.success(),
                "run failed: {}\n{}",
                String::from_utf8_lossy(&result.stderr),
                self.logs()
            );
        };
        run("local", false);
        run("cluster", true);
        let mut compared = 0;
        for entry in std::fs::read_dir(self.dir.join("local")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "csv") {
                let name = path.file_name().unwrap();
                let local = std::fs::read_to_string(&path).unwrap();
                let remote = std::fs::read_to_string(self.dir.join("cluster").join(name)).unwrap();
                assert_eq!(remote, local, "{name:?}: the cluster's result differs from the local one");
                compared += 1;
            }
        }
        compared
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Queries of rejects and `_line` over an access table, whose answers pin every line's place.
const LINE_QUERIES: [&str; 4] = [
    "SELECT _file, count(*), sum(_line), min(_line), max(_line) FROM access GROUP BY _file ORDER BY _file",
    "SELECT _file, _line, client_ip, status, bytes FROM access WHERE _line % 9973 = 11 ORDER BY _file, _line",
    "SELECT file, count(*), sum(line), min(line), max(line), sum(byte_offset) FROM access_rejects GROUP BY file ORDER BY file",
    "SELECT file, line, byte_offset, reason, excerpt FROM access_rejects ORDER BY file, line LIMIT 200",
];

#[test]
fn the_samples_on_a_cluster_answer_as_locally() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(tmp.path(), 2, &sample_sources(tmp.path()), &[]);
    assert_eq!(cluster.same_suite(&[]), 10, "every query of the suite compared");
    for table in ["access", "syslog", "json", "logfmt", "app"] {
        cluster.same_answer(&[], &format!("SELECT count(*), sum(_line), max(_line) FROM {table}"));
        cluster
            .same_answer(&[], &format!("SELECT file, line, reason, detail FROM {table}_rejects ORDER BY file, line"));
    }
    cluster.same_answer(&[], "SELECT _file, _line, status, path FROM access ORDER BY _file, _line");
    // validate reads the per-range health (`_profile`) and checks the field rules on the cluster.
    let validate = |on_cluster: bool| {
        let mut cmd = cluster.logfusion();
        cmd.args(["validate", "--json", "--directory"]).arg(crate::common::samples());
        if on_cluster {
            cmd.args(["--cluster", &cluster.address()]);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (local, remote) = (validate(false), validate(true));
    assert!(local.1.contains("\"rejects_by_reason\""), "{}", local.1);
    assert_eq!(remote, local, "validate on the cluster reports what it reports locally");
    // The job of each statement is in performance.log, with its stages' times.
    let log = std::fs::read_to_string(tmp.path().join("performance.log")).unwrap();
    let records: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let jobs: Vec<&serde_json::Value> = records.iter().filter_map(|r| r.get("job")).collect();
    assert_eq!(jobs.len(), 10, "the cluster run's 10 statements carry a job; the local run's do not");
    for job in jobs {
        assert!(!job["job_id"].as_str().unwrap().is_empty());
        let stages = job["stages"].as_array().unwrap();
        assert!(stages.len() >= 2, "a scan stage and a final stage: {job}");
        assert!(
            stages.iter().all(|s| s["partitions"].as_u64().unwrap() >= 1 && s["wall_seconds"].as_f64().unwrap() >= 0.0)
        );
        assert!(stages.iter().any(|s| s["operators"].as_str().unwrap().contains("DataSourceExec")), "{job}");
    }
    // Line accounting comes back from the executors: the cluster records match the local ones.
    let accounting = |r: &serde_json::Value| (r["query"].clone(), r["lines_read"].clone(), r["sources"].clone());
    let (local, remote): (Vec<_>, Vec<_>) = records.iter().partition(|r| r.get("job").is_none());
    let strip = |r: &&serde_json::Value| {
        let (q, lines, mut sources) = accounting(r);
        for s in sources.as_object_mut().unwrap().values_mut() {
            for timing in ["scan_nanos", "scan_wait_nanos", "bytes_read"] {
                s.as_object_mut().unwrap().remove(timing);
            }
        }
        (q, lines, sources)
    };
    assert_eq!(remote.iter().map(strip).collect::<Vec<_>>(), local.iter().map(strip).collect::<Vec<_>>());
    let status = cluster.status();
    assert!(status.contains("2 executors") && status.matches(" alive ").count() == 2, "{status}");
    assert!(status.contains("Completed"), "finished jobs are listed:\n{status}");
}

/// The repository's config without what [`Cluster::start`] sets itself (workers, logging):
/// the sample sources, rules and the rest.
fn sample_sources(dir: &Path) -> String {
    let text = std::fs::read_to_string(sample_config(dir)).unwrap();
    let mut out = String::new();
    let mut in_logging = false;
    for line in text.lines() {
        if line.starts_with("logging:") {
            in_logging = true;
            continue;
        }
        if in_logging && line.starts_with("  ") {
            continue;
        }
        in_logging = false;
        if !line.starts_with("max_workers:") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Generates the access logs of the big test: two plain files and a gzip one, `total_mib` in
/// all, with a malformed line every few thousand.
fn generate(dir: &Path, total_mib: u64) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let parts = [("a.log", 4, "1"), ("b.log", 4, "2"), ("c.log", 2, "3")];
    for (name, tenths, seed) in parts {
        let size = format!("{}MiB", (total_mib * tenths / 10).max(1));
        let out = logfusion(dir)
            .args(["gen", "--size", &size, "--malformed-every", "4999", "--seed", seed, "--out"])
            .arg(logs.join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let plain = logs.join("c.log");
    let mut input = std::fs::File::open(&plain).unwrap();
    let gz = std::fs::File::create(logs.join("c.log.gz")).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(std::io::BufWriter::new(gz), flate2::Compression::fast());
    std::io::copy(&mut input, &mut encoder).unwrap();
    encoder.finish().unwrap();
    std::fs::remove_file(plain).unwrap();
    logs
}

#[test]
fn a_generated_log_of_plain_and_gzip_files_on_a_cluster_answers_as_locally() {
    let mib: u64 = std::env::var("LOGFUSION_CLUSTER_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let tmp = tempfile::tempdir().unwrap();
    let logs = generate(tmp.path(), mib);
    let cluster = Cluster::start(tmp.path(), 2, "", &[]);
    let dir = logs.to_string_lossy().into_owned();
    let args = ["--log-dir", dir.as_str()];
    cluster.same_answer(&args, "SELECT status, count(*) FROM access GROUP BY status ORDER BY status");
    cluster.same_answer(
        &args,
        "SELECT method, count(*), median(bytes), percentile_cont(0.95) WITHIN GROUP (ORDER BY request_time) \
         FROM access GROUP BY method ORDER BY method",
    );
    for sql in LINE_QUERIES {
        cluster.same_answer(&args, sql);
    }
    let lines = cluster.same_answer(&args, LINE_QUERIES[0]);
    assert_eq!(lines.lines().count(), 4, "a header and three files: {lines}");
    // The access queries of the suite (the syslog ones are skipped: no syslog here).
    assert_eq!(cluster.same_suite(&args), 8);
}

#[test]
fn logs_in_s3_on_a_cluster_answer_as_locally_with_executors_reading_their_ranges() {
    use crate::object_store::{python_with_moto, start, upload};
    let Some(python) = python_with_moto() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.log");
    let out = logfusion(tmp.path())
        .args(["gen", "--size", "24MiB", "--malformed-every", "997", "--out"])
        .arg(&big)
        .output()
        .unwrap();
    assert!(out.status.success());
    let server = start(&python);
    let samples = crate::common::samples().join("access");
    upload(
        &python,
        &server,
        &[
            ("web/big.log", big),
            ("web/access.log", samples.join("access.log")),
            ("web/old.log.gz", samples.join("access-old.log.gz")),
        ],
    );
    let cluster = Cluster::start(tmp.path(), 2, "", &server.env());
    let args = ["--log-dir", "s3://logs/web/"];
    cluster.same_answer(&args, "SELECT status, count(*) FROM access GROUP BY status ORDER BY status");
    for sql in LINE_QUERIES {
        cluster.same_answer(&args, sql);
    }
    // The scan of the big object ran in byte ranges on the executors: its stage has many
    // partitions, and the bytes the executors read add up to the object's size and a pass of
    // line counting, not to more copies of it.
    let out = cluster
        .logfusion()
        .args([
            "run",
            "--log-dir",
            "s3://logs/web/big.log",
            "--out",
            "s3out",
            "--cluster",
            &cluster.address(),
            "--queries",
        ])
        .arg(repo().join("queries/02_access_status_mix.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = std::fs::read_to_string(tmp.path().join("performance.log")).unwrap();
    let record: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    let scan = record["job"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["operators"].as_str().unwrap().ends_with("DataSourceExec"))
        .cloned();
    let scan = scan.unwrap_or_else(|| panic!("no scan stage in {record}"));
    assert!(scan["partitions"].as_u64().unwrap() >= 4, "the object is read in byte ranges: {scan}");
    let size = std::fs::metadata(tmp.path().join("big.log")).unwrap().len();
    let read = record["bytes_read"].as_u64().unwrap();
    assert!(read >= size && read < size + size / 10, "read {read} bytes of a {size}-byte object");
}

#[test]
fn a_query_survives_an_executor_killed_in_its_middle() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = generate(tmp.path(), 96);
    let mut cluster = Cluster::start(tmp.path(), 2, "", &[]);
    let dir = logs.to_string_lossy().into_owned();
    // Slow on purpose: a wide aggregation with a sort, so that the kill lands while it runs.
    let sql = "SELECT client_ip, path, count(*) AS n, sum(bytes) FROM access GROUP BY client_ip, path ORDER BY n DESC, client_ip, path LIMIT 50";
    let local = cluster.logfusion().args(["query", "--log-dir", &dir, "--output", "csv", sql]).output().unwrap();
    assert!(local.status.success());
    let query = Command::new(assert_cmd::cargo::cargo_bin("logfusion"))
        .current_dir(tmp.path())
        .arg("--config")
        .arg(&cluster.config)
        .args(["query", "--log-dir", &dir, "--output", "csv", "--cluster", &cluster.address(), sql])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill an executor once the job runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cluster.status().contains("Running") {
        assert!(Instant::now() < deadline, "the job never ran:\n{}", cluster.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.kill("executor1");
    let out = query.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Ballista runs the lost executor's tasks on the other one: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.logs()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&local.stdout));
    let scheduler = std::fs::read_to_string(tmp.path().join("scheduler.out")).unwrap();
    assert!(scheduler.contains("lost Executor"), "the scheduler saw the executor go and reset its tasks:\n{scheduler}");
    // The next query runs on the executor left.
    cluster.wait_alive(1);
    cluster.same_answer(&["--log-dir", &dir], "SELECT status, count(*) FROM access GROUP BY status ORDER BY status");
}

#[test]
fn without_an_executor_a_query_fails_in_bounded_time_saying_why() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(tmp.path(), 0, "", &[]);
    let samples = crate::common::samples();
    let started = Instant::now();
    let out = cluster
        .logfusion()
        .args(["query", "--log-dir"])
        .arg(&samples)
        .args(["--cluster", &cluster.address(), "SELECT count(*) FROM access"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no executor is alive") && err.contains("logfusion executor --scheduler"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60), "it waited the 15 s of no_executor_timeout, not forever");
    // A scheduler that is not there is an error at once, naming it.
    let port = free_port();
    let out = cluster
        .logfusion()
        .args(["query", "--log-dir"])
        .arg(&samples)
        .args(["--cluster", &format!("df://127.0.0.1:{port}"), "SELECT count(*) FROM access"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("127.0.0.1:{port}")), "{err}");
}
