//! `logfusion bench`: measured runs and their summaries, the settings matrix, plans, and the
//! `--save` / `--compare` regression check with its exit codes.

use std::path::Path;

use crate::common::logfusion;
use serde_json::Value;

/// A generated access log and a two-query suite in `dir`.
fn workspace(dir: &Path) {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let out = logfusion(dir).args(["gen", "--size", "3MiB", "--out"]).arg(logs.join("access.log")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let queries = dir.join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    std::fs::write(
        queries.join("q1_status.sql"),
        "SELECT status, count(*) FROM access GROUP BY status ORDER BY status",
    )
    .unwrap();
    std::fs::write(
        queries.join("q2_paths.sql"),
        "-- top paths\nSELECT path, count(*) AS n FROM access GROUP BY path ORDER BY n DESC, path LIMIT 5;\nSELECT count(*) FROM access",
    )
    .unwrap();
    std::fs::write(queries.join("q3_syslog.sql"), "SELECT count(*) FROM syslog").unwrap();
}

fn bench(dir: &Path, extra: &[&str]) -> std::process::Output {
    logfusion(dir)
        .args(["bench", "--log-dir", "logs", "--queries", "queries", "--out", "plans"])
        .args(extra)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bench_measures_saves_and_catches_a_regression() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    workspace(dir);

    let base = bench(dir, &["--iterations", "3", "--warmup", "1", "--save", "base.json"]);
    let stdout = text(&base.stdout);
    assert!(base.status.success(), "{stdout}\n{}", text(&base.stderr));
    assert!(stdout.contains("skipped: q3_syslog (no table syslog)"), "{stdout}");
    for name in ["q1_status", "q2_paths", "q2_paths_2"] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name} missing from\n{stdout}");
    }

    let saved: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("base.json")).unwrap()).unwrap();
    assert_eq!(saved["iterations"], 3);
    let queries = saved["settings"][0]["queries"].as_array().unwrap();
    let names: Vec<&str> = queries.iter().map(|q| q["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["q1_status", "q2_paths", "q2_paths_2"]);
    let lines = queries[2]["samples"][0]["rows"].as_u64().unwrap();
    assert_eq!(lines, 1, "count(*) is one row");
    for q in queries {
        let samples = q["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 3, "three measured runs");
        let wall = |k: &str| q["wall"][k].as_f64().unwrap();
        assert!(wall("min") > 0.0 && wall("min") <= wall("median") && wall("median") <= wall("max"), "{q}");
        assert!(wall("spread") >= 1.0);
        let lines_read = q["lines_read"].as_u64().unwrap();
        assert!(lines_read > 10_000, "the whole log is read: {lines_read}");
        assert!(samples.iter().all(|s| s["lines_read"].as_u64() == Some(lines_read)));
        assert!(q["explain"].as_str().unwrap().contains("physical_plan"), "{q}");
        assert!(q["explain_analyze"].as_str().unwrap().contains("metrics=[output_rows="), "{q}");
        let top = q["top_operators"].as_array().unwrap();
        assert!(top.iter().any(|o| o["name"] == "DataSourceExec"), "the scan is among the costly operators: {q}");
        let shares: f64 = top.iter().map(|o| o["share"].as_f64().unwrap()).sum();
        assert!(shares > 0.0 && shares <= 1.0 + 1e-9);
    }
    assert_eq!(queries[0]["rows"], queries[0]["samples"][0]["rows"]);
    let plan = std::fs::read_to_string(dir.join("plans/default/q1_status.txt")).unwrap();
    assert!(plan.contains("-- EXPLAIN\n") && plan.contains("-- EXPLAIN ANALYZE (median run)"), "{plan}");

    // A deliberately slower setting: one-row batches and every column parsed.
    let slow = bench(
        dir,
        &["--iterations", "3", "--matrix", "batch_size=1", "--matrix", "projection_pushdown=off"]
            .into_iter()
            .chain(["--compare", "base.json", "--threshold", "50"])
            .collect::<Vec<_>>(),
    );
    let (out, err) = (text(&slow.stdout), text(&slow.stderr));
    assert_eq!(slow.status.code(), Some(1), "a regression exits 1\n{out}\n{err}");
    assert!(err.contains("regressed: ") && err.contains("q1_status [batch_size=1 projection_pushdown=off]"), "{err}");
    assert!(out.contains("REGRESSED"), "{out}");

    // The same settings again: nothing regressed. (Other tests run beside this one, so the
    // threshold is wide: it tells a different setting from noise, not 10% from 20%.)
    let same = bench(dir, &["--iterations", "3", "--compare", "base.json", "--threshold", "400"]);
    let out = text(&same.stdout);
    assert!(same.status.success(), "{out}\n{}", text(&same.stderr));
    assert!(out.contains("no regressions") && !out.contains("REGRESSED"), "{out}");
}

#[test]
fn matrix_runs_every_setting_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    workspace(dir);
    let out = bench(dir, &["--iterations", "1", "--warmup", "0", "--matrix", "max_workers=1,2", "--save", "m.json"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("side by side (median wall time; speed-up against max_workers=1)"), "{stdout}");
    let header = stdout.lines().find(|l| l.starts_with("query") && l.contains("speed-up")).unwrap();
    assert!(header.contains("max_workers=1") && header.contains("max_workers=2"), "{header}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("m.json")).unwrap()).unwrap();
    let settings = saved["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 2);
    // The same answers under both settings.
    let rows = |s: &Value| s["queries"].as_array().unwrap().iter().map(|q| q["rows"].clone()).collect::<Vec<_>>();
    assert_eq!(rows(&settings[0]), rows(&settings[1]));
    let plan = |s: usize| std::fs::read_to_string(dir.join(format!("plans/max_workers={s}/q1_status.txt"))).unwrap();
    assert!(plan(2).contains("Hash([status@0], 2)"), "two partitions with two workers:\n{}", plan(2));
    assert!(!plan(1).contains("Hash([status@0], 2)"), "{}", plan(1));
}

#[test]
fn bad_matrix_and_baseline_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    workspace(dir);
    let cases: [(&[&str], &str); 4] = [
        (&["--matrix", "speed=1,2"], "unknown key \"speed\""),
        (&["--matrix", "max_workers=0"], "max_workers=0"),
        (&["--matrix", "datafusion.execution.no_such_option=1"], "no_such_option"),
        (&["--compare", "missing.json"], "cannot read missing.json"),
    ];
    for (args, needle) in cases {
        let out = bench(dir, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{args:?}: {err}");
    }
    // Out-of-range numbers are usage errors, caught by the argument parser.
    let usage = bench(dir, &["--iterations", "0"]);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage.stderr));
    assert!(text(&usage.stderr).contains("--iterations"));
    std::fs::write(dir.join("junk.json"), "{\"format_version\": 1}").unwrap();
    let err = text(&bench(dir, &["--compare", "junk.json"]).stderr);
    assert!(err.contains("junk.json: not a saved bench run"), "{err}");
}
