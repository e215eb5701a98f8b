//! Adversarial inputs and faults, each a reproduction of a report: no panic, no terminal
//! escape, nothing lost or counted twice, one bad file never sinks the rest.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::common::{gzip, logfusion, query_csv};

const A: &str = r#"10.0.0.1 - - [01/Oct/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" 0.001"#;

fn access(i: usize) -> String {
    A.replace("GET / ", &format!("GET /p{i} "))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for (name, data) in files {
        let path = logs.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    tmp
}

fn logs(tmp: &tempfile::TempDir) -> String {
    tmp.path().join("logs").to_string_lossy().into_owned()
}

fn assert_no_panic(out: &std::process::Output) {
    let err = text(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
}

#[test]
fn multi_byte_text_where_a_syslog_timestamp_would_be_is_a_reject() {
    let tmp = dir_with(&[("s.log", "Oct 11 22:14:15 host app[1]: ok\nОшибка: диск переполнен\n".as_bytes())]);
    let out = logfusion(tmp.path())
        .args(["query", "--log-dir", &logs(&tmp), "--output", "csv"])
        .arg("SELECT count(*) FROM syslog")
        .output()
        .unwrap();
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "count(*)\n1\n");
    assert!(text(&out.stderr).contains("1 of 2 lines rejected (bad_timestamp 1);"), "{}", text(&out.stderr));
    // Scanned twice, the note says its counts are per scan summed.
    let twice = logfusion(tmp.path())
        .args(["query", "--log-dir", &logs(&tmp), "--output", "csv"])
        .arg("SELECT count(*) FROM (SELECT ts FROM syslog UNION ALL SELECT ts FROM syslog)")
        .output()
        .unwrap();
    assert_eq!(text(&twice.stdout), "count(*)\n2\n");
    let note = text(&twice.stderr);
    assert!(note.contains("2 of 4 lines rejected (bad_timestamp 2), counted in each of its 2 scans;"), "{note}");
}

#[test]
fn validate_knows_no_format_and_takes_any_column_types() {
    let tmp = dir_with(&[
        ("a.jsonl", b"{\"ts\":1790856000,\"msg\":\"a\"}\n{\"ts\":1790856001,\"msg\":\"b\"}\n"),
        ("b/b.jsonl", b"{\"status\":200}\n{\"status\":404}\n"),
        ("c/c.logfmt", b"ts=yesterday level=info a=1\nts=today level=warn a=2\n"),
    ]);
    for dir in ["", "/b", "/c"] {
        let d = format!("{}{dir}", logs(&tmp));
        let out = logfusion(tmp.path()).args(["validate", "--json", "--directory", &d]).output().unwrap();
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(0), "{d}: {}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["rejects"], 0, "{report}");
    }
    let profile =
        query_csv(tmp.path(), &["--log-dir", &format!("{}/b", logs(&tmp))], "SELECT lines, rows FROM json_profile");
    assert_eq!(profile, [["2", "2"]]);
}

#[test]
fn log_text_cannot_drive_the_terminal_and_machine_outputs_stay_valid() {
    let evil_agent = "\x1b]0;PWNED\x07\x1b[2J\u{202e}gnp.exe\u{9b}";
    let line = A.replace("curl/8", evil_agent);
    let json = "{\"msg\":\"two\\nlines \\u001b[31mred\",\"n\":1}\n";
    let tmp = dir_with(&[("a.log", format!("{line}\n").as_bytes()), ("j/a.jsonl", json.as_bytes())]);
    let run = |args: &[&str], sql: &str| logfusion(tmp.path()).arg("query").args(args).arg(sql).output().unwrap();

    let table = run(&["--log-dir", &logs(&tmp)], "SELECT user_agent FROM access");
    let shown = text(&table.stdout);
    assert!(table.status.success());
    for raw in ["\x1b", "\x07", "\u{202e}", "\u{9b}"] {
        assert!(!shown.contains(raw), "raw {raw:?} in the table:\n{shown}");
    }
    assert!(shown.contains("\\x1B]0;PWNED\\x07\\x1B[2J\\u{202E}gnp.exe\\u{009B}"), "{shown}");
    let table = run(&["--log-dir", &format!("{}/j", logs(&tmp))], "SELECT msg FROM json");
    let shown = text(&table.stdout);
    assert!(shown.contains("two\\nlines \\x1B[31mred"), "{shown}");
    assert_eq!(shown.lines().filter(|l| l.contains("two")).count(), 1, "one row, one line:\n{shown}");

    // CSV keeps the bytes and quotes the newline (RFC 4180); JSON escapes it.
    let csv = run(&["--log-dir", &format!("{}/j", logs(&tmp)), "--output", "csv"], "SELECT msg, n FROM json");
    assert_eq!(csv.stdout, b"msg,n\n\"two\nlines \x1b[31mred\",1\n");
    let out = run(&["--log-dir", &format!("{}/j", logs(&tmp)), "--output", "json"], "SELECT msg, n FROM json");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["msg"], "two\nlines \x1b[31mred");
}

/// Twenty good `.log.gz` files and one truncated one.
fn gz_folder() -> (tempfile::TempDir, u64) {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for f in 0..20 {
        let body: String = (0..50).map(|i| access(f * 100 + i) + "\n").collect();
        files.push((format!("good-{f:02}.log.gz"), gzip(body.as_bytes())));
    }
    let body: String = (0..5000).map(|i| access(i) + "\n").collect();
    let packed = gzip(body.as_bytes());
    let cut = packed[..packed.len() / 2].to_vec();
    // The lines before the damage: what a decoder gets out of the truncated stream.
    let mut decoded = Vec::new();
    let _ = std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&cut[..]), &mut decoded);
    let before = decoded.iter().filter(|&&b| b == b'\n').count() as u64;
    files.push(("truncated.log.gz".into(), cut));
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    (dir_with(&refs), before)
}

#[test]
fn a_truncated_gzip_among_good_ones_loses_only_its_damaged_tail() {
    let (tmp, before) = gz_folder();
    assert!(before > 100 && before < 5000);
    let out = logfusion(tmp.path())
        .args(["query", "--log-dir", &logs(&tmp), "--output", "csv"])
        .arg("SELECT count(*) FROM access")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("count(*)\n{}\n", 20 * 50 + before));
    let err = text(&out.stderr);
    assert_eq!(err.matches("truncated.log.gz").count(), 1, "one warning naming the file:\n{err}");
    assert!(err.contains("reading stopped"), "{err}");
    let rejects = query_csv(
        tmp.path(),
        &["--log-dir", &logs(&tmp)],
        "SELECT reason, count(*) FROM access_rejects GROUP BY reason",
    );
    assert_eq!(rejects, [["read_error", "1"]]);

    // --strict: the damage is the error, said once.
    let strict = logfusion(tmp.path())
        .args(["query", "--strict", "--log-dir", &logs(&tmp)])
        .arg("SELECT count(*) FROM access")
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
    let err = text(&strict.stderr);
    let error: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{err}");
    assert_eq!(error[0].matches("truncated.log.gz").count(), 1, "{err}");
    assert_eq!(error[0].matches("deflate").count(), 1, "said once: {err}");

    // validate writes the report and the rejects, and fails.
    let rejects = tmp.path().join("rejects.parquet");
    let out = logfusion(tmp.path())
        .args(["validate", "--json", "--directory", &logs(&tmp), "--rejects"])
        .arg(&rejects)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["read_errors"], 1);
    assert_eq!(report["lines"].as_u64(), Some(20 * 50 + before));
    let back =
        query_csv(tmp.path(), &["--log-dir", &logs(&tmp)], &format!("SELECT reason FROM '{}'", rejects.display()));
    assert_eq!(back, [["read_error"]]);
}

#[cfg(unix)]
#[test]
fn links_never_loop_and_each_file_is_read_once() {
    let body: String = (0..7).map(|i| access(i) + "\n").collect();
    let tmp = dir_with(&[("a.log", body.as_bytes()), ("sub/b.log", body.as_bytes())]);
    let d = tmp.path().join("logs");
    std::os::unix::fs::symlink(".", d.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("a.log", d.join("link.log")).unwrap();
    std::fs::hard_link(d.join("a.log"), d.join("hard.log")).unwrap();
    let glob = format!("{}/**/*.log", d.display());
    let out = logfusion(tmp.path())
        .args(["query", "--log-dir", &glob, "--output", "csv"])
        .arg("SELECT count(*) FROM access")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "count(*)\n14\n", "a.log and b.log, once each");
    let err = text(&out.stderr);
    assert_eq!(err.matches("read once").count(), 2, "link.log and hard.log:\n{err}");
    assert!(err.contains("not followed"), "{err}");
}

#[cfg(unix)]
#[test]
fn fifos_dangling_links_and_unreadable_folders_are_skipped_and_reported() {
    let tmp = dir_with(&[("a.log", format!("{A}\n").as_bytes()), ("closed/b.log", format!("{A}\n").as_bytes())]);
    let d = tmp.path().join("logs");
    let fifo = std::process::Command::new("mkfifo").arg(d.join("pipe")).status().unwrap();
    assert!(fifo.success());
    std::os::unix::fs::symlink("pipe", d.join("pipe.log")).unwrap();
    std::os::unix::fs::symlink("/no/such/file.log", d.join("dangling.log")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [tmp.path(), &d] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(d.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any folder: run as nobody where we are root.
    let as_user = |args: &[&str]| {
        let mut cmd = if unsafe { libc::geteuid() } == 0 {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(assert_cmd::cargo::cargo_bin("logfusion"));
            c
        } else {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("logfusion"))
        };
        cmd.current_dir(tmp.path()).env("XDG_STATE_HOME", tmp.path().join(".state")).args(args);
        cmd.stdin(Stdio::null()).output().unwrap()
    };
    let out = as_user(&["query", "--log-dir", d.to_str().unwrap(), "--output", "csv", "SELECT count(*) FROM access"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "count(*)\n1\n");
    let err = text(&out.stderr);
    for needle in [
        "pipe.log: not a regular file (a FIFO)",
        "dangling.log: unreadable: a symbolic link to nothing",
        "closed: unreadable: Permission denied",
    ] {
        assert!(err.contains(needle), "{needle} not in:\n{err}");
    }
    let out = as_user(&["validate", "--json", "--directory", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "never PASS");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problem_files"], 4, "{report}");
}

#[cfg(unix)]
#[test]
fn thousands_of_files_need_few_descriptors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("many");
    std::fs::create_dir(&d).unwrap();
    for i in 0..3000 {
        std::fs::write(d.join(format!("{i:05}.log")), format!("{}\n", access(i))).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("logfusion");
    let script = format!(
        "ulimit -n 256 && exec '{}' query --output csv --log-dir '{}' 'SELECT count(*) FROM access'",
        bin.display(),
        d.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(tmp.path())
        .env("XDG_STATE_HOME", tmp.path().join(".state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "count(*)\n3000\n");
}

#[test]
fn byte_order_marks_epoch_magnitudes_and_the_syslog_year_follow_the_rules() {
    let bom = "\u{feff}";
    let tmp = dir_with(&[
        ("a/a.log", format!("{bom}{A}\n").as_bytes()),
        (
            "j/j.jsonl",
            format!("{bom}{{\"ts\":1790856000,\"x\":1}}\n{{\"ts\":1790856000123,\"x\":2}}\n{{\"ts\":1e300,\"x\":3}}\n")
                .as_bytes(),
        ),
        ("s/messages", b"<13>Dec 31 23:59:58 web app: last of the year\n<13>Jan  1 00:00:01 web app: first\n"),
    ]);
    let l = logs(&tmp);
    let ip = query_csv(tmp.path(), &["--log-dir", &format!("{l}/a")], "SELECT client_ip, _line FROM access");
    assert_eq!(ip, [["10.0.0.1", "1"]], "the BOM is not part of the address");
    std::fs::write(tmp.path().join("config.yaml"), "sources:\n  - {name: json, path: logs/j, format: json, options: {columns: [{name: ts, type: timestamp}]}}\n  - {name: syslog, path: logs/s, format: syslog, options: {year: 2027}}\n").unwrap();
    let json = query_csv(tmp.path(), &[], "SELECT x, CAST(ts AS VARCHAR) FROM json ORDER BY x");
    assert_eq!(json, [["1", "2026-10-01T12:00:00Z"]], "milliseconds and overflowing numbers are rejects");
    let reasons = query_csv(tmp.path(), &[], "SELECT line, reason FROM json_rejects ORDER BY line");
    assert_eq!(reasons, [["2", "bad_timestamp"], ["3", "bad_timestamp"]]);
    let years = query_csv(tmp.path(), &[], "SELECT CAST(date_part('year', ts) AS INT) FROM syslog ORDER BY _line");
    assert_eq!(years, [["2026"], ["2027"]], "the last line is in 2027, the one before rolls back");
}

#[test]
fn archives_are_read_member_by_member_never_their_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("web")).unwrap();
    let body = |n: usize| -> String { (0..n).map(|i| access(i) + "\n").collect() };
    std::fs::write(src.join("web/a.log"), body(3)).unwrap();
    std::fs::write(src.join("web/b.log"), body(4)).unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for (archive, flag) in [("web.tar", "-cf"), ("web.tar.gz", "-czf")] {
        let ok = std::process::Command::new("tar")
            .arg(flag)
            .arg(logs.join(archive))
            .arg("-C")
            .arg(&src)
            .arg("web")
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let zip = format!(
        "import zipfile\nz = zipfile.ZipFile({:?}, 'w', zipfile.ZIP_DEFLATED)\nz.writestr('../../evil/c.log', {:?})\nz.writestr('stored.log', {:?}, zipfile.ZIP_STORED)\nz.close()\n",
        logs.join("more.zip").to_str().unwrap(),
        body(5),
        body(6)
    );
    let ok = std::process::Command::new("python3").args(["-c", &zip]).status().unwrap();
    assert!(ok.success());
    let rows = query_csv(
        tmp.path(),
        &["--log-dir", logs.to_str().unwrap()],
        "SELECT regexp_replace(_file, '.*/logs/', ''), count(*), max(_line) FROM access GROUP BY 1 ORDER BY 1",
    );
    let want = [
        ["more.zip!../../evil/c.log", "5", "5"],
        ["more.zip!stored.log", "6", "6"],
        ["web.tar!web/a.log", "3", "3"],
        ["web.tar!web/b.log", "4", "4"],
        ["web.tar.gz!web/a.log", "3", "3"],
        ["web.tar.gz!web/b.log", "4", "4"],
    ];
    assert_eq!(rows, want.map(|r| r.map(String::from).to_vec()));
    let rejects = query_csv(tmp.path(), &["--log-dir", logs.to_str().unwrap()], "SELECT count(*) FROM access_rejects");
    assert_eq!(rejects, [["0"]], "no tar header read as a line");
    assert!(!tmp.path().join("evil").exists() && !Path::new("/evil").exists(), "nothing extracted");
}

#[test]
fn logfusion_never_reads_its_own_files_and_a_plain_query_writes_nothing_here() {
    let tmp = dir_with(&[("a.log", format!("{A}\n").as_bytes())]);
    let logs_dir = tmp.path().join("logs");
    // Without a config: nothing appears in the current folder; the state folder gets the log.
    let out = logfusion(&logs_dir)
        .args(["query", "--log-dir", ".", "SELECT count(*) FROM access"])
        .env("XDG_STATE_HOME", tmp.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let here: Vec<_> = std::fs::read_dir(&logs_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(here, ["a.log"]);
    assert!(tmp.path().join("state/logfusion/system.log").is_file());
    // With a config in the log folder, its logs land there, and the next query skips them.
    std::fs::write(logs_dir.join("config.yaml"), "logging: {level: info}\n").unwrap();
    for _ in 0..2 {
        let out = logfusion(&logs_dir)
            .args(["run", "--log-dir", ".", "--queries"])
            .arg(crate::common::repo().join("queries/02_access_status_mix.sql"))
            .args(["--out", "results"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(!err.contains("skipping") && !err.contains("system.log: no known"), "{err}");
    }
    assert!(logs_dir.join("system.log").is_file() && logs_dir.join("performance.log").is_file());
    let count = query_csv(&logs_dir, &["--log-dir", "."], "SELECT count(*) FROM access");
    assert_eq!(count, [["1"]], "system.log, performance.log, config.yaml and results/ are not inputs");
}

#[cfg(unix)]
#[test]
fn a_killed_query_leaves_no_file_at_its_output_path() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("big.log");
    assert!(
        logfusion(tmp.path()).args(["gen", "--size", "64MiB", "--out"]).arg(&log).output().unwrap().status.success()
    );
    let out = tmp.path().join("x.parquet");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("logfusion"))
        .current_dir(tmp.path())
        .env("XDG_STATE_HOME", tmp.path().join(".state"))
        .args(["query", "--max-workers", "1", "--output", "parquet", "--out"])
        .arg(&out)
        .args(["--log-dir"])
        .arg(&log)
        .arg("SELECT * FROM access ORDER BY path, ts")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the result is being written (its temporary file exists), then kill -9.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let writing = || {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(".x.parquet."))
    };
    while !writing() {
        assert!(std::time::Instant::now() < deadline, "the query never started writing");
        assert!(child.try_wait().unwrap().is_none(), "the query ended before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(!out.exists(), "a partial result at the final path");
}

#[test]
fn output_errors_name_the_path_and_the_report_forbids_scripts() {
    let tmp = dir_with(&[("a.log", format!("{A}\n").as_bytes())]);
    let out = logfusion(tmp.path())
        .args(["query", "--log-dir", &logs(&tmp), "--output", "csv", "--out", "/no/such/dir/x.csv", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/no/such/dir/x.csv"), "{}", text(&out.stderr));
    let q = tmp.path().join("q.sql");
    std::fs::write(&q, "SELECT count(*) FROM access").unwrap();
    let run = logfusion(tmp.path())
        .args(["run", "--log-dir", &logs(&tmp), "--out", "out", "--queries"])
        .arg(&q)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let html = std::fs::read_to_string(tmp.path().join("out/report.html")).unwrap();
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"), "no CSP");
    let _ = std::io::stdout().flush();
}

#[test]
fn spilling_stops_at_max_spill_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs/a.log");
    assert!(
        logfusion(tmp.path()).args(["gen", "--size", "48MiB", "--out"]).arg(&log).output().unwrap().status.success()
    );
    std::fs::write(tmp.path().join("config.yaml"), "memory_limit: 24MiB\nmax_spill: 64KiB\nmax_workers: 1\n").unwrap();
    let out = logfusion(tmp.path())
        .args(["query", "--log-dir", "logs", "--output", "csv", "SELECT * FROM access ORDER BY user_agent, path"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("exceeded the allowable limit of 64.0 KB"), "{err}");
}

#[test]
fn a_statement_too_deep_to_plan_is_an_error_not_a_crash() {
    let tmp = dir_with(&[("a.log", format!("{}\n", access(1)).as_bytes())]);
    let chain = vec!["status = 1"; 5000].join(" OR ");
    let out = logfusion(tmp.path())
        .args(["query", "--log-dir", &logs(&tmp), &format!("SELECT count(*) FROM access WHERE {chain}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("nests expressions or subqueries more than 1000 deep"), "{}", text(&out.stderr));
    // Within the limit, it runs.
    let chain = vec!["status = 200"; 900].join(" OR ");
    let rows =
        query_csv(tmp.path(), &["--log-dir", &logs(&tmp)], &format!("SELECT count(*) FROM access WHERE {chain}"));
    assert_eq!(rows, [["1"]]);
}
