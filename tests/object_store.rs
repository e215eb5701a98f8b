//! Logs in an S3-compatible object store: a real moto server (started here, filled with
//! boto3) read through `s3://` locations, against the same files read locally: results,
//! rejects with their `s3://` file names, globs, single objects, byte ranges of a large object,
//! config sources, validate, and clear errors for missing prefixes and buckets.
//!
//! Needs Python with `moto[server]` and `boto3` (`LOGFUSION_PYTHON`, default `python3`);
//! without them the test says it skipped, unless `LOGFUSION_REQUIRE_S3` is set (as `.ci/run`
//! does after installing them), which makes it fail.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{count_lines, free_port, logfusion, repo, samples};

/// A moto S3 server on a free local port, stopped when dropped.
pub(crate) struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    /// The environment that points a process at this server, with test credentials.
    pub(crate) fn env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn python_with_moto() -> Option<String> {
    let python = std::env::var("LOGFUSION_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&python)
        .args(["-c", "import moto.server, boto3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var_os("LOGFUSION_REQUIRE_S3").is_none(),
        "LOGFUSION_REQUIRE_S3 is set but {python} lacks moto/boto3"
    );
    eprintln!("skipping: {python} has no moto[server]/boto3 (set LOGFUSION_PYTHON)");
    None
}

/// Starts moto on a free port; if it exits before listening (the port taken by another
/// process between the choice and its bind), again on another port, three times at most.
pub(crate) fn start(python: &str) -> S3Server {
    for _ in 0..3 {
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto server starts");
        let mut server = S3Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                eprintln!("moto on port {port} exited ({status}) before listening; trying another port");
                break;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            assert!(Instant::now() < deadline, "moto server did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("moto exited before listening on three ports in a row")
}

/// Creates bucket `logs` and uploads `(key, file)` pairs with boto3.
pub(crate) fn upload(python: &str, server: &S3Server, objects: &[(&str, PathBuf)]) {
    let mut script = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{}', region_name='us-east-1', \
         aws_access_key_id='test', aws_secret_access_key='test')\ns3.create_bucket(Bucket='logs')\n",
        server.port
    );
    for (key, file) in objects {
        script.push_str(&format!("s3.upload_file({:?}, 'logs', {key:?})\n", file.to_str().unwrap()));
    }
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "upload failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// `logfusion` with the server's endpoint and test credentials in the environment.
fn with_s3(cwd: &Path, server: &S3Server) -> assert_cmd::Command {
    let mut cmd = logfusion(cwd);
    cmd.envs(server.env());
    cmd
}

fn csv(cmd: &mut assert_cmd::Command, location: &str, sql: &str) -> String {
    csv_with(cmd, &[], location, sql)
}

fn csv_with(cmd: &mut assert_cmd::Command, extra: &[&str], location: &str, sql: &str) -> String {
    let out = cmd.args(["query", "--output", "csv", "--log-dir", location]).args(extra).arg(sql).output().unwrap();
    assert!(out.status.success(), "{location}: {sql}\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn s3_locations_read_like_local_files() {
    let Some(python) = python_with_moto() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let big = dir.join("big.log");
    let out =
        logfusion(dir).args(["gen", "--size", "3MiB", "--malformed-every", "97", "--out"]).arg(&big).output().unwrap();
    assert!(out.status.success());
    let server = start(&python);
    let access = samples().join("access");
    upload(
        &python,
        &server,
        &[
            ("access/access.log", access.join("access.log")),
            ("access/old/access-old.log.gz", access.join("access-old.log.gz")),
            ("access/.hidden/skip.log", access.join("access.log")),
            ("syslog/syslog.log", samples().join("syslog/syslog.log")),
            ("big/access.log", big.clone()),
        ],
    );
    let local = access.to_str().unwrap();

    // The same answers as the local copies, and the same rejects, named by their s3:// objects.
    let by_status = "SELECT status, count(*) AS n FROM access GROUP BY status ORDER BY status";
    assert_eq!(
        csv(&mut with_s3(dir, &server), "s3://logs/access/", by_status),
        csv(&mut logfusion(dir), local, by_status)
    );
    let rejects = "SELECT file, line, reason FROM access_rejects ORDER BY file, line";
    let remote_rejects = csv(&mut with_s3(dir, &server), "s3://logs/access/", rejects);
    let local_rejects = csv(&mut logfusion(dir), local, rejects);
    let prefix = format!("{}/", access.display());
    assert_eq!(
        remote_rejects.replace("s3://logs/access/old/", "").replace("s3://logs/access/", ""),
        local_rejects.replace(&prefix, "")
    );
    assert_eq!(remote_rejects.lines().count(), 5, "header and 4 rejects:\n{remote_rejects}");
    let files = csv(&mut with_s3(dir, &server), "s3://logs/access/", "SELECT DISTINCT _file FROM access ORDER BY 1");
    assert_eq!(
        files, "_file\ns3://logs/access/access.log\ns3://logs/access/old/access-old.log.gz\n",
        "hidden keys skipped"
    );

    // A glob over keys, and one object by its key.
    let count = "SELECT count(*) FROM access";
    assert_eq!(csv(&mut with_s3(dir, &server), "s3://logs/access/*/*.gz", count), "count(*)\n32\n");
    let one_local = access.join("access.log");
    assert_eq!(
        csv(&mut with_s3(dir, &server), "s3://logs/access/access.log", count),
        csv(&mut logfusion(dir), one_local.to_str().unwrap(), count)
    );

    // A 3 MiB object split into byte ranges over two workers: every line counted once, line
    // numbers continuous across ranges.
    let lines = count_lines(&std::fs::read(&big).unwrap());
    let totals = "SELECT (SELECT count(*) FROM access) + (SELECT count(*) FROM access_rejects) AS lines, \
                  (SELECT max(_line) FROM access) AS last_row_line";
    let two = ["--max-workers", "2"];
    let remote = csv_with(&mut with_s3(dir, &server), &two, "s3://logs/big/", totals);
    assert_eq!(remote, csv_with(&mut logfusion(dir), &two, big.to_str().unwrap(), totals));
    assert!(remote.starts_with(&format!("lines,last_row_line\n{lines},")), "{remote} vs {lines} lines");
    let plan = csv_with(&mut with_s3(dir, &server), &two, "s3://logs/big/", "EXPLAIN SELECT count(*) FROM access");
    assert!(plan.contains("big/access.log:0.."), "split into ranges:\n{plan}");

    // A source of config.yaml in the object store.
    std::fs::write(dir.join("config.yaml"), "sources:\n  - {name: web, path: 's3://logs/access/', format: combined}\n")
        .unwrap();
    let out = with_s3(dir, &server).args(["query", "--output", "csv", "SELECT count(*) FROM web"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "count(*)\n99\n", "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(dir.join("config.yaml")).unwrap();

    // validate reads objects too.
    let out = with_s3(dir, &server).args(["validate", "--json", "--directory", "s3://logs/access/"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "4 rejects with --max-error-ratio 0");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["lines"].as_u64(), report["rejects"].as_u64()), (Some(103), Some(4)), "{report}");
    assert!(report["files"].as_array().unwrap().iter().all(|f| f["file"].as_str().unwrap().starts_with("s3://logs/")));

    // Missing prefix, missing bucket, unsupported scheme: one clear line each.
    for (location, needle) in [
        ("s3://logs/nothing/", "s3://logs/nothing/: no files found"),
        ("s3://no-such-bucket/x/", "no-such-bucket"),
        ("gs://logs/x/", "use s3://"),
    ] {
        let out = with_s3(dir, &server).args(["query", "--log-dir", location, "SELECT 1"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{location}: {err}");
        assert!(err.starts_with("error: ") && err.contains(needle) && err.lines().count() == 1, "{location}: {err}");
    }
    let _ = repo();
}
