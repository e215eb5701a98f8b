//! `logfusion run`: the query suite on the bundled samples against golden results, the
//! performance log, Parquet results, and escaping of log text in the HTML report.

use crate::common::{logfusion, query_csv, repo};

/// Runs the default suite of `queries/` with (a copy of) the repository's config into `out`.
fn run_suite(cwd: &std::path::Path) -> String {
    let config = crate::common::sample_config(cwd);
    let out = logfusion(cwd)
        .args(["run", "--csv", "--out", "out", "--config"])
        .arg(config)
        .arg("--queries")
        .arg(repo().join("queries"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn default_suite_matches_golden_results() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = run_suite(tmp.path());
    let golden = repo().join("tests/golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("queries")).unwrap() {
        let name = entry.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned();
        let got = std::fs::read_to_string(tmp.path().join("out").join(format!("{name}.csv"))).unwrap();
        let want = std::fs::read_to_string(golden.join(format!("{name}.csv"))).unwrap();
        assert_eq!(got, want, "{name} differs from tests/golden/{name}.csv");
        assert!(tmp.path().join("out").join(format!("{name}.parquet")).is_file());
        assert!(summary.contains(&name), "{name} not in the summary:\n{summary}");
        checked += 1;
    }
    assert_eq!(checked, 10);
    // The Parquet result reads back with the same numbers.
    let parquet = tmp.path().join("out/02_access_status_mix.parquet");
    let back = query_csv(
        tmp.path(),
        &["--log-dir", repo().join("data/samples").to_str().unwrap()],
        &format!("SELECT sum(requests), max(status) FROM '{}'", parquet.display()),
    );
    assert_eq!(back, [["99".to_string(), "500".to_string()]]);
}

#[test]
fn performance_log_has_one_record_per_statement() {
    let tmp = tempfile::tempdir().unwrap();
    run_suite(tmp.path());
    run_suite(tmp.path());
    let log = std::fs::read_to_string(tmp.path().join("performance.log")).unwrap();
    let records: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 20, "two runs of 10 statements append 20 records");
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
    run_suite(tmp.path());
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
