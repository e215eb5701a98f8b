//! `logfusion run`: the query suite on the bundled samples against golden results, the
//! performance log, Parquet results, and escaping of log text in the HTML report.

use crate::common::{logfusion, query_csv, repo};

/// Runs the default suite of `queries/` with (a copy of) the repository's config into `out`.
fn run_suite(cwd: &std::path::Path, extra: &[&str]) -> String {
    let config = crate::common::sample_config(cwd);
    let out = logfusion(cwd)
        .args(["run", "--csv", "--out", "out", "--config"])
        .arg(config)
        .arg("--queries")
        .arg(repo().join("queries"))
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn default_suite_matches_golden_results() {
    let tmp = tempfile::tempdir().unwrap();
    // Scanning the files, parsing into the cache, answering from the cache: the same answers.
    for extra in [&["--no-cache"][..], &[], &[]] {
        check_golden(tmp.path(), &run_suite(tmp.path(), extra));
    }
}

/// Checks the CSV results in `cwd/out` against `tests/golden`.
fn check_golden(cwd: &std::path::Path, summary: &str) {
    let golden = repo().join("tests/golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("queries")).unwrap() {
        let name = entry.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned();
        let got = std::fs::read_to_string(cwd.join("out").join(format!("{name}.csv"))).unwrap();
        let want = std::fs::read_to_string(golden.join(format!("{name}.csv"))).unwrap();
        assert_eq!(got, want, "{name} differs from tests/golden/{name}.csv");
        assert!(cwd.join("out").join(format!("{name}.parquet")).is_file());
        assert!(summary.contains(&name), "{name} not in the summary:\n{summary}");
        checked += 1;
    }
    assert_eq!(checked, 10);
    // The Parquet result reads back with the same numbers.
    let parquet = cwd.join("out/02_access_status_mix.parquet");
    let back = query_csv(
        cwd,
        &["--log-dir", repo().join("data/samples").to_str().unwrap()],
        &format!("SELECT sum(requests), max(status) FROM '{}'", parquet.display()),
    );
    assert_eq!(back, [["99".to_string(), "500".to_string()]]);
}

#[test]
fn performance_log_has_one_record_per_statement() {
    let tmp = tempfile::tempdir().unwrap();
    // Both runs scan the files (the cache is tested below).
    run_suite(tmp.path(), &["--no-cache"]);
    run_suite(tmp.path(), &["--no-cache"]);
    let log = std::fs::read_to_string(tmp.path().join("performance.log")).unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["record"] == "statement")
        .collect();
    assert_eq!(records.len(), 20, "two runs of 10 statements append 20 statement records");
    let runs: std::collections::BTreeSet<_> =
        records.iter().map(|r| r["run_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(runs.len(), 2);
    let status = records.iter().find(|r| r["query"] == "02_access_status_mix").unwrap();
    assert_eq!(status["rows_out"], 4);
    assert_eq!(status["sources"]["access"]["lines"], 103);
    assert_eq!(status["sources"]["access"]["rows"], 99);
    assert_eq!(status["sources"]["access"]["rejects"], 4);
    assert!(status["wall_seconds"].as_f64().unwrap() > 0.0);
    assert!(status["operators"].as_array().unwrap().iter().any(|o| o["name"] == "DataSourceExec"));
    assert!(status["plan"].as_str().unwrap().contains("lines_read=103"));
    for r in &records {
        for key in ["bytes_read", "mb_per_second", "lines_per_second", "peak_memory_bytes", "spill_count"] {
            assert!(r.get(key).is_some(), "{key} missing");
        }
        let process = &r["process"];
        assert!(process["cpu_user_seconds"].as_f64().is_some(), "{process}");
        assert!(process["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "{process}");
    }
    let system = std::fs::read_to_string(tmp.path().join("system.log")).unwrap();
    assert_eq!(system.matches("statement finished").count(), 20, "{system}");
    assert!(system.contains("table registered table=access"));
    let md = std::fs::read_to_string(tmp.path().join("out/report.md")).unwrap();
    assert!(md.contains("| access | 103 | 99 | 4 |"), "{md}");
}

#[test]
fn log_text_is_escaped_in_the_html_report() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let line = "10.0.0.1 - - [01/Oct/2026:00:00:00 +0000] \"GET /<script>alert(1)</script> HTTP/1.1\" 404 5 \"-\" \"x\x1b[31m\" 0.1";
    std::fs::write(logs.join("a.log"), format!("{line}\n<img src=x onerror=alert(2)>\n")).unwrap();
    std::fs::write(tmp.path().join("q.sql"), "-- paths\nSELECT path, user_agent FROM access;\n").unwrap();
    let out = logfusion(tmp.path())
        .args(["run", "--log-dir", "logs", "--queries", "q.sql", "--out", "out"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out.stderr.contains(&b'\r'), "no progress line when stderr is not a terminal");
    let html = std::fs::read_to_string(tmp.path().join("out/report.html")).unwrap();
    assert!(html.contains("/&lt;script&gt;alert(1)&lt;/script&gt;"), "path not shown escaped");
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"), "reject excerpt not shown escaped");
    assert!(!html.contains("<script") && !html.contains("<img"), "raw markup from the log in the report");
    assert!(!html.contains('\u{1b}'), "raw escape byte in the report");
}

/// The HTML report renders in a real headless Chromium: not blank, no console errors. Needs
/// Debian's `chromium`; `.ci/run` installs it and sets LOGFUSION_REQUIRE_BROWSER=1, which turns
/// its absence into a failure instead of a skip.
#[test]
fn html_report_renders_in_chromium() {
    let browser = std::env::var("LOGFUSION_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    if !std::path::Path::new(&browser).exists() {
        assert!(std::env::var_os("LOGFUSION_REQUIRE_BROWSER").is_none(), "{browser} not installed");
        eprintln!("skipping: no {browser}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    run_suite(tmp.path(), &[]);
    let report = tmp.path().join("out/report.html");
    let shot = tmp.path().join("shot.png");
    let url = format!("file://{}", report.display());
    let common = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"];
    let dom = std::process::Command::new(&browser).args(common).arg("--dump-dom").arg(&url).output().unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let text = String::from_utf8_lossy(&dom.stdout);
    assert!(text.contains("02_access_status_mix") && text.contains("<svg"), "blank or partial page");
    let console = String::from_utf8_lossy(&dom.stderr);
    let errors: Vec<&str> = console.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let shot_run = std::process::Command::new(&browser)
        .args(common)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,900")
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot_run.status.success(), "{}", String::from_utf8_lossy(&shot_run.stderr));
    // A blank page compresses to a few hundred bytes; tables, text and charts do not.
    let size = std::fs::metadata(&shot).unwrap().len();
    assert!(size > 20_000, "screenshot of {size} bytes looks blank");
}

#[test]
fn parameters_come_from_config_and_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let access = repo().join("data/samples/access");
    std::fs::write(
        dir.join("config.yaml"),
        format!("sources:\n  - {{name: access, path: '{}'}}\nparams:\n  min_status: 500\n", access.display()),
    )
    .unwrap();
    std::fs::create_dir(dir.join("q")).unwrap();
    std::fs::write(dir.join("q/errors.sql"), "SELECT count(*) AS n FROM access WHERE status >= ${min_status}").unwrap();
    let count = |args: &[&str]| {
        let out = logfusion(dir).args(["run", "--queries", "q", "--csv"]).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(dir.join("out/errors.csv")).unwrap()
    };
    assert_eq!(count(&[]), "n\n1\n", "min_status 500 from config.yaml: one 500");
    assert_eq!(count(&["--param", "min_status=400"]), "n\n5\n", "--param wins: four 404s and one 500");
    std::fs::write(dir.join("config.yaml"), format!("sources:\n  - {{name: access, path: '{}'}}\n", access.display()))
        .unwrap();
    let out = logfusion(dir).args(["run", "--queries", "q"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("parameter ${min_status} has no value"), "{err}");
}

/// Runs the default suite over `logs` with the cache in `cwd/cache`, CSV results in `out`;
/// returns the performance records of this run.
fn cached_run(cwd: &std::path::Path, logs: &std::path::Path, out: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    cached_run_with(cwd, "cache: { dir: cache }", logs, out, extra)
}

/// [`cached_run`] with the config's `cache:` line `cache`.
fn cached_run_with(
    cwd: &std::path::Path,
    cache: &str,
    logs: &std::path::Path,
    out: &str,
    extra: &[&str],
) -> Vec<serde_json::Value> {
    let config = cwd.join("config.yaml");
    std::fs::write(
        &config,
        format!("{cache}\nlogging: {{ system_log: system.log, performance_log: performance.log }}\n"),
    )
    .unwrap();
    let before = std::fs::read_to_string(cwd.join("performance.log")).unwrap_or_default().lines().count();
    let result = logfusion(cwd)
        .args(["--config"])
        .arg(&config)
        .args(["run", "--csv", "--out", out, "--log-dir"])
        .arg(logs)
        .arg("--queries")
        .arg(suite(cwd))
        .args(extra)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let log = std::fs::read_to_string(cwd.join("performance.log")).unwrap();
    log.lines().skip(before).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The default suite plus a statement of line numbers (which a grown file's new lines must
/// continue), in `cwd/queries`.
fn suite(cwd: &std::path::Path) -> std::path::PathBuf {
    let dir = cwd.join("queries");
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(repo().join("queries")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        std::fs::write(
            dir.join("99_lines.sql"),
            "SELECT _file, count(*) AS rows, sum(_line) AS line_sum, max(_line) AS last FROM access GROUP BY 1 ORDER BY 1;",
        )
        .unwrap();
    }
    dir
}

/// The CSV results of `out`, by file name.
fn results(cwd: &std::path::Path, out: &str) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(cwd.join(out))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

/// Two access logs with rejects in `dir/logs`.
fn two_logs(dir: &std::path::Path) -> std::path::PathBuf {
    let logs = dir.join("logs");
    for (name, seed) in [("a.log", "1"), ("b.log", "2")] {
        let out = logfusion(dir)
            .args(["gen", "--size", "1MiB", "--malformed-every", "97", "--seed", seed, "--out"])
            .arg(logs.join(name))
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    logs
}

/// The records of kind `kind` (`cache` or `statement`).
fn records<'a>(all: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    all.iter().filter(|r| r["record"] == kind).collect()
}

#[test]
fn a_suite_parses_each_table_once_and_a_second_run_answers_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = two_logs(tmp.path());
    let first = cached_run(tmp.path(), &logs, "first", &[]);
    let uncached = cached_run(tmp.path(), &logs, "uncached", &["--no-cache"]);
    assert_eq!(results(tmp.path(), "first"), results(tmp.path(), "uncached"), "the cache changes no answer");
    // One preparation of the one table, parsing both files; the statements read it.
    let prepared = records(&first, "cache");
    assert_eq!(prepared.len(), 1, "{first:?}");
    assert_eq!((prepared[0]["parsed"].as_u64(), prepared[0]["hits"].as_u64()), (Some(2), Some(0)));
    let statements = records(&first, "statement");
    assert_eq!(statements.len(), 9);
    let lines = uncached.iter().find(|r| r["record"] == "statement").unwrap()["sources"]["access"]["lines"].clone();
    for s in &statements {
        assert_eq!(s["sources"]["access"]["cached"], true, "{s}");
        assert_eq!(s["sources"]["access"]["lines"], lines, "the accounting of the parse that filled the cache");
    }
    assert!(records(&uncached, "cache").is_empty(), "--no-cache prepares nothing");
    // A second run over the same files: every statement answered from its stored result.
    let second = cached_run(tmp.path(), &logs, "second", &[]);
    assert_eq!(results(tmp.path(), "second"), results(tmp.path(), "first"));
    assert!(records(&second, "cache").is_empty(), "nothing to parse or read: every result is stored");
    assert!(records(&second, "statement").iter().all(|s| s["cache"] == "result"), "{second:?}");
}

#[test]
fn a_changed_file_invalidates_only_its_entry_and_a_grown_file_parses_only_its_new_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = two_logs(tmp.path());
    cached_run(tmp.path(), &logs, "first", &[]);
    // b.log rewritten (another seed): its entry and every stored result are stale; a.log's
    // entry is not.
    let out = logfusion(tmp.path())
        .args(["gen", "--size", "1MiB", "--seed", "9", "--out"])
        .arg(logs.join("b.log"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let changed = cached_run(tmp.path(), &logs, "changed", &[]);
    let prepared = records(&changed, "cache");
    assert_eq!((prepared[0]["hits"].as_u64(), prepared[0]["parsed"].as_u64()), (Some(1), Some(1)), "{prepared:?}");
    assert!(records(&changed, "statement").iter().all(|s| s["cache"].is_null()), "no stale result served");
    cached_run(tmp.path(), &logs, "changed_uncached", &["--no-cache"]);
    assert_eq!(results(tmp.path(), "changed"), results(tmp.path(), "changed_uncached"));
    // a.log grows: its entry's lines are kept, only the new ones parsed, numbered after them.
    let more = tmp.path().join("more.log");
    let out =
        logfusion(tmp.path()).args(["gen", "--size", "256KiB", "--seed", "5", "--out"]).arg(&more).output().unwrap();
    assert!(out.status.success());
    let mut a = std::fs::OpenOptions::new().append(true).open(logs.join("a.log")).unwrap();
    std::io::Write::write_all(&mut a, &std::fs::read(&more).unwrap()).unwrap();
    drop(a);
    let grown = cached_run(tmp.path(), &logs, "grown", &[]);
    let prepared = records(&grown, "cache");
    assert_eq!((prepared[0]["grown"].as_u64(), prepared[0]["hits"].as_u64()), (Some(1), Some(1)), "{prepared:?}");
    assert!(prepared[0]["bytes_parsed"].as_u64().unwrap() < 300_000, "only the new bytes: {prepared:?}");
    cached_run(tmp.path(), &logs, "grown_uncached", &["--no-cache"]);
    // Every result, the line numbers of 99_lines among them, is that of a fresh parse.
    let (grown, fresh) = (results(tmp.path(), "grown"), results(tmp.path(), "grown_uncached"));
    assert_eq!(grown, fresh);
    assert!(grown["99_lines.csv"].contains("a.log"), "{}", grown["99_lines.csv"]);
}

#[test]
fn statements_calling_volatile_functions_are_never_answered_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = two_logs(tmp.path());
    let queries = tmp.path().join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    std::fs::write(queries.join("now.sql"), "SELECT count(*) AS n, now() AS at FROM access;").unwrap();
    let config = tmp.path().join("config.yaml");
    std::fs::write(
        &config,
        "cache: { dir: cache }\nlogging: { system_log: system.log, performance_log: performance.log }\n",
    )
    .unwrap();
    for _ in 0..2 {
        let out = logfusion(tmp.path())
            .args(["--config"])
            .arg(&config)
            .args(["run", "--out", "out", "--log-dir"])
            .arg(&logs)
            .arg("--queries")
            .arg(&queries)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let log = std::fs::read_to_string(tmp.path().join("performance.log")).unwrap();
    let statements: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["record"] == "statement")
        .collect();
    assert_eq!(statements.len(), 2);
    assert!(statements.iter().all(|s| s["cache"].is_null()), "now() is not stored: {statements:?}");
    let stored: Vec<_> = std::fs::read_dir(tmp.path().join("cache/results"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".samples.json"))
        .collect();
    assert!(stored.is_empty(), "only the sample rejects are stored: {stored:?}");
}

#[test]
fn tables_larger_than_the_cache_memory_are_read_from_their_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = two_logs(tmp.path());
    let small = "cache: { dir: cache, memory: 64KiB, results: false }";
    for out in ["parsed", "read"] {
        let run = cached_run_with(tmp.path(), small, &logs, out, &[]);
        let prepared = records(&run, "cache");
        assert_eq!(prepared[0]["in_memory"], false, "{prepared:?}");
        let statements = records(&run, "statement");
        assert!(statements.iter().all(|s| s["cache"].is_null()), "results are not stored");
        assert!(statements.iter().all(|s| s["plan"].as_str().unwrap().contains(".arrow")), "read from the entries");
    }
    cached_run(tmp.path(), &logs, "uncached", &["--no-cache"]);
    let uncached = results(tmp.path(), "uncached");
    assert_eq!(results(tmp.path(), "parsed"), uncached);
    assert_eq!(results(tmp.path(), "read"), uncached);
}

#[test]
fn a_suite_reading_a_view_it_creates_scans_the_files_and_answers_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = two_logs(tmp.path());
    let queries = tmp.path().join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    std::fs::write(
        queries.join("01_view.sql"),
        "CREATE VIEW errors AS SELECT path, status FROM access WHERE status >= 500;",
    )
    .unwrap();
    std::fs::write(queries.join("02_errors.sql"), "SELECT status, count(*) AS n FROM errors GROUP BY 1 ORDER BY 1;")
        .unwrap();
    std::fs::write(queries.join("03_bytes.sql"), "SELECT sum(bytes) AS b FROM access;").unwrap();
    let mut answers = Vec::new();
    for (out, extra) in [("cached", &[][..]), ("again", &[]), ("uncached", &["--no-cache"])] {
        let run = cached_run(tmp.path(), &logs, out, extra); // the suite of `tmp/queries`
        assert!(records(&run, "cache").is_empty(), "no table is cached when a statement reads a view: {run:?}");
        answers.push(results(tmp.path(), out));
    }
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[1], answers[2]);
    assert!(answers[2]["02_errors.csv"].contains("500"), "{:?}", answers[2]);
}

/// A file with multi-line records that grows is parsed whole again, not from where it ended:
/// the new lines may continue its last record (a stack trace written after its first line).
#[test]
fn a_grown_file_with_multi_line_records_is_parsed_whole_again() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let queries = tmp.path().join("queries");
    std::fs::create_dir(&queries).unwrap();
    std::fs::write(
        queries.join("01_records.sql"),
        "SELECT count(*) AS records, sum(length(message)) AS chars, max(_line) AS last FROM log4j;",
    )
    .unwrap();
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!(
            "2026-10-01 12:{:02}:{:02},000 ERROR [main] com.example.App: failed {i}\n",
            i / 60 % 60,
            i % 60
        ));
        text.push_str("java.lang.IllegalStateException: boom\n\tat com.example.App.run(App.java:1)\n");
    }
    let app = logs.join("app.log");
    std::fs::write(&app, &text).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let result = logfusion(tmp.path())
            .args(["run", "--csv", "--out", out, "--queries"])
            .arg(&queries)
            .arg("--log-dir")
            .arg(&logs)
            .args(extra)
            .output()
            .unwrap();
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        std::fs::read_to_string(tmp.path().join(out).join("01_records.csv")).unwrap()
    };
    let first = run("first", &[]);
    assert!(first.contains("500,"), "{first}");
    // The last record's trace goes on, and a new record follows.
    let mut file = std::fs::OpenOptions::new().append(true).open(&app).unwrap();
    std::io::Write::write_all(
        &mut file,
        b"\tat com.example.Main.main(Main.java:9)\nCaused by: java.io.IOException: disk\n",
    )
    .unwrap();
    std::io::Write::write_all(&mut file, b"2026-10-01 13:00:00,000 INFO [main] com.example.App: recovered\n").unwrap();
    drop(file);
    let grown = run("grown", &[]);
    let fresh = run("fresh", &["--no-cache"]);
    assert_eq!(grown, fresh, "the cache gives what a fresh parse gives");
    assert!(fresh.contains("501,") && fresh.trim_end().ends_with(",1503"), "{fresh}");
}
